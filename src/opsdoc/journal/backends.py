"""Where the journal's rows live: one SQLite file, or a PostgreSQL database.

Both hold the same schema (``schema_sql``) and take the same SQL, written
with ``?`` placeholders; the PostgreSQL side keeps its tables in a schema
of their own (``opsdoc``), so a journal can share a database with anything.
Each refuses UPDATE and DELETE on events with a trigger: append-only is
enforced, not promised. The chain (:mod:`opsdoc.journal.chain`) is what
shows an edit made by someone who dropped the trigger first.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, Protocol

from opsdoc.errors import EXIT_BAD_INPUT, OpsdocError

SCHEMA_VERSION = 2  # 2: events.mac (the chain)
BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another process's write
PG_SCHEMA = "opsdoc"
PG_LOCK = 0x6F707364  # advisory lock taken while creating or upgrading the schema

# The one column whose DDL differs between the two databases.
ID_COLUMN = {
    "sqlite": "id INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
}


def schema_sql(dialect: Literal["sqlite", "postgresql"] = "sqlite") -> list[str]:
    """The DDL of the journal, statement by statement (portable types only).

    ``at`` is ISO-8601 UTC text with milliseconds (``2026-11-23T07:39:02.123Z``),
    which sorts as time does; ``data`` is JSON text; ``mac`` the chain's link.
    """
    return [
        f"""CREATE TABLE IF NOT EXISTS events (
    {ID_COLUMN[dialect]},
    run_id VARCHAR(64) NOT NULL,
    seq INTEGER NOT NULL,
    at VARCHAR(32) NOT NULL,
    type VARCHAR(64) NOT NULL,
    step INTEGER NULL,
    data TEXT NOT NULL,
    mac VARCHAR(64) NULL
)""",
        # Unique with seq: a run's order is enforced and reading one run is one range.
        "CREATE UNIQUE INDEX IF NOT EXISTS events_run_seq ON events (run_id, seq)",
        "CREATE INDEX IF NOT EXISTS events_type_id ON events (type, id)",
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    ]


_SQLITE_GUARDS = [
    f"""CREATE TRIGGER IF NOT EXISTS events_no_{verb.lower()} BEFORE {verb} ON events
BEGIN SELECT RAISE(ABORT, 'the opsdoc journal is append-only'); END"""
    for verb in ("UPDATE", "DELETE")
]
_PG_GUARDS = [
    """CREATE OR REPLACE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the opsdoc journal is append-only'; END $$""",
    "DROP TRIGGER IF EXISTS events_append_only ON events",
    """CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
FOR EACH ROW EXECUTE FUNCTION append_only()""",
]


class Tx(Protocol):
    """What a transaction offers: ``?`` placeholders on both databases."""

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None: ...


class Backend(Protocol):
    where: str  # a path, or the DSN with its password masked
    path: Path | None

    def transaction(self) -> Any: ...  # a context manager yielding a Tx

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]: ...

    def close(self) -> None: ...


def is_dsn(ref: object) -> bool:
    return isinstance(ref, str) and ref.split("://", 1)[0].lower() in ("postgresql", "postgres")


class JournalError(OpsdocError):
    pass


def error(where: str, what: str, exc: BaseException | None = None, hint: str | None = None):
    detail = ""
    if isinstance(exc, OSError):
        detail = f": {exc.strerror or exc}"
    elif exc is not None:
        detail = f": {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}"
    return JournalError(
        f"{what}{detail}",
        path=where,
        hint=hint
        or "give a writable file or a postgresql:// DSN with --journal, or set OPSDOC_JOURNAL",
        exit_code=EXIT_BAD_INPUT,
    )


class _Scrubbed(Exception):
    """An error's text with the DSN's password taken out."""


