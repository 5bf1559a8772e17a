"""A SQL step's statements on their way through the executor, grouped into units.

Each statement becomes an :class:`Item` (its bound text, its parse, its
result so far); :func:`plan` groups the items into :class:`Unit` s that run
together: one transaction (a runbook's own ``BEGIN ... COMMIT`` or a single
statement), one autocommit statement, one psql meta-command, or a stray
``COMMIT`` with nothing to end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from opsdoc.execute import StatementResult
from opsdoc.execute.sql_nodes import DML
from opsdoc.model import Safety, Statement

READ_ONLY_REFUSED = "PostgreSQL refused it in a read-only transaction (SQLSTATE 25006)"

ItemStatus = Literal["ok", "committed", "rolled_back", "failed", "refused", "skipped"]


@dataclass
class Item:
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
            return READ_ONLY_REFUSED
        return self.statement.reason

    def where(self) -> str:
        st = self.statement
        label = f" '{st.label}'" if st.label else ""
        return f"statement {self.index}{label}, line {st.line}"


@dataclass
class Unit:
    """Statements that run together: one transaction, one autocommit statement, or psql."""

    kind: Literal["tx", "auto", "meta", "stray"]
    items: list[Item]
    begin: Item | None = None  # an explicit BEGIN of the runbook
    end: Item | None = None  # its COMMIT or ROLLBACK

    @property
    def all_items(self) -> list[Item]:
        return [i for i in (self.begin, *self.items, self.end) if i is not None]


def plan(items: list[Item]) -> list[Unit]:
    """The units the items run in, in order."""
    units: list[Unit] = []
    pos = 0
    while pos < len(items):
        item = items[pos]
        pos += 1
        if item.meta:
            units.append(Unit("meta", [item]))
        elif item.txn == "BEGIN":
            unit = Unit("tx", [], begin=item)
            while pos < len(items) and items[pos].txn not in ("COMMIT", "ROLLBACK"):
                unit.items.append(items[pos])
                pos += 1
            if pos < len(items):
                unit.end = items[pos]
                pos += 1
            units.append(unit)
        elif item.txn:
            units.append(Unit("stray", [item]))
        elif not item.statement.transactional:
            units.append(Unit("auto", [item]))
        else:
            units.append(Unit("tx", [item]))
    return units


@dataclass
class Grid:
    """What one statement returned: its columns, the rows kept, the count, the tag."""

    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    count: int | None = None
    status: str = ""
