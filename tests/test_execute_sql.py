"""The SQL executor against a real embedded PostgreSQL (pgserver): no mocks of the database."""

from __future__ import annotations

import _thread
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Literal

import psycopg
import pytest

from opsdoc.classify.sql import classify_sql, load_sql_rules
from opsdoc.execute import Confirmation, StepInterrupted, StepOutcome
from opsdoc.execute import sql as sql_executor
from opsdoc.execute.sql import PlaceholderError, bind_placeholders, format_table, run_sql
from opsdoc.model import Param, Step

INJECTION = "x'); DROP TABLE intake_lots; --"


class Recorder:
    """Hooks that record what the executor said and asked, answering from a script."""

    def __init__(self, answers: bool | Iterable[bool] | Callable[[Confirmation], bool] = True):
        self.answers = answers
        self.asked: list[Confirmation] = []
        self.streams: list[tuple[str, str]] = []

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None:
        self.streams.append((stream, text))

    def confirm(self, request: Confirmation) -> bool:
        self.asked.append(request)
        if isinstance(self.answers, bool):
            return self.answers
        if callable(self.answers):
            return self.answers(request)
        if not isinstance(self.answers, list):
            self.answers = list(self.answers)
        return self.answers.pop(0)

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.streams)

    def kinds(self) -> list[str]:
        return [request.kind for request in self.asked]


def step(code: str, params: Iterable[str] = (), rules: Any = None) -> Step:
    """A SQL step as the recognizer and classifier would hand it over."""
    names = list(params)
    return Step(
        phase="act",
        lang="sql",
        code=code,
        line=1,
        params=[Param(name) for name in names],
        statements=classify_sql(code, placeholders=names, rules=rules),
    )


def run(
    dsn: str,
    code: str,
    *,
    values: dict[str, str] | None = None,
    hooks: Recorder | None = None,
    **kwargs: Any,
) -> tuple[StepOutcome, Recorder]:
    hooks = hooks or Recorder()
    outcome = run_sql(
        step(code, (values or {}).keys()), dsn=dsn, values=values or {}, hooks=hooks, **kwargs
    )
    return outcome, hooks


def query(dsn: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def setup(dsn: str, sql: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql)


def open_sessions(dsn: str) -> list[tuple[Any, ...]]:
    """Other sessions on the test database that are in a transaction or running a query."""
    dbname = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    return query(
        dsn,
        "SELECT pid, state, query FROM pg_stat_activity WHERE datname = %s "
        "AND pid <> pg_backend_pid() AND state IN "
        "('active', 'idle in transaction', 'idle in transaction (aborted)')",
        (dbname,),
    )


def wait_until_no_open_sessions(dsn: str, seconds: float = 5.0) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + seconds
    while (found := open_sessions(dsn)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


# --------------------------------------------------------------------------
# bind_placeholders and format_table, on their own
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "bound", "params"),
    [
        ("SELECT * FROM t WHERE id = '<lot-id>'", "SELECT * FROM t WHERE id = $1", ["L1"]),
        (
            "SELECT * FROM t WHERE name ILIKE '%<name>%'",
            "SELECT * FROM t WHERE name ILIKE $1",
            ["%o'k%"],
        ),
        (
            "SELECT * FROM t WHERE n > <n> LIMIT <n>",
            "SELECT * FROM t WHERE n > $1 LIMIT $2",
            ["5", "5"],
        ),
        ("SELECT 'prefix-<lot-id>'", "SELECT $1", ["prefix-L1"]),
        ("SELECT E'<name>\\n', $$<n>$$", "SELECT $1, $2", ["o'k\n", "5"]),
        ("SELECT 'it''s <n>'", "SELECT $1", ["it's 5"]),
        (
            "SELECT now() - interval '<n> minutes'",
            "SELECT now() - CAST($1 AS interval)",
            ["5 minutes"],
        ),
        ("SELECT '<lot-id>'::uuid", "SELECT $1::uuid", ["L1"]),
        ("-- for <lot-id>\nSELECT 1 /* <n> */", "-- for <lot-id>\nSELECT 1 /* <n> */", []),
        (
            "SELECT a <> b FROM t WHERE x = '<other>'",
            "SELECT a <> b FROM t WHERE x = '<other>'",
            [],
        ),
        ("SELECT '<x>'", "SELECT $1", [INJECTION]),
    ],
)
def test_bind_placeholders(sql: str, bound: str, params: list[str]) -> None:
    values = {"lot-id": "L1", "name": "o'k", "n": "5", "x": INJECTION}
    assert bind_placeholders(sql, values) == (bound, params)


