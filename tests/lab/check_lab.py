"""Check the lab against the seed runbooks' SQL, on an embedded PostgreSQL.

For each tests/lab/seedNNN.sql: start pgserver (once), load the file into a
template database, then

1. run EVERY SQL statement of that seed's runbook (read from
   ../shared/seeds, ```sql fences found with markdown-it-py, statements
   split with pglast, '<placeholder>' literals bound as query parameters
   with the lab's known values), each in its own transaction that is rolled
   back; statements that cannot run in a transaction (CREATE INDEX
   CONCURRENTLY, VACUUM, REFRESH ... CONCURRENTLY) run in autocommit, psql
   meta-commands (\\du) through psql. Prints OK / ERROR per statement.
2. for each scenario with a seeded fault, on a fresh copy of the database:
   measure (the runbook's diagnosis queries and a few lab queries), run the
   runbook's fix statements, measure again, all in one transaction that is
   rolled back (autocommit where the fix needs it), and print the values
   with what was expected.

Not a test: run it by hand.

    .venv/bin/python tests/lab/check_lab.py [--seeds DIR] [--only 003] [-v]

Exit code 0 when every statement ran (but the ones listed in EXPECTED_ERRORS)
and every scenario measured what was expected, else 1.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pglast
import psycopg
from markdown_it import MarkdownIt
from psycopg import sql as pgsql

LAB = Path(__file__).resolve().parent
ROOT = LAB.parent.parent
SHARED = Path(os.environ.get("OPSDOC_SHARED", ROOT.parent / "shared"))
SEEDS = SHARED / "seeds"

# The lab's known values for the runbooks' <placeholders>, per seed.
LOT_ID = "a0000000-0000-4000-8000-000000000001"
QUEUE_ITEM_ID = "c0000000-0000-4000-8000-000000000003"
USER_EMAIL = "new.staff@example.com"
PARAMS: dict[str, dict[str, str]] = {
    "004": {"lot-id": LOT_ID, "queue-item-id": QUEUE_ITEM_ID, "user-email": USER_EMAIL},
}

# Statements that cannot run on pgserver, by (seed, text in the statement).
EXPECTED_ERRORS: dict[tuple[str, str], str] = {
    ("004", "FROM pg_stat_statements"): (
        "pg_stat_statements is not shipped with pgserver (only plpgsql and vector are "
        "available) and would need shared_preload_libraries"
    ),
}

SQL_INFOS = {"sql", "postgres", "postgresql", "psql", "pgsql", "plpgsql"}
PLACEHOLDER = re.compile(r"'<([A-Za-z][\w-]*)>'")


# --------------------------------------------------------------------- reading


@dataclass
class Statement:
    seed: str
    section: str  # heading path, " / "-joined
    line: int  # line of the fence in the seed file
    text: str
    label: str | None
    meta: bool = False  # a psql meta-command such as \du
    parse_error: str | None = None

    def where(self) -> str:
        return f"{self.seed}:{self.line}"

    def title(self) -> str:
        head = self.label or " ".join(self.text.split())
        return head if len(head) <= 70 else head[:67] + "..."


def _label_of(gap: str) -> str | None:
    """The last `--` comment line before a statement, as its label."""
    labels = [ln.strip()[2:].strip() for ln in gap.splitlines() if ln.strip().startswith("--")]
    labels = [lb for lb in labels if lb]
    return labels[-1] if labels else None


def split_fence(seed: str, section: str, line: int, code: str) -> list[Statement]:
    metas: list[tuple[int, str]] = []
    kept: list[str] = []
    offset = 0
    for ln in code.splitlines(keepends=True):
        if ln.lstrip().startswith("\\"):
            metas.append((offset, ln.strip()))
            kept.append("\n" if ln.endswith("\n") else "")
        else:
            kept.append(ln)
        offset += len(ln)
    clean = "".join(kept)
    found: list[tuple[int, Statement]] = [
        (pos, Statement(seed, section, line, text, None, meta=True)) for pos, text in metas
    ]
    try:
        slices = pglast.split(clean, only_slices=True) if clean.strip() else ()
    except pglast.parser.ParseError as exc:
        return [Statement(seed, section, line, code, None, parse_error=str(exc))]
    prev_end = 0
    for sl in slices:
        gap = clean[prev_end : sl.start]
        found.append((sl.start, Statement(seed, section, line, clean[sl], _label_of(gap))))
        prev_end = sl.stop
    return [st for _, st in sorted(found, key=lambda pair: pair[0])]


def read_seed(path: Path, seed: str) -> list[Statement]:
    text = path.read_text(encoding="utf-8")
    tokens = MarkdownIt("commonmark").parse(text)
    headings: list[tuple[int, str]] = []
    out: list[Statement] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            level = int(tok.tag[1:])
            title = tokens[i + 1].content.strip()
            headings = [h for h in headings if h[0] < level] + [(level, title)]
        elif tok.type == "fence":
            info = (tok.info.split() or [""])[0].lower()
            if info in SQL_INFOS:
                section = " / ".join(t for _, t in headings)
                line = (tok.map[0] + 1) if tok.map else 0
                out.extend(split_fence(seed, section, line, tok.content))
    return out


def seed_file(seed: str) -> Path:
    matches = sorted(SEEDS.glob(f"{seed}_*.txt"))
    if not matches:
        raise SystemExit(f"no seed {seed} in {SEEDS}")
    return matches[0]


# --------------------------------------------------------------------- running


def no_transaction(text: str) -> bool:
    """True for statements PostgreSQL refuses inside a transaction block."""
    try:
        node = pglast.parse_sql(text)[0].stmt
    except pglast.parser.ParseError:
        return False
    kind = type(node).__name__
    if kind == "IndexStmt":
        return bool(node.concurrent)
    if kind == "RefreshMatViewStmt":
        return bool(node.concurrent)
    return kind in {"VacuumStmt", "CreatedbStmt", "DropdbStmt", "AlterSystemStmt"}


def bind(text: str, params: dict[str, str]) -> tuple[str, list[str] | None]:
    """'<name>' literals become query parameters (never spliced into the text)."""
    names = PLACEHOLDER.findall(text)
    if not names:
        return text, None
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(", ".join(f"<{n}>" for n in missing))
    escaped = text.replace("%", "%%")
    return PLACEHOLDER.sub("%s", escaped), [params[n] for n in names]


def psql_binary() -> str | None:
    found = shutil.which("psql")
    if found:
        return found
    try:
        from pgserver._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    candidate = Path(POSTGRES_BIN_PATH) / "psql"
    return str(candidate) if candidate.exists() else None


def describe(cur: psycopg.Cursor) -> str:
    status = cur.statusmessage or ""
    if cur.description is None:
        return status
    rows = cur.fetchall()
    if len(rows) == 1 and len(rows[0]) == 1:
        return f"{status} -> {rows[0][0]!r}"
    return f"{status} ({len(rows)} rows)"


def run_statement(uri: str, st: Statement, params: dict[str, str]) -> tuple[bool, str]:
    if st.parse_error:
        return False, f"parse error: {st.parse_error}"
    if st.meta:
        exe = psql_binary()
        if exe is None:
            return False, "psql is not installed"
        proc = subprocess.run(
            [exe, "-X", "-d", uri, "-c", st.text],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            return False, proc.stderr.strip()
        return True, f"psql: {len(proc.stdout.splitlines())} lines"
    try:
        query, args = bind(st.text, params)
    except KeyError as exc:
        return False, f"no lab value for {exc.args[0]}"
    with psycopg.connect(uri, autocommit=True) as conn, conn.cursor() as cur:
        try:
            if no_transaction(st.text):
                cur.execute(query, args)
                return True, describe(cur) + " (autocommit)"
            with conn.transaction() as tx:
                cur.execute(query, args)
                result = describe(cur)
                raise psycopg.Rollback(tx)
        except psycopg.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return False, f"{exc.sqlstate or ''} {first}".strip()
    return True, result


# --------------------------------------------------------------------- scenarios


@dataclass
class Scenario:
    """A fault, the runbook statements that clear it, and what to measure.

    stages: (name, refs) pairs; each ref picks one statement of the section
    (a substring of its label or text) and runs it. Stage 0 is normally
    ("before", []). measures: (name, query, expected per stage); query is
    "rows:REF" (row count of a runbook statement), "row:REF" (its first row),
    or the lab's own SQL returning one value.
    """

    seed: str
    title: str
    section: str
    stages: list[tuple[str, list[str]]]
    measures: list[tuple[str, str, list[Any]]]
    autocommit: bool = False
    setup: Callable[[str], Any] | None = None
    settle: Callable[[psycopg.Connection], None] | None = None
    notes: list[str] = field(default_factory=list)


def find(statements: list[Statement], section: str, ref: str) -> Statement:
    hits = [
        st
        for st in statements
        if section in st.section and not st.meta and ref in f"{st.label or ''}\n{st.text}"
    ]
    if len(hits) != 1:
        raise LookupError(f"{len(hits)} statements match {ref!r} in section {section!r}")
    return hits[0]


def _execute(cur: psycopg.Cursor, st: Statement, params: dict[str, str]) -> None:
    query, args = bind(st.text, params)
    cur.execute(query, args)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    return value


def measure(conn: psycopg.Connection, statements: list[Statement], sc: Scenario, query: str) -> Any:
    params = PARAMS.get(sc.seed, {})
    with conn.cursor() as cur:
        try:
            with conn.transaction() as tx:
                if query.startswith(("rows:", "row:")):
                    mode, ref = query.split(":", 1)
                    _execute(cur, find(statements, sc.section, ref), params)
                    rows = cur.fetchall()
                    value = len(rows) if mode == "rows" else (rows[0] if rows else None)
                else:
                    cur.execute(query)
                    while cur.nextset():
                        pass
                    row = cur.fetchone()
                    value = row[0] if row else None
                raise psycopg.Rollback(tx)
        except psycopg.Error as exc:
            return f"error {exc.sqlstate}"
    return _plain(value)


def run_scenario(uri: str, statements: list[Statement], sc: Scenario) -> bool:
    params = PARAMS.get(sc.seed, {})
    print(f"\n  [{sc.seed}] {sc.title}")
    held = sc.setup(uri) if sc.setup else None
    values: list[list[Any]] = [[] for _ in sc.measures]
    ran: list[str] = []

    def stages(conn: psycopg.Connection) -> None:
        for stage, refs in sc.stages:
            with conn.cursor() as cur:
                for ref in refs:
                    st = find(statements, sc.section, ref)
                    _execute(cur, st, params)
                    ran.append(f"{stage}: {st.title()} -> {cur.statusmessage}")
            if refs and sc.settle:
                sc.settle(conn)
            for i, (_, query, _) in enumerate(sc.measures):
                values[i].append(measure(conn, statements, sc, query))

    try:
        with psycopg.connect(uri, autocommit=True) as conn:
            if sc.autocommit:
                stages(conn)
            else:
                with conn.transaction() as tx:
                    stages(conn)
                    raise psycopg.Rollback(tx)
    finally:
        if held is not None:
            held.close()
    for line in ran:
        print(f"      ran  {line}")
    stage_names = " -> ".join(name for name, _ in sc.stages)
    print(f"      {'':44} {stage_names}")
    ok = True
    for (name, _, expected), got in zip(sc.measures, values, strict=True):
        good = got == [_plain(e) for e in expected]
        ok &= good
        shown = " -> ".join(repr(v) for v in got)
        verdict = "ok" if good else f"MISMATCH, expected {' -> '.join(map(repr, expected))}"
        print(f"      {name:44} {shown}   {verdict}")
    for note in sc.notes:
        print(f"      note: {note}")
    return ok


def _migration_blocker(uri: str) -> psycopg.Connection:
    """A crashed deploy's session: holds an advisory lock, idle in transaction."""
    conn = psycopg.connect(uri)
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('supabase_migrations')), count(*) "
        "FROM supabase_migrations.schema_migrations"
    )
    return conn


