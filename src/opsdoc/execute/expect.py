"""Checking what a step printed against what its runbook says it should print.

Authors write expectations the way they read results: a substring of the
output, a /regex/, or for SQL a ``column: value`` pair (``stuck: 0``,
``ingest_status: 'online'``) that holds when a returned row has it.
"""

from __future__ import annotations

import re

from opsdoc.execute import StatementResult

_PAIR = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*[:=]\s*(.+?)\s*$")
_SPACES = re.compile(r"\s+")


def holds(expected: str, output: str, statements: list[StatementResult] = ()) -> bool:  # type: ignore[assignment]
    """Whether the output (or a returned row) shows what was expected."""
    if len(expected) > 2 and expected.startswith("/") and expected.endswith("/"):
        try:
            return re.search(expected[1:-1], output, re.MULTILINE) is not None
        except re.error:
            return False
    if expected in output or _SPACES.sub(" ", expected).strip() in _SPACES.sub(" ", output):
        return True
    return _row_has(expected, statements)


def _row_has(expected: str, statements: list[StatementResult]) -> bool:
    match = _PAIR.match(expected)
    if not match:
        return False
    column, value = match.group(1).lower(), match.group(2).strip().strip("'\"`")
    for result in statements:
        names = [c.lower() for c in result.columns]
        if column not in names:
            continue
        index = names.index(column)
        if any(index < len(row) and _same(row[index], value) for row in result.rows):
            return True
    return False


def _same(cell: object, value: str) -> bool:
    if cell is None:
        return value.lower() in ("null", "none")
    if isinstance(cell, bool):
        return value.lower() in (("true", "t", "yes") if cell else ("false", "f", "no"))
    return str(cell) == value
