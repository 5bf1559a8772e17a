"""Running one drill: fresh database, setup, the scenario as a real run, the checks.

The scenario goes through the same plan and :class:`Runner` as ``opsdoc
run``, non-interactively with every confirmation granted (a drill runs in a
sandbox, and the point is to prove the fix, destructive or not), and is
journaled like any run. What the drill's stand-in CLIs and checks need
reaches them as environment variables:

``OPSDOC_DRILL_DSN``    the drill's database
``OPSDOC_DRILL_TMP``    a folder of its own, the working directory, removed afterwards
``OPSDOC_DRILL_CALLS``  a file in it where stand-in CLIs write the calls they got
``OPSDOC_DRILL_DIR``    the folder holding the drill file

The drill's ``bin`` folder comes first on PATH, and ``psql`` is on it (the
system's, else the one the pgserver wheel ships).
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from opsdoc import events as ev
from opsdoc.config import Target
from opsdoc.drill.fenced import run_fence, tail
from opsdoc.drill.files import expand
from opsdoc.drill.sandbox import Sandbox, SandboxError
from opsdoc.drill.spec import Drill, DrillResult, Failure
from opsdoc.errors import OpsdocError
from opsdoc.execute import Confirmation, StepInterrupted
from opsdoc.execute.plan import (
    PlannedStep,
)
from opsdoc.execute.runner import EXIT_INTERRUPTED, EXIT_OK
from opsdoc.execute.session import RunRequest, Session, prepare
from opsdoc.execute.sql import find_psql
from opsdoc.identity import Identity
from opsdoc.journal import Journal

Echo = Callable[[str], None]


@dataclass
class DrillContext:
    """What the drills of one ``opsdoc drill`` share."""

    sandbox: Sandbox
    journal: Journal
    user: str = field(default_factory=lambda: _user())
    host: str = field(default_factory=socket.gethostname)
    echo: Echo | None = None  # --verbose: phases and step output as they happen


class _Failed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


class _DrillUI:
    """The runner's other end in a drill: nobody to ask, everything remembered."""

    def __init__(self, echo: Echo | None) -> None:
        self.echo = echo
        self.failure: Failure | None = None
        self._output: list[str] = []

    def event(self, event: ev.RunEvent) -> None:
        step = event.step
        if isinstance(event, ev.StepStarted):
            self._output = []
        if self.echo and isinstance(event, ev.StepPlanned | ev.StepFinished | ev.StepSkipped):
            detail = getattr(event, "status", "") or getattr(event, "why", "")
            detail = detail or getattr(event, "title", "") or ""
            self.echo(f"    step {step} {event.type.removeprefix('step_')}: {detail}")
        if self.failure is not None:
            return
        if isinstance(event, ev.StepFinished) and event.status != "ok":
            last = tail("".join(self._output))
            text = f"{event.status}: {event.error or 'no error given'}"
            self.failure = Failure("run", text + (f"; output: {last}" if last else ""), step=step)
        elif isinstance(event, ev.Expectation) and not event.held:
            text = f"did not show what the runbook expects: {event.expected}"
            self.failure = Failure("run", text, step=step)
        elif isinstance(event, ev.StepRefused):
            self.failure = Failure("run", f"refused: {event.why}", step=step)

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None:
        self._output.append(text)
        if self.echo:
            for line in text.rstrip("\n").splitlines():
                self.echo(f"      {line}")

    def choose(self, planned: PlannedStep, options: list[str]) -> str:
        return "run"

    def confirm(self, request: Confirmation) -> bool:
        return True

    def keep_going(self, reason: str) -> bool:
        return False