@pytest.mark.parametrize(
    ("sql", "name", "words"),
    [
        ("SELECT * FROM <table>", "table", "does not splice names"),
        ("DELETE FROM <table> WHERE true", "table", "expects a name"),
        ('SELECT "<col>" FROM t', "col", "quoted name"),
        ("SELECT * FROM t ORDER BY <col>", "col", "ORDER BY"),
        ("SET search_path = '<col>'", "col", "takes bound values only in"),
        ("DO $$ BEGIN PERFORM '<col>'; END $$", "col", "takes bound values only in"),
        ("SELECT N'<col>'", "col", "prefixed literal"),
    ],
)
def test_bind_placeholders_refuses_names(sql: str, name: str, words: str) -> None:
    with pytest.raises(PlaceholderError, match=words) as caught:
        bind_placeholders(sql, {"table": "intake_lots", "col": "status"})
    assert caught.value.name == name
    assert f"<{name}>" in str(caught.value)


def test_format_table_aligns_and_marks_nulls() -> None:
    text = format_table(["id", "name", "note"], [(1, "alpha", None), (100, "b", "two\nlines")])
    assert text.splitlines() == [
        " id | name  | note",
        "----+-------+-----------",
        "  1 | alpha | NULL",
        "100 | b     | two\\nlines",
    ]
    assert format_table([], []) == ""


# --------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------


def test_read_runs_in_a_read_only_transaction(fresh_db: str) -> None:
    setup(
        fresh_db,
        "CREATE TABLE jobs (id int, state text); INSERT INTO jobs VALUES (1, 'ok'), (2, 'stuck')",
    )
    code = "-- jobs\nSELECT id, state FROM jobs ORDER BY id;\n-- mode\nSELECT current_setting('transaction_read_only') AS ro;"
    outcome, hooks = run(fresh_db, code)
    assert outcome.status == "ok" and outcome.exit_code == 0
    assert hooks.asked == []
    first, second = outcome.statements
    assert (first.label, first.status, first.safety) == ("jobs", "ok", "read")
    assert first.columns == ["id", "state"] and first.rows == [(1, "ok"), (2, "stuck")]
    assert first.rowcount == 2
    assert second.rows == [("on",)]
    assert "-- jobs" in outcome.output and "(2 rows)" in outcome.output
    assert " 2 | stuck" in outcome.output
    assert hooks.text == outcome.output
    assert wait_until_no_open_sessions(fresh_db) == []


def test_read_shows_at_most_max_rows_and_counts_all(fresh_db: str) -> None:
    outcome, _ = run(fresh_db, "SELECT g FROM generate_series(1, 50) g", max_rows=5)
    result = outcome.statements[0]
    assert result.rowcount == 50 and len(result.rows) == 5
    assert "(50 rows, first 5 shown)" in outcome.output


SIDE_EFFECT = """
CREATE TABLE counters (name text PRIMARY KEY, n int);
INSERT INTO counters VALUES ('hits', 0);
CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS
  $$ UPDATE counters SET n = n + 1 RETURNING n $$;
CREATE VIEW bumped AS SELECT bump() AS n;
"""


def read_rules(tmp_path: Any) -> Any:
    """A team rules file that (wrongly) lists bump() as a read."""
    path = tmp_path / "team.toml"
    path.write_text('[read]\nfunctions = ["bump"]\n', encoding="utf-8")
    return load_sql_rules([path])


