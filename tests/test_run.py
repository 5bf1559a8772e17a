"""`opsdoc run` end to end: real bash, real PostgreSQL, a real journal.

Runbooks here are written for the tests; the seed scenarios are in
test_run_seeds.py.
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

SECRET = "s3cr3t-t0ken-value-42"


def write(tmp_path: Path, text: str, name: str = "rb.md") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def journal_events(journal: Path, run_id: str) -> list[dict]:
    result = run_opsdoc("journal", "export", run_id, "--format", "json", "--journal", str(journal))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["events"]


COUNTER = """# Ops

## Queue stuck

**Symptoms**: jobs wait forever

**Diagnosis**:
```sql
SELECT count(*) AS stuck FROM jobs WHERE state = 'stuck';
```

**Fix**:
```sql
UPDATE jobs SET state = 'queued' WHERE state = 'stuck';
```

**Verification**:
```sql
SELECT count(*) AS stuck FROM jobs WHERE state = 'stuck';
```
Expected output: `stuck: 0`
"""


@pytest.fixture
def jobs_db(fresh_db: str) -> str:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE jobs (id serial PRIMARY KEY, state text)")
        conn.execute("INSERT INTO jobs (state) VALUES ('stuck'), ('stuck'), ('done')")
    return fresh_db


def states(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT state FROM jobs ORDER BY id")]


def test_non_interactive_run_needs_the_right_flags(tmp_path, jobs_db) -> None:
    book = write(tmp_path, COUNTER)
    journal = tmp_path / "j.sqlite3"
    target = f"{book}#queue-stuck"
    base = ["run", target, "--target", jobs_db, "--journal", str(journal)]
    refused = run_opsdoc(*base)  # no --yes at all
    assert refused.returncode == 3
    assert "--yes" in refused.stdout + refused.stderr
    refused = run_opsdoc(*base, "--yes")  # the UPDATE needs --allow write
    assert refused.returncode == 3
    assert "--allow write" in refused.stdout
    assert states(jobs_db) == ["stuck", "stuck", "done"]
    done = run_opsdoc(*base, "--yes", "--allow", "write")
    assert done.returncode == 0, done.stdout + done.stderr
    assert states(jobs_db) == ["queued", "queued", "done"]
    assert "✓ expected: stuck: 0" in done.stdout


def test_json_events_and_journal_tell_the_same_story(tmp_path, jobs_db) -> None:
    book = write(tmp_path, COUNTER)
    journal = tmp_path / "j.sqlite3"
    result = run_opsdoc(
        "run",
        f"{book}#queue-stuck",
        "--target",
        jobs_db,
        "--yes",
        "--allow",
        "write",
        "--json",
        "--journal",
        str(journal),
    )
    assert result.returncode == 0, result.stderr
    lines = events(result.stdout)
    run_id = lines[0]["run_id"]
    types = [e["type"] for e in lines]
    assert types[0] == "run_started" and types[-1] == "exit"
    assert types.count("step_finished") == 3
    expectation = next(e for e in lines if e["type"] == "expectation")
    assert expectation["held"] is True
    stored = [e["type"] for e in journal_events(journal, run_id)]
    for kind in (
        "run_started",
        "step_planned",
        "step_confirmed",
        "step_started",
        "statement",
        "step_finished",
        "expectation",
        "run_finished",
    ):
        assert kind in stored
    update = next(
        e
        for e in journal_events(journal, run_id)
        if e["type"] == "statement" and e["data"]["text"].startswith("UPDATE")
    )
    assert update["data"]["rowcount"] == 2 and update["data"]["status"] == "committed"


def test_missing_params_are_all_named_before_anything_runs(tmp_path) -> None:
    book = write(
        tmp_path, "# R\n\n## Call\n\n```bash\necho <first-id> $SECOND_URL > out.txt\n```\n"
    )
    result = run_opsdoc(
        "run",
        f"{book}#call",
        "--yes",
        "--allow",
        "write",
        "--journal",
        str(tmp_path / "j"),
        env={"SECOND_URL": ""},
    )
    assert result.returncode == 2
    assert "first-id" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out.txt").exists()


def test_shell_param_injection_stays_one_argument(tmp_path) -> None:
    book = write(tmp_path, "# R\n\n## Note\n\n```bash\nprintf '%s' <note> > note.txt\n```\n")
    nasty = "x'); DROP TABLE intake_lots; -- $(touch pwned) `touch pwned2`"
    result = run_opsdoc(
        "run",
        f"{book}#note",
        "--yes",
        "--allow",
        "write",
        "--param",
        f"note={nasty}",
        "--journal",
        str(tmp_path / "j"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "note.txt").read_text() == nasty
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_sql_param_injection_changes_nothing(tmp_path, jobs_db) -> None:
    book = write(
        tmp_path,
        "# R\n\n## Retry\n\n**Fix**:\n```sql\n"
        "UPDATE jobs SET state = 'queued' WHERE state = '<state>';\n```\n",
    )
    nasty = "x'); DROP TABLE jobs; --"
    result = run_opsdoc(
        "run",
        f"{book}#retry",
        "--target",
        jobs_db,
        "--yes",
        "--allow",
        "write",
        "--param",
        f"state={nasty}",
        "--journal",
        str(tmp_path / "j"),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "UPDATE 0" in result.stdout
    assert states(jobs_db) == ["stuck", "stuck", "done"]


def test_secret_values_never_reach_terminal_json_or_journal(tmp_path) -> None:
    book = write(
        tmp_path,
        '# R\n\n## Call\n\n```bash\necho "calling with $API_TOKEN"\n'
        'echo "Authorization: Bearer $API_TOKEN" >&2\n```\n',
    )
    journal = tmp_path / "j.sqlite3"
    env = {"API_TOKEN": SECRET}
    text = run_opsdoc(
        "run", f"{book}#call", "--yes", "--allow", "write", "--journal", str(journal), env=env
    )
    assert text.returncode == 0, text.stderr
    assert "calling with ***" in text.stdout
    as_json = run_opsdoc(
        "run",
        f"{book}#call",
        "--yes",
        "--allow",
        "write",
        "--json",
        "--journal",
        str(journal),
        env=env,
    )
    assert as_json.returncode == 0
    for out in (text.stdout, text.stderr, as_json.stdout, as_json.stderr):
        assert SECRET not in out
    for fmt in ("md", "json"):
        listing = run_opsdoc("journal", "list", "--json", "--journal", str(journal))
        for run in json.loads(listing.stdout):
            exported = run_opsdoc(
                "journal", "export", run["id"], "--format", fmt, "--journal", str(journal)
            )
            assert exported.returncode == 0
            assert SECRET not in exported.stdout
    assert SECRET.encode() not in journal.read_bytes()


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path, jobs_db) -> None:
    book = write(tmp_path, COUNTER)
    result = run_opsdoc(
        "run",
        f"{book}#queue-stuck",
        "--target",
        jobs_db,
        "--dry-run",
        "--yes",
        "--journal",
        str(tmp_path / "j"),
    )
    assert result.returncode == 0, result.stderr
    assert "2. act · sql · write  (needs --allow write)" in result.stdout
    assert states(jobs_db) == ["stuck", "stuck", "done"]
    assert not (tmp_path / "j").exists()


def test_ctrl_c_during_a_long_statement(tmp_path, jobs_db) -> None:
    book = write(
        tmp_path,
        "# R\n\n## Slow\n\n**Fix**:\n```sql\n"
        "UPDATE jobs SET state = 'x' WHERE pg_sleep(30) IS NOT NULL;\n```\n",
    )
    journal = tmp_path / "j.sqlite3"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opsdoc",
            "run",
            f"{book}#slow",
            "--target",
            jobs_db,
            "--yes",
            "--allow",
            "write",
            "--json",
            "--journal",
            str(journal),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=ROOT,
    )
    started = time.monotonic()
    while time.monotonic() - started < 20:
        with psycopg.connect(jobs_db, autocommit=True) as conn:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE "
                "'UPDATE jobs%' AND state = 'active'"
            ).fetchone()[0]
        if busy:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, out + err
    with psycopg.connect(jobs_db, autocommit=True) as conn:
        open_tx = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
            "current_database() AND state LIKE 'idle in transaction%'"
        ).fetchone()[0]
    assert open_tx == 0
    assert states(jobs_db) == ["stuck", "stuck", "done"]
    run_id = events(out)[0]["run_id"]
    kinds = [e["type"] for e in journal_events(journal, run_id)]
    assert "run_interrupted" in kinds


def test_resume_skips_the_steps_that_finished(tmp_path) -> None:
    book = write(
        tmp_path,
        "# R\n\n## Rotate\n\n"
        "1. Count:\n\n   ```bash\n   echo x >> ran-step-1.txt\n   ```\n\n"
        "2. Needs the flag file:\n\n   ```bash\n   test -f ready.flag\n   ```\n\n"
        "3. Finish:\n\n   ```bash\n   echo done > ran-step-3.txt\n   ```\n",
    )
    journal = tmp_path / "j.sqlite3"
    first = run_opsdoc(
        "run", f"{book}#rotate", "--yes", "--allow", "write", "--json", "--journal", str(journal)
    )
    assert first.returncode == 1
    run_id = events(first.stdout)[0]["run_id"]
    assert not (tmp_path / "ran-step-3.txt").exists()
    (tmp_path / "ready.flag").write_text("")
    second = run_opsdoc(
        "run", "--resume", run_id, "--yes", "--allow", "write", "--journal", str(journal)
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert (tmp_path / "ran-step-1.txt").read_text() == "x\n"  # step 1 ran once
    assert (tmp_path / "ran-step-3.txt").exists()


def test_missing_interpreter_names_the_other_options(tmp_path) -> None:
    if os.path.exists("/usr/bin/pwsh"):
        pytest.skip("pwsh is installed here")
    book = write(
        tmp_path,
        "# R\n\n## Restart\n\n**Shell:**\n\n```bash\necho restarted\n```\n\n"
        "**PowerShell:**\n\n```powershell\nWrite-Output restarted\n```\n",
    )
    result = run_opsdoc(
        "run",
        f"{book}#restart",
        "--yes",
        "--allow",
        "write",
        "--option",
        "PowerShell",
        "--journal",
        str(tmp_path / "j"),
    )
    assert result.returncode == 1
    assert "pwsh" in result.stdout and "other options for this step: Shell" in result.stdout


def test_a_step_whose_expectation_fails_is_failed_and_a_resume_runs_it_again(tmp_path) -> None:
    book = tmp_path / "r.md"
    book.write_text(
        "# R\n\n## Go\n\n```bash\necho first\n```\n\n"
        '```bash {"expect":"all clear"}\necho "3 jobs stuck"\n```\n'
    )
    journal = str(tmp_path / "j.sqlite3")
    result = run_opsdoc("run", f"{book}#go", "--yes", "--json", "--journal", journal)
    assert result.returncode == 1
    events = [json.loads(line) for line in result.stdout.splitlines()]
    finished = [e for e in events if e["type"] == "step_finished"]
    assert [e["status"] for e in finished] == ["ok", "failed"]
    assert finished[1]["error"] == "expected output not seen: all clear"
    run_id = next(e["run_id"] for e in events if e["type"] == "run_started")
    again = run_opsdoc("run", "--resume", run_id, "--yes", "--json", "--journal", journal)
    planned = [json.loads(x) for x in again.stdout.splitlines() if '"step_planned"' in x]
    assert [e["step"] for e in planned] == [2]  # step 1 finished; step 2 did not
