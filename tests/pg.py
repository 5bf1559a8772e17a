"""An embedded PostgreSQL for tests (the pgserver wheel: no root, no system package).

``pg_server`` starts one server for the whole session; ``fresh_db`` creates
an empty database for one test and yields its DSN, then drops it. Other
test modules use them through ``tests/conftest.py``, or import them:
``from pg import fresh_db, pg_server``.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """A running embedded PostgreSQL; stopped and deleted at the end of the session.

    Its data directory lives in a temp dir of its own, not under pytest's
    numbered basetemp: pytest sessions running side by side rotate those
    out, and a server whose data directory disappears dies mid-test.

    Under pytest-xdist (``-n``) each worker is a session and starts a server
    of its own: pgserver shares a server only per data directory, and this
    one listens on no TCP port, only on a Unix socket inside that directory,
    so workers' servers never meet.
    """
    base = Path(tempfile.mkdtemp(prefix="opsdoc-pg-"))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR not set
            import pgserver

            server = pgserver.get_server(base / "data", cleanup_mode="delete")
        with server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


def admin_dsn(server: Any) -> str:
    """The DSN of the server's maintenance database."""
    return server.get_uri("postgres")


@pytest.fixture
def fresh_db(pg_server: Any) -> Iterator[str]:
    """The DSN of a new, empty database, dropped (connections and all) after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn(pg_server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.get_uri(name)
    with psycopg.connect(admin_dsn(pg_server), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
