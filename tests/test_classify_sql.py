"""Behaviour of the SQL classifier, with the real PostgreSQL parser (pglast)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from opsdoc.classify.sql import SqlRulesError, classify_sql, is_sql_read_only, load_sql_rules
from opsdoc.model import Statement


def one(code: str, **kwargs: object) -> Statement:
    """The single statement of ``code``."""
    statements = classify_sql(code, **kwargs)  # type: ignore[arg-type]
    assert len(statements) == 1, statements
    return statements[0]


# --- the three classes -------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT id, payload->>'region' AS region FROM deliveries "
        "WHERE courier ILIKE '%north%' AND eta > now() - interval '2 hours'",
        "WITH recent AS (SELECT * FROM audit_log WHERE at > now() - interval '1 day') "
        "SELECT actor, count(*) FROM recent GROUP BY actor",
        "SHOW statement_timeout",
        "SET lock_timeout = '3s'",
        "RESET work_mem",
        "VALUES (1, 'a'), (2, 'b')",
        "TABLE pricing_tiers",
        "COPY (SELECT * FROM invoices WHERE paid) TO STDOUT WITH CSV",
        "BEGIN",
        "COMMIT",
        "ROLLBACK",
        "EXPLAIN SELECT * FROM parcels WHERE depot_id = 4",
        "EXPLAIN DELETE FROM parcels",
        "SELECT relname, pg_size_pretty(pg_total_relation_size(schemaname||'.'||relname)) "
        "FROM pg_stat_user_tables ORDER BY 2 DESC",
        "SELECT pg_is_in_recovery(), now() - pg_last_xact_replay_timestamp()",
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')",
        "SELECT pg_catalog.current_setting('max_connections')",
        "SELECT pg_sleep(1)",
        "SELECT status::text, to_char(created_at, 'YYYY-MM'), date_trunc('hour', now()) FROM t",
    ],
)
def test_reads(sql: str) -> None:
    statement = one(sql)
    assert statement.safety == "read", statement.reason
    assert statement.parsed


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("UPDATE webhooks SET attempts = 0, state = 'retry' WHERE state = 'dead'", "UpdateStmt"),
        (
            "INSERT INTO memberships (account_id, tier) SELECT id, 'gold'::member_tier "
            "FROM accounts WHERE email = 'ops@example.org' ON CONFLICT (account_id) DO NOTHING",
            "InsertStmt",
        ),
        (
            "MERGE INTO stock s USING incoming i ON s.sku = i.sku "
            "WHEN MATCHED THEN UPDATE SET qty = i.qty",
            "MergeStmt",
        ),
        ("CREATE TABLE scratch (id int)", "CreateStmt"),
        ("ALTER TABLE parcels ADD COLUMN note text", "AlterTableStmt"),
        ("GRANT SELECT ON parcels TO analyst", "GrantStmt"),
        ("REVOKE INSERT ON parcels FROM analyst", "GrantStmt"),
        ("ANALYZE parcels", "VacuumStmt"),
        ("REINDEX TABLE parcels", "ReindexStmt"),
        ("CLUSTER parcels USING parcels_pkey", "ClusterStmt"),
        ("REFRESH MATERIALIZED VIEW depot_totals", "RefreshMatViewStmt"),
        ("COPY parcels FROM STDIN", "CopyStmt"),
        ("LOCK TABLE parcels IN ACCESS EXCLUSIVE MODE", "LockStmt"),
        ("DO $$ BEGIN RAISE NOTICE 'hello'; END $$", "DoStmt"),
        ("CALL rebuild_rollups(7)", "CallStmt"),
        ("NOTIFY cache_invalidation", "NotifyStmt"),
        ("CHECKPOINT", "CheckPointStmt"),
        ("SELECT * INTO parcels_backup FROM parcels", "SelectStmt"),
        ("SELECT * FROM parcels WHERE id = 3 FOR UPDATE", "SelectStmt"),
        ("SELECT nextval('invoice_no_seq')", "SelectStmt"),
        ("EXPLAIN ANALYZE UPDATE parcels SET state = 'x'", "ExplainStmt"),
    ],
)
def test_writes(sql: str, kind: str) -> None:
    statement = one(sql)
    assert statement.safety == "write", statement.reason
    assert statement.kind == kind


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM parcels p USING parcels q WHERE p.ctid < q.ctid AND p.barcode = q.barcode",
        "TRUNCATE audit_log",
        "DROP TABLE IF EXISTS parcels_backup",
        "DROP VIEW depot_summary",
        "DROP ROLE intern",
        "DROP DATABASE staging",
        "ALTER TABLE parcels DROP COLUMN legacy_code",
        "ALTER TABLE parcels DROP CONSTRAINT parcels_depot_fk",
        "MERGE INTO stock s USING gone g ON s.sku = g.sku WHEN MATCHED THEN DELETE",
        "WITH purged AS (DELETE FROM sessions WHERE expired RETURNING id) "
        "SELECT count(*) FROM purged",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE state = 'idle in transaction' AND pid <> pg_backend_pid()",
        "SELECT pg_cancel_backend(4242)",
        "SELECT pg_catalog.pg_terminate_backend(4242)",
        "SELECT pg_drop_replication_slot('old_consumer')",
        "SELECT lo_unlink(16403)",
        "SELECT pg_promote()",
        "SELECT dblink_exec('dbname=other', 'VACUUM')",
        "EXPLAIN (ANALYZE, BUFFERS) DELETE FROM parcels WHERE id = 1",
        "DO $$ BEGIN TRUNCATE staging_rows; END $$",
    ],
)
def test_destructive(sql: str) -> None:
    assert one(sql).safety == "destructive", one(sql).reason


def test_reasons_are_human_sentences() -> None:
    assert one("DELETE FROM carts WHERE abandoned").reason == "DELETE removes rows"
    kill = one("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'batch'")
    assert kill.reason == "calls pg_terminate_backend, which ends other sessions"
    unknown = one("SELECT admin_purge_carts('stale')")
    assert unknown.safety == "write"
    assert unknown.reason == "calls admin_purge_carts(), an unknown function that may write"
    explained = one("EXPLAIN ANALYZE DELETE FROM carts")
    assert explained.reason.startswith("EXPLAIN ANALYZE runs its statement")
    assert "DELETE" in explained.reason


def test_schema_qualified_functions() -> None:
    assert one("SELECT pg_catalog.pg_size_pretty(10)").safety == "read"
    public = one("SELECT public.admin_reset_counters()")
    assert public.safety == "write"
    assert "unknown" in public.reason
    # A wrapper named like a destructive built-in keeps the danger.
    assert one("SELECT ops.pg_terminate_backend(1)").safety == "destructive"


def test_explain_analyze_classifies_the_inner_statement() -> None:
    assert one("EXPLAIN ANALYZE SELECT * FROM parcels").safety == "read"
    assert one("EXPLAIN (ANALYZE false) DELETE FROM parcels").safety == "read"
    assert one("EXPLAIN ANALYZE SELECT pg_cancel_backend(9)").safety == "destructive"


def test_functions_anywhere_count() -> None:
    in_where = one("SELECT id FROM jobs WHERE admin_requeue(id) AND state = 'stuck'")
    assert in_where.safety == "write"
    in_subquery = one(
        "SELECT * FROM depots WHERE id IN (SELECT pg_terminate_backend(pid) FROM pg_stat_activity)"
    )
    assert in_subquery.safety == "destructive"
    locked_subquery = one("SELECT * FROM (SELECT * FROM jobs FOR UPDATE SKIP LOCKED) j")
    assert locked_subquery.safety == "write"


def test_definitions_do_not_run_their_bodies() -> None:
    view = one("CREATE VIEW killers AS SELECT pg_terminate_backend(pid) FROM pg_stat_activity")
    assert view.safety == "write"
    prepared = one("PREPARE purge AS DELETE FROM sessions")
    assert prepared.safety == "destructive"  # EXECUTE purge cannot show what it runs
    assert one("EXECUTE purge").safety == "write"


# --- splitting, labels and lines ----------------------------------------------


BLOCK = """\
-- Parcels stuck at the depot
-- for more than a day
SELECT barcode, depot_id
FROM parcels
WHERE state = 'at_depot' AND updated_at < now() - interval '1 day';

