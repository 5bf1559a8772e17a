"""psql for a SQL step's meta-commands (``\\du``, ``\\conninfo``): find it, run one.

PostgreSQL's own protocol has no meta-commands; ``psql`` runs them. It runs
with no startup file (``-X``), stops at the first error, pages nothing, and
gets the DSN's password in ``PGPASSWORD``, never on its command line. The
runner asks for confirmation and reports; this module only finds and runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from opsdoc.execute.cancel import CancelToken
from opsdoc.execute.sql_base import CONNECT_TIMEOUT


class PsqlTimeout(Exception):
    """psql ran past the step's timeout and was stopped."""


@dataclass
class PsqlRun:
    """What psql did: its exit code and what it printed."""

    returncode: int
    out: str
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
    command: list[str], env: dict[str, str], *, timeout: float | None, token: CancelToken
) -> PsqlRun:
    """Run psql to its end; stopped (and :class:`PsqlTimeout`) after ``timeout`` seconds.

    A cancel of ``token`` kills it and raises :class:`~opsdoc.execute.cancel.Cancelled`;
    so does Ctrl-C (KeyboardInterrupt), after psql is gone.
    """
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    undo = token.on_cancel(lambda: _kill(proc))
    try:
        out, err = proc.communicate(timeout=timeout or None)
        token.check()
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise PsqlTimeout() from None
    except BaseException:
        _kill(proc)
        raise
    finally:
        undo()
    return PsqlRun(proc.returncode, out, err)


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.communicate(timeout=5)
