"""The journal's chain, its PostgreSQL store, live output and batched appends.

An attacker here has the journal's database and not the key: they edit an
event (dropping the append-only trigger first), rebuild the chain with a key
of their own, or cut a run's last events. ``journal verify`` must say so.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psycopg
import pytest

from conftest import ROOT, run_opsdoc
from opsdoc.journal import Journal
from opsdoc.journal import chain as chain_mod
from test_journal import start

SECRET = "tok-6f1d2a9c4b7e8f03"


@pytest.fixture(autouse=True)
def _own_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = tmp_path / "key" / "journal.key"
    monkeypatch.setenv(chain_mod.KEY_ENV, str(key))
    return key


def book(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "book.md"
    path.write_text("# Book\n\n## Check\n\n" + body)
    return path


def run_check(tmp_path: Path, journal: str, body: str = "```bash\necho one\necho two\n```\n"):
    result = run_opsdoc("run", f"{book(tmp_path, body)}#check", "--yes", "--journal", journal)
    assert result.returncode == 0, result.stdout + result.stderr
    listing = run_opsdoc("journal", "list", "--json", "--journal", journal)
    assert listing.returncode == 0, listing.stderr
    return json.loads(listing.stdout)[0]["id"]


def verify(journal: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_opsdoc("journal", "verify", *args, "--journal", journal)


def test_the_key_is_made_once_owner_only_and_outside_the_journal(tmp_path, _own_key) -> None:
    journal = tmp_path / "j.sqlite3"
    run_check(tmp_path, str(journal))
    assert _own_key.exists()
    assert _own_key.stat().st_mode & 0o777 == 0o600 or _own_key.stat().st_mode & 0o077 == 0
    key = _own_key.read_text().strip()
    assert len(bytes.fromhex(key)) == 32
    assert key.encode() not in journal.read_bytes()
    assert chain_mod.load_key(_own_key).hex() == key  # read again, not made again


def test_verify_passes_on_an_untouched_journal(tmp_path) -> None:
    journal = str(tmp_path / "j.sqlite3")
    run_id = run_check(tmp_path, journal)
    run_check(tmp_path, journal)
    every = verify(journal)
    assert every.returncode == 0, every.stdout + every.stderr
    assert "2 of 2 runs verified" in every.stderr
    one = verify(journal, run_id, "--json")
    assert one.returncode == 0
    (check,) = json.loads(one.stdout)
    assert check["verdict"] == "ok" and check["run_id"] == run_id and check["head"]


def _sqlite_edit(path: str, sql: str, args: tuple = ()) -> None:
    conn = sqlite3.connect(path)
    try:  # what someone with the file can do: drop the guard, then edit
        conn.execute("DROP TRIGGER IF EXISTS events_no_update")
        conn.execute("DROP TRIGGER IF EXISTS events_no_delete")
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


def test_an_edited_event_is_found_and_named(tmp_path) -> None:
    journal = str(tmp_path / "j.sqlite3")
    run_id = run_check(tmp_path, journal)
    run_check(tmp_path, journal)
    _sqlite_edit(
        journal,
        "UPDATE events SET data = replace(data, 'one', 'all good') "
        "WHERE run_id = ? AND type = 'output'",
        (run_id,),
    )
    result = verify(journal)
    assert result.returncode == 1
    assert run_id in result.stdout and "BROKEN" in result.stdout
    assert "(output) was changed" in result.stdout
    assert "1 of 2 runs verified" in result.stderr
    (check,) = json.loads(verify(journal, run_id, "--json").stdout)
    assert check["verdict"] == "broken" and isinstance(check["seq"], int)


def test_a_chain_rebuilt_with_another_key_does_not_verify(tmp_path) -> None:
    journal = str(tmp_path / "j.sqlite3")
    run_id = run_check(tmp_path, journal)
    forged = b"\x01" * 32
    conn = sqlite3.connect(journal)
    rows = conn.execute(
        "SELECT id, run_id, seq, at, type, step, data FROM events WHERE run_id = ? ORDER BY seq",
        (run_id,),
    ).fetchall()
    conn.close()
    prev = ""
    for rid, run, seq, at, type, step, data in rows:
        data = data.replace("two", "TWO")
        prev = chain_mod.mac(forged, prev, run, seq, at, type, step, data)
        _sqlite_edit(journal, "UPDATE events SET data = ?, mac = ? WHERE id = ?", (data, prev, rid))
    result = verify(journal, run_id)
    assert result.returncode == 1
    assert "BROKEN" in result.stdout


def test_events_cut_from_a_runs_end_are_found_with_the_exported_head(tmp_path) -> None:
    journal = str(tmp_path / "j.sqlite3")
    run_id = run_check(tmp_path, journal)
    exported = run_opsdoc("journal", "export", run_id, "--format", "json", "--journal", journal)
    head = json.loads(exported.stdout)["run"]["chain_head"]
    md = run_opsdoc("journal", "export", run_id, "--journal", journal).stdout
    assert f"**Chain head:** `{head}`" in md
    assert verify(journal, run_id, "--head", head).returncode == 0
    _sqlite_edit(
        journal,
        "DELETE FROM events WHERE run_id = ? AND seq = (SELECT max(seq) FROM events "
        "WHERE run_id = ?)",
        (run_id, run_id),
    )
    assert verify(journal, run_id).returncode == 0  # a shorter chain still holds ...
    cut = verify(journal, run_id, "--head", head)
    assert cut.returncode == 1  # ... but it does not end where the export said
    assert "removed from its end" in cut.stdout
    wrong = verify(journal, run_id, "--head", "00" + head[:10])
    assert wrong.returncode == 1 and "or the head is another run's" in wrong.stdout


def test_a_journal_of_the_earlier_schema_is_upgraded_and_its_runs_say_unchained(
    tmp_path,
) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id VARCHAR(64) NOT NULL,
          seq INTEGER NOT NULL, at VARCHAR(32) NOT NULL, type VARCHAR(64) NOT NULL,
          step INTEGER NULL, data TEXT NOT NULL);
        CREATE UNIQUE INDEX events_run_seq ON events (run_id, seq);
        CREATE TABLE schema_version (version INTEGER NOT NULL);
        INSERT INTO schema_version VALUES (1);
        INSERT INTO events (run_id, seq, at, type, step, data) VALUES
          ('20260101-0000-abcd', 1, '2026-01-01T00:00:00.000Z', 'run_started', NULL,
           '{"runbook": "r.md", "section": "s", "user": "old"}');
        PRAGMA user_version = 1;
        """
    )
    conn.close()
    run_check(tmp_path, str(path))  # the new opsdoc writes to it
    listing = json.loads(run_opsdoc("journal", "list", "--json", "--journal", str(path)).stdout)
    assert [r["user"] for r in listing][-1] == "old"
    result = verify(str(path))
    assert result.returncode == 1
    assert "20260101-0000-abcd  not chained" in result.stdout
    assert "1 of 2 runs verified" in result.stderr


