"""The red team's SQL breaks, run as an attacker would: a runbook, `opsdoc run --yes`.

Each test is one case of issue 11 on the executor's side: what reaches
PostgreSQL is exactly what opsdoc classified, READ ONLY cannot be lifted,
functions are looked up on the target, a declined commit says what a
rollback cannot undo, LIKE values match only themselves, a commit prompt
does not hold locks forever, and a read_dsn role runs the reads.
"""

from __future__ import annotations

import io
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from conftest import run_opsdoc
from opsdoc.cli import prompt
from opsdoc.cli.prompt import ask_until
from opsdoc.execute.sql import bind_placeholders, run_sql
from test_execute_sql import Recorder, step


def sql(dsn: str, *statements: str) -> list[tuple[Any, ...]]:
    """Run statements as the admin; the rows of the last one."""
    rows: list[tuple[Any, ...]] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for text in statements:
            cur = conn.execute(text)
            rows = cur.fetchall() if cur.description else []
    return rows


def book(tmp_path: Path, code: str, title: str = "Attack") -> str:
    path = tmp_path / "attack.md"
    path.write_text(f"# Runbook\n\n## {title}\n\n```sql\n{code}\n```\n", encoding="utf-8")
    return f"{path}#{title.lower()}"


def attack(tmp_path: Path, dsn: str, code: str, *flags: str) -> Any:
    journal = str(tmp_path / "journal.sqlite3")
    return run_opsdoc(
        "run", book(tmp_path, code), "--yes", "--target", dsn, "--journal", journal, *flags
    )


def victims(dsn: str) -> None:
    sql(dsn, "CREATE TABLE t (id int)", "INSERT INTO t SELECT generate_series(1, 5)")
    sql(dsn, "CREATE TABLE t2 (id int)", "INSERT INTO t2 SELECT generate_series(1, 5)")


def count(dsn: str, table: str = "t") -> int:
    return int(sql(dsn, f"SELECT count(*) FROM {table}")[0][0])


# ---- 1. lexing: standard_conforming_strings ----------------------------------------

SCS_READ = (
    "SET standard_conforming_strings = off;\n"
    "SET application_name = 'a\\' , ' ; COMMIT; DELETE FROM t; -- ';"
)
SCS_WRITE = (
    "SET standard_conforming_strings = off;\n"
    "UPDATE t SET id = id WHERE 'a\\' <> ' ; DELETE FROM t2; -- ' IS NULL;"
)


@pytest.mark.parametrize("flags", [(), ("--allow", "destructive")])
def test_turning_off_standard_conforming_strings_never_runs(tmp_path, fresh_db, flags) -> None:
    victims(fresh_db)
    result = attack(tmp_path, fresh_db, SCS_READ, *flags)
    assert result.returncode == 3, result.stdout + result.stderr
    if flags:  # without them the step is refused as destructive before it starts
        assert "will not run it" in result.stdout
    assert count(fresh_db) == 5


def test_the_same_trick_in_a_write_does_not_reach_a_second_table(tmp_path, fresh_db) -> None:
    victims(fresh_db)
    result = attack(tmp_path, fresh_db, SCS_WRITE, "--allow", "destructive")
    assert result.returncode == 3, result.stdout + result.stderr
    assert (count(fresh_db), count(fresh_db, "t2")) == (5, 5)


def test_a_server_default_of_scs_off_is_pinned_back_on(tmp_path, fresh_db) -> None:
    """The database itself reads backslashes as escapes; opsdoc's session does not."""
    victims(fresh_db)
    name = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    sql(fresh_db, f'ALTER DATABASE "{name}" SET standard_conforming_strings = off')
    result = attack(tmp_path, fresh_db, "SELECT 'a\\' AS x, ' ; DELETE FROM t; -- ' AS y;")
    assert count(fresh_db) == 5
    assert result.returncode == 0, result.stdout + result.stderr
    assert "a\\" in result.stdout


def test_a_hidden_second_statement_is_an_error_not_a_run(fresh_db) -> None:
    """The extended protocol takes one statement; a text pglast saw as one, sent as is."""
    victims(fresh_db)
    the_step = step("SELECT 1 AS one;")
    the_step.statements[0].text = "SELECT 1 AS one; DELETE FROM t"  # what a lexing gap would be
    outcome = run_sql(the_step, dsn=fresh_db, values={}, hooks=Recorder(True))
    assert outcome.status == "failed"
    assert "multiple commands" in (outcome.error or "")
    assert count(fresh_db) == 5


# ---- 2. psql meta-commands ------------------------------------------------------------


