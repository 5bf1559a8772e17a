"""`opsdoc run` with an opsdoc.toml, and as a person at a terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from conftest import ROOT, run_opsdoc

PEEK = "# R\n\n## Peek\n\n```sql\nSELECT bump() AS bumped;\n```\n"


def make_jobs(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE jobs (id serial PRIMARY KEY, state text)")
        conn.execute("INSERT INTO jobs (state) VALUES ('stuck'), ('stuck'), ('done')")
        conn.execute(
            "CREATE FUNCTION bump() RETURNS int LANGUAGE sql AS "
            "$$ UPDATE jobs SET state = 'bumped' WHERE state = 'stuck' RETURNING 1 $$"
        )


def states(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT state FROM jobs ORDER BY id")]


def test_config_target_from_env_and_a_read_that_writes_is_refused(tmp_path, fresh_db) -> None:
    make_jobs(fresh_db)
    team = tmp_path / "team"
    (team / "runbooks").mkdir(parents=True)
    (team / "sql-rules.toml").write_text('[read]\nfunctions = ["bump"]\n')  # wrongly: it writes
    (team / "opsdoc.toml").write_text(
        'default_target = "lab"\n\n[targets.lab]\ndsn = "env:LAB_DATABASE_URL"\n\n'
        '[rules]\nsql = ["sql-rules.toml"]\n'
    )
    book = team / "runbooks" / "peek.md"
    book.write_text(PEEK)
    env = {"LAB_DATABASE_URL": fresh_db}
    journal = str(tmp_path / "j.sqlite3")
    shown = run_opsdoc("show", "--json", str(book))
    refused = run_opsdoc("run", f"{book}#peek", "--yes", "--journal", journal, env=env)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    # The rule names bump(); the target says it is its own function: asked for, so refused.
    assert "defined on the target" in refused.stdout and "--allow write" in refused.stdout
    assert states(fresh_db) == ["stuck", "stuck", "done"]
    allowed = run_opsdoc(
        "run", f"{book}#peek", "--yes", "--allow", "write", "--journal", journal, env=env
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert states(fresh_db) == ["bumped", "bumped", "done"]
    assert '"safety": "write"' in shown.stdout  # without the team rule it is write


def test_unset_target_variable_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "opsdoc.toml").write_text('[targets.prod]\ndsn = "env:NOPE_DATABASE_URL"\n')
    book = tmp_path / "peek.md"
    book.write_text(PEEK)
    result = run_opsdoc(
        "run",
        f"{book}#peek",
        "--target",
        "prod",
        "--yes",
        "--journal",
        str(tmp_path / "j"),
        env={"NOPE_DATABASE_URL": ""},
    )
    assert result.returncode == 2
    assert "NOPE_DATABASE_URL, which is not set" in result.stderr
    assert "Traceback" not in result.stderr


class Terminal:
    """opsdoc in a pseudo-terminal: read what it shows, type answers."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opsdoc", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        self.screen = ""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"never saw {text!r} in:\n{self.screen[-2000:]}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    self.screen += os.read(self.master, 4096).decode(errors="replace")
                except OSError:
                    break

    def type(self, line: str) -> None:
        os.write(self.master, (line + "\n").encode())

    def finish(self) -> int:
        code = self.proc.wait(timeout=30)
        os.close(self.master)
        return code


def test_interactive_run_commits_only_what_is_typed(tmp_path, fresh_db) -> None:
    make_jobs(fresh_db)
    book = tmp_path / "fix.md"
    book.write_text(
        "# R\n\n## Stuck jobs\n\n**Symptoms**: jobs stuck\n\n"
        "**Fix**:\n```sql\nDELETE FROM jobs WHERE state = 'stuck';\n```\n\n"
        "**Verification**:\n```sql\nSELECT count(*) AS left FROM jobs;\n```\n"
    )
    term = Terminal(
        "run", f"{book}#stuck-jobs", "--target", fresh_db, "--journal", str(tmp_path / "j.sqlite3")
    )
    term.expect("[r]un / [s]kip / [q]uit?")
    term.type("r")
    term.expect("2 row(s) would change")
    term.type("yes")  # not the word asked for: rolls back
    term.expect("[r]un / [s]kip / [q]uit?")
    assert states(fresh_db) == ["stuck", "stuck", "done"]
    term.type("q")
    assert term.finish() == 3  # a change was declined
    again = Terminal(
        "run", f"{book}#stuck-jobs", "--target", fresh_db, "--journal", str(tmp_path / "j.sqlite3")
    )
    again.expect("[r]un / [s]kip / [q]uit?")
    again.type("r")
    again.expect("type commit to commit")
    again.type("commit")
    again.expect("[r]un / [s]kip / [q]uit?")
    again.type("r")
    again.expect("done (exit 0)")
    assert again.finish() == 0
    assert states(fresh_db) == ["done"]