def test_a_read_that_writes_is_refused_by_postgres_then_declined(
    fresh_db: str, tmp_path: Any
) -> None:
    setup(fresh_db, SIDE_EFFECT)
    # A view hides the call from opsdoc; READ ONLY is what catches it.
    the_step = step("SELECT * FROM bumped;\nSELECT 1 AS after;")
    assert the_step.statements[0].safety == "read"
    hooks = Recorder(False)
    outcome = run_sql(the_step, dsn=fresh_db, values={}, hooks=hooks)
    assert outcome.status == "refused"
    [request] = hooks.asked
    assert (request.kind, request.safety) == ("run", "write")
    assert "SQLSTATE 25006" in request.reason
    first, second = outcome.statements
    assert (first.status, first.safety) == ("refused", "write")
    assert second.status == "skipped"
    assert query(fresh_db, "SELECT n FROM counters") == [(0,)]


def test_a_function_the_target_defines_is_asked_for_though_a_rule_lists_it_read(
    fresh_db: str, tmp_path: Any
) -> None:
    """A team rule names bump(); the name may resolve to any schema on the target."""
    setup(fresh_db, SIDE_EFFECT)
    the_step = step("SELECT bump();", rules=read_rules(tmp_path))
    assert the_step.statements[0].safety == "read"
    hooks = Recorder(False)
    outcome = run_sql(the_step, dsn=fresh_db, values={}, hooks=hooks)
    [request] = hooks.asked
    assert (request.kind, request.safety) == ("run", "write")
    assert "public.bump()" in request.reason and "defined on the target" in request.reason
    assert outcome.status == "refused"
    assert query(fresh_db, "SELECT n FROM counters") == [(0,)]


def test_a_read_that_writes_runs_as_a_write_when_accepted(fresh_db: str, tmp_path: Any) -> None:
    setup(fresh_db, SIDE_EFFECT)
    the_step = step("SELECT n FROM bumped;")
    hooks = Recorder([True, True])
    outcome = run_sql(the_step, dsn=fresh_db, values={}, hooks=hooks)
    assert outcome.status == "ok"
    assert hooks.kinds() == ["run", "commit"]
    assert hooks.asked[1].rows == [(1,)] and hooks.asked[1].columns == ["n"]
    assert outcome.statements[0].status == "committed"
    assert query(fresh_db, "SELECT n FROM counters") == [(1,)]


@pytest.mark.parametrize(("answer", "expected"), [(True, 1), (False, 0)])
def test_select_of_an_unknown_function_is_a_write(
    fresh_db: str, answer: bool, expected: int
) -> None:
    setup(fresh_db, SIDE_EFFECT)
    outcome, hooks = run(fresh_db, "SELECT bump() AS n", hooks=Recorder(answer))
    # No READ ONLY attempt: classified write; a function the target defines may act
    # outside the transaction, so it is asked for before it runs, then at the commit.
    assert hooks.kinds() == (["run", "commit"] if answer else ["run"])
    request = hooks.asked[-1]
    if answer:
        assert (request.safety, request.rowcount, request.rows) == ("write", 1, [(1,)])
    assert "bump" in request.reason
    assert outcome.status == ("ok" if answer else "refused")
    assert query(fresh_db, "SELECT n FROM counters") == [(expected,)]


# --------------------------------------------------------------------------
# Writes: preview, then COMMIT or ROLLBACK
# --------------------------------------------------------------------------

JOBS = """
CREATE TABLE jobs (id int PRIMARY KEY, state text NOT NULL, locked_by text);
INSERT INTO jobs VALUES (1, 'locked', 'w1'), (2, 'locked', 'w2'), (3, 'done', NULL);
"""