def _wait_for_terminated(conn: psycopg.Connection) -> None:
    for _ in range(50):
        left = conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE state = 'idle in transaction' AND query LIKE '%schema_migrations%'"
        ).fetchone()
        if left and left[0] == 0:
            return
        time.sleep(0.1)


BEFORE: tuple[str, list[str]] = ("before", [])

SCENARIOS: list[Scenario] = [
    # ---------------------------------------------------------------- seed 003
    Scenario(
        "003",
        "Worker Death, step 3: reset locked jobs",
        "Worker Death",
        [BEFORE, ("reset", ["Reset stuck jobs"])],
        [
            ("diag rows: View stuck jobs", "rows:View stuck jobs", [2, 0]),
            (
                "job locked 1 min ago still processing",
                "SELECT status::text FROM ops.job_queue "
                "WHERE id = '30000000-0000-4000-8000-000000000003'",
                ["processing", "processing"],
            ),
            (
                "pending jobs",
                "SELECT count(*) FROM ops.job_queue WHERE status = 'pending'",
                [5, 7],
            ),
            ("v_system_health.stuck_jobs", "SELECT stuck_jobs FROM ops.v_system_health", [2, 0]),
            (
                "v_system_health.enforcement_status",
                "SELECT enforcement_status FROM ops.v_system_health",
                ["offline", "offline"],
            ),
        ],
        notes=["enforcement stays offline: the restart (step 2, a shell step) fixes that"],
    ),
    Scenario(
        "003",
        "Migration Block, step 4: remove the half-applied migration",
        "Migration Block",
        [
            BEFORE,
            (
                "rollback",
                ["Remove the migration record", "DROP VIEW IF EXISTS", "DROP TABLE IF EXISTS"],
            ),
        ],
        [
            ("diag rows: Identify the bad migration", "rows:Identify the bad migration", [1, 0]),
            (
                "view ops.v_live_feed_events exists",
                "SELECT to_regclass('ops.v_live_feed_events') IS NOT NULL",
                [True, False],
            ),
            (
                "migrations recorded",
                "SELECT count(*) FROM supabase_migrations.schema_migrations",
                [5, 4],
            ),
        ],
    ),
    Scenario(
        "003",
        "Migration Block, step 2: terminate the session holding the lock",
        "Migration Block",
        [BEFORE, ("terminate", ["Terminate blocking sessions"])],
        [
            ("diag rows: Check for advisory locks", "rows:Check for advisory locks", [1, 0]),
            (
                "sessions idle in transaction on migrations",
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
                "AND query LIKE '%schema_migrations%'",
                [1, 0],
            ),
        ],
        autocommit=True,
        setup=_migration_blocker,
        settle=_wait_for_terminated,
        notes=["the lab opens a second session that holds the lock, idle in transaction"],
    ),
    Scenario(
        "003",
        "Simplicity API Down: pause ingest jobs (step 1), resume them (step 3)",
        "Simplicity API Down",
        [BEFORE, ("pause", ["Pause all pending ingest jobs"]), ("resume", ["resume paused jobs"])],
        [
            ("diag rows: View pending ingest jobs", "rows:View pending ingest jobs", [4, 1, 4]),
            (
                "ingest pending",
                "SELECT count(*) FROM ops.job_queue "
                "WHERE job_type = 'ingest' AND status = 'pending'",
                [3, 0, 3],
            ),
            (
                "ingest paused",
                "SELECT count(*) FROM ops.job_queue "
                "WHERE job_type = 'ingest' AND status = 'paused'",
                [0, 3, 0],
            ),
            (
                "other job types pending (must not change)",
                "SELECT count(*) FROM ops.job_queue "
                "WHERE job_type <> 'ingest' AND status = 'pending'",
                [2, 2, 2],
            ),
            (
                "ingest processing (must not change)",
                "SELECT count(*) FROM ops.job_queue "
                "WHERE job_type = 'ingest' AND status = 'processing'",
                [1, 1, 1],
            ),
        ],
    ),
    # ---------------------------------------------------------------- seed 004
    Scenario(
        "004",
        "Circuit Breaker Recovery: diagnosis sees the breaker",
        "Circuit Breaker Recovery",
        [BEFORE],
        [
            ("diag rows: Check circuit breaker status", "rows:circuit breaker status", [3]),
            ("diag rows: Check recent errors", "rows:Check recent errors", [5]),
        ],
    ),
    Scenario(
        "004",
        "Shopify Sync Queue Stuck, option A: clear failed items",
        "Shopify Sync Queue Stuck",
        [BEFORE, ("clear failed", ["Clear only failed items"])],
        [
            ("diag rows: Find stuck items", "rows:Find stuck items", [2, 2]),
            ("diag rows: Check for failed items", "rows:Check for failed items", [3, 0]),
            ("queue rows", "SELECT count(*) FROM shopify_sync_queue", [7, 4]),
        ],
    ),
    Scenario(
        "004",
        "Shopify Sync Queue Stuck, option B: clear all queued items",
        "Shopify Sync Queue Stuck",
        [BEFORE, ("clear queued", ["Clear all queued items"])],
        [
            ("diag rows: Find stuck items", "rows:Find stuck items", [2, 0]),
            ("diag rows: Check for failed items", "rows:Check for failed items", [3, 3]),
            (
                "queued",
                "SELECT count(*) FROM shopify_sync_queue WHERE status = 'queued'",
                [3, 0],
            ),
        ],
    ),
    Scenario(
        "004",
        "Shopify Sync Queue Stuck, option C: retry exhausted failed items",
        "Shopify Sync Queue Stuck",
        [BEFORE, ("retry", ["Reset failed items to retry"])],
        [
            ("diag rows: Check for failed items", "rows:Check for failed items", [3, 1]),
            (
                "failed with retry_count >= max_retries",
                "SELECT count(*) FROM shopify_sync_queue "
                "WHERE status = 'failed' AND retry_count >= max_retries",
                [2, 0],
            ),
            (
                "queued",
                "SELECT count(*) FROM shopify_sync_queue WHERE status = 'queued'",
                [3, 5],
            ),
            ("diag rows: Find stuck items", "rows:Find stuck items", [2, 4]),
        ],
        notes=[
            "re-queued items keep their old created_at, so 'Find stuck items' lists them "
            "as stuck right after the retry"
        ],
    ),
    Scenario(
        "004",
        "Batch Processing Failures, option A: complete the batch",
        "Batch Processing Failures",
        [BEFORE, ("complete", ["Mark batch as completed"])],
        [
            ("diag rows: Check batch status", "rows:Check batch status", [2, 1]),
            ("diag rows: Check batch items", "rows:Check batch items", [3, 3]),
            ("diag rows: Check for errors", "rows:Check for errors", [1, 1]),
            (
                "lot status",
                f"SELECT status FROM intake_lots WHERE id = '{LOT_ID}'",
                ["active", "completed"],
            ),
        ],
    ),
    Scenario(
        "004",
        "Batch Processing Failures, option B: soft-delete the batch",
        "Batch Processing Failures",
        [BEFORE, ("delete", ["Soft delete batch and items"])],
        [
            ("diag rows: Check batch status", "rows:Check batch status", [2, 1]),
            (
                "lot status",
                f"SELECT status FROM intake_lots WHERE id = '{LOT_ID}'",
                ["active", "deleted"],
            ),
            (
                "live items of the lot",
                f"SELECT count(*) FROM intake_items "
                f"WHERE lot_id = '{LOT_ID}' AND deleted_at IS NULL",
                [3, 0],
            ),
            ("diag rows: Check batch items", "rows:Check batch items", [3, 3]),
        ],
        notes=["soft delete keeps the rows; 'Check batch items' does not filter deleted_at"],
    ),
    Scenario(
        "004",
        "Failed Shopify Sync Recovery, option A: re-queue one item",
        "Failed Shopify Sync Recovery",
        [BEFORE, ("re-queue one", ["Re-queue failed item"])],
        [
            ("diag rows: Find failed sync", "rows:Find failed sync", [3, 2]),
            (
                "status of <queue-item-id>",
                f"SELECT status FROM shopify_sync_queue WHERE id = '{QUEUE_ITEM_ID}'",
                ["failed", "queued"],
            ),
        ],
    ),
    Scenario(
        "004",
        "Failed Shopify Sync Recovery, option B: re-queue all failed",
        "Failed Shopify Sync Recovery",
        [BEFORE, ("re-queue all", ["Re-queue all failed items"])],
        [
            ("diag rows: Find failed sync", "rows:Find failed sync", [3, 0]),
            (
                "queued",
                "SELECT count(*) FROM shopify_sync_queue WHERE status = 'queued'",
                [3, 6],
            ),
        ],
    ),
    Scenario(
        "004",
        "Authentication Issues, option A: grant admin (twice: ON CONFLICT)",
        "Authentication Issues",
        [BEFORE, ("grant", ["Grant admin role"]), ("grant again", ["Grant admin role"])],
        [
            ("diag rows: Check user exists", "rows:Check user exists", [1, 1, 1]),
            ("diag rows: Check user roles", "rows:Check user roles", [0, 1, 1]),
            (
                "verify: Verify role assignment",
                "row:Verify role assignment",
                [None, ("admin",), ("admin",)],
            ),
        ],
    ),
    Scenario(
        "004",
        "Authentication Issues, option B: grant staff",
        "Authentication Issues",
        [BEFORE, ("grant", ["Grant staff role"])],
        [
            ("diag rows: Check user roles", "rows:Check user roles", [0, 1]),
            ("verify: Verify role assignment", "row:Verify role assignment", [None, ("staff",)]),
        ],
    ),
    Scenario(
        "004",
        "Authentication Issues, option C: assign store/location",
        "Authentication Issues",
        [BEFORE, ("assign", ["Assign user to store"])],
        [("diag rows: Check user assignments", "rows:Check user assignments", [0, 1])],
    ),
    Scenario(
        "004",
        "Database Performance Issues, option C: archive old data",
        "Database Performance Issues",
        [BEFORE, ("archive", ["Archive old system logs", "Archive completed batches"])],
        [
            (
                "logs older than 90 days",
                "SELECT count(*) FROM system_logs WHERE created_at < now() - interval '90 days'",
                [2, 0],
            ),
            (
                "archived lots",
                "SELECT count(*) FROM intake_lots WHERE status = 'archived'",
                [0, 1],
            ),
        ],
    ),
    Scenario(
        "004",
        "Credential Rotation: auth errors visible",
        "Credential Rotation",
        [BEFORE],
        [("diag rows: Check system logs for auth errors", "rows:auth errors", [1])],
    ),
    # ---------------------------------------------------------------- seed 000
    Scenario(
        "000",
        "Duplicate Story Constraint Violations: remove duplicates",
        "Duplicate Story Constraint",
        [BEFORE, ("delete", ["Remove duplicates"])],
        [
            ("diag rows: Find duplicates", "rows:Find duplicates", [3, 0]),
            ("sd_backlog_map rows", "SELECT count(*) FROM sd_backlog_map", [10, 6]),
            (
                "ADD CONSTRAINT sd_backlog_map_unique_sd_backlog",
                "ALTER TABLE sd_backlog_map ADD CONSTRAINT sd_backlog_map_unique_sd_backlog "
                "UNIQUE (sd_id, backlog_id); SELECT 'added'",
                ["error 23505", "added"],
            ),
            (
                "BL-101 rows kept (import run)",
                "SELECT string_agg(right(import_run_id::text, 1), ',' ORDER BY import_run_id) "
                "FROM sd_backlog_map WHERE backlog_id = 'BL-101'",
                ["1,3,4", "4"],
            ),
        ],
        notes=[
            "'keep first' in the runbook's comment: a.ctid < b.ctid keeps the highest ctid, "
            "here the last import's row"
        ],
    ),
    Scenario(
        "000",
        "Release Gate Not Calculating: refresh the materialized view",
        "Release Gate Not Calculating",
        [BEFORE, ("refresh", ["REFRESH MATERIALIZED VIEW CONCURRENTLY"])],
        [
            ("diag rows: Check view is working", "rows:Check view is working", [1, 1]),
            (
                "gate passing_pct for SD-2025-PILOT-001",
                "SELECT passing_pct FROM v_sd_release_gate WHERE sd_key = 'SD-2025-PILOT-001'",
                [0.0, 71.4],
            ),
        ],
        autocommit=True,
        notes=["REFRESH ... CONCURRENTLY cannot run in a transaction: this one commits"],
    ),
    Scenario(
        "000",
        "Story Keys Not Matching: diagnosis sees not_run stories",
        "Story Keys Not Matching",
        [BEFORE],
        [
            ("diag rows: status groups", "rows:All stories still not_run", [2]),
            (
                "not_run stories of SD-2025-PILOT-001",
                "SELECT count(*) FROM v_story_verification_status "
                "WHERE sd_key = 'SD-2025-PILOT-001' AND status = 'not_run'",
                [2],
            ),
        ],
    ),
    Scenario(
        "000",
        "DLQ Filling Up: re-queue failed deliveries with retry_count < 3",
        "DLQ Filling Up",
        [BEFORE, ("process", ["Process DLQ manually"])],
        [
            ("diag row: Check DLQ (count, max retry)", "row:Check DLQ", [(5, 5), (2, 5)]),
            (
                "pending",
                "SELECT count(*) FROM story_webhook_dlq WHERE status = 'pending'",
                [0, 3],
            ),
        ],
    ),
    # ---------------------------------------------------------------- seed 002
    Scenario(
        "002",
        "Database migrations: grants on migrations are visible",
        "Database migrations",
        [BEFORE],
        [
            ("diag rows: role_table_grants", "rows:role_table_grants", [9]),
            (
                "author_migrator may INSERT",
                "SELECT has_table_privilege('author_migrator', 'public.migrations', 'INSERT')",
                [False],
            ),
        ],
        notes=["the fix (apply grants.sql) is outside the runbook"],
    ),
]


