"""The journal: every action of ``opsdoc run``, appended as events, never changed.

Events live in one SQLite file (WAL mode, so readers never block the writer
and two processes can append at once) in the user's data dir by default:
``platformdirs.user_data_dir("opsdoc")/journal.sqlite3``. The ``OPSDOC_JOURNAL``
environment variable overrides that; a path given explicitly (``--journal``)
wins over both. The same schema is meant for PostgreSQL when a team shares a
journal (see :data:`ID_COLUMN`); the SQL here sticks to what both accept.

Every event's data is masked with the run's :class:`~opsdoc.mask.Masker`
before it is written, and each string in it is capped at 64 KB.

Event types the runner writes (``step`` is the step's 1-based number among
the section's executable steps, as ``opsdoc show`` numbers them; the fields
listed are the ones the export reads, others are kept as they are):

``run_started``
    runbook, section, content_hash, user, host, target, git_commit, params,
    argv, resumed_from, pid, opsdoc (version), uid. ``runbook`` is an
    absolute path; ``user`` is the OS account of the real uid, and
    ``claimed_user`` what ``$USER``/``$LOGNAME`` said when that differs.
``run_resumed``
    resumed_from, notes (how the steps were matched to the changed runbook).
``statement_skipped``
    index, text, why: a resumed step's statement the earlier run committed.
``step_planned``
    phase, lang, safety, title, option, code (params resolved, secrets masked).
``step_confirmed``
    by (user name), via (``prompt`` | ``--yes`` | ``--allow write`` |
    ``--allow destructive``), kind (``run`` | ``commit`` | ``autocommit``),
    statement (its index, when one statement was confirmed).
``step_started``
    (nothing more).
``output``
    text (capped at 64 KB per event; ``truncated`` when it was cut), stream.
``statement``
    index, label, text, safety, status (``ok`` | ``committed`` |
    ``rolled_back`` | ``failed`` | ``refused`` | ``skipped``), rowcount,
    columns, rows (at most 20), error, sqlstate, duration (seconds).
``expectation``
    expected, held (bool), actual (optional).
``step_refused``
    why, flag (the flag that would have allowed it, e.g. ``--allow write``).
``step_skipped``
    why.
``step_finished``
    status, exit_code, rowcount, duration, error.
``run_interrupted``
    why (e.g. ``SIGINT``); the step it happened in as ``step``.
``run_finished``
    status (``ok`` | ``failed`` | ``refused`` | ``interrupted``), exit_code.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import platformdirs

from opsdoc.errors import EXIT_BAD_INPUT, OpsdocError
from opsdoc.mask import Masker

SCHEMA_VERSION = 1
ENV_VAR = "OPSDOC_JOURNAL"
FILE_NAME = "journal.sqlite3"
MAX_EVENT_TEXT = 64 * 1024  # characters kept of any one string in an event
BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another process's write

EVENT_TYPES = (
    "run_started",
    "step_planned",
    "step_confirmed",
    "step_started",
    "output",
    "statement",
    "expectation",
    "step_refused",
    "step_skipped",
    "step_finished",
    "env_carried",
    "run_interrupted",
    "run_finished",
)
RunStatus = Literal["ok", "failed", "refused", "interrupted", "running"]

# The one column whose DDL differs between the two databases.
ID_COLUMN = {
    "sqlite": "id INTEGER PRIMARY KEY AUTOINCREMENT",
    "postgresql": "id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
}


def schema_sql(dialect: Literal["sqlite", "postgresql"] = "sqlite") -> list[str]:
    """The DDL of the journal, statement by statement (portable types only).

    ``at`` is ISO-8601 UTC text with milliseconds (``2026-11-23T07:39:02.123Z``),
    which sorts as time does; ``data`` is JSON text.
    """
    return [
        f"""CREATE TABLE IF NOT EXISTS events (
    {ID_COLUMN[dialect]},
    run_id VARCHAR(64) NOT NULL,
    seq INTEGER NOT NULL,
    at VARCHAR(32) NOT NULL,
    type VARCHAR(64) NOT NULL,
    step INTEGER NULL,
    data TEXT NOT NULL
)""",
        # The index on run_id: unique with seq, so a run's order is enforced
        # and reading one run is one index range.
        "CREATE UNIQUE INDEX IF NOT EXISTS events_run_seq ON events (run_id, seq)",
        "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
    ]


# SQLite only: refuse UPDATE and DELETE, so append-only is not just a promise.
# (PostgreSQL: REVOKE UPDATE, DELETE on the table from the writing role.)
_SQLITE_GUARDS = [
    f"""CREATE TRIGGER IF NOT EXISTS events_no_{verb.lower()} BEFORE {verb} ON events