def test_update_is_previewed_then_committed(fresh_db: str) -> None:
    setup(fresh_db, JOBS)
    code = "-- Reset locked jobs\nUPDATE jobs SET state = 'queued', locked_by = NULL WHERE state = 'locked'"
    outcome, hooks = run(fresh_db, code)
    [request] = hooks.asked
    assert (request.kind, request.safety, request.label) == ("commit", "write", "Reset locked jobs")
    assert request.rowcount == 2
    assert request.columns == ["id", "state", "locked_by"]
    assert sorted(request.rows) == [(1, "queued", None), (2, "queued", None)]
    assert request.statement.startswith("UPDATE jobs")
    assert outcome.status == "ok"
    assert outcome.statements[0].status == "committed" and outcome.statements[0].rowcount == 2
    assert "UPDATE 2" in outcome.output and "COMMIT" in outcome.output
    assert query(fresh_db, "SELECT id, state FROM jobs ORDER BY id") == [
        (1, "queued"),
        (2, "queued"),
        (3, "done"),
    ]


def test_the_preview_shows_the_target_table_of_a_qualified_update(fresh_db: str) -> None:
    setup(
        fresh_db,
        "CREATE SCHEMA ops; CREATE TABLE ops.job_queue (id int, state text); INSERT INTO ops.job_queue VALUES (1, 'locked')",
    )
    code = "UPDATE ops.job_queue SET state = 'queued' FROM (SELECT 1 AS one) x WHERE id = x.one; -- reset"
    _, hooks = run(fresh_db, code)
    [request] = hooks.asked
    assert request.columns == ["id", "state"] and request.rows == [(1, "queued")]
    assert query(fresh_db, "SELECT state FROM ops.job_queue") == [("queued",)]


def test_a_session_setting_carries_to_the_next_statement(fresh_db: str) -> None:
    code = "SET application_name = 'opsdoc-test';\nSELECT current_setting('application_name');"
    outcome, hooks = run(fresh_db, code)
    assert hooks.asked == [] and outcome.status == "ok"
    assert outcome.statements[1].rows == [("opsdoc-test",)]


def test_update_declined_is_rolled_back_and_the_rest_skipped(fresh_db: str) -> None:
    setup(fresh_db, JOBS)
    code = (
        "UPDATE jobs SET state = 'queued' WHERE state = 'locked';\nUPDATE jobs SET state = 'gone';"
    )
    outcome, hooks = run(fresh_db, code, hooks=Recorder(False))
    assert len(hooks.asked) == 1
    assert outcome.status == "refused" and outcome.exit_code is None
    assert [r.status for r in outcome.statements] == ["rolled_back", "skipped"]
    assert "ROLLBACK" in outcome.output
    assert query(fresh_db, "SELECT id, state FROM jobs ORDER BY id") == [
        (1, "locked"),
        (2, "locked"),
        (3, "done"),
    ]
    assert wait_until_no_open_sessions(fresh_db) == []


def test_each_write_statement_is_its_own_transaction(fresh_db: str) -> None:
    setup(fresh_db, JOBS)
    code = "UPDATE jobs SET state = 'a' WHERE id = 1;\nUPDATE jobs SET state = 'b' WHERE id = 2;"
    outcome, hooks = run(fresh_db, code, hooks=Recorder([True, False]))
    assert [r.rowcount for r in hooks.asked] == [1, 1]
    assert [r.status for r in outcome.statements] == ["committed", "rolled_back"]
    assert query(fresh_db, "SELECT id, state FROM jobs ORDER BY id") == [
        (1, "a"),
        (2, "locked"),
        (3, "done"),
    ]


DUPLICATES = """
CREATE TABLE backlog_map (story text, backlog text);
INSERT INTO backlog_map VALUES ('s1', 'b1'), ('s1', 'b1'), ('s1', 'b1'), ('s2', 'b2'), ('s2', 'b2'), ('s3', 'b3');
"""
DEDUPE = """-- Remove duplicate rows, keeping one of each
DELETE FROM backlog_map a
USING backlog_map b
WHERE a.story = b.story AND a.backlog = b.backlog
  AND a.ctid < b.ctid;"""


