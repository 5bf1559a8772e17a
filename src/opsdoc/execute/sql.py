"""The SQL executor: run one step's statements against PostgreSQL, safely.

One connection per step, statements in order, each in its own transaction:

* read statements run in a READ ONLY transaction, so PostgreSQL itself
  enforces the class; one that writes anyway fails with SQLSTATE 25006, is
  treated as write from then on, and runs again only after a confirmation;
* write and destructive statements run in a transaction; an UPDATE, DELETE,
  INSERT or MERGE without RETURNING gets ``RETURNING <table>.*`` added so the rows
  it changes can be shown; the caller sees the row count and a preview and
  decides COMMIT or ROLLBACK;
* statements that cannot run in a transaction (CREATE INDEX CONCURRENTLY,
  VACUUM, ...) run in autocommit after a confirmation;
* an explicit ``BEGIN ... COMMIT`` in a step groups its statements into one
  transaction with one decision at the end (``... ROLLBACK`` rolls back
  without asking: the runbook wanted a dry run);
* psql meta-commands (``\\du``) go to ``psql``.

Placeholders (``<lot-id>``) are bound as query parameters, never spliced
into SQL text: see :func:`bind_placeholders`. The DSN's password never
appears in output, errors or results.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus

from opsdoc.classify.sql import classify_sql, sql_tokens
from opsdoc.execute import (
    COMMIT_WAIT,
    MAX_OUTPUT_CHARS,
    MAX_PREVIEW_ROWS,
    Confirmation,
    Hooks,
    StatementResult,
    StepInterrupted,
    StepOutcome,
)
from opsdoc.execute.cancel import NEVER, Cancelled
from opsdoc.execute.sql_bind import (
    COMMENTS,
    DML,
    TAGS,
    PlaceholderError,
    bind_meta,
    bind_placeholders,
    parse_nodes,
)
from opsdoc.execute.sql_guard import (
    lexing_refusal,
    own_begin,
    pin_session,
    still_read_only,
    undone_by_rollback_note,
    user_defined_calls,
)
from opsdoc.model import Safety, Statement, Step, max_safety
from opsdoc.parse.params import PLACEHOLDER

__all__ = [
    "COMMIT_WAIT",
    "CONNECT_TIMEOUT",
    "PlaceholderError",
    "bind_placeholders",
    "find_psql",
    "format_table",
    "run_sql",
]

CONNECT_TIMEOUT = 10  # seconds
MAX_CELL_CHARS = 80  # a table cell wider than this is cut with "…"

_READ_ONLY_REFUSED = "PostgreSQL refused it in a read-only transaction (SQLSTATE 25006)"


# --------------------------------------------------------------------------
# Tables and values
# --------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A JSON-ready form of a value PostgreSQL returned."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return str(value)


def _masked_cell(value: Any, mask: Any) -> Any:
    """A cell as text with its secrets masked, before any cut can halve one."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict | list):
        return mask(json.dumps(_plain(value), ensure_ascii=False))
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        text = json.dumps(_plain(value), ensure_ascii=False)
    else:
        text = str(_plain(value))
    text = text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\t", " ")
    return text if len(text) <= MAX_CELL_CHARS else text[: MAX_CELL_CHARS - 1] + "…"


def format_table(columns: list[str], rows: list[tuple[Any, ...]]) -> str:
    """An aligned plain-text table: a header, a rule, one line per row; numbers to the right.

    NULL shows as ``NULL``; newlines in a value as ``\\n``; a cell wider
    than 80 characters is cut with ``…``. No trailing newline.
    """
    width = max([len(columns), *(len(row) for row in rows)]) if (columns or rows) else 0
    if width == 0:
        return ""
    names = [str(name) for name in columns] + [""] * (width - len(columns))
    cells = [[_cell(v) for v in row] + [""] * (width - len(row)) for row in rows]
    numeric = [
        bool(rows)
        and all(
            len(row) <= i
            or row[i] is None
            or (isinstance(row[i], int | float | Decimal) and not isinstance(row[i], bool))
            for row in rows
        )
        for i in range(width)
    ]
    sizes = [max([len(names[i]), *(len(line[i]) for line in cells)]) for i in range(width)]
    head = [
        names[i].rjust(sizes[i]) if numeric[i] else names[i].ljust(sizes[i]) for i in range(width)
    ]
    lines = [" | ".join(head).rstrip()]
    lines.append("-+-".join("-" * size for size in sizes))
    for line in cells:
        parts = [
            line[i].rjust(sizes[i]) if numeric[i] else line[i].ljust(sizes[i]) for i in range(width)
        ]
        lines.append(" | ".join(parts).rstrip())
    return "\n".join(lines)


def _rows_note(count: int, shown: int) -> str:
    noun = "row" if count == 1 else "rows"
    return f"({count} {noun})" if shown >= count else f"({count} {noun}, first {shown} shown)"