-- Release them
UPDATE parcels SET state = 'in_transit' WHERE state = 'at_depot'; -- trailing note
SELECT count(*) FROM parcels
"""


def test_split_text_lines_and_labels() -> None:
    statements = classify_sql(BLOCK, line=40)
    assert [s.kind for s in statements] == ["SelectStmt", "UpdateStmt", "SelectStmt"]
    first, second, third = statements
    assert first.label == "Parcels stuck at the depot for more than a day"
    assert first.line == 42
    assert first.text.startswith("SELECT barcode")
    assert first.text.endswith("interval '1 day'")
    assert "--" not in first.text
    assert second.label == "Release them"
    assert second.line == 47
    assert second.text == "UPDATE parcels SET state = 'in_transit' WHERE state = 'at_depot'"
    # A comment after the previous statement on its own line is not a label.
    assert third.label is None
    assert third.line == 48
    assert third.text == "SELECT count(*) FROM parcels"


def test_label_is_the_last_comment_group() -> None:
    code = "-- Section header, not about the query\n\n-- Step 2: look\n\nSELECT 1;\n"
    assert one(code).label == "Step 2: look"


def test_comment_inside_statement_stays_in_text() -> None:
    code = (
        "SELECT query, calls\nFROM pg_stat_statements\n"
        "WHERE calls > 100 -- busy ones\nORDER BY calls DESC;"
    )
    statement = one(code)
    assert "-- busy ones" in statement.text
    assert statement.safety == "read"


def test_semicolons_in_quotes_dollar_bodies_and_comments_do_not_split() -> None:
    code = (
        "SELECT 'a;b', \"odd;name\", E'it\\'s;' FROM t /* x; y */;\n"
        "DO $body$ BEGIN PERFORM 1; PERFORM 2; END $body$;\n"
        "CREATE FUNCTION two() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT 2; END;\n"
        "SELECT 3"
    )
    statements = classify_sql(code)
    assert [s.kind for s in statements] == [
        "SelectStmt",
        "DoStmt",
        "CreateFunctionStmt",
        "SelectStmt",
    ]
    assert all(s.parsed for s in statements)


@pytest.mark.parametrize(
    "code",
    ["", "   \n\n", "-- nothing to run here\n-- really", "/* a block comment */", ";;\n;"],
)
def test_comment_only_block_is_empty(code: str) -> None:
    assert classify_sql(code) == []


# --- transactions -------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX CONCURRENTLY parcels_barcode_idx ON parcels (barcode) "
        "WHERE barcode IS NOT NULL",
        "DROP INDEX CONCURRENTLY parcels_barcode_idx",
        "REINDEX INDEX CONCURRENTLY parcels_barcode_idx",
        "VACUUM ANALYZE parcels",
        "VACUUM (FULL) parcels",
        "CREATE DATABASE scratch",
        "DROP DATABASE scratch",
        "ALTER SYSTEM SET work_mem = '64MB'",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY depot_totals",
        "CREATE TABLESPACE fast LOCATION '/mnt/fast'",
        "DROP TABLESPACE fast",
    ],
)
def test_non_transactional(sql: str) -> None:
    assert one(sql).transactional is False


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE INDEX parcels_barcode_idx ON parcels (barcode)",
        "REFRESH MATERIALIZED VIEW depot_totals",
        "ANALYZE parcels",
        "ALTER TYPE parcel_state ADD VALUE 'lost'",
        "DELETE FROM parcels WHERE id = 1",
        "SELECT 1",
    ],
)
def test_transactional(sql: str) -> None:
    assert one(sql).transactional is True


# --- placeholders and psql variables --------------------------------------------


def test_quoted_and_bare_placeholders_parse_and_keep_their_text() -> None:
    code = (
        "SELECT * FROM shipments WHERE batch = '<batch-id>';\n"
        "DELETE FROM schema_versions WHERE version = <SCHEMA_VERSION>;\n"
        "SELECT count(*) FROM <table>"
    )
    statements = classify_sql(code, placeholders=["batch-id", "SCHEMA_VERSION", "table"])
    assert [s.parsed for s in statements] == [True, True, True]
    assert [s.safety for s in statements] == ["read", "destructive", "read"]
    assert statements[0].text == "SELECT * FROM shipments WHERE batch = '<batch-id>'"
    assert statements[1].text == "DELETE FROM schema_versions WHERE version = <SCHEMA_VERSION>"
    assert statements[2].text == "SELECT count(*) FROM <table>"


def test_undeclared_placeholder_still_parses() -> None:
    statement = one("UPDATE tenants SET plan = 'pro' WHERE id = <tenant-id>")
    assert statement.parsed
    assert statement.safety == "write"


def test_psql_variables() -> None:
    code = "SELECT * FROM :\"tbl\" WHERE owner = :'who' LIMIT :n;\nSELECT x::text, a[1:2] FROM t"
    statements = classify_sql(code)
    assert [s.parsed for s in statements] == [True, True]
    assert statements[0].text == "SELECT * FROM :\"tbl\" WHERE owner = :'who' LIMIT :n"


# --- psql meta-commands --------------------------------------------------------


def test_meta_command_then_sql() -> None:
    code = (
        "  \\du\n"
        "  select grantee from information_schema.role_table_grants where table_name = 'x';\n"
    )
    meta, query = classify_sql(code, line=7)
    assert (meta.kind, meta.safety, meta.parsed, meta.text, meta.line) == (
        "psql-meta",
        "read",
        True,
        "\\du",
        7,
    )
    assert (query.kind, query.safety, query.line) == ("SelectStmt", "read", 8)


@pytest.mark.parametrize(
    ("line", "safety"),
    [
        ("\\dt+ public.*", "read"),
        ("\\l", "read"),
        ("\\x", "read"),
        ("\\timing on", "read"),
        ("\\conninfo", "read"),
        ("\\echo 'it''s done'", "read"),
        ("\\copy (SELECT * FROM parcels WHERE id < 10) to 'out.csv' csv", "write"),
        ("\\copy parcels from 'in.csv' csv", "write"),
        ("\\i fixes/2024-05.sql", "write"),
        ("\\ir sibling.sql", "write"),
        ("\\! rm -rf /tmp/cache", "destructive"),
        ("\\c otherdb", "write"),
        ("\\gexec", "write"),
        ("\\frobnicate", "write"),
    ],
)
def test_meta_commands(line: str, safety: str) -> None:
    statement = one(line)
    assert statement.kind == "psql-meta"
    assert statement.safety == safety, statement.reason


def test_gexec_ends_the_statement_before_it() -> None:
    code = (
        "SELECT format('DROP TABLE %I', tablename) FROM pg_tables\n"
        "WHERE tablename LIKE 'tmp_%'\n\\gexec\n"
    )
    query, meta = classify_sql(code)
    assert query.safety == "read"
    assert (meta.text, meta.safety) == ("\\gexec", "write")


def test_quote_in_meta_line_does_not_swallow_what_follows() -> None:
    statements = classify_sql("\\echo 'unbalanced\nDELETE FROM parcels;")
    assert [s.kind for s in statements] == ["psql-meta", "DeleteStmt"]


# --- what does not parse ---------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "safety"),
    [
        ("INSERT OR REPLACE INTO settings (k, v) VALUES ('mode', 'safe')", "write"),
        ("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'tmp*'", "read"),
        ("DELETE FROM sessions WHERE expired LIMIT 100", "destructive"),
        ("SELEC * FROM parcels", "write"),
        ("PRAGMA foreign_keys = ON", "write"),
        ("SELECT * FROM t WHERE x GLOB 'a*' AND pg_terminate_backend(1)", "destructive"),
    ],
)
def test_unparseable_falls_back_to_first_word(sql: str, safety: str) -> None:
    statement = one(sql)
    assert statement.parsed is False
    assert statement.safety == safety
    assert statement.reason.startswith("did not parse")
    assert "\n" not in statement.reason


def test_unparseable_keeps_neighbours() -> None:
    code = "SELECT 1;\nUPSERT INTO x VALUES (1);\nDROP TABLE y"
    statements = classify_sql(code)
    assert [(s.parsed, s.safety) for s in statements] == [
        (True, "read"),
        (False, "write"),
        (True, "destructive"),
    ]


NASTY = [
    "select 'never closed",
    'select "never closed',
    "DO $$ begin never closed",
    "/* never closed",
    "\x00\x01\x02\xff",
    "select '\ud800'",
    "select 1\x00; drop table t",
    "\\",
    "$$;$$;$a$",
    "E'\\",
    "((((((((((",
    "SELECT " + "(" * 50000 + "1" + ")" * 50000,
    "SELECT 1" + " + 1" * 60000,
    ":'",
    "<",
    "-- only\n\\",
]


@pytest.mark.parametrize("code", NASTY)
def test_garbage_never_raises(code: str) -> None:
    statements = classify_sql(code, placeholders=["x"])
    for statement in statements:
        assert statement.safety in ("read", "write", "destructive")


def test_random_bytes_never_raise() -> None:
    rng = random.Random(20240501)
    pieces = [
        "'",
        '"',
        "$$",
        "$q$",
        "--",
        "/*",
        "*/",
        ";",
        "\\",
        "\n",
        "select",
        "delete",
        "begin",
        "end",
        "create function",
        "atomic",
        "(",
        ")",
        ":",
        "<x>",
        "E'",
    ]
    for _ in range(400):
        code = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 30)))
        classify_sql(code, placeholders=["x"])
        noise = bytes(rng.randrange(256) for _ in range(rng.randint(0, 80))).decode("latin-1")
        classify_sql(noise)


def test_nul_byte_hides_nothing() -> None:
    statement = one("SELECT 1 \x00 , pg_terminate_backend(7)")
    assert statement.parsed is False
    assert statement.safety == "destructive"


def test_megabyte_block() -> None:
    code = "-- row\nSELECT a, b FROM t WHERE c = 'x;y' AND d > 1;\n" * 20000
    assert len(code) > 1_000_000
    statements = classify_sql(code)
    assert len(statements) == 20000
    assert statements[-1].line == 40000
    assert statements[-1].label == "row"


# --- rules ----------------------------------------------------------------------


def test_extra_rules_file_overrides(tmp_path: Path) -> None:
    extra = tmp_path / "team.toml"
    extra.write_text(
        '[read]\nfunctions = ["admin_queue_report"]\n'
        '[destructive]\nfunctions = ["now"]\nprefixes = ["wipe_"]\n'
        '[why]\nwipe_ = "wipes a tenant"\n',
        encoding="utf-8",
    )
    default = load_sql_rules()
    assert one("SELECT admin_queue_report('x')").safety == "write"
    rules = load_sql_rules([extra])
    assert rules is not default
    assert one("SELECT admin_queue_report('x')", rules=rules).safety == "read"
    assert one("SELECT now()", rules=rules).safety == "destructive"
    wipe = one("SELECT wipe_tenant(3)", rules=rules)
    assert (wipe.safety, wipe.reason) == ("destructive", "calls wipe_tenant, which wipes a tenant")
    assert one("CALL wipe_all()", rules=rules).safety == "destructive"
    # The default stays as it was.
    assert one("SELECT now()").safety == "read"


def test_default_rules_are_cached() -> None:
    assert load_sql_rules() is load_sql_rules()


@pytest.mark.parametrize(
    "text",
    [
        "[read]\nfunctions = 'x'\n",
        "[destrutive]\nfunctions = []\n",
        "[read\n",
        "[read]\nnames = []\n",
    ],
)
def test_bad_rules_file_is_reported(tmp_path: Path, text: str) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(SqlRulesError, match=r"bad\.toml"):
        load_sql_rules([bad])


def test_missing_rules_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SqlRulesError, match="cannot read"):
        load_sql_rules([tmp_path / "absent.toml"])


# --- convenience and caching -------------------------------------------------------


def test_is_sql_read_only() -> None:
    assert is_sql_read_only("SELECT 1; SELECT count(*) FROM parcels")
    assert is_sql_read_only("SELECT * FROM parcels WHERE id = '<id>'", placeholders=["id"])
    assert not is_sql_read_only("SELECT 1; UPDATE parcels SET state = 'x'")
    assert not is_sql_read_only("SELECT pg_reload_conf()")


def test_results_are_independent_copies() -> None:
    code = "SELECT 1 AS cached_copy_check"
    first = classify_sql(code, line=3)
    first[0].safety = "destructive"
    first[0].label = "mutated"
    again = classify_sql(code, line=5)
    assert (again[0].safety, again[0].label, again[0].line) == ("read", None, 5)
