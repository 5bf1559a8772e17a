"""Running a SQL step's units: transactions, their confirmations, autocommit.

A unit of reads runs in a READ ONLY transaction (on the read-only role when
the target has one); one PostgreSQL refuses there (25006) is a write from
then on and runs again after a confirmation. A unit that writes runs in a
transaction and ends with one decision, COMMIT or ROLLBACK; a call that may
act beyond the transaction is asked for before it runs; a statement that
cannot run in a transaction is asked for, then runs in autocommit.
"""

from __future__ import annotations

import contextlib
import time

import psycopg

from opsdoc.execute import Confirmation
from opsdoc.execute.sql_base import Stop
from opsdoc.execute.sql_guard import (
    own_begin,
    still_read_only,
    undone_by_rollback_note,
    user_defined_calls,
)
from opsdoc.execute.sql_statement import StatementRunner
from opsdoc.execute.sql_table import one_line
from opsdoc.execute.sql_units import READ_ONLY_REFUSED, Item, ItemStatus, Unit
from opsdoc.model import max_safety


class _Retry(Exception):
    """A READ ONLY transaction was refused (25006) and the caller agreed to run it as write."""


class TxRunner(StatementRunner):
    """Runs transaction and autocommit units; psql meta-commands are the step's (run_meta)."""

    def run_meta(self, item: Item) -> None:
        """A psql meta-command inside a unit: the runner above runs it."""
        raise NotImplementedError

    def run_tx(self, unit: Unit) -> None:
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

    def resolve_calls(self, unit: Unit) -> bool:
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

    def attempt(self, unit: Unit, read_only: bool) -> None:
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

    def reclassify(self, item: Item) -> None:
        """A read that wrote (PostgreSQL said 25006) is a write now, if the caller agrees."""
        item.safety = "write"
        self.say(f"-- {READ_ONLY_REFUSED}; it counts as a write now")
        if not self.confirm_run(item, READ_ONLY_REFUSED):
            item.result.error = f"{READ_ONLY_REFUSED}; not run as a write (declined)"
            self.refuse(item)
        raise _Retry()

    def confirm_run(self, item: Item, reason: str) -> bool:
        return self.hooks.confirm(
            Confirmation(
                kind="run",
                safety=item.safety,
                statement=self.scrub(item.statement.text),
                reason=reason,
                label=item.statement.label,
            )
        )

    def refuse(self, item: Item) -> None:
        item.result.status = "refused"
        ran = [i for i in (self.unit.items if self.unit else []) if i.ran and i is not item]
        note = undone_by_rollback_note(i.reason for i in ran)
        changed = "rolled back" + note if note else "nothing was changed"
        why = f": it {item.why}" if item.why else ""
        raise self.stop("refused", f"declined ({item.where()}{why}); {changed}")

    def finish(self, unit: Unit, read_only: bool) -> None:
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

    def commit_failed(self, exc: psycopg.Error, writes: list[Item], where: str, note: str) -> Stop:
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
            f"COMMIT failed ({where}): {one_line(str(exc))}; whether it took effect is "
            "unknown: check the rows before running it again",
        )

    def run_auto(self, item: Item) -> None:
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