class SqliteBackend:
    """One file in WAL mode: readers never block the writer; two processes can append."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)
        self._lock = threading.RLock()
        self._conn = self._open()

    def _open(self) -> sqlite3.Connection:
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            blocker = next((p for p in path.parents if p.exists()), None)
            if blocker is not None and not blocker.is_dir():
                raise error(self.where, f"{blocker} is a file, not a directory") from None
            raise error(self.where, "cannot create the journal's directory", exc) from None
        if path.is_dir():
            raise error(self.where, "the journal path is a directory")
        if not path.exists():
            try:  # owner-only: the journal says who ran what where (WAL files inherit this)
                os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise error(self.where, "cannot create the journal", exc) from None
        elif not os.access(path, os.W_OK):
            raise error(self.where, "the journal is not writable")
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                str(path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # transactions are explicit
                check_same_thread=False,  # output arrives from reader threads; _lock serializes
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # a commit survives kill -9
            self._migrate(conn)
        except (sqlite3.Error, OpsdocError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, OpsdocError):
                raise
            raise error(self.where, "cannot open the journal", exc) from None
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise error(
                self.where, f"the journal has schema {version}; this opsdoc reads {SCHEMA_VERSION}"
            )
        conn.execute("BEGIN IMMEDIATE")  # two processes creating it at once: one wins
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 1:
                conn.execute("ALTER TABLE events ADD COLUMN mac VARCHAR(64) NULL")
            for statement in [*schema_sql("sqlite"), *_SQLITE_GUARDS]:
                conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        return self._conn.execute(sql, args).fetchall()

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._conn.executemany(sql, rows)

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                hint = None
                if "locked" in str(exc) or "busy" in str(exc):
                    hint = f"another process held it for {BUSY_TIMEOUT_MS // 1000} s; try again"
                raise error(self.where, "cannot write to the journal", exc, hint) from None

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise error(self.where, "cannot read the journal", exc) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class PostgresBackend:
    """A team's journal: the same rows in a PostgreSQL database, schema ``opsdoc``."""

    def __init__(self, dsn: str) -> None:
        import psycopg

        from opsdoc.mask import DsnScrub  # the DSN's password never reaches a message

        scheme, rest = dsn.split("://", 1)
        dsn = f"{scheme.lower()}://{rest}"  # libpq reads the scheme in lower case only
        self.scrub = DsnScrub(dsn)
        self.path = None
        self.where = self.scrub(dsn)
        self._psycopg = psycopg
        self._lock = threading.RLock()
        try:
            self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise error(
                self.where,
                "cannot connect to the journal's database",
                _Scrubbed(self.scrub(str(exc))),
                "check the DSN and that the server is up; --journal FILE keeps a local journal",
            ) from None
        try:
            self._migrate()
        except psycopg.Error as exc:
            self._conn.close()
            raise error(
                self.where, "cannot set up the journal's tables", _Scrubbed(self.scrub(str(exc)))
            ) from None

    def _migrate(self) -> None:
        conn = self._conn
        found = conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (f"{PG_SCHEMA}.schema_version",)
        ).fetchone()
        if found and found[0]:
            conn.execute(f"SET search_path TO {PG_SCHEMA}")
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            if row and row[0] == SCHEMA_VERSION:
                return
            if row and row[0] and row[0] > SCHEMA_VERSION:
                raise error(
                    self.where,
                    f"the journal has schema {row[0]}; this opsdoc reads {SCHEMA_VERSION}",
                )
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_LOCK,))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {PG_SCHEMA}")
            conn.execute(f"SET LOCAL search_path TO {PG_SCHEMA}")
            for statement in [*schema_sql("postgresql"), *_PG_GUARDS]:
                conn.execute(statement)
            conn.execute("DELETE FROM schema_version")
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (SCHEMA_VERSION,))
        conn.execute(f"SET search_path TO {PG_SCHEMA}")

    def execute(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self._conn.execute(sql.replace("?", "%s"), args)
        return cur.fetchall() if cur.description else []

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._conn.cursor() as cur:
            cur.executemany(sql.replace("?", "%s"), rows)  # one pipeline, not a round trip each

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        with self._lock:
            try:
                with self._conn.transaction():
                    yield self
            except self._psycopg.Error as exc:
                raise error(
                    self.where, "cannot write to the journal", _Scrubbed(self.scrub(str(exc)))
                ) from None

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql.replace("?", "%s"), args).fetchall()
            except self._psycopg.Error as exc:
                raise error(
                    self.where, "cannot read the journal", _Scrubbed(self.scrub(str(exc)))
                ) from None

    def close(self) -> None:
        with self._lock:
            self._conn.close()
