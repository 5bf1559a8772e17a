"""How the SQL executor shows what PostgreSQL returned: values, cells, tables, notes.

Plain text only: an aligned table with NULL as ``NULL`` and long cells cut,
JSON-ready forms of values for results, and one-line messages.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

MAX_CELL_CHARS = 80  # a table cell wider than this is cut with "…"


def plain(value: Any) -> Any:
    """A JSON-ready form of a value PostgreSQL returned."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    return str(value)


def masked_cell(value: Any, mask: Any) -> Any:
    """A cell as text with its secrets masked, before any cut can halve one."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict | list):
        return mask(json.dumps(plain(value), ensure_ascii=False))
    return value


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        text = json.dumps(plain(value), ensure_ascii=False)
    else:
        text = str(plain(value))
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


def rows_note(count: int, shown: int) -> str:
    noun = "row" if count == 1 else "rows"
    return f"({count} {noun})" if shown >= count else f"({count} {noun}, first {shown} shown)"


def one_line(text: str) -> str:
    """A message on one line: its lines stripped and joined by a blank."""
    parts = [line.strip() for line in str(text).splitlines() if line.strip()]
    return " ".join(parts)
