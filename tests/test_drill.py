"""`opsdoc drill` end to end: real PostgreSQL, real bash, the CLI as a real process.

The seed drills (tests/drills, reading the runbooks from ../shared/seeds) and
the example drills (examples/drills) each run in one invocation that starts
its own embedded PostgreSQL. The other tests point `--target` at the
session's server, which also proves that path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import psycopg
import pytest

from conftest import EXAMPLES, ROOT, run_opsdoc
from opsdoc.drill.files import read_drills
from opsdoc.journal import Journal

DRILLS = ROOT / "tests" / "drills"
OLD_TOKEN = "pbk_live_7f3a9c.lab-old-secret"
NEW_TOKEN = "pbk_live_0a1b2c.lab-new-secret"

# The seed scenarios the issue asks drills for: (seed, section) -> how many drills.
SEED_SCENARIOS = {
    ("003", "1-scenario-worker-death-heartbeat-failure"): 1,
    ("003", "3-scenario-simplicity-api-down-vendor-failure"): 2,  # pause, resume
    ("000", "4-duplicate-story-constraint-violations"): 1,
    ("000", "10-dlq-filling-up"): 1,
    ("004", "2-shopify-sync-queue-stuck"): 3,  # options A, B, C
    ("004", "3-batch-processing-failures"): 2,
    ("004", "4-failed-shopify-sync-recovery"): 2,
    ("004", "5-authentication-issues"): 3,
}


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_seed_drills_all_pass_with_json_and_junit(tmp_path) -> None:
    junit = tmp_path / "reports" / "drills.xml"
    result = run_opsdoc("drill", str(DRILLS), "--json", "--junit", str(junit), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads(result.stdout)  # --json: stdout holds the document and nothing else
    failed = [d for d in data["drills"] if d["status"] != "pass"]
    assert not failed, failed
    covered: dict[tuple[str, str], int] = {}
    for drill in data["drills"]:
        key = (Path(drill["runbook"]).name[:3], drill["section"])
        covered[key] = covered.get(key, 0) + 1
        assert drill["run_id"] and drill["failure"] is None
        assert set(drill["phases"]) == {"database", "setup", "before", "plan", "run", "check"}
    assert covered == SEED_SCENARIOS
    total = sum(SEED_SCENARIOS.values())
    assert data["summary"] == {**data["summary"], "total": total, "passed": total, "failed": 0}

    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == (str(total), "0", "0")
    cases = root.findall("./testsuite/testcase")
    assert len(cases) == total and not root.findall(".//failure")
    assert all(float(case.get("time", "-1")) >= 0 for case in cases)


def test_example_drills_all_pass_and_keep_secrets_out(tmp_path) -> None:
    journal = tmp_path / "journal.sqlite3"
    result = run_opsdoc("drill", str(EXAMPLES / "drills"), "--journal", str(journal), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    verdicts = [line for line in lines if line.startswith(("PASS", "FAIL"))]
    assert len(verdicts) == 10 and all(line.startswith("PASS ") for line in verdicts), lines
    assert any("Rotate the ops API token" in line for line in verdicts)
    assert lines[-1].startswith("10 drills: 10 passed, 0 failed (")
    # Each drill is a real run in the journal, and the secret tokens never reach it.
    with Journal(journal) as store:
        runs = store.runs()
    assert len(runs) == 10
    for path in tmp_path.iterdir():
        raw = path.read_bytes()
        assert OLD_TOKEN.encode() not in raw and NEW_TOKEN.encode() not in raw, path
    assert OLD_TOKEN not in result.stdout + result.stderr


BOOK = """# Parcel jobs

## Jobs stuck in running

**Symptoms**: jobs stay `running` after their worker died.

**Fix**:
```sql
UPDATE jobs SET state = 'queued' WHERE state = '{state}';
```

## Jobs table missing

**Fix**:
```sql
UPDATE job_list SET state = 'queued';
```
"""

SCHEMA = """CREATE TABLE jobs (id int PRIMARY KEY, state text NOT NULL);
INSERT INTO jobs VALUES (1, 'running'), (2, 'running'), (3, 'done');
"""

DRILL = """# Drills for the parcel jobs runbook

- runbook: ../book.md
- schema: ../schema.sql

## Stuck jobs are requeued

- section: jobs-stuck-in-running

```sql {{drill=setup}}
INSERT INTO jobs VALUES (4, 'running');
```

```sql {{drill=before}}
SELECT count(*) = 3 AS three_running FROM jobs WHERE state = 'running';
```

```sql {{drill=check}}
SELECT count(*) = 0 AS none_running, count(*) AS running FROM jobs WHERE state = 'running';
```

```bash {{drill=check}}
test -n "$OPSDOC_DRILL_DSN"
```

## A step that cannot run

- section: jobs-table-missing