def run_drill(drill: Drill, ctx: DrillContext) -> DrillResult:
    """Run one drill from a fresh database to its checks; Ctrl-C propagates, cleaned up."""
    started = time.monotonic()
    result = DrillResult(drill=drill, passed=False, duration=0.0)
    folder = Path(tempfile.mkdtemp(prefix="opsdoc-drill-"))
    database: str | None = None
    try:
        with _phase(result, "database", ctx.echo):
            try:
                database, dsn = ctx.sandbox.database(drill.schema)
            except SandboxError:
                raise  # no database at all: every drill would fail, so stop (exit 2)
            except OpsdocError as exc:  # a schema file that does not load
                raise _Failed(Failure("database", str(exc))) from None
        env = _environment(drill, dsn, folder)
        with _phase(result, "plan", ctx.echo):
            session = _session(drill, dsn, env, folder, ctx)
        masker = session.masker
        for kind in ("setup", "before"):
            with _phase(result, kind, ctx.echo):
                for fence in drill.of(kind):  # type: ignore[arg-type]
                    outcome = run_fence(fence, dsn=dsn, env=env, cwd=folder, masker=masker)
                    if not outcome.ok:
                        raise _Failed(Failure(kind, outcome.message, line=fence.line))  # type: ignore[arg-type]
        with _phase(result, "run", ctx.echo):
            result.run_id, failure = _run(session, ctx)
            if failure is not None:
                raise _Failed(failure)
        with _phase(result, "check", ctx.echo):
            for fence in drill.of("check"):
                outcome = run_fence(fence, dsn=dsn, env=env, cwd=folder, masker=masker)
                if not outcome.ok:
                    raise _Failed(Failure("check", outcome.message, line=fence.line))
        result.passed = True
    except _Failed as failed:
        result.failure = failed.failure
    except StepInterrupted:
        raise KeyboardInterrupt from None
    finally:
        if database is not None:
            ctx.sandbox.drop(database)
        shutil.rmtree(folder, ignore_errors=True)
        result.duration = time.monotonic() - started
    return result


@contextmanager
def _phase(result: DrillResult, phase: str, echo: Echo | None):  # type: ignore[no-untyped-def]
    if echo:
        echo(f"  {phase}")
    began = time.monotonic()
    try:
        yield
    finally:
        result.phases[phase] = round(time.monotonic() - began, 3)


def _environment(drill: Drill, dsn: str, folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    if drill.bin is not None:
        env["PATH"] = f"{drill.bin}{os.pathsep}{env.get('PATH', '')}"
    if shutil.which("psql", path=env.get("PATH")) is None:
        psql = find_psql()  # the one the pgserver wheel ships: runbooks call psql too
        if psql is not None:
            env["PATH"] = f"{env.get('PATH', '')}{os.pathsep}{Path(psql).parent}"
    env["OPSDOC_DRILL_DSN"] = dsn
    env["OPSDOC_DRILL_TMP"] = str(folder)
    env["OPSDOC_DRILL_CALLS"] = str(folder / "calls.log")
    env["OPSDOC_DRILL_DIR"] = str(Path(drill.file).resolve().parent)
    (folder / "calls.log").touch()
    return env


def _session(
    drill: Drill, dsn: str, env: dict[str, str], folder: Path, ctx: DrillContext
) -> Session:
    """The drill's run, prepared as ``opsdoc run`` prepares one; every param from the drill."""
    try:
        given = {
            name: expand(value, env, drill.file, drill.line) for name, value in drill.params.items()
        }
        return prepare(
            RunRequest(
                ref=f"{drill.runbook}#{drill.section}",
                params=given,
                options=list(drill.options),
                only=drill.only,
                steps=list(drill.steps),
                target=Target(name="drill", dsn=dsn, password=ctx.sandbox.password),
                yes=True,  # the sandbox is the drill's own, and the fix is what is on trial
                allow=frozenset({"write", "destructive"}),
                identity=Identity(user=ctx.user, uid=None),
                argv=["drill", drill.where],
                cwd=folder,
                env=env,
                environ={},  # the environment and opsdoc.toml stay out of a sandbox
                config_params=False,
            )
        )
    except OpsdocError as exc:
        hint = exc.hint
        if "offers alternatives" in exc.message:
            hint = "choose one with `- option: LABEL`"
        raise _Failed(Failure("plan", exc.message + (f" ({hint})" if hint else ""))) from None


def _run(session: Session, ctx: DrillContext) -> tuple[str, Failure | None]:
    """The scenario as a journaled run: its run id, and what failed if anything did."""
    ui = _DrillUI(ctx.echo)
    runner = session.start(ui, journal=ctx.journal)
    code = runner.run()
    if code == EXIT_INTERRUPTED:
        raise KeyboardInterrupt
    if code != EXIT_OK:
        return runner.runlog.id, ui.failure or Failure(
            "run", f"the run ended with exit code {code}"
        )
    return runner.runlog.id, None


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return os.environ.get("USER", "unknown")