# --------------------------------------------------------------------------
# Secrets and connection facts
# --------------------------------------------------------------------------

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_KV_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class _Scrub:
    """Removes the DSN's password from anything opsdoc says."""

    def __init__(self, *dsns: str | None) -> None:
        secrets: set[str] = set()
        for dsn in filter(None, dsns):
            with contextlib.suppress(Exception):
                password = conninfo_to_dict(dsn).get("password")
                if password:
                    secrets.add(str(password))
            match = re.search(r"://[^:/@\s]*:([^@\s]*)@", dsn)
            if match and match.group(1):
                secrets.add(match.group(1))
        self.secrets = sorted((s for s in secrets if len(s) >= 3), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        text = _URL_PASSWORD.sub(r"\1***@", text)
        return _KV_PASSWORD.sub(r"\1***", text)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value


def _where(dsn: str) -> str:
    """``host:port`` (and database, user) of a DSN, for messages; never the password."""
    try:
        info = conninfo_to_dict(dsn)
    except Exception:
        return "the target database"
    host = str(info.get("host") or info.get("hostaddr") or os.environ.get("PGHOST") or "localhost")
    port = str(info.get("port") or os.environ.get("PGPORT") or "5432")
    extra = [f"database {info['dbname']}"] if info.get("dbname") else []
    extra += [f"user {info['user']}"] if info.get("user") else []
    return f"{host}:{port}" + (f" ({', '.join(extra)})" if extra else "")


def _one_line(text: str) -> str:
    parts = [line.strip() for line in str(text).splitlines() if line.strip()]
    return " ".join(parts)


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


# --------------------------------------------------------------------------
# Planning: statements, bound, grouped into transactions
# --------------------------------------------------------------------------

ItemStatus = Literal["ok", "committed", "rolled_back", "failed", "refused", "skipped"]


@dataclass
class _Item:
    """One statement of the step on its way through the executor."""

    index: int
    statement: Statement
    result: StatementResult
    sql: str = ""
    params: list[str] = field(default_factory=list)
    node: str = ""  # top-level parse node of the bound text ("" when it did not parse)
    body: dict[str, Any] = field(default_factory=dict)
    safety: Safety = "read"  # as treated now (25006 makes a read a write)
    ran: bool = False
    why: str = ""  # a reason found on the target (a function defined there), over the static one

    @property
    def meta(self) -> bool:
        return self.statement.kind == "psql-meta"

    @property
    def txn(self) -> str:
        """BEGIN, COMMIT or ROLLBACK for transaction control (START and END, ABORT too)."""
        if self.node != "TransactionStmt":
            return ""
        kind = str(self.body.get("kind", ""))
        return {
            "TRANS_STMT_BEGIN": "BEGIN",
            "TRANS_STMT_START": "BEGIN",
            "TRANS_STMT_COMMIT": "COMMIT",
            "TRANS_STMT_ROLLBACK": "ROLLBACK",
        }.get(kind, "")

    @property
    def returns_rows(self) -> bool:
        if self.node == "SelectStmt":
            return not self.body.get("intoClause")
        if self.node in DML:
            return self.has_returning
        return self.node in ("ExplainStmt", "VariableShowStmt", "FetchStmt")

    @property
    def has_returning(self) -> bool:
        return bool(self.body.get("returningList") or self.body.get("returningClause"))

    @property
    def copy_out(self) -> bool:
        body = self.body
        return self.node == "CopyStmt" and not (
            body.get("is_from") or body.get("filename") or body.get("is_program")
        )

    @property
    def acts_outside(self) -> bool:
        """A call that may act beyond the transaction: asked for before it runs.

        A destructive function call (pg_terminate_backend, setval), anywhere in
        the statement, or a function the target defines, which opsdoc cannot see into.
        """
        if self.why:
            return True
        reason = self.statement.reason
        if self.safety == "destructive" and "calls " in reason:
            return True
        return self.safety != "read" and "unknown function" in reason

    @property
    def reason(self) -> str:
        """Why it is treated as it is (a read PostgreSQL refused says so)."""
        if self.why:
            return self.why
        if self.safety != self.statement.safety:
            return _READ_ONLY_REFUSED
        return self.statement.reason

    def where(self) -> str:
        st = self.statement
        label = f" '{st.label}'" if st.label else ""
        return f"statement {self.index}{label}, line {st.line}"


@dataclass
class _Unit:
    """Statements that run together: one transaction, one autocommit statement, or psql."""

    kind: Literal["tx", "auto", "meta", "stray"]
    items: list[_Item]
    begin: _Item | None = None  # an explicit BEGIN of the runbook
    end: _Item | None = None  # its COMMIT or ROLLBACK

    @property
    def all_items(self) -> list[_Item]:
        return [i for i in (self.begin, *self.items, self.end) if i is not None]


def _plan(items: list[_Item]) -> list[_Unit]:
    units: list[_Unit] = []
    pos = 0
    while pos < len(items):
        item = items[pos]
        pos += 1
        if item.meta:
            units.append(_Unit("meta", [item]))
        elif item.txn == "BEGIN":
            unit = _Unit("tx", [], begin=item)
            while pos < len(items) and items[pos].txn not in ("COMMIT", "ROLLBACK"):
                unit.items.append(items[pos])
                pos += 1
            if pos < len(items):
                unit.end = items[pos]
                pos += 1
            units.append(unit)
        elif item.txn:
            units.append(_Unit("stray", [item]))
        elif not item.statement.transactional:
            units.append(_Unit("auto", [item]))
        else:
            units.append(_Unit("tx", [item]))
    return units


# --------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------


class _Stop(Exception):
    """Ends the step early: a failure, a refusal or a timeout, already recorded."""


class _Retry(Exception):
    """A READ ONLY transaction was refused (25006) and the caller agreed to run it as write."""


@dataclass
class _Grid:
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    count: int | None = None
    status: str = ""


class _Runner:
    def __init__(
        self,
        step: Step,
        dsn: str,
        values: dict[str, str],
        hooks: Hooks,
        timeout: float | None,
        max_rows: int,
        read_dsn: str | None = None,
        idle_limit: float | None = None,
    ) -> None:
        self.step, self.dsn, self.values, self.hooks = step, dsn, values, hooks
        self.timeout, self.max_rows = timeout, max(0, max_rows)
        self.read_dsn, self.idle_limit = read_dsn, idle_limit
        self.scrub = _Scrub(dsn, read_dsn)
        # One session per DSN: "main", and "read" (read_dsn) for READ ONLY units.
        self.conns: dict[str, psycopg.Connection[Any]] = {}
        self.side = "main"
        self.output: list[str] = []
        self.size = 0
        self.status: str = "ok"
        self.error: str | None = None
        self.started = time.monotonic()
        statements = step.statements or classify_sql(
            step.code, line=step.line, placeholders=[p.name for p in step.params]
        )
        self.items = [
            _Item(
                i,
                st,
                StatementResult(i, st.text, st.safety, "skipped", label=st.label),
                safety=st.safety,
            )
            for i, st in enumerate(statements, 1)
        ]
        self.unit: _Unit | None = None
        self.token = getattr(hooks, "cancel", NEVER)

    # ---- output and results ------------------------------------------------

    def say(self, text: str) -> None:
        text = self.scrub(text)
        if not text.endswith("\n"):
            text += "\n"
        self.hooks.output(text, "stdout")
        if self.size < MAX_OUTPUT_CHARS:
            self.output.append(text)
            self.size += len(text)

    def outcome(self) -> StepOutcome:
        text = "".join(self.output)
        if len(text) > MAX_OUTPUT_CHARS:
            text = text[:MAX_OUTPUT_CHARS] + "\n… (output cut; the terminal showed all of it)\n"
        exit_code = {"ok": 0, "failed": 1, "timeout": 1}.get(self.status)
        for item in self.items:
            item.result.safety = item.safety
            item.result.text = self.scrub(item.result.text)
            if item.result.error:
                item.result.error = self.scrub(item.result.error)
        return StepOutcome(
            status=self.status,  # type: ignore[arg-type]
            exit_code=exit_code,
            output=text,
            statements=[item.result for item in self.items],
            duration=time.monotonic() - self.started,
            error=self.scrub(self.error) if self.error else None,
        )

    def stop(self, status: str, error: str | None) -> _Stop:
        self.status, self.error = status, error
        return _Stop()

    def record(self, item: _Item, grid: _Grid, duration: float) -> None:
        result = item.result
        result.rowcount = grid.count
        result.columns = list(grid.columns)
        result.rows = [tuple(self.scrub.value(_plain(v)) for v in row) for row in grid.rows]
        result.duration = duration
        result.status = "ok"

    # ---- the step ------------------------------------------------------------

    def prepare(self) -> None:
        """Bind every statement before anything runs, so a bad placeholder runs nothing."""
        required = {p.name for p in self.step.params if p.source == "angle"} - set(self.values)
        for item in self.items:
            text = item.statement.text
            try:
                if item.meta:
                    item.sql = bind_meta(text, self.values)
                else:
                    item.sql, item.params = bind_placeholders(text, self.values)
            except PlaceholderError as exc:
                item.result.status, item.result.error = "failed", str(exc)
                raise self.stop("failed", f"{exc} ({item.where()}); nothing was run") from None
            left = [
                m.group(1)
                for kind, s, e in sql_tokens(item.sql)
                if kind not in COMMENTS
                for m in PLACEHOLDER.finditer(item.sql, s, e)
                if m.group(1) in required
            ]
            if left:
                message = f"no value for placeholder <{left[0]}> ({item.where()}); nothing was run"
                item.result.status, item.result.error = "failed", message
                raise self.stop("failed", message)
            if not item.meta:
                nodes = parse_nodes(item.sql)
                if nodes is not None and len(nodes) == 1:
                    item.node, item.body = nodes[0]
            never = lexing_refusal(item.statement.reason, item.node, item.body)
            if never is not None:
                item.result.status, item.result.error = "refused", never
                raise self.stop("refused", f"{never} ({item.where()}); nothing was run")

    def run(self) -> None:
        self.prepare()
        for unit in _plan(self.items):
            self.unit = unit
            if unit.kind == "meta":
                self.run_meta(unit.items[0])
            elif unit.kind == "stray":
                item = unit.items[0]
                item.result.status = "skipped"
                item.result.error = (
                    f"{item.txn} with no BEGIN before it: opsdoc runs each statement in its own "
                    "transaction, so there is nothing to end"
                )
                self.say(f"-- {item.statement.text}: skipped (no transaction open)")
            elif unit.kind == "auto":
                self.run_auto(unit.items[0])
            else:
                self.run_tx(unit)
            self.unit = None

    # ---- connection ------------------------------------------------------------

    @property
    def conn(self) -> psycopg.Connection[Any] | None:
        """The session the current unit runs on."""
        return self.conns.get(self.side)

    @property
    def side_dsn(self) -> str:
        return self.read_dsn if self.side == "read" and self.read_dsn else self.dsn

    def use(self, read_only: bool) -> None:
        """READ ONLY units go to ``read_dsn`` when the target has one."""
        self.side = "read" if read_only and self.read_dsn else "main"

    def connect(self) -> psycopg.Connection[Any]:
        conn = self.conn
        if conn is not None and not conn.closed:
            return conn
        dsn = self.side_dsn
        kwargs: dict[str, Any] = {"autocommit": True}
        try:
            if "connect_timeout" not in conninfo_to_dict(dsn):
                kwargs["connect_timeout"] = CONNECT_TIMEOUT
        except psycopg.Error:
            raise self.stop(
                "failed",
                "the DSN is not a valid PostgreSQL connection string; check the target's "
                "DSN (postgresql://user@host:port/db or host=... dbname=...)",
            ) from None
        try:
            # Transactions are opened and closed by hand (BEGIN READ ONLY, BEGIN,
            # COMMIT, ROLLBACK), so the session is autocommit between them.
            conn = psycopg.connect(dsn, **kwargs)
        except psycopg.Error as exc:
            reason = _one_line(str(exc)).removeprefix("connection failed: ")
            raise self.stop(
                "failed",
                f"cannot connect to PostgreSQL at {_where(dsn)}: {reason}; check that the "
                "server is running and reachable there, and the target's host, port, database, "
                "user and password",
            ) from None
        self.conns[self.side] = conn
        pin_session(conn, self.idle_limit)
        return conn

    def set_timeout(self, conn: psycopg.Connection[Any], local: bool) -> None:
        if self.timeout is not None and self.timeout > 0:
            ms = max(1, int(self.timeout * 1000))
            conn.execute(f"SET {'LOCAL ' if local else ''}statement_timeout = {ms}")

    # ---- executing one statement -------------------------------------------------

    def fetch(self, cur: psycopg.RawCursor[Any], sql: str, params: list[str]) -> _Grid:
        grid = _Grid(count=0)
        for row in cur.stream(sql, params or None):
            if grid.count == 0 and cur.description:
                grid.columns = [col.name for col in cur.description]
            if len(grid.rows) < self.max_rows:
                grid.rows.append(tuple(row))
            grid.count = (grid.count or 0) + 1
        return grid

    def execute(self, item: _Item, preview: bool) -> _Grid:
        """Run one statement in the open transaction (or autocommit); show and return its rows."""
        self.token.check()
        conn = self.connect()
        cur = psycopg.RawCursor(conn)
        grid: _Grid | None = None
        if preview and item.node in DML and not item.has_returning:
            grid = self.preview(conn, cur, item)
        if grid is None:
            if item.returns_rows:
                grid = self.fetch(cur, item.sql, item.params)
            elif item.copy_out and not item.params:
                grid = _Grid()
                with cur.copy(item.sql) as copy:
                    for data in copy:
                        self.say(bytes(data).decode("utf-8", errors="replace").rstrip("\n"))
                grid.status = cur.statusmessage or "COPY"
            elif (
                item.node == "CopyStmt"
                and item.body.get("is_from")
                and not item.body.get("filename")
            ):
                raise psycopg.errors.FeatureNotSupported(
                    "COPY ... FROM STDIN needs data that opsdoc does not have; use \\copy ... "
                    "from 'file' in psql or load the rows another way"
                )
            else:
                # prepare=True: the extended protocol, one statement per execution, so
                # a second statement hidden from opsdoc's parser is an error, not run.
                cur.execute(item.sql, item.params or None, prepare=True)
                grid = _Grid(status=cur.statusmessage or "")
                if cur.description:
                    grid.columns = [col.name for col in cur.description]
                    grid.rows = (
                        [tuple(r) for r in cur.fetchmany(self.max_rows)] if self.max_rows else []
                    )
                    grid.count = cur.rowcount if cur.rowcount >= 0 else len(grid.rows)
                elif cur.rowcount >= 0:
                    grid.count = cur.rowcount
        self.show(item, grid)
        return grid

    def preview(
        self, conn: psycopg.Connection[Any], cur: psycopg.RawCursor[Any], item: _Item
    ) -> _Grid | None:
        """Run a DML statement with RETURNING added, to show the rows it changes."""
        if item.node == "MergeStmt" and conn.info.server_version < 170000:
            return None  # MERGE ... RETURNING came with PostgreSQL 17
        sql = _with_returning(item.sql)
        if sql is None:
            return None
        conn.execute("SAVEPOINT opsdoc_preview")
        try:
            grid = self.fetch(cur, sql, item.params)
        except psycopg.errors.QueryCanceled:
            raise
        except psycopg.Error as exc:
            if not (exc.sqlstate or "").startswith(("42", "0A")):
                raise
            conn.execute("ROLLBACK TO SAVEPOINT opsdoc_preview")
            return None  # e.g. a rule-rewritten table: run it as written, count only
        conn.execute("RELEASE SAVEPOINT opsdoc_preview")
        grid.status = f"{TAGS[item.node]} {grid.count}"
        return grid

    def show(self, item: _Item, grid: _Grid) -> None:
        parts: list[str] = []
        if item.statement.label and len(self.items) > 1:
            parts.append(f"-- {item.statement.label}")
        if grid.columns or (item.returns_rows and grid.count is not None):
            # Mask each value before format_table cuts it to 80 characters: a cut
            # secret no longer matches and its first 79 characters would show.
            mask = getattr(self.hooks, "mask", None) or self.scrub
            rows = [tuple(_masked_cell(v, mask) for v in r) for r in grid.rows]
            table = format_table(grid.columns, rows)
            if table:
                parts.append(table)
            parts.append(_rows_note(grid.count or 0, len(grid.rows)))
            if grid.status and item.node in DML:
                parts.append(grid.status)
        elif grid.status:
            parts.append(grid.status)
        if parts:
            self.say("\n".join(parts))

    def failed(self, item: _Item, exc: psycopg.Error) -> _Stop:
        item.result.sqlstate = exc.sqlstate
        self.token.check()  # the query was cancelled because the run was: that is no failure
        if isinstance(exc, psycopg.errors.QueryCanceled) and "statement timeout" in str(exc):
            message = (
                f"timed out after {self.timeout:g}s ({item.where()}); PostgreSQL cancelled the "
                "statement and its transaction was rolled back"
            )
            item.result.status, item.result.error = "failed", message
            return self.stop("timeout", message)
        diag = exc.diag
        text = _one_line(diag.message_primary or str(exc))
        if diag.message_detail:
            text += f" DETAIL: {_one_line(diag.message_detail)}"
        if diag.message_hint:
            text += f" HINT: {_one_line(diag.message_hint)}"
        message = f"SQLSTATE {exc.sqlstate}: {text}" if exc.sqlstate else text
        message += f" ({item.where()})"
        item.result.status, item.result.error = "failed", message
        return self.stop("failed", message)

    # ---- units --------------------------------------------------------------------

    def rollback(self) -> None:
        conn = self.conn
        if conn is not None and not conn.closed:
            conn.rollback()

    def run_tx(self, unit: _Unit) -> None:
        read_only = all(item.safety == "read" for item in unit.items if not item.meta)
        self.use(read_only)
        if self.resolve_calls(unit):
            read_only = False
            self.use(read_only)
        while True:
            try:
                self.attempt(unit, read_only)
                return
            except _Retry:
                read_only = False
                self.use(read_only)
                self.say("-- running the transaction again as a write")

    def resolve_calls(self, unit: _Unit) -> bool:
        """Look the unit's functions and operators up on the target; True when one is its own.

        Such a statement is a write whatever its name suggests
        (``public.upper(int)`` may call anything), asked for before it runs.
        """
        conn = self.connect()
        found = False
        for item in unit.items:
            if item.meta or not item.node:
                continue
            defined = user_defined_calls(conn, {item.node: item.body})
            if not defined:
                continue
            found = True
            item.safety = max_safety(item.safety, "write")
            shown = ", ".join(defined[:3]) + (" and more" if len(defined) > 3 else "")
            item.why = (
                f"calls {shown}, defined on the target outside PostgreSQL and its extensions, "
                "so opsdoc cannot tell what it does"
            )
        return found

    def attempt(self, unit: _Unit, read_only: bool) -> None:
        conn = self.connect()
        for item in unit.all_items:
            item.result.status, item.ran = "skipped", False
        # opsdoc's own BEGIN: the runbook's text never opens the transaction.
        begin = unit.begin.body if unit.begin is not None else None
        conn.execute(own_begin(begin, read_only))
        if unit.begin is not None:
            unit.begin.ran, unit.begin.result.status = True, "ok"
        self.set_timeout(conn, local=True)
        for item in unit.items:
            if item.meta:
                self.run_meta(item)
                continue
            if item.acts_outside:
                reason = f"{item.reason}; no rollback undoes what it does outside the transaction"
                if not self.confirm_run(item, reason):
                    self.refuse(item)
            started = time.monotonic()
            item.ran = True
            try:
                grid = self.execute(item, preview=not read_only and item.safety != "read")
            except psycopg.Error as exc:
                self.rollback()
                if exc.sqlstate == "25006" and read_only:
                    self.reclassify(item)
                raise self.failed(item, exc) from None
            self.record(item, grid, time.monotonic() - started)
        self.finish(unit, read_only)

    def reclassify(self, item: _Item) -> None:
        """A read that wrote (PostgreSQL said 25006) is a write now, if the caller agrees."""
        item.safety = "write"
        self.say(f"-- {_READ_ONLY_REFUSED}; it counts as a write now")
        if not self.confirm_run(item, _READ_ONLY_REFUSED):
            item.result.error = f"{_READ_ONLY_REFUSED}; not run as a write (declined)"
            self.refuse(item)
        raise _Retry()

    def confirm_run(self, item: _Item, reason: str) -> bool:
        return self.hooks.confirm(
            Confirmation(
                kind="run",
                safety=item.safety,
                statement=self.scrub(item.statement.text),
                reason=reason,
                label=item.statement.label,
            )
        )

    def refuse(self, item: _Item) -> None:
        item.result.status = "refused"
        ran = [i for i in (self.unit.items if self.unit else []) if i.ran and i is not item]
        note = undone_by_rollback_note(i.reason for i in ran)
        changed = "rolled back" + note if note else "nothing was changed"
        why = f": it {item.why}" if item.why else ""
        raise self.stop("refused", f"declined ({item.where()}{why}); {changed}")

    def finish(self, unit: _Unit, read_only: bool) -> None:
        conn = self.connect()
        ran = [item for item in unit.items if item.ran]
        writes = [item for item in ran if item.safety != "read"]
        explicit_rollback = unit.end is not None and unit.end.txn == "ROLLBACK"
        if read_only or not writes or explicit_rollback:
            # A READ ONLY transaction changed nothing; committing keeps a SET.
            keep = any(item.node in ("VariableSetStmt", "DiscardStmt") for item in ran)
            if keep and not explicit_rollback and read_only and not still_read_only(conn):
                conn.rollback()
                raise self.stop(
                    "failed",
                    "READ ONLY was lifted inside a read transaction "
                    f"({ran[-1].where()}); rolled back, not committed",
                )
            if keep and not explicit_rollback:
                conn.commit()
            else:
                conn.rollback()
            if explicit_rollback:
                for item in writes:
                    item.result.status = "rolled_back"
                self.say("ROLLBACK (as the runbook says)")
            if unit.end is not None:
                unit.end.result.status = "rolled_back" if explicit_rollback else "ok"
            return
        last = next((item for item in reversed(writes) if item.result.columns), None)
        counts = [item.result.rowcount for item in writes if item.result.rowcount is not None]
        texts = [item.statement.text for item in unit.all_items]
        reasons = list(dict.fromkeys(item.reason for item in writes))
        label = next((i.statement.label for i in unit.all_items if i.statement.label), None)
        single = len(unit.all_items) == 1
        request = Confirmation(
            kind="commit",
            safety=max_safety(*(item.safety for item in writes)),
            statement=self.scrub(texts[0] if single else ";\n".join(texts)),
            reason="; ".join(reasons),
            label=label,
            rowcount=sum(counts) if counts else None,
            columns=list(last.result.columns) if last else [],
            rows=list(last.result.rows) if last else [],
            wait_limit=self.idle_limit,
        )
        where = writes[-1].where()
        note = undone_by_rollback_note(item.reason for item in ran)
        status: ItemStatus = "rolled_back"
        if self.hooks.confirm(request):
            self.token.check()  # cancelled while the question was open: roll back, not commit
            try:
                conn.commit()
            except psycopg.Error as exc:
                self.close_side()
                raise self.commit_failed(exc, writes, where, note) from None
            status = "committed"
            self.say("COMMIT")
        else:
            with contextlib.suppress(psycopg.OperationalError):  # the server's limit came first
                conn.rollback()
            self.say("ROLLBACK (not confirmed)")
        for item in writes:
            item.result.status = status
        if unit.end is not None:
            unit.end.result.status = status
        if status == "rolled_back":
            changed = note or ", nothing changed"
            raise self.stop("refused", f"commit declined ({where}); rolled back{changed}")

    def commit_failed(
        self, exc: psycopg.Error, writes: list[_Item], where: str, note: str
    ) -> _Stop:
        """COMMIT did not come back: after the wait limit the server has rolled back."""
        if exc.sqlstate == "25P03" or "idle-in-transaction" in str(exc):
            for item in writes:
                item.result.status = "rolled_back"
            limit = f"the {self.idle_limit:g}s" if self.idle_limit else "the time"
            return self.stop(
                "failed",
                f"the answer came after {limit} a transaction may wait for it ({where}); "
                f"PostgreSQL rolled back, nothing was committed{note}",
            )
        for item in writes:
            item.result.status = "failed"
        return self.stop(
            "failed",
            f"COMMIT failed ({where}): {_one_line(str(exc))}; whether it took effect is "
            "unknown: check the rows before running it again",
        )

    def run_auto(self, item: _Item) -> None:
        """A statement that cannot run in a transaction: ask, then run in autocommit."""
        st = item.statement
        request = Confirmation(
            kind="autocommit",
            safety=item.safety,
            statement=self.scrub(st.text),
            reason=f"{item.reason}; it cannot run in a transaction, so no rollback undoes it",
            label=st.label,
        )
        if not self.hooks.confirm(request):
            item.result.status = "refused"
            raise self.stop("refused", f"declined ({item.where()}); not run")
        conn = self.connect()
        previous = None
        if self.timeout:
            previous = conn.execute("SHOW statement_timeout").fetchone()
            self.set_timeout(conn, local=False)
        started = time.monotonic()
        item.ran = True
        try:
            grid = self.execute(item, preview=False)
        except psycopg.Error as exc:
            raise self.failed(item, exc) from None
        finally:
            if previous is not None and not conn.closed:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(f"SET statement_timeout = '{previous[0]}'")
        self.record(item, grid, time.monotonic() - started)
        item.result.status = "committed"

    def run_meta(self, item: _Item) -> None:
        """A psql meta-command, through psql; the password goes in PGPASSWORD, never argv."""
        st = item.statement
        psql = find_psql()
        if psql is None:
            message = (
                f"{st.text.split()[0]} is a psql meta-command and psql is needed to run it, but "
                f"none was found ({item.where()}); install the PostgreSQL client (psql) or put "
                "it on PATH"
            )
            item.result.status, item.result.error = "failed", message
            raise self.stop("failed", message)
        if item.safety != "read" and not self.confirm_run(item, item.reason):
            item.result.status = "refused"
            raise self.stop("refused", f"declined ({item.where()}); not run")
        reads = item.safety == "read" and self.read_dsn is not None
        env = dict(os.environ)
        try:
            info = conninfo_to_dict(self.read_dsn if reads else self.dsn)
        except psycopg.Error:
            raise self.stop(
                "failed", "the DSN is not a valid PostgreSQL connection string"
            ) from None
        password = info.pop("password", None)
        if password:
            env["PGPASSWORD"] = str(password)
        env.setdefault("PGCONNECT_TIMEOUT", str(CONNECT_TIMEOUT))
        command = [psql, make_conninfo(**info), "-X", "-v", "ON_ERROR_STOP=1", "-P", "pager=off"]
        command += ["-c", item.sql]
        started = time.monotonic()
        item.ran = True
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,
        )
        undo = self.token.on_cancel(lambda: _kill(proc))
        try:
            out, err = proc.communicate(timeout=self.timeout or None)
            self.token.check()
        except subprocess.TimeoutExpired:
            _kill(proc)
            message = f"timed out after {self.timeout:g}s ({item.where()}); psql was stopped"
            item.result.status, item.result.error = "failed", message
            raise self.stop("timeout", message) from None
        except BaseException:
            _kill(proc)
            raise
        finally:
            undo()
        item.result.duration = time.monotonic() - started
        if out.strip():
            self.say(out.rstrip("\n"))
        if proc.returncode != 0:
            message = f"psql failed (exit {proc.returncode}): {_one_line(err) or 'no message'}"
            message += f" ({item.where()})"
            item.result.status, item.result.error = "failed", message
            raise self.stop("failed", message)
        if err.strip():
            self.hooks.output(self.scrub(err), "stderr")
        item.result.status = "ok"

    # ---- Ctrl-C ---------------------------------------------------------------------

    def cancel_query(self) -> None:
        """From another thread: ask PostgreSQL to cancel what the step's sessions run."""
        for conn in list(self.conns.values()):
            with contextlib.suppress(Exception):
                if not conn.closed and conn.pgconn.transaction_status == TransactionStatus.ACTIVE:
                    conn.cancel_safe(timeout=5.0)

    def interrupted(self, why: str = "interrupted (Ctrl-C)") -> None:
        """Cancel what runs, roll back, close; record where it stopped."""
        conn = self.conn
        if conn is not None and not conn.closed:
            try:
                if conn.pgconn.transaction_status == TransactionStatus.ACTIVE:
                    conn.cancel_safe(timeout=5.0)
                conn.rollback()
            except Exception:
                pass
        self.close()
        unit = self.unit
        ran = [item for item in unit.all_items if item.ran] if unit else []
        for item in ran:
            autocommitted = unit is not None and unit.kind in ("auto", "meta")
            item.result.status = "failed" if autocommitted else "rolled_back"
        current = ran[-1] if ran else None
        where = f" during {current.where()}" if current else ""
        if current is not None:
            current.result.error = why
        self.status = "cancelled" if why.startswith("cancelled") else "interrupted"
        self.error = f"{why}{where}; the query was cancelled and its transaction rolled back"

    def abandon(self) -> None:
        """The step stopped inside a transaction: roll it back; writes that ran say so."""
        with contextlib.suppress(Exception):
            self.rollback()
        unit = self.unit
        if unit is None or unit.kind != "tx":
            return
        for item in unit.all_items:
            if item.ran and item.safety != "read" and item.result.status == "ok":
                item.result.status = "rolled_back"

    def close_side(self) -> None:
        conn = self.conns.pop(self.side, None)
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        for conn in self.conns.values():
            with contextlib.suppress(Exception):
                conn.close()
        self.conns.clear()