@pytest.mark.parametrize(
    "meta",
    [
        "\\echo `touch {canary}`",
        "\\set x `touch {canary}`",
        "\\dt `touch {canary}`",
        "\\! touch {canary}",
        "\\o '|touch {canary}'",
        "\\o {canary}",
        "\\copy t to '{canary}'",
        "\\copy t to program 'touch {canary}'",
        "\\cd `touch {canary}`",
    ],
)
def test_a_psql_meta_command_that_acts_does_not_run_under_yes(tmp_path, fresh_db, meta) -> None:
    victims(fresh_db)
    canary = tmp_path / "canary"
    result = attack(tmp_path, fresh_db, meta.format(canary=canary))
    assert result.returncode == 3, result.stdout + result.stderr
    assert not canary.exists()


# ---- 3. READ ONLY cannot be lifted -----------------------------------------------------

BUMPER = (
    "CREATE TABLE hits (n int)",
    "INSERT INTO hits VALUES (0)",
    "CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS $$ UPDATE hits SET n = n + 1 RETURNING n $$",
    "CREATE VIEW bumped AS SELECT bump() AS n",
)


@pytest.mark.parametrize(
    "code",
    [
        "BEGIN;\nSET TRANSACTION READ WRITE;\nSELECT * FROM bumped;\nCOMMIT;",
        "BEGIN;\nSET transaction_read_only = off;\nSELECT * FROM bumped;\nCOMMIT;",
        "START TRANSACTION READ WRITE;\nSELECT * FROM bumped;\nEND;",
        "BEGIN READ WRITE;\nSELECT * FROM bumped;\nCOMMIT;",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE;\nSELECT * FROM bumped;",
        "SELECT set_config('transaction_read_only', 'off', true), (SELECT n FROM bumped);",
    ],
)
def test_a_runbook_cannot_lift_read_only(tmp_path, fresh_db, code) -> None:
    sql(fresh_db, *BUMPER)
    result = attack(tmp_path, fresh_db, code)
    assert result.returncode == 3, result.stdout + result.stderr
    assert sql(fresh_db, "SELECT n FROM hits") == [(0,)]


def test_opsdoc_writes_the_begin_keeping_only_the_isolation_level(tmp_path, fresh_db) -> None:
    code = (
        "BEGIN ISOLATION LEVEL SERIALIZABLE;\n"
        "SELECT current_setting('transaction_isolation') AS iso,\n"
        "       current_setting('transaction_read_only') AS ro;\n"
        "COMMIT;"
    )
    result = attack(tmp_path, fresh_db, code)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "serializable | on" in result.stdout


# ---- 4. a function named like a built-in, defined on the target -----------------------


def test_a_function_shadowing_a_builtin_name_is_asked_for_not_run(tmp_path, fresh_db) -> None:
    victim = psycopg.connect(fresh_db, autocommit=True, application_name="victim")
    try:
        sql(
            fresh_db,
            "CREATE FUNCTION public.upper(int) RETURNS text LANGUAGE sql AS $$ "
            "SELECT string_agg(pg_terminate_backend(pid)::text, ',') FROM pg_stat_activity "
            "WHERE application_name = 'victim' $$",
        )
        result = attack(tmp_path, fresh_db, "SELECT upper(1) AS shout;")
        assert result.returncode == 3, result.stdout + result.stderr
        assert "public.upper(integer)" in result.stdout
        assert victim.execute("SELECT 1").fetchone() == (1,)  # still connected
    finally:
        victim.close()


def test_builtin_functions_and_operators_stay_read(tmp_path, fresh_db) -> None:
    victims(fresh_db)
    code = "SELECT upper('x') AS u, count(*) AS n, now() > now() - interval '1 day' AS ok FROM t;"
    result = attack(tmp_path, fresh_db, code)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_user_defined_operator_is_a_write(tmp_path, fresh_db) -> None:
    sql(fresh_db, *BUMPER)
    sql(
        fresh_db,
        "CREATE FUNCTION plus(text, text) RETURNS int LANGUAGE sql AS $$ SELECT bump() $$",
        "CREATE OPERATOR public.+ (LEFTARG = text, RIGHTARG = text, FUNCTION = plus)",
    )
    result = attack(tmp_path, fresh_db, "SELECT 'a'::text + 'b'::text AS x;")
    assert result.returncode == 3, result.stdout + result.stderr
    assert sql(fresh_db, "SELECT n FROM hits") == [(0,)]


# ---- 5. what a declined commit says ---------------------------------------------------


def test_a_declined_commit_names_what_a_rollback_does_not_undo(fresh_db) -> None:
    sql(fresh_db, "CREATE SEQUENCE s")
    hooks = Recorder(lambda request: request.kind != "commit")
    outcome = run_sql(step("SELECT nextval('s') AS n;"), dsn=fresh_db, values={}, hooks=hooks)
    assert outcome.status == "refused"
    assert "nothing changed" not in (outcome.error or "")
    assert "does not undo" in (outcome.error or "") and "nextval" in (outcome.error or "")
    assert sql(fresh_db, "SELECT last_value FROM s") == [(1,)]  # it did advance


