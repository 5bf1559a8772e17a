"""The journal: real SQLite files, two writers at once, and `opsdoc journal` as a user runs it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import ROOT, run_opsdoc
from opsdoc.errors import OpsdocError
from opsdoc.journal import MAX_EVENT_TEXT, Journal, RunLog
from opsdoc.mask import Masker

SECRET = "Xq7-t0p-s3cret-value"


def start(journal: Journal, masker: Masker | None = None, **overrides: object) -> RunLog:
    args: dict[str, object] = {
        "runbook": "runbooks/orders-db.md",
        "section": "duplicate-key-on-sd-backlog-map",
        "content_hash": "c0ffee" * 10 + "abcd",
        "user": "alice",
        "host": "oncall-laptop",
        "target": "prod",
        "git_commit": "4eb515b",
        "params": {"lot_id": "42"},
        "argv": ["run", "runbooks/orders-db.md#duplicate-key-on-sd-backlog-map", "--yes"],
        "masker": masker or Masker(),
    }
    args.update(overrides)
    return journal.start_run(**args)  # type: ignore[arg-type]


def write_incident(journal: Journal) -> RunLog:
    """A whole run the way the runner journals it, with a secret in many places."""
    masker = Masker([SECRET])
    log = start(
        journal,
        masker,
        params={"lot_id": "42", "db_password": SECRET},
        argv=["run", "x.md#s", "--param", f"db_password={SECRET}", "--allow", "destructive"],
    )
    log.event(
        "step_planned",
        step=1,
        phase="diagnose",
        lang="sql",
        safety="read",
        title="Find the duplicates",
        code="SELECT sd_id, count(*) FROM sd_backlog_map GROUP BY 1 HAVING count(*) > 1",
    )
    log.event("step_confirmed", step=1, by="alice", via="--yes", kind="step")
    log.event("step_started", step=1)
    log.event(
        "statement",
        step=1,
        index=1,
        label="duplicates",
        text="SELECT sd_id, count(*) FROM sd_backlog_map GROUP BY 1 HAVING count(*) > 1",
        safety="read",
        status="ok",
        rowcount=2,
        columns=["sd_id", "count"],
        rows=[(1017, 2), (1018, 3)],
        duration=0.012,
    )
    log.event("output", step=1, text=f"connecting to postgresql://app:{SECRET}@db:5432/orders\n")
    log.event("output", step=1, text="2 rows\n")
    log.event("expectation", step=1, expected="0 rows", held=False)
    log.event("step_finished", step=1, status="ok", exit_code=0, rowcount=2, duration=0.05)
    log.event(
        "step_planned",
        step=3,
        phase="act",
        lang="sql",
        safety="destructive",
        title="Delete the duplicates",
        code="DELETE FROM sd_backlog_map a USING sd_backlog_map b WHERE a.id > b.id",
    )
    log.event("step_confirmed", step=3, by="alice", via="prompt", kind="step")
    log.event("step_started", step=3)
    log.event(
        "statement",
        step=3,
        index=1,
        text="DELETE FROM sd_backlog_map a USING sd_backlog_map b WHERE a.id > b.id",
        safety="destructive",
        status="committed",
        rowcount=3,
        nested={"env": {"PGPASSWORD": SECRET, "note": f"used {SECRET} twice"}},
    )
    log.event("step_finished", step=3, status="ok", exit_code=0, rowcount=3, duration=1.5)
    log.event("step_refused", step=4, why="a write step needs --allow write", flag="--allow write")
    log.event("run_finished", status="refused", exit_code=3)
    return log


def test_events_are_ordered_and_everything_given_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "journal.sqlite3"  # parents are created
    with Journal(path) as journal:
        log = write_incident(journal)
        events = journal.events(log.id)
    assert path.is_file()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert [e.at for e in events] == sorted(e.at for e in events)
    assert all(e.at.endswith("Z") and len(e.at) == len("2026-11-23T07:39:02.123Z") for e in events)
    first = events[0]
    assert first.type == "run_started" and first.step is None
    assert first.data["runbook"] == "runbooks/orders-db.md"
    assert first.data["content_hash"].startswith("c0ffee")
    assert first.data["git_commit"] == "4eb515b"
    assert first.data["params"] == {"lot_id": "42", "db_password": "***"}
    assert events[-1].type == "run_finished"
    statement = next(e for e in events if e.type == "statement")
    assert statement.step == 1 and statement.data["rows"] == [[1017, 2], [1018, 3]]
    assert len(log.id) == len("20261123-0739-3fa2") and log.id[8] == "-" and log.id[13] == "-"


def test_a_secret_value_never_reaches_the_file_or_an_export(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        log = write_incident(journal)
        md = journal.export(log.id, "md")
        data = json.loads(journal.export(log.id, "json"))
    assert SECRET not in md
    assert SECRET not in json.dumps(data)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("journal.sqlite3*"))
    assert SECRET.encode() not in stored
    nested = next(e for e in data["events"] if e["data"].get("nested"))["data"]["nested"]
    assert nested == {"env": {"PGPASSWORD": "***", "note": "used *** twice"}}
    assert "postgresql://app:***@db:5432/orders" in md
    cli = run_opsdoc("journal", "show", log.id, "--journal", str(path))
    assert cli.returncode == 0, cli.stderr
    assert SECRET not in cli.stdout + cli.stderr


def test_export_md_is_a_postmortem_timeline(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        log = write_incident(journal)
    result = run_opsdoc("journal", "export", log.id, "--format", "md", "--journal", str(path))
    assert result.returncode == 0, result.stderr
    md = result.stdout
    assert md.startswith(f"# Run {log.id}")
    for fact in (
        "`runbooks/orders-db.md`",
        "alice on oncall-laptop",
        "**Target:** prod",
        "`4eb515b`",
        "c0ffee",
        "**Status:** refused (exit 3)",
    ):
        assert fact in md, fact
    lines = [line for line in md.splitlines() if line.startswith("- ") and line[2:4].isdigit()]
    texts = [line[11:] for line in lines]  # after "- HH:MM:SS "
    assert "step 3 (act, sql, destructive) confirmed by alice via prompt" in texts
    assert "step 1 (diagnose, sql, read) confirmed by alice via --yes" in texts
    assert "step 1 statement 1 “duplicates”: 2 rows, ok, 0.01 s" in texts
    assert "step 3 statement 1: 3 rows, committed" in texts
    assert "step 1 expectation ✗ did not hold: 0 rows" in texts
    assert "step 3 (act, sql, destructive) finished: ok, exit 0, 3 rows, 1.50 s" in texts
    assert any(t.startswith("step 4 refused: a write step needs --allow write") for t in texts)
    assert texts[-1] == "run finished: refused (exit 3)"
    # the two output chunks of step 1 are one fenced block; the preview rows a table
    assert "  ```\n  connecting to postgresql://app:***@db:5432/orders\n  2 rows\n  ```" in md
    assert "| sd_id | count |" in md and "| 1018 | 3 |" in md
    assert "  ```sql\n  DELETE FROM sd_backlog_map" in md


def test_export_json_and_output_file(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        log = write_incident(journal)
    out = tmp_path / "incident.json"
    result = run_opsdoc(
        "journal", "export", log.id[:15], "--format", "json", "-o", str(out), "--journal", str(path)
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["run"]["id"] == log.id
    assert data["run"]["status"] == "refused" and data["run"]["exit_code"] == 3
    assert data["run"]["user"] == "alice" and data["run"]["target"] == "prod"
    assert [e["seq"] for e in data["events"]] == list(range(1, len(data["events"]) + 1))
    assert {"run_id", "seq", "at", "type", "step", "data"} <= set(data["events"][0])


def test_two_processes_write_one_journal_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "journal.sqlite3"
    go = tmp_path / "go"
    shared_run = tmp_path / "shared-run-id"
    with Journal(path) as journal:
        shared = start(journal, section="shared")
    shared_run.write_text(shared.id)
    writer = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from opsdoc.journal import Journal, RunLog
        from opsdoc.mask import Masker
        name = sys.argv[1]
        while not Path({str(go)!r}).exists():
            time.sleep(0.001)
        journal = Journal({str(path)!r})
        Path({str(tmp_path)!r}, "ready-" + name).touch()
        while len(list(Path({str(tmp_path)!r}).glob("ready-*"))) < 2:
            time.sleep(0.001)
        own = journal.start_run(runbook="r.md", section=name, content_hash="h", user=name,
            host="h", target=None, git_commit=None, params={{}}, argv=[], masker=Masker())
        shared = RunLog(journal, Path({str(shared_run)!r}).read_text(), Masker())
        for i in range(200):
            own.event("output", step=1, text=f"{{name}} line {{i}}")
            shared.event("output", step=2, text=f"{{name}} shared {{i}}")
        print(own.id)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", writer, name], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        for name in ("one", "two")
    ]
    time.sleep(0.3)
    go.touch()
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    with Journal(path) as journal:
        for name, run_id in zip(("one", "two"), outs, strict=True):
            events = journal.events(run_id)
            assert [e.seq for e in events] == list(range(1, 202))
            assert [e.data["text"] for e in events[1:]] == [f"{name} line {i}" for i in range(200)]
        events = journal.events(shared.id)
        # both processes appended to the same run: every event there, seq unique and gapless
        assert [e.seq for e in events] == list(range(1, 402))
        texts = [e.data["text"] for e in events[1:]]
        for name in ("one", "two"):
            assert [t for t in texts if t.startswith(name)] == [
                f"{name} shared {i}" for i in range(200)
            ]
        assert len(journal.runs()) == 3


def test_the_journal_is_append_only(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        start(journal)
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(2,)]
        for statement in ("UPDATE events SET type = 'x'", "DELETE FROM events"):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    finally:
        conn.close()


def test_run_status_comes_from_the_last_event(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        running = start(journal)
        running.event("step_started", step=1)
        failed = start(journal)
        failed.event("run_finished", status="failed", exit_code=1)
        stopped = start(journal)
        stopped.event("run_interrupted", step=2, why="SIGINT")
        refused = start(journal)
        refused.event("step_refused", step=1, why="needs --allow write", flag="--allow write")
        runs = {r.id: r for r in journal.runs()}
    assert runs[running.id].status == "running" and runs[running.id].finished_at is None
    assert runs[failed.id].status == "failed" and runs[failed.id].finished_at
    assert runs[stopped.id].status == "interrupted"
    assert runs[refused.id].status == "refused"


def test_output_is_capped_per_event_after_masking(tmp_path: Path) -> None:
    masker = Masker([SECRET])
    with Journal(tmp_path / "j.sqlite3") as journal:
        log = start(journal, masker)
        huge = ("x" * (MAX_EVENT_TEXT - 5)) + SECRET + ("y" * 200_000)
        log.event("output", step=1, text=huge)
        (event,) = [e for e in journal.events(log.id) if e.type == "output"]
    assert event.data["truncated"] is True
    assert len(event.data["text"]) < MAX_EVENT_TEXT + 100
    assert SECRET[:5] not in event.data["text"]  # masked before it was cut, not half-kept


def test_list_json_newest_first_and_limit(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        ids = [start(journal, user=f"user{i}").id for i in range(3)]
    result = run_opsdoc("journal", "list", "--json", "--journal", str(path))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["id"] for r in rows] == ids[::-1]
    assert rows[0]["user"] == "user2" and rows[0]["status"] == "running"
    assert set(rows[0]) == {
        "id",
        "started_at",
        "finished_at",
        "runbook",
        "section",
        "user",
        "target",
        "status",
    }
    limited = run_opsdoc("journal", "list", "--json", "--limit", "1", "--journal", str(path))
    assert [r["id"] for r in json.loads(limited.stdout)] == ids[-1:]
    text = run_opsdoc("journal", "list", "--journal", str(path))
    assert text.returncode == 0 and ids[0] in text.stdout and "running" in text.stdout


def test_list_piped_is_one_line_per_run_however_long_the_runbook_path(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    long = "runbooks/" + "very-long-team-folder-name/" * 6 + "orders-db.md"
    with Journal(path) as journal:
        ids = [start(journal, runbook=long).id for _ in range(2)]
    env = {"COLUMNS": "80"}  # narrower than a row: a table would wrap the RUNBOOK column
    lines = run_opsdoc("journal", "list", "--journal", str(path), env=env).stdout.splitlines()
    assert lines[0].split()[:3] == ["RUN", "STARTED", "(UTC)"]
    assert len(lines) == 3
    for line, run_id in zip(lines[1:], ids[::-1], strict=True):
        assert line.startswith(run_id) and line.endswith(f"{long}#duplicate-key-on-sd-backlog-map")


def test_a_unique_prefix_of_the_run_id_works(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        log = write_incident(journal)
        assert journal.events(log.id[:-1])[0].run_id == log.id
        assert journal.events(log.id.upper())[0].run_id == log.id
    result = run_opsdoc("journal", "show", log.id[:-2], "--journal", str(path))
    assert result.returncode == 0, result.stderr
    assert f"run {log.id}" in result.stdout
    assert "confirmed by alice via prompt" in result.stdout
    as_json = run_opsdoc("journal", "show", log.id[:-2], "--json", "--journal", str(path))
    assert json.loads(as_json.stdout)["run"]["id"] == log.id


def test_unknown_and_ambiguous_run_ids_exit_2_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        first = start(journal)
        second = start(journal)
    for command in ("show", "export"):
        result = run_opsdoc("journal", command, "19990101-0000-dead", "--journal", str(path))
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and "no run '19990101-0000-dead'" in result.stderr
    common = first.id[:8]  # the date: both runs share it
    if second.id.startswith(common):
        result = run_opsdoc("journal", "show", common, "--journal", str(path))
        assert result.returncode == 2 and "ambiguous" in result.stderr
    with Journal(path) as journal, pytest.raises(OpsdocError, match="no run"):
        journal.events("nope")


def test_an_unwritable_journal_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    bad = blocker / "journal.sqlite3"
    with pytest.raises(OpsdocError, match="is a file, not a directory"):
        Journal(bad)
    result = run_opsdoc("journal", "list", "--journal", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "--journal" in result.stderr
    not_sqlite = tmp_path / "notes.txt"
    not_sqlite.write_text("hello, this is not a database at all\n" * 100)
    result = run_opsdoc("journal", "list", "--journal", str(not_sqlite))
    assert result.returncode == 2 and "not a database" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_default_path_and_the_env_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSDOC_JOURNAL", raising=False)
    default = Journal.default_path()
    assert default.name == "journal.sqlite3" and "opsdoc" in str(default.parent)
    env_path = tmp_path / "from-env" / "journal.sqlite3"
    monkeypatch.setenv("OPSDOC_JOURNAL", str(env_path))
    assert Journal.default_path() == env_path
    result = run_opsdoc("journal", "list", "--json", env={"OPSDOC_JOURNAL": str(env_path)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [] and env_path.is_file()
    explicit = tmp_path / "explicit.sqlite3"
    with Journal(explicit) as journal:  # a path given explicitly wins over the env var
        assert journal.path == explicit