def test_interactive_secret_param_is_not_echoed(tmp_path) -> None:
    book = tmp_path / "call.md"
    book.write_text('# R\n\n## Call\n\n```bash\necho "len=${#API_TOKEN}" > out.txt\n```\n')
    term = Terminal("run", f"{book}#call", "--journal", str(tmp_path / "j.sqlite3"))
    # The header and the step come first; the value is asked when the step runs.
    term.expect("[r]un / [s]kip / [q]uit?")
    assert term.screen.index("Run ") < term.screen.index("Step 1/1")
    assert "API_TOKEN (secret" not in term.screen
    term.type("r")
    term.expect("API_TOKEN (secret, not shown):")
    term.type("hunter2-secret")
    term.expect("done (exit 0)")
    assert term.finish() == 0
    assert "hunter2-secret" not in term.screen
    assert Path(tmp_path / "out.txt").read_text() == "len=14\n"
    journal = run_opsdoc("journal", "list", "--json", "--journal", str(tmp_path / "j.sqlite3"))
    run_id = json.loads(journal.stdout)[0]["id"]
    exported = run_opsdoc(
        "journal", "export", run_id, "--format", "json", "--journal", str(tmp_path / "j.sqlite3")
    )
    given = [e for e in json.loads(exported.stdout)["events"] if e["type"] == "params_given"]
    assert given and given[0]["data"]["values"] == {"API_TOKEN": "***"}
    assert "hunter2-secret" not in exported.stdout


def test_interactive_params_of_an_option_not_taken_are_never_asked(tmp_path) -> None:
    book = tmp_path / "pick.md"
    book.write_text(
        "# R\n\n## Fix\n\n**Option A: restart**\n\n```bash\necho restart <service>\n```\n\n"
        "**Option B: scale**\n\n```bash\necho scale <replicas>\n```\n"
    )
    term = Terminal("run", f"{book}#fix", "--journal", str(tmp_path / "j.sqlite3"))
    term.expect("[r]un / [s]kip / [o]ther option / [q]uit?")
    term.type("r")
    term.expect("service:")
    term.type("api")
    term.expect("restart api")
    term.expect("exit")
    term.finish()
    assert "replicas" not in term.screen.split("restart api")[1]


def test_the_option_picker_names_each_option_and_a_verify_step_offers_none(tmp_path) -> None:
    book = tmp_path / "pick.md"
    book.write_text(
        "# R\n\n## Fix\n\n**Option A: restart the pod**\n\n```bash\necho restarting\n```\n\n"
        "**Option B: scale it out**\n\n```bash\necho scaling\n```\n\n"
        "### Verify\n\n```bash\necho verified\n```\n"
    )
    term = Terminal("run", f"{book}#fix", "--journal", str(tmp_path / "j.sqlite3"))
    term.expect("[r]un / [s]kip / [o]ther option / [q]uit?")
    term.type("x")
    term.expect("answer [r]un, [s]kip, [o]ther option, [q]uit")
    term.type("o")
    term.expect("which option?")
    assert "1. A: restart the pod  (this one)" in term.screen
    assert "2. B: scale it out" in term.screen
    term.type("2")
    term.expect("scale it out")
    term.expect("[r]un / [s]kip / [o]ther option / [q]uit?")
    term.type("r")
    term.expect("scaling")
    term.expect("[r]un / [s]kip / [q]uit?")  # the verify step: no other option to offer
    term.type("q")
    term.expect("opsdoc run --resume")
    term.finish()
    assert "\nrestarting" not in term.screen.replace("\r", "")  # option A never ran
    assert "stopped by you (exit 0)" in term.screen and "done (exit" not in term.screen