# -- PostgreSQL ------------------------------------------------------------------


def test_a_run_journaled_in_postgresql_reads_back_and_verifies(tmp_path, fresh_db) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    body = "```bash\necho first line\n```\n\n```bash\necho second\n```\n"
    path = book(tmp_path, body)
    pg = run_opsdoc("run", f"{path}#check", "--yes", "--journal", fresh_db, cwd=work)
    assert pg.returncode == 0, pg.stdout + pg.stderr
    assert list(work.iterdir()) == []  # no folder named after the DSN
    assert "journal show " in pg.stdout and " --journal 'postgresql://" in pg.stdout
    local = str(tmp_path / "j.sqlite3")
    assert run_opsdoc("run", f"{path}#check", "--yes", "--journal", local).returncode == 0

    def events(journal: str) -> list[tuple]:
        runs = json.loads(run_opsdoc("journal", "list", "--json", "--journal", journal).stdout)
        data = json.loads(
            run_opsdoc(
                "journal", "export", runs[0]["id"], "--format", "json", "--journal", journal
            ).stdout
        )
        return [(e["type"], e["step"], e["data"].get("text")) for e in data["events"]]

    assert events(fresh_db) == events(local)  # the same events, in the same order
    runs = json.loads(run_opsdoc("journal", "list", "--json", "--journal", fresh_db).stdout)
    assert runs[0]["status"] == "ok"
    shown = run_opsdoc("journal", "show", runs[0]["id"], "--journal", fresh_db)
    assert shown.returncode == 0 and "first line" in shown.stdout
    assert verify(fresh_db).returncode == 0
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        with pytest.raises(psycopg.Error, match="append-only"):
            conn.execute("UPDATE opsdoc.events SET data = '{}'")
        conn.execute("ALTER TABLE opsdoc.events DISABLE TRIGGER events_append_only")
        conn.execute(
            "UPDATE opsdoc.events SET data = replace(data, 'second', 'fine') WHERE type = 'output'"
        )
    broken = verify(fresh_db)
    assert broken.returncode == 1
    assert "(output) was changed" in broken.stdout


