"""The runner driven in process, the way the server will drive it: a scripted
front end, a run in a worker thread, and a stop from another thread.

No signal is sent anywhere: cancelling is the token's job.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from opsdoc.config import Target
from opsdoc.execute.decisions import ApprovalBox, Decision
from opsdoc.execute.plan import Plan, select_steps
from opsdoc.execute.runner import Policy, Runner, RunSettings
from opsdoc.journal import Journal
from opsdoc.mask import Masker
from opsdoc.read import read_runbook


class ScriptedUI:
    """A front end that answers from a script and records what it was shown."""

    def __init__(self, choices: list[str] | None = None, confirms: list[bool] | None = None):
        self.choices = list(choices or [])
        self.confirms = list(confirms or [])
        self.events: list[Any] = []
        self.printed: list[str] = []
        self.asked: list[Any] = []

    def event(self, event: Any) -> None:
        self.events.append(event)

    def output(self, text: str, stream: str) -> None:
        self.printed.append(text)

    def choose(self, planned: Any, options: list[str]) -> str:
        self.asked.append(("choose", planned.number, options))
        return self.choices.pop(0) if self.choices else "run"

    def confirm(self, request: Any) -> bool:
        self.asked.append(("confirm", request.kind))
        return self.confirms.pop(0) if self.confirms else False

    def keep_going(self, reason: str) -> bool:
        return False


def make_runner(
    tmp_path: Path,
    body: str,
    *,
    target: Target | None = None,
    policy: Policy | None = None,
    ui: ScriptedUI | None = None,
) -> tuple[Runner, Journal, ScriptedUI]:
    path = tmp_path / "book.md"
    path.write_text("# Book\n\n## Work\n\n" + body)
    book = read_runbook(path)
    section = book.find("work")
    assert section is not None
    plan = Plan(book, section, select_steps(section))
    masker = Masker()
    journal = Journal(tmp_path / "journal.sqlite3")
    runlog = journal.start_run(
        runbook=str(path),
        section=section.id,
        content_hash=book.sha256,
        user="alice",
        host="test",
        target=target.name if target else None,
        git_commit=None,
        params={},
        argv=[],
        masker=masker,
    )
    settings = RunSettings(
        policy=policy or Policy(interactive=False, yes=True, allow=frozenset({"write"})),
        target=target,
        user="alice",
        cwd=tmp_path,
    )
    ui = ui or ScriptedUI()
    return Runner(plan, settings, runlog, masker, ui), journal, ui


def in_thread(runner: Runner) -> tuple[threading.Thread, list[int]]:
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(runner.run()), daemon=True)
    thread.start()
    return thread, result


def wait_for(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_running_bash_step_is_cancelled_from_another_thread(tmp_path) -> None:
    pidfile = tmp_path / "pid"
    body = (
        "```bash\n"
        f"echo $$ > {pidfile}\n"
        "sleep 60 &\n"  # a child in the group, too
        "echo waiting\n"
        "wait\n"
        "```\n\n"
        "```bash\necho never runs\n```\n"
    )
    runner, journal, ui = make_runner(tmp_path, body)
    thread, result = in_thread(runner)
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), "the step to start")
    wait_for(lambda: "waiting\n" in "".join(ui.printed), "the step's output")
    pgid = int(pidfile.read_text())
    assert group_alive(pgid)
    assert runner.stop("stopped by bob") is True
    assert runner.stop("again") is False  # the first reason stays
    thread.join(timeout=30)
    assert not thread.is_alive() and result == [130]
    assert not group_alive(pgid)  # the step's whole process group is gone
    with journal:
        (run,) = journal.runs(1)
        events = journal.events(run.id)
    kinds = [(e.type, e.step, e.data.get("status")) for e in events]
    assert ("step_finished", 1, "cancelled") in kinds
    assert not any(e.type == "step_started" and e.step == 2 for e in events)
    interrupted = next(e for e in events if e.type == "run_interrupted")
    assert interrupted.data["why"] == "cancelled: stopped by bob" and interrupted.step == 1
    assert events[-1].type == "run_finished" and events[-1].data["status"] == "cancelled"
    assert run.status == "cancelled"
    finished = next(e for e in events if e.type == "step_finished")
    assert "cancelled (stopped by bob)" in finished.data["error"]


def test_a_cancel_between_steps_stops_before_the_next(tmp_path) -> None:
    runner, journal, _ui = make_runner(tmp_path, "```bash\necho one\n```\n")
    runner.stop("before it began")
    assert runner.run() == 130
    with journal:
        (run,) = journal.runs(1)
        types = [e.type for e in journal.events(run.id)]
    assert "step_started" not in types
    assert types[-2:] == ["run_interrupted", "run_finished"]


@pytest.fixture
def table_db(fresh_db: str) -> str:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE jobs (id int PRIMARY KEY, state text)")
        conn.execute("INSERT INTO jobs VALUES (1, 'stuck'), (2, 'stuck')")
    return fresh_db


def test_a_running_sql_step_is_cancelled_and_its_transaction_rolled_back(
    tmp_path, table_db
) -> None:
    body = (
        "```sql\nBEGIN;\nUPDATE jobs SET state = 'done' WHERE state = 'stuck';\n"
        "SELECT pg_sleep(60);\nCOMMIT;\n```\n"
    )
    runner, journal, _ui = make_runner(tmp_path, body, target=Target("lab", table_db))
    thread, result = in_thread(runner)

    def sleeping() -> bool:
        with psycopg.connect(table_db, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' "
                "AND state = 'active'"
            ).fetchone()
        return bool(row and row[0])

    wait_for(sleeping, "the query to run")
    runner.stop("stop from the web UI")
    thread.join(timeout=30)
    assert result == [130]
    with psycopg.connect(table_db, autocommit=True) as conn:
        states = [r[0] for r in conn.execute("SELECT state FROM jobs ORDER BY id")]
        open_sessions = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
        ).fetchone()[0]
    assert states == ["stuck", "stuck"]  # the UPDATE was rolled back
    assert open_sessions == 0
    with journal:
        (run,) = journal.runs(1)
        events = journal.events(run.id)
    statements = [e.data for e in events if e.type == "statement"]
    assert [s["status"] for s in statements][:3] == ["rolled_back"] * 3
    finished = next(e for e in events if e.type == "step_finished")
    assert finished.data["status"] == "cancelled"
    assert "transaction rolled back" in finished.data["error"]
    assert events[-1].data["status"] == "cancelled"


def test_scripted_choices_skip_quit_and_declined_confirmations(tmp_path) -> None:
    body = "```bash\necho one\n```\n\n```bash\necho two\n```\n\n```bash\necho three\n```\n"
    ui = ScriptedUI(choices=["skip", "run", "quit"])
    runner, journal, ui = make_runner(tmp_path, body, policy=Policy(interactive=True), ui=ui)
    assert runner.run() == 0
    assert [a[1] for a in ui.asked if a[0] == "choose"] == [1, 2, 3]
    assert "".join(ui.printed) == "two\n"
    with journal:
        (run,) = journal.runs(1)
        events = journal.events(run.id)
    assert [(e.type, e.step) for e in events if e.type in ("step_skipped", "step_started")] == [
        ("step_skipped", 1),
        ("step_started", 2),
    ]
    assert events[-1].data["status"] == "stopped"


def test_a_refused_write_names_the_missing_permission(tmp_path) -> None:
    runner, journal, _ui = make_runner(
        tmp_path, "```bash\nrm -rf ./build\n```\n", policy=Policy(interactive=False, yes=True)
    )
    assert runner.run() == 3
    with journal:
        (run,) = journal.runs(1)
        refused = next(e for e in journal.events(run.id) if e.type == "step_refused")
    assert refused.data["needs"] in ("write", "destructive")
    assert "--" not in refused.data["why"]  # words, not the CLI's flag text


class ApprovingUI(ScriptedUI):
    """A front end whose approvals come from other people, through an ApprovalBox."""

    def __init__(self, box: ApprovalBox) -> None:
        super().__init__()
        self.box = box

    def await_approval(self, planned: Any, requested_by: str, cancel: Any) -> Decision:
        return self.box.wait(planned.number, requested_by, cancel)


def test_a_destructive_step_under_the_two_person_rule_waits_for_another_person(
    tmp_path,
) -> None:
    victim = tmp_path / "cache.db"
    victim.write_text("data")
    box = ApprovalBox()
    policy = Policy(
        interactive=False,
        yes=True,
        allow=frozenset({"write", "destructive"}),
        two_person=frozenset({"destructive"}),
    )
    runner, journal, ui = make_runner(
        tmp_path, f"```bash\nrm -rf {victim}\n```\n", policy=policy, ui=ApprovingUI(box)
    )
    assert runner.plan.steps[0].step.safety == "destructive"
    thread, result = in_thread(runner)
    wait_for(lambda: box.waiting() == {1: "alice"}, "the run to wait for an approval")
    time.sleep(0.3)
    assert victim.exists() and thread.is_alive()  # it waits; nothing ran
    box.decide(1, Decision(True, "alice", "approval", reason="I am sure"))
    wait_for(
        lambda: any(e.type == "approval_refused" for e in ui.events), "the self-approval refused"
    )
    assert victim.exists() and thread.is_alive()  # still waiting
    wait_for(lambda: box.waiting() == {1: "alice"}, "the run to wait again")
    box.decide(1, Decision(True, "bob", "approval", reason="checked the backup"))
    thread.join(timeout=30)
    assert result == [0]
    assert not victim.exists()
    with journal:
        (run,) = journal.runs(1)
        events = journal.events(run.id)
        md = journal.export(run.id, "md")
    refused = next(e for e in events if e.type == "approval_refused")
    assert refused.data["by"] == "alice" and refused.data["requested_by"] == "alice"
    confirmed = next(e for e in events if e.type == "step_confirmed")
    assert confirmed.data["by"] == "bob" and confirmed.data["how"] == "approval"
    assert confirmed.data["requested_by"] == "alice"
    assert confirmed.data["reason"] == "checked the backup"
    assert "confirmed by bob (approval, asked by alice)" in md
    assert "approval by alice refused" in md


def test_a_declined_approval_refuses_the_step_and_a_cancel_ends_the_wait(tmp_path) -> None:
    victim = tmp_path / "cache.db"
    victim.write_text("data")
    policy = Policy(
        interactive=False,
        yes=True,
        allow=frozenset({"write", "destructive"}),
        two_person=frozenset({"destructive"}),
    )
    box = ApprovalBox()
    runner, journal, _ui = make_runner(
        tmp_path, f"```bash\nrm -rf {victim}\n```\n", policy=policy, ui=ApprovingUI(box)
    )
    thread, result = in_thread(runner)
    wait_for(lambda: box.waiting() == {1: "alice"}, "the wait")
    box.decide(1, Decision(False, "bob", "approval", reason="not during business hours"))
    thread.join(timeout=30)
    assert result == [3] and victim.exists()
    with journal:
        (run,) = journal.runs(1)
        refused = next(e for e in journal.events(run.id) if e.type == "step_refused")
    assert refused.data["by"] == "bob"
    assert refused.data["why"] == "not approved by bob: not during business hours"

    other = tmp_path / "other"
    other.mkdir()
    box2 = ApprovalBox()
    runner2, journal2, _ui2 = make_runner(
        other, f"```bash\nrm -rf {victim}\n```\n", policy=policy, ui=ApprovingUI(box2)
    )
    thread2, result2 = in_thread(runner2)
    wait_for(lambda: box2.waiting() == {1: "alice"}, "the second wait")
    runner2.stop("nobody came")
    thread2.join(timeout=30)
    assert result2 == [130] and victim.exists()
    assert box2.waiting() == {}
    with journal2:
        (run2,) = journal2.runs(1)
    assert run2.status == "cancelled"


def test_a_commit_declined_then_confirmed_at_the_prompt(tmp_path, table_db) -> None:
    body = "```sql\nUPDATE jobs SET state = 'done' WHERE id = 1;\n```\n"
    target = Target("lab", table_db)
    declined = ScriptedUI(choices=["run"], confirms=[False])
    runner, journal, ui = make_runner(
        tmp_path, body, target=target, policy=Policy(interactive=True), ui=declined
    )
    assert runner.run() == 3
    assert ("confirm", "commit") in ui.asked
    with psycopg.connect(table_db) as conn:
        assert conn.execute("SELECT state FROM jobs WHERE id = 1").fetchone()[0] == "stuck"
    with journal:
        (run,) = journal.runs(1)
        refused = next(e for e in journal.events(run.id) if e.type == "step_refused")
    assert refused.data["why"] == "the commit was declined at the prompt"
    assert refused.data["how"] == "prompt" and refused.data["by"] == "alice"
    assert "needs" not in refused.data  # nothing was missing: a person said no

    again = tmp_path / "again"
    again.mkdir()
    runner, journal, ui = make_runner(
        again,
        body,
        target=target,
        policy=Policy(interactive=True),
        ui=ScriptedUI(choices=["run"], confirms=[True]),
    )
    assert runner.run() == 0
    with psycopg.connect(table_db) as conn:
        assert conn.execute("SELECT state FROM jobs WHERE id = 1").fetchone()[0] == "done"
    with journal:
        (run,) = journal.runs(1)
        events = journal.events(run.id)
    commit = next(e for e in events if e.type == "step_confirmed" and e.data["kind"] == "commit")
    assert commit.data["how"] == "prompt" and commit.data["rowcount"] == 1
    typed = [e for e in ui.events if e.type == "statement"]
    assert typed[0].columns == ["id", "state"] and typed[0].rows == [[1, "done"]]
