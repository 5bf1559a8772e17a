"""Running one SQL statement: fetch its rows, preview a write's rows, show, fail.

A write (UPDATE, DELETE, INSERT, MERGE without RETURNING) runs once with
``RETURNING <table>.*`` added inside a savepoint, so the rows it changes can
be shown before the caller decides; a statement the rewrite does not fit
runs as written and shows its count only.
"""

from __future__ import annotations

from typing import Any

import psycopg

from opsdoc.classify.sql import sql_tokens
from opsdoc.execute.sql_base import RunnerBase, Stop
from opsdoc.execute.sql_bind import COMMENTS
from opsdoc.execute.sql_nodes import DML, TAGS, parse_nodes
from opsdoc.execute.sql_table import format_table, masked_cell, one_line, rows_note
from opsdoc.execute.sql_units import Grid, Item


class StatementRunner(RunnerBase):
    """Runs one statement in the open transaction (or autocommit) and shows it."""

    # ---- executing one statement -------------------------------------------------

    def fetch(self, cur: psycopg.RawCursor[Any], sql: str, params: list[str]) -> Grid:
        grid = Grid(count=0)
        for row in cur.stream(sql, params or None):
            if grid.count == 0 and cur.description:
                grid.columns = [col.name for col in cur.description]
            if len(grid.rows) < self.max_rows:
                grid.rows.append(tuple(row))
            grid.count = (grid.count or 0) + 1
        return grid

    def execute(self, item: Item, preview: bool) -> Grid:
        """Run one statement in the open transaction (or autocommit); show and return its rows."""
        self.token.check()
        conn = self.connect()
        cur = psycopg.RawCursor(conn)
        grid: Grid | None = None
        if preview and item.node in DML and not item.has_returning:
            grid = self.preview(conn, cur, item)
        if grid is None:
            if item.returns_rows:
                grid = self.fetch(cur, item.sql, item.params)
            elif item.copy_out and not item.params:
                grid = Grid()
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
                grid = Grid(status=cur.statusmessage or "")
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
        self, conn: psycopg.Connection[Any], cur: psycopg.RawCursor[Any], item: Item
    ) -> Grid | None:
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

    def show(self, item: Item, grid: Grid) -> None:
        parts: list[str] = []
        if item.statement.label and len(self.items) > 1:
            parts.append(f"-- {item.statement.label}")
        if grid.columns or (item.returns_rows and grid.count is not None):
            # Mask each value before format_table cuts it to 80 characters: a cut
            # secret no longer matches and its first 79 characters would show.
            mask = getattr(self.hooks, "mask", None) or self.scrub
            rows = [tuple(masked_cell(v, mask) for v in r) for r in grid.rows]
            table = format_table(grid.columns, rows)
            if table:
                parts.append(table)
            parts.append(rows_note(grid.count or 0, len(grid.rows)))
            if grid.status and item.node in DML:
                parts.append(grid.status)
        elif grid.status:
            parts.append(grid.status)
        if parts:
            self.say("\n".join(parts))

    def failed(self, item: Item, exc: psycopg.Error) -> Stop:
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
        text = one_line(diag.message_primary or str(exc))
        if diag.message_detail:
            text += f" DETAIL: {one_line(diag.message_detail)}"
        if diag.message_hint:
            text += f" HINT: {one_line(diag.message_hint)}"
        message = f"SQLSTATE {exc.sqlstate}: {text}" if exc.sqlstate else text
        message += f" ({item.where()})"
        item.result.status, item.result.error = "failed", message
        return self.stop("failed", message)


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
