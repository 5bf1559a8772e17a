"""The embedded lab: a PostgreSQL from the pgserver wheel, loaded with a fault.

It needs no root and no system package, so the README's first command can
show a real incident on a fresh machine. Drills use the same functions.
"""

from __future__ import annotations

import os
import re
import signal
import time
import warnings
from pathlib import Path
from typing import Any

import platformdirs

from opsdoc import mask
from opsdoc.errors import OpsdocError


def data_dir() -> Path:
    """Where the lab's PostgreSQL keeps its files between runs."""
    return Path(platformdirs.user_data_dir("opsdoc")) / "lab-postgres"


def start(directory: Path | None = None, *, keep: bool = False) -> Any:
    """A running embedded PostgreSQL; it stops when this process exits, unless ``keep``.

    ``keep`` leaves it running for ``opsdoc run --target`` afterwards (``opsdoc
    demo --keep``); :func:`stop` ends it. A server already running in
    ``directory`` is reused either way.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError as exc:  # pragma: no cover - a dependency of opsdoc
        raise OpsdocError(
            "the embedded PostgreSQL (pgserver) is not installed", hint="pip install pgserver"
        ) from exc
    directory = directory or data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: no XDG_RUNTIME_DIR in containers
            return pgserver.get_server(directory, cleanup_mode=None if keep else "stop")
    except Exception as exc:  # pgserver reports start failures as plain exceptions
        raise OpsdocError(
            f"the embedded PostgreSQL did not start: {exc}",
            path=str(directory),
            hint="remove the folder and try again",
        ) from exc


def fresh_database(server: Any, name: str, files: list[Path]) -> str:
    """Drop and recreate database ``name``, run the SQL files in it; its DSN."""
    import psycopg

    admin = server.get_uri("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = server.get_uri(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for path in files:
            try:
                conn.execute(path.read_text(encoding="utf-8"))  # type: ignore[arg-type]
            except psycopg.Error as exc:
                raise OpsdocError(
                    f"loading the lab failed: {exc}".splitlines()[0], path=str(path)
                ) from exc
    return dsn


def shown_dsn(dsn: str) -> str:
    """The DSN as printed for a user to paste: no empty ``user:@`` password, no secret.

    pgserver's server trusts local socket connections, so its DSN holds no
    password and the form printed is the form that works.
    """
    return mask.shown_dsn(re.sub(r"^(postgres(?:ql)?://[^:/@]+):@", r"\1@", dsn))


def stop(directory: Path | None = None, *, timeout: float = 30.0) -> bool:
    """Stop the lab's PostgreSQL if it runs; False when there was none to stop.

    Done as ``pg_ctl stop -m fast`` does it: SIGINT to the PID on the first
    line of ``postmaster.pid``, then wait for PostgreSQL to remove that file.
    """
    directory = directory or data_dir()
    pid_file = directory / "postmaster.pid"
    try:
        pid = int(pid_file.read_text(encoding="utf-8").split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:  # a stale file left by a server that died
        return False
    except PermissionError as exc:
        raise OpsdocError(
            f"cannot stop the embedded PostgreSQL (PID {pid}): {exc.strerror}",
            path=str(directory),
        ) from None
    deadline = time.monotonic() + timeout
    while pid_file.exists():
        if time.monotonic() > deadline:
            raise OpsdocError(
                f"the embedded PostgreSQL (PID {pid}) did not stop within {timeout:.0f}s",
                path=str(directory),
                hint="see the log file in that folder",
            )
        time.sleep(0.1)
    return True
