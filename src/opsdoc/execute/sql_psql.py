"""psql for a SQL step's meta-commands (``\\du``, ``\\conninfo``): find it, run one.

PostgreSQL's own protocol has no meta-commands; ``psql`` runs them. It runs
with no startup file (``-X``), stops at the first error, pages nothing, and
gets the DSN's password in ``PGPASSWORD``, never on its command line. It
runs under the same supervisor as a shell step (its own process group,
output streamed, stopped on timeout, cancel or Ctrl-C). The runner asks for
confirmation and reports; this module only finds and runs.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from opsdoc.execute import Confirmation, StepInterrupted, StepOutcome
from opsdoc.execute.cancel import CancelToken
from opsdoc.execute.sql_base import CONNECT_TIMEOUT
from opsdoc.execute.supervisor import supervise


@dataclass
class PsqlRun:
    """What psql did: how it ended (ok, failed, timeout; its exit code) and its stderr."""

    outcome: StepOutcome
    err: str


def find_psql() -> str | None:
    """``psql`` on PATH, else the one bundled in the pgserver wheel; None when there is none."""
    found = shutil.which("psql")
    if found:
        return found
    spec = importlib.util.find_spec("pgserver")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "pginstall" / "bin" / "psql"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def psql_command(psql: str, dsn: str, sql: str) -> tuple[list[str], dict[str, str]]:
    """psql's arguments and environment to run ``sql`` against ``dsn``.

    Raises :class:`psycopg.Error` when ``dsn`` is not a connection string.
    """
    env = dict(os.environ)
    info = conninfo_to_dict(dsn)
    password = info.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    env.setdefault("PGCONNECT_TIMEOUT", str(CONNECT_TIMEOUT))
    command = [psql, make_conninfo(**info), "-X", "-v", "ON_ERROR_STOP=1", "-P", "pager=off"]
    command += ["-c", sql]
    return command, env


def run_psql(
    command: list[str],
    env: dict[str, str],
    *,
    timeout: float | None,
    token: CancelToken,
    say: Callable[[str], None],
) -> PsqlRun:
    """Run psql under the process supervisor, as a shell step runs; stopped after ``timeout``.

    Its stdout goes to ``say`` as it comes, in whole lines, trailing blank
    lines dropped and one newline at the end; its stderr is kept for the
    caller, who shows it or puts it in the error. A cancel of ``token``
    raises :class:`~opsdoc.execute.cancel.Cancelled`, Ctrl-C
    KeyboardInterrupt, both after psql's process group is gone.
    """
    hooks = _PsqlHooks(say, token)
    try:
        outcome = supervise(command, env, None, hooks, timeout or math.inf, time.monotonic())
    except StepInterrupted:
        token.check()  # cancelled: Cancelled, as the runner expects; else it was Ctrl-C
        raise KeyboardInterrupt from None
    token.check()  # cancelled as psql ended: the run stops all the same
    hooks.finish()
    return PsqlRun(outcome, "".join(hooks.err))


class _PsqlHooks:
    """The supervisor's hooks for psql: stdout said as it arrives, stderr kept."""

    def __init__(self, say: Callable[[str], None], token: CancelToken) -> None:
        self.say = say
        self.cancel = token
        self.held = ""  # stdout not said yet: a partial line, trailing newlines
        self.seen = False  # whether stdout held anything but white space
        self.err: list[str] = []

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None:
        if stream == "stderr":
            self.err.append(text)
            return
        self.held += text
        self.seen = self.seen or bool(self.held.strip())
        if not self.seen:
            return  # white space alone says nothing
        lines = self.held[: self.held.rfind("\n") + 1]  # whole lines only: masked whole
        if len(lines) < len(self.held):  # a line goes on after them: they all stay
            ready = lines
        else:  # blank lines at the end are held: the output ends with one newline
            body = lines.rstrip("\n")
            ready = body + "\n" if body else ""
        if ready:
            self.say(ready)
            self.held = self.held[len(ready) :]

    def confirm(self, request: Confirmation) -> bool:
        return False  # psql asks nothing; the runner asked before it started

    def finish(self) -> None:
        """psql ended: say the rest of its last line, if any, with a newline."""
        rest = self.held.rstrip("\n")
        if self.seen and rest:
            self.say(rest + "\n")
