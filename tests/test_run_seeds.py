"""The seeds' SQL steps, read straight from ../shared/seeds, run by `opsdoc run`
against the lab (tests/lab/*.sql in an embedded PostgreSQL), with the
database checked afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from conftest import ROOT, SEEDS, run_opsdoc
from opsdoc import lab

SEED = {
    "000": SEEDS / "000_5f92c922ed36c991.txt",
    "003": SEEDS / "003_5a19d28ffda2e27a.txt",
    "004": SEEDS / "004_95e26377be71e20e.txt",
}
LOT = "a0000000-0000-4000-8000-000000000001"
QUEUE_ITEM = "c0000000-0000-4000-8000-000000000003"
EMAIL = "new.staff@example.com"


@pytest.fixture
def seed_db(pg_server, request):
    """A fresh database with one seed's lab loaded: seed_db("003")."""
    made: list[str] = []

    def load(seed: str) -> str:
        name = f"lab{seed}_{request.node.name[-20:].lower().replace('[', '_').replace(']', '')}"
        made.append(name)
        return lab.fresh_database(pg_server, name, [ROOT / "tests" / "lab" / f"seed{seed}.sql"])

    return load


def run(seed: str, section: str, dsn: str, tmp_path: Path, *args: str):
    return run_opsdoc(
        "run",
        f"{SEED[seed]}#{section}",
        "--target",
        dsn,
        "--journal",
        str(tmp_path / "journal.sqlite3"),
        *args,
    )


def statements(stdout: str) -> list[dict]:
    """The SQL statement results among a run's JSON events."""
    lines = (json.loads(line) for line in stdout.splitlines() if line.startswith("{"))
    return [e for e in lines if e["type"] == "statement"]


def one(dsn: str, sql: str, *params):
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_003_worker_death_resets_locked_jobs(seed_db, tmp_path) -> None:
    dsn = seed_db("003")
    stuck = (
        "SELECT count(*) FROM ops.job_queue WHERE status = 'processing' "
        "AND locked_at < now() - interval '5 minutes'"
    )
    assert one(dsn, stuck) == 2
    result = run(
        "003",
        "1-scenario-worker-death-heartbeat-failure",
        dsn,
        tmp_path,
        "--step",
        "4",
        "--yes",
        "--allow",
        "write",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert one(dsn, stuck) == 0
    assert one(dsn, "SELECT count(*) FROM ops.job_queue WHERE status = 'processing'") == 1


def test_003_simplicity_pauses_then_resumes_ingest(seed_db, tmp_path) -> None:
    dsn = seed_db("003")
    count = "SELECT count(*) FROM ops.job_queue WHERE job_type = 'ingest' AND status = %s"
    section = "3-scenario-simplicity-api-down-vendor-failure"
    assert (one(dsn, count, "pending"), one(dsn, count, "paused")) == (3, 0)
    paused = run("003", section, dsn, tmp_path, "--step", "1", "--yes", "--allow", "write")
    assert paused.returncode == 0, paused.stdout + paused.stderr
    assert (one(dsn, count, "pending"), one(dsn, count, "paused")) == (0, 3)
    other = "SELECT count(*) FROM ops.job_queue WHERE job_type <> 'ingest' AND status = 'pending'"
    assert one(dsn, other) == 2
    resumed = run("003", section, dsn, tmp_path, "--step", "4", "--yes", "--allow", "write")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert (one(dsn, count, "pending"), one(dsn, count, "paused")) == (3, 0)


def test_000_duplicates_removed_only_when_confirmed(seed_db, tmp_path) -> None:
    dsn = seed_db("000")
    section = "4-duplicate-story-constraint-violations"
    rows = "SELECT count(*) FROM sd_backlog_map"
    before = one(dsn, rows)
    declined = run("000", section, dsn, tmp_path, "--yes", "--allow", "write")
    assert declined.returncode == 3
    assert "--allow destructive" in declined.stdout
    assert one(dsn, rows) == before
    confirmed = run("000", section, dsn, tmp_path, "--yes", "--allow", "destructive", "--json")
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    dupes = (
        "SELECT count(*) FROM (SELECT sd_id, backlog_id FROM sd_backlog_map "
        "GROUP BY 1, 2 HAVING count(*) > 1) d"
    )
    assert one(dsn, dupes) == 0
    assert one(dsn, rows) == before - 4
    deleted = [e for e in statements(confirmed.stdout) if e["text"].lstrip().startswith("DELETE")]
    assert deleted[0]["rowcount"] == 4 and deleted[0]["status"] == "committed"


def test_004_failed_sync_items_requeued(seed_db, tmp_path) -> None:
    dsn = seed_db("004")
    section = "4-failed-shopify-sync-recovery"
    status = "SELECT status FROM shopify_sync_queue WHERE id = %s"
    assert one(dsn, status, QUEUE_ITEM) == "failed"
    result = run(
        "004",
        section,
        dsn,
        tmp_path,
        "--option",
        "A",
        "--param",
        f"queue-item-id={QUEUE_ITEM}",
        "--yes",
        "--allow",
        "write",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert one(dsn, status, QUEUE_ITEM) == "queued"
    failed = "SELECT count(*) FROM shopify_sync_queue WHERE status = 'failed'"
    assert one(dsn, failed) == 2
    everything = run("004", section, dsn, tmp_path, "--option", "B", "--yes", "--allow", "write")
    assert everything.returncode == 0, everything.stdout + everything.stderr
    assert one(dsn, failed) == 0


def test_004_role_granted_with_the_email_bound(seed_db, tmp_path) -> None:
    dsn = seed_db("004")
    roles = (
        "SELECT count(*) FROM user_roles ur JOIN auth.users u ON u.id = ur.user_id "
        "WHERE u.email = %s AND ur.role = 'admin'"
    )
    assert one(dsn, roles, EMAIL) == 0
    result = run(
        "004",
        "5-authentication-issues",
        dsn,
        tmp_path,
        "--option",
        "A",
        "--param",
        f"user-email={EMAIL}",
        "--yes",
        "--allow",
        "write",
        "--json",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert one(dsn, roles, EMAIL) == 1
    inserts = [e for e in statements(result.stdout) if "INSERT INTO user_roles" in e["text"]]
    # The statement ran as written, with the placeholder bound, not spliced.
    assert "'<user-email>'" in inserts[0]["text"] and inserts[0]["rowcount"] == 1


def test_004_batch_completed_for_the_given_lot(seed_db, tmp_path) -> None:
    dsn = seed_db("004")
    status = "SELECT status FROM intake_lots WHERE id = %s"
    assert one(dsn, status, LOT) == "active"
    result = run(
        "004",
        "3-batch-processing-failures",
        dsn,
        tmp_path,
        "--option",
        "A",
        "--param",
        f"lot-id={LOT}",
        "--yes",
        "--allow",
        "write",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert one(dsn, status, LOT) == "completed"
