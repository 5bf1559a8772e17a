"""Where drills run: one PostgreSQL per ``opsdoc drill``, a fresh database per drill.

By default that PostgreSQL is the embedded one (the pgserver wheel) in a
temp folder that is removed afterwards. ``--target DSN`` names a server of
the team's instead (a CI service container, a scratch instance): opsdoc
connects to its ``postgres`` database and creates and drops one database per
drill there, so the role needs CREATEDB. Never point it at production: the
setup fences write whatever fault they inject.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from opsdoc import lab
from opsdoc.config import dsn_password
from opsdoc.errors import OpsdocError


class SandboxError(OpsdocError):
    """The sandbox itself is unusable (no server, no CREATEDB): every drill would fail."""


class _Remote:
    """A server given by DSN, shaped like pgserver's handle for ``lab.fresh_database``."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    def get_uri(self, database: str) -> str:
        return make_conninfo(self.dsn, dbname=database)


class Sandbox:
    """The PostgreSQL drills get their databases from; close() leaves nothing behind."""

    def __init__(self, target: str | None = None) -> None:
        self.target = target
        self.password = dsn_password(target) if target else None
        self._server: Any = None
        self._folder: Path | None = None
        self._count = 0

    def start(self) -> None:
        if self.target is None:
            self._folder = Path(tempfile.mkdtemp(prefix="opsdoc-drill-pg-"))
            self._server = lab.start(self._folder / "data")
            self._throwaway()
            return
        self._server = _Remote(self.target)
        try:
            with psycopg.connect(self._server.get_uri("postgres"), connect_timeout=10) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            raise SandboxError(
                f"cannot connect to --target: {_first_line(exc)}",
                hint="--target names a sandbox PostgreSQL whose role may CREATE DATABASE",
            ) from None

    def _throwaway(self) -> None:
        """No fsync on a server that is deleted afterwards: a third faster per drill."""
        with psycopg.connect(self._server.get_uri("postgres"), autocommit=True) as conn:
            for setting in ("fsync", "synchronous_commit", "full_page_writes"):
                conn.execute(f"ALTER SYSTEM SET {setting} = off")  # type: ignore[arg-type]
            conn.execute("SELECT pg_reload_conf()")

    def database(self, files: list[Path]) -> tuple[str, str]:
        """A new database with the files loaded: (name, DSN).

        A file that fails to load raises the OpsdocError that names it (the
        drill fails); a server that refuses to create databases stops every
        drill (exit 2).
        """
        self._count += 1
        prefix = "drill" if self.target is None else f"opsdoc_drill_{os.getpid()}"
        name = f"{prefix}_{self._count}"
        try:
            return name, lab.fresh_database(self._server, name, files)
        except psycopg.Error as exc:
            raise SandboxError(
                f"cannot create a database for the drill: {_first_line(exc)}",
                hint="the role of --target needs CREATEDB",
            ) from None

    def drop(self, name: str) -> None:
        """Drop a drill's database; a failure here is not the drill's."""
        try:
            with psycopg.connect(self._server.get_uri("postgres"), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        except psycopg.Error:
            pass

    def close(self) -> None:
        if self._folder is not None:
            if self._server is not None:
                self._server.cleanup()
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        self._server = None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
