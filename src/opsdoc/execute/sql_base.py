"""The SQL runner's base: the step's sessions, its output and its results.

:class:`RunnerBase` holds what every part of the runner shares: the step and
its items, one PostgreSQL session per DSN (``main``, and ``read`` for READ
ONLY units when the target has a read-only role), the output said so far
(scrubbed of the DSN's password, capped) and how a step stops early
(:class:`Stop`). The layers above it run statements (``sql_statement``),
units (``sql_tx``) and the step (``sql``).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from opsdoc.classify.sql import classify_sql
from opsdoc.execute import MAX_OUTPUT_CHARS, Hooks, StatementResult, StepOutcome
from opsdoc.execute.cancel import NEVER
from opsdoc.execute.capture import Capture
from opsdoc.execute.sql_guard import pin_session
from opsdoc.execute.sql_table import one_line, plain
from opsdoc.execute.sql_units import Grid, Item, Unit
from opsdoc.mask import DsnScrub, dsn_where
from opsdoc.model import Step

CONNECT_TIMEOUT = 10  # seconds
CUT_NOTE = "\n… (output cut; the terminal showed all of it)\n"


class Stop(Exception):
    """Ends the step early: a failure, a refusal or a timeout, already recorded."""


class RunnerBase:
    """One SQL step's state: its items, its sessions, its output; see the module doc."""

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
        self.scrub = DsnScrub(dsn, read_dsn)
        # One session per DSN: "main", and "read" (read_dsn) for READ ONLY units.
        self.conns: dict[str, psycopg.Connection[Any]] = {}
        self.side = "main"
        self.capture = Capture(MAX_OUTPUT_CHARS, note=CUT_NOTE)
        self.status: str = "ok"
        self.error: str | None = None
        self.started = time.monotonic()
        statements = step.statements or classify_sql(
            step.code, line=step.line, placeholders=[p.name for p in step.params]
        )
        self.items = [
            Item(
                i,
                st,
                StatementResult(i, st.text, st.safety, "skipped", label=st.label),
                safety=st.safety,
            )
            for i, st in enumerate(statements, 1)
        ]
        self.unit: Unit | None = None
        self.token = getattr(hooks, "cancel", NEVER)

    # ---- output and results ------------------------------------------------

    def say(self, text: str) -> None:
        """Show ``text`` as a line (or lines) of the step's output, scrubbed and captured."""
        text = self.scrub(text)
        self._emit(text if text.endswith("\n") else text + "\n")

    def tell(self, text: str) -> None:
        """Show ``text`` as it is (no newline added), scrubbed and captured."""
        self._emit(self.scrub(text))

    def _emit(self, text: str) -> None:
        self.hooks.output(text, "stdout")
        self.capture.add(text)

    def outcome(self) -> StepOutcome:
        text = self.capture.text()
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

    def stop(self, status: str, error: str | None) -> Stop:
        self.status, self.error = status, error
        return Stop()

    def record(self, item: Item, grid: Grid, duration: float) -> None:
        result = item.result
        result.rowcount = grid.count
        result.columns = list(grid.columns)
        result.rows = [tuple(self.scrub.value(plain(v)) for v in row) for row in grid.rows]
        result.duration = duration
        result.status = "ok"

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
            reason = one_line(str(exc)).removeprefix("connection failed: ")
            raise self.stop(
                "failed",
                f"cannot connect to PostgreSQL at {dsn_where(dsn)}: {reason}; check that the "
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

    def rollback(self) -> None:
        conn = self.conn
        if conn is not None and not conn.closed:
            conn.rollback()

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