def test_an_unreachable_journal_database_is_one_clear_error(tmp_path) -> None:
    dsn = "postgresql://opsdoc:hunter2pw@127.0.0.1:1/nowhere"
    result = run_opsdoc("journal", "list", "--journal", dsn, cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot connect to the journal's database" in result.stderr
    assert "hunter2pw" not in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
    for odd in (
        "postgresql:/opsdoc:hunter2pw@127.0.0.1:1/nowhere",  # a // lost on the way
        "PostgreSQL://opsdoc:hunter2pw@127.0.0.1:1/nowhere",
        "postgresql://opsdoc:hunter2pw@127.0.0.1:1/nowhere?sslmode=bogus",
    ):
        result = run_opsdoc("journal", "list", "--journal", odd, cwd=tmp_path)
        assert result.returncode == 2, odd
        assert "hunter2pw" not in result.stderr + result.stdout, odd
        assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


# -- live output, batches, kill -9 ---------------------------------------------------


def test_output_is_in_the_journal_while_the_step_still_runs(tmp_path) -> None:
    journal = str(tmp_path / "j.sqlite3")
    path = book(tmp_path, "```bash\necho early bird\nsleep 4\necho late\n```\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsdoc", "run", f"{path}#check", "--yes", "--journal", journal],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
    )
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            if os.path.exists(journal):
                with Journal(journal) as store:
                    runs = store.runs(1)
                    if runs:
                        events = store.events(runs[0].id)
                        seen = [e.type for e in events]
                        if "output" in seen:
                            break
            time.sleep(0.1)
        assert "output" in seen and "step_finished" not in seen, seen
        with Journal(journal) as store:
            chunk = next(e for e in store.events(runs[0].id) if e.type == "output")
        assert chunk.step == 1 and chunk.data == {"text": "early bird\n", "stream": "stdout"}
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_a_secret_written_in_two_pieces_is_masked_in_the_journal(tmp_path) -> None:
    journal = tmp_path / "j.sqlite3"
    half = len(SECRET) // 2
    body = (
        f'```bash\nprintf "token=%s" "${{API_TOKEN:0:{half}}}"\nsleep 0.5\n'
        f'printf "%s\\n" "${{API_TOKEN:{half}}}"\n```\n'
    )
    path = book(tmp_path, body)
    result = run_opsdoc(
        "run", f"{path}#check", "--yes", "--journal", str(journal), env={"API_TOKEN": SECRET}
    )
    assert result.returncode == 0, result.stderr
    assert SECRET.encode() not in journal.read_bytes()
    assert SECRET[:half].encode() not in journal.read_bytes()
    with Journal(journal) as store:
        (run,) = store.runs(1)
        texts = [e.data["text"] for e in store.events(run.id) if e.type == "output"]
    assert "".join(texts) == "token=***\n"


def test_a_steps_output_is_capped_in_the_journal_not_on_the_terminal(tmp_path) -> None:
    journal = tmp_path / "j.sqlite3"
    path = book(
        tmp_path, '```bash\nfor i in $(seq 1 20000); do echo "line $i of many"; done\n```\n'
    )
    result = run_opsdoc("run", f"{path}#check", "--yes", "--journal", str(journal))
    assert result.returncode == 0
    assert "line 20000 of many" in result.stdout
    with Journal(journal) as store:
        (run,) = store.runs(1)
        chunks = [e for e in store.events(run.id) if e.type == "output"]
    text = "".join(e.data["text"] for e in chunks)
    assert "line 1 of many\n" in text and "line 20000 of many" not in text
    assert len(text) < 64_000 + 200
    assert chunks[-1].data.get("truncated") is True and "[cut:" in chunks[-1].data["text"]
    assert not any(e.data.get("truncated") for e in chunks[:-1])