def _kill(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.communicate(timeout=5)


def _strip_locations(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _strip_locations(v)
            for k, v in value.items()
            if k not in ("location", "stmt_len", "stmt_location")
        }
    if isinstance(value, list):
        return [_strip_locations(v) for v in value]
    return value


def _with_returning(sql: str) -> str | None:
    """``sql`` (one UPDATE/DELETE/INSERT/MERGE without RETURNING) with ``RETURNING t.*`` added.

    ``t`` is the target table (or its alias), so a DELETE ... USING or an
    UPDATE ... FROM shows the rows it changes, not the joined ones. The
    clause goes right after the statement's last token, so what runs is the
    runbook's own text; the parser then checks that the new statement is
    the old one plus RETURNING, else None (the caller counts rows only).
    """
    nodes = parse_nodes(sql)
    if nodes is None or len(nodes) != 1:
        return None
    kind, body = nodes[0]
    if kind not in DML or body.get("returningList") or body.get("returningClause"):
        return None
    end = 0
    for token, _start, stop in sql_tokens(sql):
        if token not in ("ws", "nl", "semi") and token not in COMMENTS:
            end = stop
    relation = body.get("relation") or {}
    name = (relation.get("alias") or {}).get("aliasname") or relation.get("relname")
    if not name:
        return None
    target = '"' + str(name).replace('"', '""') + '"'
    new = f"{sql[:end]} RETURNING {target}.*{sql[end:]}"
    after = parse_nodes(new)
    if after is None or len(after) != 1 or after[0][0] != kind:
        return None
    new_body = dict(after[0][1])
    returning = new_body.pop("returningClause", None) or new_body.pop("returningList", None)
    if not returning or _strip_locations(new_body) != _strip_locations(body):
        return None
    return new


def run_sql(
    step: Step,
    *,
    dsn: str,
    values: dict[str, str],
    hooks: Hooks,
    timeout: float | None = None,
    max_rows: int = MAX_PREVIEW_ROWS,
    read_dsn: str | None = None,
    idle_limit: float | None = COMMIT_WAIT,
) -> StepOutcome:
    """Run one SQL step against ``dsn``; see the module doc for what runs how.

    ``values`` fill the step's ``<placeholders>`` (bound, never spliced);
    ``timeout`` (seconds; default the step's own) limits each statement,
    not the time spent waiting for a confirmation; ``max_rows`` caps the rows
    shown, kept and previewed; ``read_dsn`` (a role that cannot write) runs
    the READ ONLY transactions; ``idle_limit`` (seconds) is how long an open
    transaction may wait at a commit prompt before PostgreSQL rolls it back.
    Returns the outcome; raises
    :class:`StepInterrupted` on Ctrl-C after cancelling the query and
    rolling back.
    """
    if timeout is None:
        timeout = step.timeout
    runner = _Runner(step, dsn, values, hooks, timeout, max_rows, read_dsn, idle_limit)
    undo = runner.token.on_cancel(runner.cancel_query)
    try:
        try:
            runner.run()
        except _Stop:
            runner.abandon()
        except psycopg.Error as exc:  # BEGIN, SET, COMMIT failing: the connection went away
            runner.abandon()
            runner.status = "failed"
            runner.error = f"PostgreSQL at {_where(dsn)}: {_one_line(str(exc))}"
    except (KeyboardInterrupt, Cancelled) as exc:
        if isinstance(exc, Cancelled):
            runner.interrupted(f"cancelled ({exc.reason})")
        else:
            runner.interrupted()
        raise StepInterrupted(runner.outcome()) from None
    finally:
        undo()
        runner.close()
    return runner.outcome()