@pytest.mark.parametrize(("answer", "left"), [(True, 3), (False, 6)])
def test_delete_of_duplicates_with_ctid(fresh_db: str, answer: bool, left: int) -> None:
    setup(fresh_db, DUPLICATES)
    outcome, hooks = run(fresh_db, DEDUPE, hooks=Recorder(answer))
    [request] = hooks.asked
    assert (request.kind, request.safety, request.rowcount) == ("commit", "destructive", 3)
    assert request.columns == ["story", "backlog"]
    assert sorted(request.rows) == [("s1", "b1"), ("s1", "b1"), ("s2", "b2")]
    assert outcome.statements[0].status == ("committed" if answer else "rolled_back")
    assert query(fresh_db, "SELECT count(*) FROM backlog_map")[0][0] == left
    counts = query(
        fresh_db, "SELECT story, count(*) FROM backlog_map GROUP BY story ORDER BY story"
    )
    assert counts == (
        [("s1", 1), ("s2", 1), ("s3", 1)] if answer else [("s1", 3), ("s2", 2), ("s3", 1)]
    )


def test_insert_on_conflict_preview_counts_only_new_rows(fresh_db: str) -> None:
    setup(
        fresh_db,
        "CREATE TABLE roles (user_id int, role text, PRIMARY KEY (user_id, role)); INSERT INTO roles VALUES (1, 'staff')",
    )
    code = "INSERT INTO roles (user_id, role) VALUES (1, 'staff'), (1, 'admin') ON CONFLICT (user_id, role) DO NOTHING -- grant"
    outcome, hooks = run(fresh_db, code)
    [request] = hooks.asked
    assert request.rowcount == 1 and request.rows == [(1, "admin")]
    assert outcome.status == "ok"
    assert query(fresh_db, "SELECT role FROM roles ORDER BY role") == [("admin",), ("staff",)]


def test_an_explicit_transaction_is_one_decision(fresh_db: str) -> None:
    setup(fresh_db, JOBS)
    code = (
        "BEGIN;\nUPDATE jobs SET state = 'a' WHERE id = 1;\nDELETE FROM jobs WHERE id = 3;\nCOMMIT;"
    )
    outcome, hooks = run(fresh_db, code, hooks=Recorder(False))
    [request] = hooks.asked
    assert (request.kind, request.safety, request.rowcount) == ("commit", "destructive", 2)
    assert [r.status for r in outcome.statements] == [
        "ok",
        "rolled_back",
        "rolled_back",
        "rolled_back",
    ]
    assert query(fresh_db, "SELECT count(*) FROM jobs WHERE state = 'a'") == [(0,)]
    assert query(fresh_db, "SELECT count(*) FROM jobs") == [(3,)]

    outcome, hooks = run(fresh_db, code, hooks=Recorder(True))
    assert len(hooks.asked) == 1 and outcome.status == "ok"
    assert query(fresh_db, "SELECT id, state FROM jobs ORDER BY id") == [(1, "a"), (2, "locked")]


def test_an_explicit_rollback_is_a_dry_run_without_asking(fresh_db: str) -> None:
    setup(fresh_db, JOBS)
    code = "BEGIN;\nDELETE FROM jobs;\nROLLBACK;"
    outcome, hooks = run(fresh_db, code)
    assert hooks.asked == []
    assert outcome.status == "ok"
    assert "DELETE 3" in outcome.output
    assert query(fresh_db, "SELECT count(*) FROM jobs") == [(3,)]


def test_a_function_acting_outside_the_transaction_is_confirmed_before_it_runs(
    fresh_db: str,
) -> None:
    outcome, hooks = run(
        fresh_db,
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE false",
        hooks=Recorder(False),
    )
    [request] = hooks.asked
    assert (request.kind, request.safety) == ("run", "destructive")
    assert "no rollback undoes" in request.reason
    assert outcome.status == "refused" and outcome.statements[0].status == "refused"


# --------------------------------------------------------------------------
# Placeholders, bound against real column types
# --------------------------------------------------------------------------

