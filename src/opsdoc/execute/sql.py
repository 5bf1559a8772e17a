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

This module runs the step (binding first, then each unit) and handles
Ctrl-C; the parts it builds on, each a module of its own: ``sql_units``
(items and units), ``sql_base`` (sessions, output), ``sql_statement`` (one
statement), ``sql_tx`` (transactions), ``sql_psql`` (meta-commands),
``sql_table`` (tables and values).
"""

from __future__ import annotations

import contextlib
import time

import psycopg
from psycopg.pq import TransactionStatus

from opsdoc.classify.sql import sql_tokens
from opsdoc.execute import (
    COMMIT_WAIT,
    MAX_PREVIEW_ROWS,
    Hooks,
    StepInterrupted,
    StepOutcome,
)
from opsdoc.execute.cancel import Cancelled
from opsdoc.execute.sql_base import CONNECT_TIMEOUT, Stop
from opsdoc.execute.sql_bind import COMMENTS, PlaceholderError, bind_meta, bind_placeholders
from opsdoc.execute.sql_guard import lexing_refusal
from opsdoc.execute.sql_nodes import parse_nodes
from opsdoc.execute.sql_psql import find_psql, psql_command, run_psql
from opsdoc.execute.sql_table import format_table, one_line
from opsdoc.execute.sql_tx import TxRunner
from opsdoc.execute.sql_units import Item, plan
from opsdoc.mask import dsn_where
from opsdoc.model import Step
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


class _Runner(TxRunner):
    """The whole step: bind every statement, then run its units in order."""

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
        for unit in plan(self.items):
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

    def run_meta(self, item: Item) -> None:
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
        try:
            command, env = psql_command(psql, self.read_dsn if reads else self.dsn, item.sql)
        except psycopg.Error:
            raise self.stop(
                "failed", "the DSN is not a valid PostgreSQL connection string"
            ) from None
        started = time.monotonic()
        item.ran = True
        done = run_psql(command, env, timeout=self.timeout, token=self.token, say=self.tell)
        item.result.duration = time.monotonic() - started
        ended = done.outcome
        if ended.status == "timeout":
            message = f"timed out after {self.timeout:g}s ({item.where()}); psql was stopped"
            item.result.status, item.result.error = "failed", message
            raise self.stop("timeout", message)
        if ended.exit_code is None and ended.status != "ok":  # psql did not start
            message = f"{ended.error} ({item.where()})"
            item.result.status, item.result.error = "failed", message
            raise self.stop("failed", message)
        if ended.exit_code != 0:
            message = f"psql failed (exit {ended.exit_code}): {one_line(done.err) or 'no message'}"
            message += f" ({item.where()})"
            item.result.status, item.result.error = "failed", message
            raise self.stop("failed", message)
        if done.err.strip():
            self.hooks.output(self.scrub(done.err), "stderr")
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
        except Stop:
            runner.abandon()
        except psycopg.Error as exc:  # BEGIN, SET, COMMIT failing: the connection went away
            runner.abandon()
            runner.status = "failed"
            runner.error = f"PostgreSQL at {dsn_where(dsn)}: {one_line(str(exc))}"
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