```sql {{drill=check}}
SELECT true;
```
"""


def drill_setup(tmp_path: Path, state: str) -> Path:
    (tmp_path / "book.md").write_text(BOOK.format(state=state))
    (tmp_path / "schema.sql").write_text(SCHEMA)
    folder = tmp_path / "drills"
    folder.mkdir()
    (folder / "jobs.md").write_text(DRILL.format())
    (folder / "README.md").write_text("# Drills\n\nNo drills in here; a folder walk skips it.\n")
    return folder


def test_a_broken_fix_fails_the_drill(tmp_path, pg_server) -> None:
    # The fix has a typo ('runing'): it runs without error and changes nothing.
    folder = drill_setup(tmp_path, state="runing")
    junit = tmp_path / "drills.xml"
    target = pg_server.get_uri("postgres")
    result = run_opsdoc("drill", str(folder), "--target", target, "--junit", str(junit))
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert "FAIL Stuck jobs are requeued (" in out
    assert f"check ({folder / 'jobs.md'}:18): " in out
    assert "none_running=false, running=3" in out  # what the check saw
    assert "FAIL A step that cannot run (" in out
    assert "run step 1 of book.md#jobs-table-missing: failed: " in out
    assert 'relation "job_list" does not exist' in out
    assert out.splitlines()[-1].startswith("2 drills: 0 passed, 2 failed (")

    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures")) == ("2", "2")
    failures = root.findall(".//failure")
    assert [f.get("type") for f in failures] == ["check", "run"]
    assert "none_running=false" in (failures[0].get("message") or "")
    # Every drill had a database of its own on the target, and none is left behind.
    with psycopg.connect(target) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'opsdoc_drill_%'"
        ).fetchone()
    assert left == (0,)


def test_the_same_drill_passes_once_the_fix_is_right(tmp_path, pg_server) -> None:
    folder = drill_setup(tmp_path, state="running")
    drill = folder / "jobs.md"
    result = run_opsdoc("drill", f"{drill}", "--target", pg_server.get_uri("postgres"), "--json")
    data = json.loads(result.stdout)
    status = {d["name"]: d["status"] for d in data["drills"]}
    assert status == {"Stuck jobs are requeued": "pass", "A step that cannot run": "fail"}
    assert result.returncode == 1
    failure = data["drills"][1]["failure"]
    assert (failure["phase"], failure["step"]) == ("run", 1)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("# D\n\n- runbook: ../book.md#x\n- scheme: a.sql\n", 4, "unknown drill setting 'scheme'"),
        (
            "# D\n\n- runbook: ../book.md#x\n\n## One\n\n```sql {drill=setup}\nSELECT 1;\n```\n",
            5,
            "has no check",
        ),
        (
            "# D\n\n- runbook: ../nope.md#x\n\n```sql {drill=check}\nSELECT true;\n```\n",
            3,
            "runbook not found",
        ),
        (
            "# D\n\n- runbook: ../book.md#x\n\n```sql {drill=after}\nSELECT 1;\n```\n",
            5,
            "{drill=after}",
        ),
        ("# D\n\n- runbook: ../book.md#x\n\n```js {drill=check}\ntrue\n```\n", 5, "not js"),
        (
            "# D\n\n- runbook: ../book.md#x\n- steps: one\n\n```sql {drill=check}\nSELECT true;\n```\n",
            4,
            "steps takes",
        ),
    ],
)
def test_bad_drill_files_are_one_line_errors(tmp_path, text, line, words) -> None:
    (tmp_path / "book.md").write_text(BOOK.format(state="running"))
    folder = tmp_path / "drills"
    folder.mkdir()
    path = folder / "bad.md"
    path.write_text(text)
    result = run_opsdoc("drill", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    message = one_line(result.stderr)
    assert message.startswith(f"error: {path}:{line}: ") and words in message, message
    assert result.stdout == ""


def test_a_named_file_without_drills_is_an_error(tmp_path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("# Notes\n\n```sql\nSELECT 1;\n```\n")
    result = run_opsdoc("drill", str(path))
    assert result.returncode == 2
    assert "no drills here" in one_line(result.stderr)


def test_settings_under_the_title_apply_to_every_drill() -> None:
    drills = read_drills([DRILLS / "seed003-dragonfly.md"])
    assert [d.section for d in drills] == [
        "1-scenario-worker-death-heartbeat-failure",
        "3-scenario-simplicity-api-down-vendor-failure",
        "3-scenario-simplicity-api-down-vendor-failure",
    ]
    assert {d.runbook.name for d in drills} == {"003_5a19d28ffda2e27a.txt"}
    assert all(
        d.bin == DRILLS / "bin" and d.schema == [ROOT / "tests/lab/seed003.sql"] for d in drills
    )
    worker = drills[0]
    assert (worker.steps, worker.options) == ([1, 2, 4], ["Railway CLI"])
    assert [f.kind for f in worker.fences] == ["setup", "before", "check", "check"]


def test_ctrl_c_stops_the_drill_and_leaves_nothing(tmp_path, pg_server) -> None:
    (tmp_path / "book.md").write_text(BOOK.format(state="running"))
    (tmp_path / "schema.sql").write_text(SCHEMA)
    folder = tmp_path / "drills"
    folder.mkdir()
    marker = tmp_path / "setup-started"
    (folder / "slow.md").write_text(
        "# Slow\n\n- runbook: ../book.md#jobs-stuck-in-running\n- schema: ../schema.sql\n\n"
        f"```bash {{drill=setup}}\ntouch {marker}\nsleep 60\n```\n\n"
        "```sql {drill=check}\nSELECT true;\n```\n"
    )
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    target = pg_server.get_uri("postgres")
    proc = subprocess.Popen(
        [sys.executable, "-m", "opsdoc", "drill", str(folder), "--target", target],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    started = time.monotonic()
    while not marker.exists() and time.monotonic() - started < 60 and proc.poll() is None:
        time.sleep(0.1)
    assert marker.exists(), proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in err
    assert list(scratch.iterdir()) == []  # temp folders, journal, step scripts: all gone
    with psycopg.connect(target) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'opsdoc_drill_%'"
        ).fetchone()
    assert left == (0,)