BEGIN SELECT RAISE(ABORT, 'the opsdoc journal is append-only'); END"""
    for verb in ("UPDATE", "DELETE")
]


@dataclass
class Event:
    run_id: str
    seq: int
    at: str
    type: str
    step: int | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    id: str
    started_at: str
    finished_at: str | None
    runbook: str
    section: str
    user: str
    target: str | None
    status: str  # ok / failed / refused / interrupted / running


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


class Journal:
    """An append-only event log of runs in one SQLite file."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path).expanduser() if path else self.default_path()
        self._lock = threading.RLock()
        self._conn = self._open()

    @staticmethod
    def default_path() -> Path:
        """``$OPSDOC_JOURNAL`` if set, else ``<user data dir>/opsdoc/journal.sqlite3``."""
        env = os.environ.get(ENV_VAR, "").strip()
        if env:
            return Path(env).expanduser()
        return Path(platformdirs.user_data_dir("opsdoc")) / FILE_NAME

    # -- opening -------------------------------------------------------------

    def _error(
        self, what: str, exc: BaseException | None = None, hint: str | None = None
    ) -> OpsdocError:
        detail = ""
        if isinstance(exc, OSError):
            detail = f": {exc.strerror or exc}"
        elif exc is not None:
            detail = f": {exc}"
        return OpsdocError(
            f"{what}{detail}",
            path=str(self.path),
            hint=hint or f"give a writable file with --journal PATH or {ENV_VAR}",
            exit_code=EXIT_BAD_INPUT,
        )

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            blocker = next((p for p in self.path.parents if p.exists()), None)
            if blocker is not None and not blocker.is_dir():
                raise self._error(f"{blocker} is a file, not a directory") from None
            raise self._error("cannot create the journal's directory", exc) from None
        if self.path.is_dir():
            raise self._error("the journal path is a directory")
        if not self.path.exists():
            try:  # owner-only: the journal says who ran what where (WAL files inherit this)
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise self._error("cannot create the journal", exc) from None
        elif not os.access(self.path, os.W_OK):
            raise self._error("the journal is not writable")
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,  # transactions are explicit
                check_same_thread=False,  # output arrives from reader threads; _lock serializes
            )
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate(conn)
        except (sqlite3.Error, OpsdocError) as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, OpsdocError):
                raise
            raise self._error("cannot open the journal", exc) from None
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise self._error(
                f"the journal has schema {version}; this opsdoc reads {SCHEMA_VERSION}"
            )
        conn.execute("BEGIN IMMEDIATE")  # two processes creating it at once: one wins
        try:
            for statement in [*schema_sql("sqlite"), *_SQLITE_GUARDS]:
                conn.execute(statement)
            if conn.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 0:
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------

    def _append(
        self, run_id: str, type: str, step: int | None, data: str, *, new_run: bool = False
    ) -> bool:
        """Append one event, its seq the run's next; False if ``new_run`` and the id is taken."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    if (
                        new_run
                        and self._conn.execute(
                            "SELECT 1 FROM events WHERE run_id = ? LIMIT 1", (run_id,)
                        ).fetchone()
                    ):
                        self._conn.execute("ROLLBACK")
                        return False
                    self._conn.execute(
                        "INSERT INTO events (run_id, seq, at, type, step, data) "
                        "SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? "
                        "FROM events WHERE run_id = ?",
                        (run_id, _now(), type, step, data, run_id),
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                hint = None
                if "locked" in str(exc) or "busy" in str(exc):
                    hint = f"another process held it for {BUSY_TIMEOUT_MS // 1000} s; try again"
                raise self._error("cannot write to the journal", exc, hint) from None
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
        for key, value in (identity or {}).items():
            if key != "user":  # the caller's ``user`` stays the one recorded
                data[key] = value
        encoded, _ = _encode(data, masker)
        for _attempt in range(20):
            run_id = _new_run_id()
            if self._append(run_id, "run_started", None, encoded, new_run=True):
                return RunLog(self, run_id, masker)
        raise self._error("could not find a free run id")  # pragma: no cover

    # -- reading -------------------------------------------------------------

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._conn.execute(sql, args).fetchall()
            except sqlite3.Error as exc:
                raise self._error("cannot read the journal", exc) from None

    def resolve(self, run_id: str) -> str:
        """The full id of the run that ``run_id`` is, or is the unique prefix of."""
        ref = run_id.strip().lower()
        hint = "`opsdoc journal list` shows recent runs"
        if not ref:
            raise OpsdocError("no run id given", hint=hint)
        found = [
            row[0]
            for row in self._query(
                "SELECT DISTINCT run_id FROM events WHERE run_id >= ? AND run_id < ? "
                "ORDER BY run_id LIMIT 6",
                (ref, ref + "\uffff"),
            )
        ]
        if ref in found:
            return ref
        if len(found) == 1:
            return found[0]
        if not found:
            raise OpsdocError(f"no run {run_id!r} in the journal {self.path}", hint=hint)
        shown = ", ".join(found[:5]) + (", …" if len(found) > 5 else "")
        raise OpsdocError(f"run id {run_id!r} is ambiguous: {shown}", hint="give more of the id")

    def events(self, run_id: str) -> list[Event]:
        """Every event of a run, in order (``run_id`` may be a unique prefix)."""
        full = self.resolve(run_id)
        rows = self._query(
            "SELECT run_id, seq, at, type, step, data FROM events WHERE run_id = ? ORDER BY seq",
            (full,),
        )
        return [Event(r[0], r[1], r[2], r[3], r[4], _decode(r[5])) for r in rows]

    def runs(self, limit: int = 50) -> list[RunSummary]:
        """The latest runs, newest first."""
        starts = self._query(
            "SELECT run_id, at, data FROM events WHERE type = 'run_started' "
            "ORDER BY id DESC LIMIT ?",
            (max(0, limit),),
        )
        out = []
        for run_id, at, data in starts:
            last = self._query(
                "SELECT type, at, data FROM events WHERE run_id = ? ORDER BY seq DESC LIMIT 1",
                (run_id,),
            )[0]
            out.append(_summary(run_id, at, _decode(data), last[0], last[1], _decode(last[2])))
        return out

    def summary(self, run_id: str) -> RunSummary:
        return _summarize(self.events(run_id))

    def export(self, run_id: str, fmt: Literal["md", "json"]) -> str:
        """The run as a Markdown postmortem timeline or as JSON ``{"run", "events"}``."""
        events = _remask(self.events(run_id))
        if fmt == "json":
            return json.dumps(export_data(events), indent=2, ensure_ascii=False) + "\n"
        if fmt == "md":
            return export_markdown(events)
        raise OpsdocError(f"unknown export format {fmt!r}", hint="use md or json")


class RunLog:
    """The events of one run; each is masked and committed as soon as it is written."""

    def __init__(self, journal: Journal, run_id: str, masker: Masker) -> None:
        self.journal = journal
        self.id = run_id
        self.masker = masker

    def event(self, type: str, *, step: int | None = None, **data: Any) -> None:
        """Append an event of ``type`` (see the module docstring for the types)."""
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", type):
            raise ValueError(f"bad event type {type!r}")
        encoded, truncated = _encode(data, self.masker)
        if truncated and "truncated" not in data:
            encoded, _ = _encode({**data, "truncated": True}, self.masker)
        self.journal._append(self.id, type, step, encoded)

    def __repr__(self) -> str:
        return f"RunLog({self.id!r}, {self.journal.path})"


# -- encoding ------------------------------------------------------------------


def _plain(obj: Any) -> Any:
    """JSON-ready data; unknown types become text (so they get masked too)."""
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    if isinstance(obj, str):
        # Cut huge text before masking, but keep enough that masking sees every
        # secret that could end up in the part that is kept.
        return obj if len(obj) <= 2 * MAX_EVENT_TEXT else obj[: 2 * MAX_EVENT_TEXT]
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_plain(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _plain(dataclasses.asdict(obj))
    if isinstance(obj, bytes | bytearray | memoryview):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, datetime):
        return obj.isoformat()
    return str(obj)


def _cap(obj: Any, cut: list[bool]) -> Any:
    if isinstance(obj, str):
        if len(obj) > MAX_EVENT_TEXT:
            cut.append(True)
            return obj[:MAX_EVENT_TEXT] + "\n… [cut: the journal keeps 64 KB per event]"
        return obj
    if isinstance(obj, dict):
        return {k: _cap(v, cut) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_cap(v, cut) for v in obj]
    return obj


def _encode(data: dict[str, Any], masker: Masker) -> tuple[str, bool]:
    """Masked, capped JSON text of an event's data, and whether anything was cut."""
    cut: list[bool] = []
    safe = _cap(masker.mask_data(_plain(data)), cut)
    return json.dumps(safe, ensure_ascii=False, allow_nan=False, default=str), bool(cut)