# --------------------------------------------------------------------- main


def create_db(admin: psycopg.Connection, name: str, template: str | None = None) -> None:
    admin.execute(pgsql.SQL("DROP DATABASE IF EXISTS {}").format(pgsql.Identifier(name)))
    if template:
        admin.execute(
            pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                pgsql.Identifier(name), pgsql.Identifier(template)
            )
        )
    else:
        admin.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))


def main(argv: list[str] | None = None) -> int:
    global SEEDS
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=Path, help="the seeds folder (default ../shared/seeds)")
    ap.add_argument("--only", action="append", help="seed number, e.g. 003 (repeatable)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each statement's text")
    args = ap.parse_args(argv)
    if args.seeds:
        SEEDS = args.seeds.resolve()

    import pgserver

    seeds = sorted(p.stem[len("seed") :] for p in LAB.glob("seed*.sql"))
    if args.only:
        seeds = [s for s in seeds if s in args.only]
    pgdata = Path(tempfile.mkdtemp(prefix="opsdoc-lab-"))
    server = pgserver.get_server(pgdata, cleanup_mode="delete")
    summary: list[str] = []
    failed = False
    try:
        admin = psycopg.connect(server.get_uri(), autocommit=True)
        for seed in seeds:
            template = f"lab_{seed}"
            create_db(admin, template)
            with psycopg.connect(server.get_uri(template), autocommit=True) as conn:
                conn.execute((LAB / f"seed{seed}.sql").read_text(encoding="utf-8"))
            path = seed_file(seed)
            statements = read_seed(path, seed)
            print(f"\n=== seed {seed}: {path.name}: {len(statements)} SQL statements")
            create_db(admin, f"{template}_all", template)
            uri = server.get_uri(f"{template}_all")
            counts = {"OK": 0, "ERROR": 0, "expected": 0}
            section = None
            for st in statements:
                if st.section != section:
                    section = st.section
                    print(f"  § {' / '.join(section.split(' / ')[1:][-2:])}")
                ok, msg = run_statement(uri, st, PARAMS.get(seed, {}))
                expected = next(
                    (
                        why
                        for (s, txt), why in EXPECTED_ERRORS.items()
                        if s == seed and txt in st.text
                    ),
                    None,
                )
                if ok:
                    counts["OK"] += 1
                    print(f"    OK     {st.where():9} {st.title()}  [{msg}]")
                else:
                    counts["ERROR"] += 1
                    if expected:
                        counts["expected"] += 1
                    else:
                        failed = True
                    note = f"  (expected: {expected})" if expected else ""
                    print(f"    ERROR  {st.where():9} {st.title()}  [{msg}]{note}")
                if args.verbose:
                    for ln in st.text.splitlines():
                        print(f"             | {ln}")
            scen = [sc for sc in SCENARIOS if sc.seed == seed]
            scen_ok = 0
            if scen:
                print(f"  scenarios (diag -> fix -> diag), seed {seed}:")
            for k, sc in enumerate(scen):
                db = f"{template}_s{k}"
                create_db(admin, db, template)
                try:
                    good = run_scenario(server.get_uri(db), statements, sc)
                except (psycopg.Error, LookupError, KeyError) as exc:
                    print(f"      FAILED: {exc}")
                    good = False
                scen_ok += good
                failed |= not good
            summary.append(
                f"seed {seed}: {len(statements)} statements, {counts['OK']} OK, "
                f"{counts['ERROR']} ERROR ({counts['expected']} expected); "
                f"scenarios {scen_ok}/{len(scen)} as expected"
            )
        admin.close()
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)
    print("\n=== summary")
    for line in summary:
        print(f"  {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