def test_setval_is_asked_for_before_it_runs(fresh_db) -> None:
    sql(fresh_db, "CREATE SEQUENCE s", "SELECT setval('s', 10)")
    hooks = Recorder(False)
    outcome = run_sql(step("SELECT setval('s', 1000);"), dsn=fresh_db, values={}, hooks=hooks)
    assert outcome.status == "refused" and hooks.kinds() == ["run"]
    assert sql(fresh_db, "SELECT last_value FROM s") == [(10,)]


# ---- 10. LIKE patterns ----------------------------------------------------------------


@pytest.mark.parametrize(("value", "matches"), [("%", 0), ("_", 1), ("bob", 1), ("a\\", 0)])
def test_a_value_in_a_like_pattern_matches_only_itself(fresh_db, value, matches) -> None:
    sql(fresh_db, "CREATE TABLE users (email text)")
    sql(fresh_db, "INSERT INTO users VALUES ('bob@x.io'), ('ann@x.io'), ('c_d@x.io')")
    code = "SELECT count(*) AS n FROM users WHERE email LIKE '%<user-email>%';"
    outcome = run_sql(
        step(code, ["user-email"]), dsn=fresh_db, values={"user-email": value}, hooks=Recorder()
    )
    assert outcome.status == "ok", outcome.error
    assert outcome.statements[0].rows == [(matches,)]


def test_like_escaping_follows_an_escape_clause() -> None:
    text, params = bind_placeholders(
        "SELECT 1 FROM t WHERE a ILIKE '<v>%' ESCAPE '!'", {"v": "50%_!"}
    )
    assert params == ["50!%!_!!%"] and "$1" in text
    _, plain = bind_placeholders("SELECT 1 FROM t WHERE a = '%<v>%'", {"v": "50%"})
    assert plain == ["%50%%"]  # not a LIKE: the value goes in as it is


# ---- 16. the commit prompt does not hold locks forever ---------------------------------


def test_an_unanswered_commit_prompt_is_rolled_back_by_the_server(fresh_db) -> None:
    victims(fresh_db)

    def slow(request: Any) -> bool:
        if request.kind == "commit":
            time.sleep(3)  # longer than the limit below
        return True

    outcome = run_sql(
        step("DELETE FROM t WHERE id = 1;"),
        dsn=fresh_db,
        values={},
        hooks=Recorder(slow),
        idle_limit=1,
    )
    assert outcome.status == "failed"
    assert "rolled back" in (outcome.error or "") and "1s" in (outcome.error or "")
    assert count(fresh_db) == 5
    # and no session is left holding a lock on t
    assert sql(
        fresh_db,
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = 't'",
    ) == [(0,)]


def test_the_prompt_gives_up_and_counts_down(monkeypatch) -> None:
    import os

    read, write = os.pipe()
    try:
        monkeypatch.setattr(sys, "stdin", os.fdopen(read))
        monkeypatch.setattr(prompt, "REMINDERS", (1.0,))
        said: list[str] = []
        assert ask_until(3.2, said.append) is None  # nothing typed
        assert said and "left to answer" in said[-1]
        os.write(write, b"commit\n")
        assert ask_until(30, said.append) == "commit"
    finally:
        os.close(write)


def test_the_prompt_reads_a_line_given_at_once(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("commit\n"))
    assert ask_until(10, print) == "commit"


# ---- read_dsn: PostgreSQL enforces reads as a role that cannot write -----------------


def test_read_steps_run_as_the_read_dsn_role(tmp_path, fresh_db) -> None:
    victims(fresh_db)
    name = psycopg.conninfo.conninfo_to_dict(fresh_db)["dbname"]
    role = f"reader_{name}"
    sql(
        fresh_db,
        f'CREATE ROLE "{role}" LOGIN',
        f'GRANT SELECT ON t TO "{role}"',
    )
    read_dsn = psycopg.conninfo.make_conninfo(fresh_db, user=role)
    (tmp_path / "opsdoc.toml").write_text(
        f'default_target = "db"\n[targets.db]\ndsn = "{fresh_db}"\nread_dsn = "{read_dsn}"\n',
        encoding="utf-8",
    )
    code = "SELECT current_user AS who, count(*) AS n FROM t;"
    result = run_opsdoc(
        "run", book(tmp_path, code), "--yes", "--journal", str(tmp_path / "j.sqlite3")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert role in result.stdout
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        sql(read_dsn, "DELETE FROM t")
    assert count(fresh_db) == 5
