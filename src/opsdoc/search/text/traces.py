"""Stack traces in a paste: frames dropped, the innermost frame's function kept as words.

A Python, Java, Node or Go trace is mostly frames that say where, not what;
the lines left, with kubectl tables reduced by :mod:`.tables`, are the
logical lines that are read.
"""

from __future__ import annotations

import re

from opsdoc.search.text.lines import Logical
from opsdoc.search.text.patterns import (
    AT_FRAME_RE,
    CARET_RE,
    GO_FILE_RE,
    GO_FUNC_RE,
    GO_HEADER_RE,
    MORE_RE,
    PY_FRAME_RE,
    SKIP_LINE_RE,
)
from opsdoc.search.text.signals import camel_parts
from opsdoc.search.text.tables import Table
from opsdoc.search.text.words import GENERIC_FUNCTIONS, STOP_WORDS

# Marks of a trace or a table: without any, lines are read as they are.
_STRUCTURE_MARKS = ('File "', "at ", "goroutine ", "Traceback", "NAME ", "REASON", "Reason ", "...")


def _function_word(name: str) -> list[str]:
    parts = [p for p in re.split(r"[./:$]", name) if p and not p.startswith("(")]
    parts = [p for p in parts if not re.fullmatch(r"func\d+|lambda\d*|\d+", p)]
    if not parts:
        return []
    last = parts[-1].strip("<>*()")
    if not last or f"<{last}>" in GENERIC_FUNCTIONS or last in GENERIC_FUNCTIONS:
        return []
    words = [w.lower() for piece in last.split("_") for w in camel_parts(piece)]
    return [w for w in words if len(w) > 1 and w not in STOP_WORDS]


def logical_lines(lines: list[str], text: str) -> tuple[list[Logical], list[str]]:
    """Logical lines (frames dropped, tables reduced) and the innermost frame's words."""
    if not any(mark in text for mark in _STRUCTURE_MARKS):
        return [Logical(i, line) for i, line in enumerate(lines) if line and not line.isspace()], []
    out: list[Logical] = []
    py_func: str | None = None
    at_func: str | None = None
    go_func: str | None = None
    at_block = False
    after_py_frame = False
    go_mode = False
    table: Table | None = None

    for index, line in enumerate(lines):
        if table is not None:
            if line and not line.isspace() and not table.ends_at(line):
                table.add(index, line)
                continue
            out.extend(table.rows())
            table = None
        if not line or line.isspace():
            after_py_frame = False
            continue
        if line[0].isspace() or line[0] in _TRACE_LEADS or go_mode or after_py_frame:
            kind, name = _trace_line(line, line.strip(), after_py_frame, go_mode)
            after_py_frame = kind == "py"
            if kind != "at":
                at_block = False
            if kind == "py":
                py_func = name or py_func
            elif kind == "at" and not at_block:
                at_func = name if name and "node:internal" not in line else at_func
                at_block = True
            elif kind == "go":
                go_mode = True
                if name and go_func is None and not name.startswith(("runtime.", "panic")):
                    go_func = name
            elif kind == "end-go":
                go_mode = False
            if kind not in ("", "end-go"):
                continue
        else:
            at_block = False
        if "NAME" in line or "REASON" in line or "Reason" in line:
            table = Table.header(line)
            if table is not None:
                continue
        out.append(Logical(index, line))
    if table is not None:
        out.extend(table.rows())
    func = py_func or at_func or go_func
    return out, _function_word(func) if func else []


_TRACE_LEADS = frozenset("Fa.^~TDcg")


def _trace_line(line: str, stripped: str, after_py_frame: bool, go_mode: bool) -> tuple[str, str]:
    """What a line is in a trace: py/at/go frame, skip, end-go, or "" (a line to read)."""
    if after_py_frame and line[:1].isspace() and not stripped.startswith('File "'):
        return "skip", ""  # the source line under a Python frame
    if 'File "' in line:
        m = PY_FRAME_RE.match(line)
        if m:
            return "py", m.group(1) or ""
    if "at " in line[:40]:
        m = AT_FRAME_RE.match(line)
        if m and ("(" in line or line[:1].isspace()):
            return "at", m.group(1) or m.group(2) or ""
    if MORE_RE.match(line) or CARET_RE.match(line) or SKIP_LINE_RE.match(line):
        return "skip", ""
    if stripped.startswith("goroutine ") and GO_HEADER_RE.match(stripped):
        return "go", ""
    if go_mode:
        if GO_FILE_RE.match(line):
            return "go", ""
        m = GO_FUNC_RE.match(line)
        if m and not line[:1].isspace():
            return "go", m.group(1)
        return "end-go", ""
    return "", ""