def test_kill_9_loses_no_committed_event(tmp_path) -> None:
    path = tmp_path / "j.sqlite3"
    writer = textwrap.dedent(
        f"""
        import sys
        from opsdoc.journal import Journal
        from opsdoc.mask import Masker
        journal = Journal({str(path)!r})
        log = journal.start_run(runbook="r.md", section="s", content_hash="", user="u",
            host="h", target=None, git_commit=None, params={{}}, argv=[], masker=Masker())
        print(log.id, flush=True)
        i = 0
        while True:
            i += 1
            for n in range(50):
                log.event("output", step=1, text=f"chunk {{i}}.{{n}}\\n")
            log.event("step_started", step=i)  # commits the batch before it, then itself
            print(i, flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", writer], stdout=subprocess.PIPE, text=True, cwd=ROOT
    )
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    confirmed = 0
    while confirmed < 40:
        confirmed = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with Journal(path) as store:
        events = store.events(run_id)
        assert [c.verdict for c in store.verify(run_id)] == ["ok"]
    started = [e.step for e in events if e.type == "step_started"]
    assert started[:confirmed] == list(range(1, confirmed + 1))
    outputs = [e for e in events if e.type == "output"]
    assert len(outputs) >= 50 * confirmed
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


def test_journal_appends_from_many_threads_stay_one_gapless_chain(tmp_path) -> None:
    import threading

    with Journal(tmp_path / "j.sqlite3") as store:
        log = start(store)

        def write(name: str) -> None:
            for i in range(300):
                log.event("output", step=1, text=f"{name} {i}\n")

        threads = [threading.Thread(target=write, args=(f"t{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        events = store.events(log.id)
        assert len(events) == 1 + 4 * 300
        for n in range(4):
            mine = [e.data["text"] for e in events if e.data.get("text", "").startswith(f"t{n} ")]
            assert mine == [f"t{n} {i}\n" for i in range(300)]
        assert [c.verdict for c in store.verify(log.id)] == ["ok"]


def test_a_dsn_target_is_listed_as_its_masked_dsn_not_as_dsn(tmp_path, fresh_db) -> None:
    journal = str(tmp_path / "j.sqlite3")
    path = book(tmp_path, "```sql\nSELECT 1 AS one;\n```\n")
    result = run_opsdoc("run", f"{path}#check", "--yes", "--target", fresh_db, "--journal", journal)
    assert result.returncode == 0, result.stdout + result.stderr
    (run,) = json.loads(run_opsdoc("journal", "list", "--json", "--journal", journal).stdout)
    database = fresh_db.rsplit("/", 1)[1].split("?")[0]
    assert run["target"] != "dsn" and database in run["target"]
    md = run_opsdoc("journal", "export", run["id"], "--journal", journal).stdout
    assert f"**Target:** {run['target']}" in md
    assert "run selects every step" in md and "run_options" not in md


def test_a_dry_run_lists_what_a_run_lacks_and_needs_no_option(tmp_path) -> None:
    path = tmp_path / "pick.md"
    path.write_text(
        "# R\n\n## Fix\n\n**Option A: restart**\n\n```bash\necho restart <service>\n```\n\n"
        "**Option B: scale**\n\n```bash\necho scale <replicas>\n```\n\n"
        "### Check\n\n```sql\nSELECT 1;\n```\n"
    )
    result = run_opsdoc("run", f"{path}#fix", "--dry-run", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [s["option"] for s in plan["steps"]] == ["A", "B", None]
    assert plan["missing_params"] == ["service", "replicas"]
    assert plan["target"] is None and plan["missing_target"] is True
    assert plan["alternatives"] == ["A", "B"]
    text = run_opsdoc("run", f"{path}#fix", "--dry-run", cwd=tmp_path)
    assert text.returncode == 0
    assert "a run needs --param for: service, replicas" in text.stdout
    assert "a run needs --target NAME|DSN" in text.stdout
    assert "needs --option, one of: A, B" in text.stdout
    assert list(tmp_path.iterdir()) == [path]  # no journal, nothing written


def test_the_journal_named_in_opsdoc_toml_may_be_a_postgresql_dsn(tmp_path, fresh_db) -> None:
    (tmp_path / "opsdoc.toml").write_text(f'journal = "{fresh_db}"\n')
    path = book(tmp_path, "```bash\necho from the config\n```\n")
    result = run_opsdoc("run", f"{path}#check", "--yes", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    runs = json.loads(run_opsdoc("journal", "list", "--json", "--journal", fresh_db).stdout)
    assert len(runs) == 1 and runs[0]["status"] == "ok"


def test_a_head_exported_mid_run_still_verifies_after_the_run_goes_on(tmp_path) -> None:
    with Journal(tmp_path / "j.sqlite3") as store:
        log = start(store)
        log.event("step_started", step=1)
        head = store.head(log.id)
        log.event("step_finished", step=1, status="ok")
        (check,) = store.verify(log.id, head)
    assert check.verdict == "ok" and check.why == "1 event came after the given head"


def test_a_journal_whose_table_is_gone_is_one_clear_error(tmp_path) -> None:
    journal = str(tmp_path / "j.sqlite3")
    run_check(tmp_path, journal)
    conn = sqlite3.connect(journal)
    conn.execute("DROP TABLE events")
    conn.commit()
    conn.close()
    result = run_opsdoc("journal", "list", "--journal", journal)
    assert result.returncode == 2
    assert "cannot read the journal: no such table: events" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