ITEMS = """
CREATE TABLE intake_lots (id uuid PRIMARY KEY, lot_number int NOT NULL, name text NOT NULL, note text);
INSERT INTO intake_lots VALUES
  ('6f1c6c2e-7d1a-4a0b-9c55-1f0c3f3b8a11', 7, 'Spring cards', NULL),
  ('0b7f6a9e-2b0d-4c61-8f7e-3d7d2c1b9a22', 8, 'Summer comics', NULL);
"""
LOT = "6f1c6c2e-7d1a-4a0b-9c55-1f0c3f3b8a11"


def test_placeholders_bind_as_uuid_int_and_text(fresh_db: str) -> None:
    setup(fresh_db, ITEMS)
    code = """-- by id (uuid column)
SELECT lot_number FROM intake_lots WHERE id = '<lot-id>';
-- by number (int column, bare placeholder)
SELECT name FROM intake_lots WHERE lot_number = <lot-number>;
-- by part of the name
SELECT lot_number FROM intake_lots WHERE name ILIKE '%<part>%' ORDER BY 1;"""
    values = {"lot-id": LOT, "lot-number": "8", "part": "COMIC"}
    outcome, _ = run(fresh_db, code, values=values)
    assert outcome.status == "ok", outcome.error
    assert [r.rows for r in outcome.statements] == [[(7,)], [("Summer comics",)], [(8,)]]


def test_an_injection_value_changes_nothing(fresh_db: str) -> None:
    setup(fresh_db, ITEMS)
    values = {"lot-id": LOT, "note": INJECTION, "name": INJECTION}
    code = """SELECT count(*) FROM intake_lots WHERE name = '<name>';
UPDATE intake_lots SET note = '<note>' WHERE id = '<lot-id>';"""
    outcome, hooks = run(fresh_db, code, values=values)
    assert outcome.status == "ok", outcome.error
    assert outcome.statements[0].rows == [(0,)]
    assert hooks.asked[0].rowcount == 1
    assert query(fresh_db, "SELECT count(*) FROM intake_lots") == [(2,)]
    assert query(fresh_db, "SELECT note FROM intake_lots WHERE id = %s", (LOT,)) == [(INJECTION,)]

    # A value that does not fit the column type is an error from PostgreSQL, nothing more.
    outcome, _ = run(
        fresh_db, "SELECT * FROM intake_lots WHERE id = '<lot-id>'", values={"lot-id": INJECTION}
    )
    assert outcome.status == "failed" and "SQLSTATE 22P02" in (outcome.error or "")
    assert query(fresh_db, "SELECT count(*) FROM intake_lots") == [(2,)]


def test_a_placeholder_for_a_table_name_is_refused_before_anything_runs(fresh_db: str) -> None:
    setup(fresh_db, ITEMS)
    code = "UPDATE intake_lots SET note = 'touched';\nSELECT * FROM <table>;"
    outcome, hooks = run(fresh_db, code, values={"table": "intake_lots"})
    assert outcome.status == "failed" and outcome.exit_code == 1
    assert "<table>" in (outcome.error or "")
    assert "opsdoc binds values, it does not splice names into SQL" in (outcome.error or "")
    assert "nothing was run" in (outcome.error or "")
    assert hooks.asked == []
    assert [r.status for r in outcome.statements] == ["skipped", "failed"]
    assert query(fresh_db, "SELECT count(*) FROM intake_lots WHERE note IS NOT NULL") == [(0,)]


def test_a_placeholder_without_a_value_is_named(fresh_db: str) -> None:
    the_step = step("SELECT * FROM pg_class WHERE relname = '<rel>'", ["rel"])
    outcome = run_sql(the_step, dsn=fresh_db, values={}, hooks=Recorder())
    assert outcome.status == "failed" and "<rel>" in (outcome.error or "")


# --------------------------------------------------------------------------
# Statements that cannot run in a transaction
# --------------------------------------------------------------------------


def index_names(dsn: str) -> list[str]:
    return [
        r[0]
        for r in query(dsn, "SELECT indexname FROM pg_indexes WHERE tablename = 'jobs' ORDER BY 1")
    ]


