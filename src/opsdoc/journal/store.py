"""The journal: every action of a run, appended as events, chained, never changed.

:class:`Journal` opens a SQLite file (the default) or a PostgreSQL database
(a ``postgresql://`` DSN) and hands out one :class:`RunLog` per run.
A run log writes each event in its own transaction as it comes, except
output: a step's output chunks are batched, a few hundred or 0.2 s at a
time, into one transaction, so a chatty step costs the journal little and
a kill -9 loses at most the chunks of the last fraction of a second.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import threading
import weakref
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import platformdirs

from opsdoc.errors import OpsdocError
from opsdoc.journal import chain
from opsdoc.journal.backends import Backend, PostgresBackend, SqliteBackend, error, is_dsn
from opsdoc.journal.encode import decode, encode, remask
from opsdoc.journal.rows import Event, RunSummary, summarize, summary_of
from opsdoc.mask import Masker

ENV_VAR = "OPSDOC_JOURNAL"
FILE_NAME = "journal.sqlite3"
BATCHED = frozenset({"output"})  # event types written in batches; the rest commit at once
FLUSH_AFTER = 0.2  # seconds a batched event may wait
BATCH_SIZE = 500


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M-") + secrets.token_hex(2)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("opsdoc")
    except Exception:  # not installed: running from a checkout
        return "unknown"


Pending = tuple[str, str, int | None, str]  # at, type, step, data


class Journal:
    """An append-only, chained event log of runs, in SQLite or PostgreSQL."""

    def __init__(self, ref: Path | str | None = None, *, key: bytes | None = None) -> None:
        ref = ref if ref not in (None, "") else self.default_ref()
        self.backend: Backend = (
            PostgresBackend(str(ref)) if is_dsn(ref) else SqliteBackend(_file(ref))
        )
        self._key = key
        self._logs: weakref.WeakSet[RunLog] = weakref.WeakSet()
        _OPEN.add(self)

    @staticmethod
    def default_ref() -> str | Path:
        """``$OPSDOC_JOURNAL`` (a file or a DSN) if set, else the user data dir's file."""
        env = os.environ.get(ENV_VAR, "").strip()
        if env:
            return env if is_dsn(env) else Path(env).expanduser()
        return Path(platformdirs.user_data_dir("opsdoc")) / FILE_NAME

    @staticmethod
    def default_path() -> Path:
        ref = Journal.default_ref()
        return ref if isinstance(ref, Path) else Path(ref)

    @property
    def path(self) -> Path | None:
        """The SQLite file; None for a PostgreSQL journal."""
        return self.backend.path

    @property
    def where(self) -> str:
        """The file, or the DSN with its password masked: for messages."""
        return self.backend.where

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = chain.load_key()
        return self._key

    def flush(self) -> None:
        """Commit what every run log of this journal still holds."""
        for log in list(self._logs):
            log.flush()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            _OPEN.discard(self)
            self.backend.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------

    def append(self, run_id: str, events: list[Pending], *, new_run: bool = False) -> bool:
        """Append events to a run in one transaction, each chained to the one before.

        False, and nothing written, if ``new_run`` and the id is taken.
        """
        if not events:
            return True
        key = self.key
        with self.backend.transaction() as tx:
            if is_dsn_backend(self.backend):
                tx.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (run_id,))
            last = tx.execute(
                "SELECT seq, mac FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1",
                (run_id,),
            )
            if last and new_run:
                return False
            seq, prev = (last[0][0], last[0][1] or "") if last else (0, "")
            rows = []
            for at, type, step, data in events:
                seq += 1
                prev = chain.mac(key, prev, run_id, seq, at, type, step, data)
                rows.append((run_id, seq, at, type, step, data, prev))
            tx.executemany(
                "INSERT INTO events (run_id, seq, at, type, step, data, mac) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        return True

    def start_run(
        self,
        *,
        runbook: str,
        section: str,
        content_hash: str,
        user: str,
        host: str,
        target: str | None,
        git_commit: str | None,
        params: dict[str, str],
        argv: list[str],
        masker: Masker,
        resumed_from: str | None = None,
        identity: dict[str, Any] | None = None,
    ) -> RunLog:
        """Write ``run_started`` and return the log the runner appends the rest to.

        ``identity`` adds ``uid`` and, when the environment named someone
        else, ``claimed_user`` beside ``user`` (the OS account; see
        :mod:`opsdoc.identity`).
        """
        data = {
            "runbook": runbook,
            "section": section,
            "content_hash": content_hash,
            "user": user,
            "host": host,
            "target": target,
            "git_commit": git_commit,
            "params": dict(params),
            "argv": list(argv),
            "resumed_from": resumed_from,
            "pid": os.getpid(),
            "opsdoc": _version(),
        }
        for name, value in (identity or {}).items():
            if name != "user":  # the caller's ``user`` stays the one recorded
                data[name] = value
        data[chain.KEY_FIELD] = chain.key_id(self.key)
        encoded, _ = encode(data, masker)
        for _attempt in range(20):
            run_id = _new_run_id()
            if self.append(run_id, [(_now(), "run_started", None, encoded)], new_run=True):
                return self.log(run_id, masker)
        raise error(self.where, "could not find a free run id")  # pragma: no cover

    def log(self, run_id: str, masker: Masker) -> RunLog:
        """The log to append to an existing run (its id as given, not resolved)."""
        return RunLog(self, run_id, masker)

    # -- reading -------------------------------------------------------------

    def resolve(self, run_id: str) -> str:
        """The full id of the run that ``run_id`` is, or is the unique prefix of."""
        ref = run_id.strip().lower()
        hint = "`opsdoc journal list` shows recent runs"
        if not ref:
            raise OpsdocError("no run id given", hint=hint)
        pattern = re.sub(r"([\\%_])", r"\\\1", ref) + "%"
        found = [
            row[0]
            for row in self.backend.query(
                "SELECT DISTINCT run_id FROM events WHERE run_id LIKE ? ESCAPE '\\' "
                "ORDER BY run_id LIMIT 6",
                (pattern,),
            )
        ]
        if ref in found:
            return ref
        if len(found) == 1:
            return found[0]
        if not found:
            raise OpsdocError(f"no run {run_id!r} in the journal {self.where}", hint=hint)
        shown = ", ".join(found[:5]) + (", …" if len(found) > 5 else "")
        raise OpsdocError(f"run id {run_id!r} is ambiguous: {shown}", hint="give more of the id")

    def _rows(self, run_id: str) -> list[chain.Row]:
        return [
            (r[0], r[1], r[2], r[3], r[4], r[5], r[6])
            for r in self.backend.query(
                "SELECT run_id, seq, at, type, step, data, mac FROM events "
                "WHERE run_id = ? ORDER BY seq",
                (run_id,),
            )
        ]

    def events(self, run_id: str, after: int = 0) -> list[Event]:
        """A run's events in order (``run_id`` may be a unique prefix); ``after`` a seq."""
        self.flush()  # this process reads what it wrote, batched or not
        full = self.resolve(run_id)
        rows = self.backend.query(
            "SELECT run_id, seq, at, type, step, data FROM events "
            "WHERE run_id = ? AND seq > ? ORDER BY seq",
            (full, after),
        )
        return [Event(r[0], r[1], r[2], r[3], r[4], decode(r[5])) for r in rows]

    def head(self, run_id: str) -> str | None:
        """The MAC of the run's last event: what an export carries."""
        self.flush()
        rows = self.backend.query(
            "SELECT mac FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1",
            (self.resolve(run_id),),
        )
        return rows[0][0] if rows else None

    def runs(self, limit: int = 50) -> list[RunSummary]:
        """The latest runs, newest first."""
        self.flush()
        starts = self.backend.query(
            "SELECT run_id, at, data FROM events WHERE type = 'run_started' "
            "ORDER BY id DESC LIMIT ?",
            (max(0, limit),),
        )
        out = []
        for run_id, at, data in starts:
            last = self.backend.query(
                "SELECT type, at, data FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1",
                (run_id,),
            )[0]
            out.append(summary_of(run_id, at, decode(data), last[0], last[1], decode(last[2])))
        return out

    def run_ids(self) -> list[str]:
        rows = self.backend.query("SELECT DISTINCT run_id FROM events ORDER BY run_id")
        return [r[0] for r in rows]

    def summary(self, run_id: str) -> RunSummary:
        return summarize(self.events(run_id))

    def verify(self, run_id: str | None = None, head: str | None = None) -> list[chain.RunCheck]:
        """Check the chain of one run, or of every run in the journal."""
        self.flush()
        ids = [self.resolve(run_id)] if run_id else self.run_ids()
        out = []
        for rid in ids:
            rows = self._rows(rid)
            start = decode(rows[0][5]) if rows and rows[0][3] == "run_started" else {}
            named = start.get(chain.KEY_FIELD)
            out.append(chain.check(self.key, rows, named if isinstance(named, str) else None, head))
        return out

    def export(self, run_id: str, fmt: Literal["md", "json"]) -> str:
        """The run as a Markdown postmortem timeline or as JSON ``{"run", "events"}``."""
        import json

        from opsdoc.journal.export import export_data, export_markdown

        events = remask(self.events(run_id))
        head = self.head(run_id)
        if fmt == "json":
            data = export_data(events, head)
            return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        if fmt == "md":
            return export_markdown(events, head)
        raise OpsdocError(f"unknown export format {fmt!r}", hint="use md or json")


_OPEN: weakref.WeakSet[Journal] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    """At exit, batched events still waiting are committed: a clean exit loses nothing."""
    for journal in list(_OPEN):
        with contextlib.suppress(OpsdocError):
            journal.flush()


def is_dsn_backend(backend: Backend) -> bool:
    return isinstance(backend, PostgresBackend)


def _file(ref: Path | str) -> Path:
    path = Path(ref).expanduser()
    if re.match(r"(?i)postgres(ql)?:/[^/]", str(ref)):
        raise error(  # not echoed: it may hold a password, and it is what the user typed
            "--journal",
            "the journal looks like a DSN whose // was lost",
            hint="give it as postgresql://user@host/db",
        )
    return path


_GOOD_TYPES: set[str] = set()


class RunLog:
    """The events of one run: masked, chained, committed (output in small batches)."""

    def __init__(self, journal: Journal, run_id: str, masker: Masker) -> None:
        self.journal = journal
        self.id = run_id
        self.masker = masker
        self._lock = threading.Lock()
        self._pending: list[Pending] = []
        self._timer: threading.Timer | None = None
        self._failed: OpsdocError | None = None  # a timed flush that failed, raised next time
        journal._logs.add(self)  # flushed when the journal closes or the process exits

    def event(self, type: str, *, step: int | None = None, **data: Any) -> None:
        """Append an event of ``type`` (see :mod:`opsdoc.journal` for the types)."""
        if type not in _GOOD_TYPES:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", type):
                raise ValueError(f"bad event type {type!r}")
            _GOOD_TYPES.add(type)
        encoded, truncated = encode(data, self.masker)
        if truncated and "truncated" not in data:
            encoded, _ = encode({**data, "truncated": True}, self.masker)
        with self._lock:
            self._pending.append((_now(), type, step, encoded))
            batched = type in BATCHED and len(self._pending) < BATCH_SIZE
            if batched and self._timer is None:
                self._timer = threading.Timer(FLUSH_AFTER, self._timed_flush)
                self._timer.daemon = True
                self._timer.start()
        if not batched:
            self.flush()

    def flush(self) -> None:
        """Commit what is waiting, in one transaction."""
        with self._lock:
            failed, self._failed = self._failed, None
            if failed is not None:
                raise failed
            pending, self._pending = self._pending, []
            timer, self._timer = self._timer, None
            if timer is not None:
                timer.cancel()
            self.journal.append(self.id, pending)

    def _timed_flush(self) -> None:
        try:
            self.flush()
        except OpsdocError as exc:  # a timer thread has nobody to tell: the next write will
            self._failed = exc

    def __repr__(self) -> str:
        return f"RunLog({self.id!r}, {self.journal.where})"
