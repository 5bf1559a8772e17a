"""Issue 11, case 15 and "Journal": `--resume` never does twice what was done once.

Through the real CLI, real bash and a real PostgreSQL: a committed
statement is not applied again, an inserted step is not taken for a finished
one, another folder does not mean another file, a masked value is never fed
back in, and the journal's user is the OS account, whatever `$USER` says.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from conftest import ROOT, run_opsdoc


def ids(stdout: str) -> str:
    return next(json.loads(line) for line in stdout.splitlines() if line.startswith("{"))["run_id"]


def exported(journal: Path, run_id: str) -> dict:
    result = run_opsdoc("journal", "export", run_id, "--format", "json", "--journal", str(journal))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def resume(journal: Path, run_id: str, *extra: str, cwd: Path | None = None):
    return run_opsdoc(
        "run", "--resume", run_id, "--yes", "--allow", "write", "--json",
        "--journal", str(journal), *extra, cwd=cwd,
    )  # fmt: skip


TWO_STEPS = (
    "# R\n\n## Rotate\n\n"
    "1. Count:\n\n   ```bash\n   echo x >> ran-step-1.txt\n   ```\n\n"
    "2. Needs the flag file:\n\n   ```bash\n   test -f ready.flag\n   ```\n"
)


def first_run(book: Path, journal: Path, *extra: str, cwd: Path | None = None) -> str:
    result = run_opsdoc(
        "run", f"{book}#rotate", "--yes", "--allow", "write", "--json",
        "--journal", str(journal), *extra, cwd=cwd,
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    return ids(result.stdout)


def test_a_committed_statement_is_not_applied_again(tmp_path, fresh_db) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE counter (n int)")
        conn.execute("INSERT INTO counter VALUES (0)")
        conn.execute("CREATE TABLE ctl (slow bool)")
        conn.execute("INSERT INTO ctl VALUES (true)")
    book = tmp_path / "rb.md"
    book.write_text(
        "# R\n\n## Bump\n\n**Fix**:\n```sql\nUPDATE counter SET n = n + 1;\n"
        "UPDATE counter SET n = n + 100 WHERE pg_sleep("
        "CASE WHEN (SELECT slow FROM ctl) THEN 60 ELSE 0 END) IS NOT NULL;\n```\n"
    )
    journal = tmp_path / "j.sqlite3"
    flags = ["--yes", "--allow", "write", "--json", "--journal", str(journal)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsdoc", "run", f"{book}#bump", "--target", fresh_db, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    end = time.monotonic() + 20
    while time.monotonic() < end and proc.poll() is None:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%n + 100%' "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        if busy:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert conn.execute("SELECT n FROM counter").fetchone() == (1,)
        conn.execute("UPDATE ctl SET slow = false")
    run_id = ids(out)
    again = resume(journal, run_id, "--target", fresh_db)  # a DSN is not journaled
    assert again.returncode == 0, again.stdout + again.stderr
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert conn.execute("SELECT n FROM counter").fetchone() == (101,)
    events = exported(journal, ids(again.stdout))["events"]
    skipped = [e["data"] for e in events if e["type"] == "statement_skipped"]
    assert [s["index"] for s in skipped] == [1]
    assert "committed in the run being resumed" in skipped[0]["why"]
    ran = [e["data"] for e in events if e["type"] == "statement"]
    assert [(s["index"], s["status"]) for s in ran] == [(2, "committed")]


def test_a_step_inserted_above_is_run_not_taken_for_a_finished_one(tmp_path) -> None:
    book = tmp_path / "rb.md"
    book.write_text(TWO_STEPS)
    journal = tmp_path / "j.sqlite3"
    run_id = first_run(book, journal)
    book.write_text(
        TWO_STEPS.replace(
            "1. Count:",
            "1. New check:\n\n   ```bash\n   echo new > ran-new.txt\n   ```\n\n2. Count:",
        ).replace("2. Needs", "3. Needs")
    )
    (tmp_path / "ready.flag").write_text("")
    again = resume(journal, run_id)
    assert again.returncode == 0, again.stdout + again.stderr
    assert (tmp_path / "ran-new.txt").exists()  # never ran before: it runs now
    assert (tmp_path / "ran-step-1.txt").read_text() == "x\n"  # finished before: not again


def test_an_edited_finished_step_makes_the_resume_refuse(tmp_path) -> None:
    book = tmp_path / "rb.md"
    book.write_text(TWO_STEPS)
    journal = tmp_path / "j.sqlite3"
    run_id = first_run(book, journal)
    book.write_text(TWO_STEPS.replace("echo x >>", "echo y >>"))
    (tmp_path / "ready.flag").write_text("")
    again = resume(journal, run_id)
    assert again.returncode != 0
    assert "step 1 of run" in again.stderr and "--from" in again.stderr
    assert (tmp_path / "ran-step-1.txt").read_text() == "x\n"


def test_resume_from_another_folder_runs_the_same_file(tmp_path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    (one / "rb.md").write_text(TWO_STEPS)
    (two / "rb.md").write_text(TWO_STEPS.replace("ran-step-1", "WRONG-FILE"))
    journal = tmp_path / "j.sqlite3"
    run_id = first_run(Path("rb.md"), journal, cwd=one)
    (one / "ready.flag").write_text("")
    again = resume(journal, run_id, cwd=two)
    assert again.returncode == 0, again.stdout + again.stderr
    assert not list(tmp_path.rglob("WRONG-FILE*"))
    assert exported(journal, run_id)["run"]["runbook"] == str(one / "rb.md")
    (one / "rb.md").unlink()
    gone = resume(journal, run_id, cwd=two)
    assert gone.returncode != 0 and "no longer at" in gone.stderr


def test_a_masked_value_is_never_fed_back_in(tmp_path) -> None:
    book = tmp_path / "rb.md"
    book.write_text(
        "# R\n\n## Rotate\n\n1. Wait:\n\n   ```bash\n   test -f ready.flag\n   ```\n\n"
        "2. Use:\n\n   ```bash\n   printf '%s\\n' <url> > used.txt\n   ```\n"
    )
    journal = tmp_path / "j.sqlite3"
    url = "https://ops:hunter2hunter2@db.internal/x"
    run_id = first_run(book, journal, "--param", f"url={url}")
    (tmp_path / "ready.flag").write_text("")
    refused = resume(journal, run_id)
    assert refused.returncode != 0
    assert "url" in refused.stderr and "masked" in refused.stderr
    assert not (tmp_path / "used.txt").exists()
    again = resume(journal, run_id, "--param", f"url={url}")
    assert again.returncode == 0, again.stdout + again.stderr
    assert (tmp_path / "used.txt").read_text() == url + "\n"


def test_the_journal_records_the_os_account_not_user(tmp_path) -> None:
    book = tmp_path / "rb.md"
    book.write_text("# R\n\n## Hi\n\n```bash\necho hi\n```\n")
    journal = tmp_path / "j.sqlite3"
    result = run_opsdoc(
        "run", f"{book}#hi", "--yes", "--json", "--journal", str(journal),
        env={"USER": "mallory", "LOGNAME": "mallory"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    run = exported(journal, ids(result.stdout))["run"]
    me = pwd.getpwuid(os.getuid()).pw_name
    assert run["user"] == me and run["uid"] == os.getuid()
    assert run["claimed_user"] == "mallory"
    confirmed = [
        e["data"]["by"]
        for e in exported(journal, ids(result.stdout))["events"]
        if e["type"] == "step_confirmed"
    ]
    assert confirmed == [me]


def test_a_step_killed_after_a_confirmed_commit_is_not_guessed(tmp_path, fresh_db) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE counter (n int)")
        conn.execute("INSERT INTO counter VALUES (0)")
    book = tmp_path / "rb.md"
    book.write_text(
        "# R\n\n## Bump\n\n**Fix**:\n```sql\nUPDATE counter SET n = n + 1;\n"
        "UPDATE counter SET n = n + 100 WHERE pg_sleep(60) IS NOT NULL;\n```\n"
    )
    journal = tmp_path / "j.sqlite3"
    flags = ["--yes", "--allow", "write", "--json", "--journal", str(journal)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsdoc", "run", f"{book}#bump", "--target", fresh_db, *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    end = time.monotonic() + 20
    while time.monotonic() < end and proc.poll() is None:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%n + 100%' "
                "AND state = 'active' AND pid <> pg_backend_pid()"
            ).fetchone()[0]
        if busy:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    out, _err = proc.communicate(timeout=30)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE '%n + 100%' AND pid <> pg_backend_pid()"
        )
    again = resume(journal, ids(out), "--target", fresh_db)
    assert again.returncode != 0
    assert "cut off after a commit was confirmed" in again.stderr
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert conn.execute("SELECT n FROM counter").fetchone() == (1,)


def test_a_resume_of_a_resume_keeps_what_the_first_run_finished(tmp_path) -> None:
    book = tmp_path / "rb.md"
    book.write_text(
        TWO_STEPS + "\n3. Needs another flag:\n\n   ```bash\n   test -f second.flag\n   ```\n"
    )
    journal = tmp_path / "j.sqlite3"
    run_id = first_run(book, journal)
    (tmp_path / "ready.flag").write_text("")
    second = resume(journal, run_id)
    assert second.returncode == 1, second.stdout + second.stderr
    (tmp_path / "second.flag").write_text("")
    third = resume(journal, ids(second.stdout))
    assert third.returncode == 0, third.stdout + third.stderr
    assert (tmp_path / "ran-step-1.txt").read_text() == "x\n"