def test_create_index_concurrently_runs_in_autocommit_after_confirmation(fresh_db: str) -> None:
    setup(fresh_db, JOBS)
    code = "-- Index by state\nCREATE INDEX CONCURRENTLY jobs_state_idx ON jobs (state)"
    outcome, hooks = run(fresh_db, code)
    [request] = hooks.asked
    assert (request.kind, request.label) == ("autocommit", "Index by state")
    assert "no rollback undoes it" in request.reason
    assert outcome.status == "ok", outcome.error
    assert outcome.statements[0].status == "committed"
    assert "jobs_state_idx" in index_names(fresh_db)


def test_create_index_concurrently_declined_runs_nothing(fresh_db: str) -> None:
    setup(fresh_db, JOBS)
    outcome, hooks = run(
        fresh_db,
        "CREATE INDEX CONCURRENTLY jobs_state_idx ON jobs (state);\nVACUUM jobs;",
        hooks=Recorder(False),
    )
    assert hooks.kinds() == ["autocommit"]
    assert outcome.status == "refused"
    assert [r.status for r in outcome.statements] == ["refused", "skipped"]
    assert "jobs_state_idx" not in index_names(fresh_db)


# --------------------------------------------------------------------------
# Failures, timeouts, Ctrl-C, unreachable servers
# --------------------------------------------------------------------------


def test_a_failing_statement_rolls_back_and_skips_the_rest(fresh_db: str) -> None:
    setup(fresh_db, JOBS)
    code = """-- look
SELECT count(*) FROM jobs;
-- break the key
UPDATE jobs SET id = 1 WHERE id = 2;
-- never
UPDATE jobs SET state = 'never';"""
    outcome, hooks = run(fresh_db, code)
    assert outcome.status == "failed" and outcome.exit_code == 1
    assert hooks.asked == []
    error = outcome.error or ""
    assert error.startswith("SQLSTATE 23505: duplicate key value violates unique constraint")
    assert "statement 2 'break the key', line 4" in error
    assert [r.status for r in outcome.statements] == ["ok", "failed", "skipped"]
    assert outcome.statements[1].sqlstate == "23505"
    assert query(fresh_db, "SELECT id, state FROM jobs ORDER BY id") == [
        (1, "locked"),
        (2, "locked"),
        (3, "done"),
    ]
    assert wait_until_no_open_sessions(fresh_db) == []


def test_the_step_timeout_is_the_default(fresh_db: str) -> None:
    the_step = step("SELECT pg_sleep(10)")
    the_step.timeout = 0.3
    outcome = run_sql(the_step, dsn=fresh_db, values={}, hooks=Recorder())
    assert outcome.status == "timeout" and "timed out after 0.3s" in (outcome.error or "")


def test_a_statement_past_the_timeout_is_stopped(fresh_db: str) -> None:
    started = time.monotonic()
    outcome, _ = run(fresh_db, "SELECT pg_sleep(10);\nSELECT 1;", timeout=0.5)
    assert time.monotonic() - started < 5
    assert outcome.status == "timeout"
    assert "timed out after 0.5s" in (outcome.error or "")
    assert [r.status for r in outcome.statements] == ["failed", "skipped"]
    assert wait_until_no_open_sessions(fresh_db) == []


def interrupt_soon(how: Literal["interrupt_main", "sigint"], delay: float = 1.0) -> threading.Timer:
    def fire() -> None:
        if how == "sigint":
            os.kill(os.getpid(), signal.SIGINT)
        else:
            _thread.interrupt_main()

    timer = threading.Timer(delay, fire)
    timer.start()
    return timer


