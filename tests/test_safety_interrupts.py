"""Issue 11, case 14: a step's processes die with opsdoc, however opsdoc ends.

Real processes throughout: `opsdoc run` is started as a user would, its step
starts `sleep` children in every way a runbook can (plain `&`, `set -m` job
control, `setsid`), and opsdoc is then killed with SIGKILL or hung up with
SIGHUP. Every wait is bounded; nothing asserts how long anything took.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from conftest import ROOT, run_opsdoc

# The step records its own pid and each child's, then waits for a long time.
FAMILY = """# R

## Hold

**Fix**:
```bash
echo $$ >> pids.txt
sleep 300 &
echo $! >> pids.txt
(set -m; sleep 301 & echo $! >> pids.txt; wait) &
set -m
sleep 302 &
echo $! >> pids.txt
set +m
setsid sleep 303 &
echo $! >> pids.txt
setsid -f sh -c 'echo $$ >> pids.txt; exec sleep 304'
until [ "$(wc -l < pids.txt)" -ge 6 ]; do sleep 0.05; done
echo ready > ready.txt
sleep 300
```
"""
CHILDREN = 6  # lines the step writes to pids.txt


def alive(pid: int) -> bool:
    """Running, not a zombie waiting for a parent that does not reap it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :].split()[0] != b"Z"


def wait_for(check, limit: float = 20.0) -> bool:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return check()


def start_run(tmp_path: Path, text: str, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    book = tmp_path / "rb.md"
    book.write_text(text)
    journal = tmp_path / "j.sqlite3"
    argv = ["run", f"{book}#hold", "--yes", "--allow", "write", "--json", "--journal"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsdoc", *argv, str(journal), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        start_new_session=True,  # as if from its own terminal; the test's group is left alone
    )
    return proc, journal


def step_pids(tmp_path: Path, proc: subprocess.Popen[str]) -> list[int]:
    pids = tmp_path / "pids.txt"
    ready = wait_for(
        lambda: (
            proc.poll() is not None
            or ((tmp_path / "ready.txt").exists() and len(pids.read_text().split()) >= CHILDREN)
        )
    )
    assert ready and proc.poll() is None, "the step did not start its children"
    time.sleep(0.5)  # let the watchdog take a look at the family it guards
    return [int(p) for p in pids.read_text().split()]


def run_events(journal: Path, out: str) -> list[dict]:
    run_id = next(json.loads(line) for line in out.splitlines() if line.startswith("{"))["run_id"]
    result = run_opsdoc("journal", "export", run_id, "--format", "json", "--journal", str(journal))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["events"]


@pytest.fixture
def cleanup():
    """Whatever a failing test leaves running is killed at the end, by pid."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_kill_9_of_opsdoc_takes_the_steps_children_with_it(tmp_path, cleanup) -> None:
    proc, _journal = start_run(tmp_path, FAMILY)
    pids = step_pids(tmp_path, proc)
    cleanup.extend(pids)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=20)
    assert wait_for(lambda: not any(alive(p) for p in pids)), [p for p in pids if alive(p)]


def test_sighup_is_journaled_as_an_interruption_and_stops_the_children(tmp_path, cleanup) -> None:
    proc, journal = start_run(tmp_path, FAMILY)
    pids = step_pids(tmp_path, proc)
    cleanup.extend(pids)
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    assert wait_for(lambda: not any(alive(p) for p in pids)), [p for p in pids if alive(p)]
    events = run_events(journal, out)
    interrupted = [e for e in events if e["type"] == "run_interrupted"]
    assert interrupted and interrupted[0]["data"]["why"] == "SIGHUP"
    finished = [e for e in events if e["type"] == "run_finished"]
    assert finished[-1]["data"]["status"] == "interrupted"


def test_background_jobs_with_job_control_do_not_outlive_a_finished_step(tmp_path, cleanup) -> None:
    book = tmp_path / "rb.md"
    book.write_text(
        "# R\n\n## Hold\n\n**Fix**:\n```bash\n"
        "set -m\nsleep 300 &\necho $! >> pids.txt\n"
        "setsid sh -c 'echo $$ >> pids.txt; exec sleep 301' &\n"
        "setsid -f sh -c 'echo $$ >> pids.txt; exec sleep 302'\n"
        'until [ "$(wc -l < pids.txt)" -ge 3 ]; do sleep 0.05; done\necho started\n```\n'
    )
    result = run_opsdoc(
        "run", f"{book}#hold", "--yes", "--allow", "write", "--json",
        "--journal", str(tmp_path / "j.sqlite3"),
    )  # fmt: skip
    pids = [int(p) for p in (tmp_path / "pids.txt").read_text().split()]
    cleanup.extend(pids)
    assert result.returncode == 0, result.stdout + result.stderr
    assert wait_for(lambda: not any(alive(p) for p in pids), 10), [p for p in pids if alive(p)]


def test_sighup_during_a_statement_rolls_back_and_journals(tmp_path, fresh_db) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE jobs (id int, state text)")
        conn.execute("INSERT INTO jobs VALUES (1, 'stuck')")
    proc, journal = start_run(
        tmp_path,
        "# R\n\n## Hold\n\n**Fix**:\n```sql\n"
        "UPDATE jobs SET state = 'x' WHERE pg_sleep(60) IS NOT NULL;\n```\n",
        "--target",
        fresh_db,
    )

    def busy() -> bool:
        with psycopg.connect(fresh_db, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'UPDATE jobs%' "
                "AND state = 'active'"
            ).fetchone()
        return bool(row and row[0]) or proc.poll() is not None

    assert wait_for(busy) and proc.poll() is None
    proc.send_signal(signal.SIGHUP)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, out + err
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        assert conn.execute("SELECT state FROM jobs").fetchone() == ("stuck",)
        open_tx = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND (state LIKE 'idle in transaction%' OR query LIKE 'UPDATE jobs%')"
        ).fetchone()
    assert open_tx == (0,)
    why = [e["data"]["why"] for e in run_events(journal, out) if e["type"] == "run_interrupted"]
    assert why == ["SIGHUP"]


def test_a_step_run_inside_a_long_lived_process_spares_that_process_children(
    tmp_path, cleanup
) -> None:
    """A server runs steps in-process: a step's end must not stop the server's own children.

    Here the test process is the server: after one step it reaps orphans, a
    daemon of its own is then adopted by it, and a quick step (gone before the
    watchdog looks) must leave the daemon running.
    """
    from opsdoc.execute.process import run_process
    from opsdoc.model import Step
    from test_execute_sql import Recorder

    def quick() -> None:
        step = Step(phase="diagnose", lang="bash", code="true", line=1)
        assert run_process(step, values={}, hooks=Recorder(), cwd=tmp_path).status == "ok"

    quick()  # from here on this process is a subreaper, as opsdoc is
    pidfile = tmp_path / "daemon.pid"
    subprocess.run(["setsid", "-f", "sh", "-c", f"echo $$ > {pidfile}; exec sleep 120"], check=True)
    assert wait_for(lambda: pidfile.exists() and pidfile.read_text().strip())
    daemon = int(pidfile.read_text())
    cleanup.append(daemon)
    # /proc start times tick at 10 ms: a daemon born in the same tick as the next
    # step's leader cannot be told from that step's orphans. A server's are older.
    time.sleep(0.05)
    for _ in range(3):
        quick()
    time.sleep(0.5)
    assert alive(daemon)