def _decode(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {"unreadable": text[:200]}
    return data if isinstance(data, dict) else {"value": data}


_SHAPES = Masker()


def _remask(events: list[Event]) -> list[Event]:
    """Mask secret shapes again on the way out: a journal written by other code is no exception."""
    return [dataclasses.replace(e, data=_SHAPES.mask_data(e.data)) for e in events]


# -- summaries -------------------------------------------------------------------


def _status(last_type: str, last_data: dict[str, Any]) -> str:
    if last_type == "run_finished":
        return str(last_data.get("status") or "ok")
    if last_type == "run_interrupted":
        return "interrupted"
    if last_type == "step_refused":
        return "refused"
    return "running"


def _summary(
    run_id: str, at: str, start: dict[str, Any], last_type: str, last_at: str, last: dict[str, Any]
) -> RunSummary:
    status = _status(last_type, last)
    return RunSummary(
        id=run_id,
        started_at=at,
        finished_at=None if status == "running" else last_at,
        runbook=str(start.get("runbook") or ""),
        section=str(start.get("section") or ""),
        user=str(start.get("user") or ""),
        target=start.get("target"),
        status=status,
    )


def _summarize(events: list[Event]) -> RunSummary:
    first, last = events[0], events[-1]
    start = first.data if first.type == "run_started" else {}
    return _summary(first.run_id, first.at, start, last.type, last.at, last.data)


# -- the timeline ------------------------------------------------------------------


@dataclass
class Entry:
    """One line of a run's timeline, in plain words, for Markdown and the terminal."""

    at: str
    type: str
    step: int | None
    text: str
    ok: bool | None = None  # expectation held / failed; step finished ok / not
    block: str | None = None  # output or a statement's text
    block_lang: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


def _seconds(value: Any) -> str:
    try:
        secs = float(value)
    except (TypeError, ValueError):
        return ""
    if secs < 10:
        return f"{secs:.2f} s"
    if secs < 120:
        return f"{secs:.1f} s"
    return f"{int(secs // 60)} min {int(secs % 60)} s"


def _rows_text(n: Any) -> str:
    return f"{n} row" + ("" if n == 1 else "s")


def timeline(events: list[Event]) -> Iterator[Entry]:
    """The run's events as entries in plain words; consecutive output is merged."""
    steps: dict[int, dict[str, Any]] = {}

    def label(step: int | None, full: bool = True) -> str:
        if step is None:
            return ""
        plan = steps.get(step, {})
        parts = [str(plan[k]) for k in ("phase", "lang", "safety") if plan.get(k)]
        if plan.get("option"):
            parts.append(f"option {plan['option']}")
        return f"step {step}" + (f" ({', '.join(parts)})" if full and parts else "")

    pending: Entry | None = None
    for event in events:
        d, step = event.data, event.step
        if event.type == "output":
            text = str(d.get("text") or "")
            if pending and pending.step == step:
                pending.block = (pending.block or "") + text
                continue
            if pending:
                yield pending
            stream = f" ({d['stream']})" if d.get("stream") not in (None, "", "stdout") else ""
            pending = Entry(
                event.at, event.type, step, f"{label(step, False)} output{stream}".strip()
            )
            pending.block = text
            continue
        if pending:
            yield pending
            pending = None
        yield _entry(event, label, steps)
    if pending:
        yield pending


def _short(text: str, width: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 1] + "…"


def _what(d: dict[str, Any]) -> str:
    """What a confirmation was for: a commit of N rows, one statement, the whole step."""
    kind = str(d.get("kind") or "")
    out = {"commit": " commit", "autocommit": " autocommit run"}.get(kind, "")
    if kind == "commit" and isinstance(d.get("rowcount"), int):
        out += f" of {_rows_text(d['rowcount'])}"
    statement = d.get("statement")
    if isinstance(statement, int):
        out = f" statement {statement}" + out
    elif isinstance(statement, str) and statement.strip():
        out += f" ({_short(statement)})"
    return out


def _entry(event: Event, label: Callable[..., str], steps: dict[int, dict[str, Any]]) -> Entry:
    d, step, kind = event.data, event.step, event.type
    entry = Entry(event.at, kind, step, "")
    who = label(step)
    if kind == "run_started":
        target = d.get("target") or "no target"
        entry.text = (
            f"run started by {d.get('user') or '?'} on {d.get('host') or '?'}, target {target}"
        )
        if d.get("resumed_from"):
            entry.text += f", resuming run {d['resumed_from']}"
    elif kind == "step_planned":
        if step is not None:
            steps[step] = d
        who = label(step)
        entry.text = f"{who} planned" + (f": {d['title']}" if d.get("title") else "")
        if d.get("code"):
            entry.block, entry.block_lang = str(d["code"]), str(d.get("lang") or "")
    elif kind == "step_confirmed":
        entry.text = f"{who}{_what(d)} confirmed by {d.get('by') or '?'} via {d.get('via') or '?'}"
    elif kind == "step_started":
        entry.text = f"{who} started"
    elif kind == "statement":
        status = str(d.get("status") or "")
        parts = [f"{label(step, False)} statement {d.get('index', '?')}".strip()]
        if d.get("label"):
            parts.append(f"“{d['label']}”")
        result = []
        if isinstance(d.get("rowcount"), int) and d["rowcount"] >= 0:
            result.append(_rows_text(d["rowcount"]))
        if status:
            result.append(status.replace("_", " "))
        if d.get("duration") is not None:
            result.append(_seconds(d["duration"]))
        entry.text = " ".join(parts) + (": " + ", ".join(r for r in result if r) if result else "")
        if d.get("error"):
            code = f" [{d['sqlstate']}]" if d.get("sqlstate") else ""
            entry.text += f" — {d['error']}{code}"
        entry.ok = status not in ("failed", "refused") if status else None
        entry.block, entry.block_lang = str(d.get("text") or "") or None, "sql"
        entry.columns = [str(c) for c in d.get("columns") or []]
        entry.rows = [list(r) if isinstance(r, list) else [r] for r in d.get("rows") or []]
    elif kind == "expectation":
        held = bool(d.get("held"))
        entry.ok = held
        mark = "✓ held" if held else "✗ did not hold"
        entry.text = f"{label(step, False)} expectation {mark}: {d.get('expected', '')}".strip()
        if d.get("actual"):
            entry.text += f" (got {d['actual']})"
    elif kind == "step_refused":
        flag = f" (needs {d['flag']})" if d.get("flag") else ""
        why = f": {d['why']}" if d.get("why") else ""
        entry.text = f"{who}{_what(d)} refused{why}{flag}"
        entry.ok = False
    elif kind == "step_skipped":
        entry.text = f"{who} skipped" + (f": {d['why']}" if d.get("why") else "")
    elif kind == "step_finished":
        status = str(d.get("status") or "?")
        result = [status]
        if d.get("exit_code") is not None:
            result.append(f"exit {d['exit_code']}")
        if d.get("rowcount") is not None:
            result.append(_rows_text(d["rowcount"]))
        if d.get("duration") is not None:
            result.append(_seconds(d["duration"]))
        entry.text = f"{who} finished: " + ", ".join(result)
        if d.get("error"):
            entry.text += f" — {d['error']}"
        entry.ok = status in ("ok", "skipped")
    elif kind == "run_interrupted":
        during = f" during {label(step, False)}" if step is not None else ""
        entry.text = f"run interrupted{during}" + (f": {d['why']}" if d.get("why") else "")
        entry.ok = False
    elif kind == "run_finished":
        code = f" (exit {d['exit_code']})" if d.get("exit_code") is not None else ""
        entry.text = f"run finished: {d.get('status') or '?'}{code}"
        entry.ok = d.get("status") == "ok"
    else:
        extra = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in d.items())
        entry.text = f"{who} {kind}".strip() + (f": {extra}" if extra else "")
    return entry


