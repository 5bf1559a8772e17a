"""The embedded lab: a PostgreSQL from the pgserver wheel, loaded with a fault.

It needs no root and no system package, so the README's first command can
show a real incident on a fresh machine. Drills use the same functions.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import platformdirs

from opsdoc.errors import OpsdocError


def data_dir() -> Path:
    """Where the lab's PostgreSQL keeps its files between runs."""
    return Path(platformdirs.user_data_dir("opsdoc")) / "lab-postgres"


def start(directory: Path | None = None) -> Any:
    """A running embedded PostgreSQL; it stops when this process exits."""
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
            return pgserver.get_server(directory, cleanup_mode="stop")
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