@pytest.mark.parametrize("how", ["interrupt_main", "sigint"])
def test_ctrl_c_cancels_the_query_and_leaves_no_open_transaction(fresh_db: str, how: Any) -> None:
    setup(fresh_db, JOBS)
    code = "BEGIN;\nUPDATE jobs SET state = 'half-done';\nSELECT pg_sleep(30);\nCOMMIT;"
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    started = time.monotonic()
    try:
        timer = interrupt_soon(how)
        with pytest.raises(StepInterrupted) as caught:
            run(fresh_db, code)
        timer.join()
    finally:
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 10
    outcome = caught.value.outcome
    assert outcome.status == "interrupted"
    assert "interrupted" in (outcome.error or "")
    assert [r.status for r in outcome.statements] == [
        "rolled_back",
        "rolled_back",
        "rolled_back",
        "skipped",
    ]
    assert wait_until_no_open_sessions(fresh_db) == []
    assert query(fresh_db, "SELECT count(*) FROM jobs WHERE state = 'half-done'") == [(0,)]


def test_ctrl_c_during_a_read(fresh_db: str) -> None:
    timer = interrupt_soon("interrupt_main")
    with pytest.raises(StepInterrupted) as caught:
        run(fresh_db, "-- wait\nSELECT pg_sleep(30)")
    timer.join()
    [result] = caught.value.outcome.statements
    assert result.status == "rolled_back" and result.error == "interrupted (Ctrl-C)"
    assert wait_until_no_open_sessions(fresh_db) == []


def test_an_unreachable_database_is_a_clear_error_without_the_password() -> None:
    dsn = "postgresql://opsdoc:hunter2secret@127.0.0.1:1/incidents"
    outcome, hooks = run(dsn, "SELECT 1")
    assert outcome.status == "failed" and outcome.exit_code == 1
    error = outcome.error or ""
    assert "\n" not in error
    assert "cannot connect to PostgreSQL at 127.0.0.1:1" in error
    assert "check that the server is running" in error
    assert "hunter2secret" not in error
    assert "hunter2secret" not in repr(outcome)
    assert hooks.asked == []


def test_the_password_never_shows_in_errors_or_output(fresh_db: str) -> None:
    # pgserver trusts local connections, so the password is accepted and ignored.
    info = psycopg.conninfo.conninfo_to_dict(fresh_db)
    dsn = psycopg.conninfo.make_conninfo(**info, password="hunter2secret")
    outcome, hooks = run(dsn, "SELECT 'hunter2secret' AS echo;\nSELECT 'hunter2secret'::int;")
    assert outcome.status == "failed"
    assert "SQLSTATE 22P02" in (outcome.error or "")
    assert "hunter2secret" not in repr(outcome)
    assert "hunter2secret" not in hooks.text
    assert outcome.statements[0].rows == [("***",)]


# --------------------------------------------------------------------------
# psql meta-commands
# --------------------------------------------------------------------------


def test_a_meta_command_runs_through_psql(fresh_db: str) -> None:
    setup(fresh_db, JOBS)
    outcome, hooks = run(fresh_db, "-- roles\n\\du\n-- the table\n\\d jobs")
    assert outcome.status == "ok", outcome.error
    assert [r.status for r in outcome.statements] == ["ok", "ok"]
    assert "postgres" in outcome.output and "Superuser" in outcome.output
    assert "locked_by" in outcome.output
    assert hooks.asked == []


def test_a_meta_command_with_a_password_in_the_dsn(fresh_db: str) -> None:
    info = psycopg.conninfo.conninfo_to_dict(fresh_db)
    dsn = psycopg.conninfo.make_conninfo(**info, password="hunter2secret")
    outcome, hooks = run(dsn, "\\conninfo")
    assert outcome.status == "ok", outcome.error
    assert "hunter2secret" not in hooks.text


def test_a_meta_command_without_psql_says_psql_is_needed(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_executor, "find_psql", lambda: None)
    outcome, _ = run(fresh_db, "SELECT 1;\n\\du")
    assert outcome.status == "failed"
    assert "psql is needed" in (outcome.error or "")
    assert [r.status for r in outcome.statements] == ["ok", "failed"]


def test_psql_is_found(fresh_db: str) -> None:
    assert sql_executor.find_psql() is not None


def test_a_fresh_database_each_time(fresh_db: str) -> None:
    assert query(fresh_db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == [(0,)]