# -- export ---------------------------------------------------------------------

EXPORT_BLOCK_LINES = 100  # lines of output per fenced block in the Markdown export
EXPORT_BLOCK_CHARS = 8_000


def export_data(events: list[Event]) -> dict[str, Any]:
    """``{"run": {...summary and run_started data...}, "events": [...]}``."""
    if not events:
        return {"run": {}, "events": []}
    summary = dataclasses.asdict(_summarize(events))
    start = events[0].data if events[0].type == "run_started" else {}
    last = events[-1]
    run = {**start, **summary}
    if last.type == "run_finished":
        run["exit_code"] = last.data.get("exit_code")
    return {"run": run, "events": [dataclasses.asdict(e) for e in events]}


def _fence(text: str, lang: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip(chr(10))}\n{ticks}"


def _code(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def clip(text: str, lines: int = EXPORT_BLOCK_LINES, chars: int = EXPORT_BLOCK_CHARS) -> str:
    """At most ``lines`` lines and ``chars`` characters, saying how much was left out."""
    all_lines = text.rstrip("\n").split("\n")
    kept = "\n".join(all_lines[:lines])
    if len(kept) > chars:
        kept = kept[:chars]
    shown = kept.count("\n") + 1
    if shown < len(all_lines) or len(kept) < len("\n".join(all_lines[:lines])):
        more = len(all_lines) - shown
        kept += f"\n… {more} more lines" if more > 0 else "\n… (cut)"
    return kept


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _hms(at: str) -> str:
    return at[11:19] if len(at) >= 19 else at


def _when(at: str | None) -> str:
    if not at:
        return "—"
    return at[:10] + " " + at[11:19] + " UTC" if len(at) >= 19 else at


def export_markdown(events: list[Event]) -> str:
    """A postmortem timeline: the run's header, then one line per event."""
    if not events:
        return ""
    run = export_data(events)["run"]
    lines = [f"# Run {run['id']}", ""]
    where = f"{_code(run['runbook'])}" + (
        f" {_code('#' + run['section'])}" if run["section"] else ""
    )
    facts = [
        ("Runbook", where),
        ("Who", f"{run.get('user') or '?'} on {run.get('host') or '?'}"),
        ("Target", run.get("target") or "none"),
        (
            "Commit",
            _code(run["git_commit"]) if run.get("git_commit") else "not in a git repository",
        ),
        ("Content hash", _code(str(run.get("content_hash") or "?"))),
        ("Started", _when(run["started_at"])),
        ("Ended", _when(run["finished_at"])),
        (
            "Status",
            run["status"]
            + (f" (exit {run['exit_code']})" if run.get("exit_code") is not None else ""),
        ),
    ]
    if run.get("resumed_from"):
        facts.append(("Resumed from", _code(str(run["resumed_from"]))))
    if run.get("params"):
        shown = ", ".join(f"{k}={v}" for k, v in run["params"].items())
        facts.append(("Params", _code(shown)))
    if run.get("argv"):
        facts.append(("Command", _code(" ".join(str(a) for a in run["argv"]))))
    lines += [f"- **{name}:** {value}" for name, value in facts]
    lines += ["", "## Timeline (UTC)", ""]
    day = run["started_at"][:10]
    for entry in timeline(events):
        if entry.at[:10] != day:
            day = entry.at[:10]
            lines += ["", f"**{day}**", ""]
        lines.append(f"- {_hms(entry.at)} {entry.text}")
        chunks = []
        if entry.block:
            planned = entry.type == "step_planned"
            shown = clip(entry.block, 40, 4000) if planned else clip(entry.block)
            chunks.append(_fence(shown, entry.block_lang))
        if entry.columns:
            chunks.append(_table(entry.columns, entry.rows))
        for chunk in chunks:
            lines += ["", _indent(chunk)]
        if chunks:
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _indent(text: str) -> str:
    return "\n".join(("  " + line) if line else "" for line in text.split("\n"))


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(_cell(c) for c in columns) + " |"]
    out.append("|" + "---|" * len(columns))
    for row in rows:
        cells = [_cell(v) for v in row] + [""] * (len(columns) - len(row))
        out.append("| " + " | ".join(cells[: len(columns)]) + " |")
    if not rows:
        out.append("| " + " | ".join(["(no rows)"] + [""] * (len(columns) - 1)) + " |")
    return "\n".join(out)
