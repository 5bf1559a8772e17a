"""Runme's verbs over cells: ``opsdoc print FILE#NAME`` and the cell lookup ``run`` shares.

A Runme user names cells, not sections (see parse/cells.py); ``run`` and
``print`` accept either. A section id comes first, except when a cell was
given that name by its author (``{"name":"build"}`` under "## Build"): then
the author meant the cell. ``opsdoc list --cells`` is in read_cmds and
takes its rows from here.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import typer

from opsdoc.cli import render
from opsdoc.cli.app import app
from opsdoc.cli.read_cmds import JsonOpt, MaxSizeOpt, max_bytes, report
from opsdoc.errors import EXIT_OK, OpsdocError
from opsdoc.lookup import find_cell, named_cell, split_target
from opsdoc.mask import SHAPES
from opsdoc.model import Runbook, Snippet, Step
from opsdoc.read import read_document


def cell_rows(runbook: Runbook) -> list[dict[str, Any]]:
    """One row per cell, the columns ``runme list`` prints and what opsdoc makes of it."""
    rows = []
    for section, item in runbook.cells():
        step = isinstance(item, Step)
        first = SHAPES.mask(next((ln.strip() for ln in item.code.splitlines() if ln.strip()), ""))
        rows.append(
            {
                "file": runbook.path,
                "name": item.name,
                "named": "name" in item.attrs,
                "line": item.line,
                "lang": item.lang,
                "first_command": first,
                "section": section.id,
                "runs": step and item.executable,
                "phase": item.phase if step else None,
                "safety": item.safety if step else None,
                "why_not": None if step else item.reason,
            }
        )
    return rows


def print_cell_rows(rows: list[dict[str, Any]]) -> None:
    """Cells under their file, one line each: name, what it is, its first command."""
    files: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        files.setdefault(row["file"], []).append(row)
    for number, (path, file_rows) in enumerate(files.items()):
        if number:
            render.console.print()
        render.console.print(path, style="bold", soft_wrap=True, markup=False)
        cells = [
            (
                row["name"] or '""',
                f"{row['phase']} {row['safety']}" if row["runs"] else "not run",
                "yes" if row["named"] else "no",
                row["first_command"],
            )
            for row in file_rows
        ]
        render.aligned(("name", "step", "named", "first command"), cells, indent="  ")


@app.command("print")
def print_cmd(
    target: Annotated[
        str,
        typer.Argument(metavar="FILE#NAME", help="A cell (or a section) of a runbook."),
    ],
    raw: Annotated[
        bool, typer.Option("--raw", help="The fenced block as the file has it, fences too.")
    ] = False,
    as_json: JsonOpt = False,
    max_size: MaxSizeOpt = "5MB",
) -> None:
    """A cell's code, as ``runme print NAME`` prints it; a section's, cell after cell."""
    path, anchor = split_target(target)
    runbook, text = read_document(path, max_bytes=max_bytes(max_size))
    report(runbook)
    if not anchor:
        raise OpsdocError(
            "print needs a cell: FILE#NAME", path=path, hint=f"`opsdoc list --cells {path}`"
        )
    section = None if named_cell(runbook, anchor) else runbook.find(anchor)
    if section is not None:
        items = [item for s, item in runbook.cells() if s in section.walk()]
    else:
        items = [find_cell(runbook, anchor, path)[1]]
    lines = text.splitlines()
    if as_json:
        out = [
            {
                "file": path,
                "name": i.name,
                "line": i.line,
                "lang": i.lang,
                "code": "\n".join(SHAPES.mask(line) for line in i.code.split("\n")),
                "attrs": i.attrs,
            }
            for i in items
        ]
        print(json.dumps(out if section is not None else out[0], indent=2, ensure_ascii=False))
        raise typer.Exit(EXIT_OK)
    for number, item in enumerate(items):
        if number:
            print()
        shown = _fenced(item, lines) if raw else item.code.rstrip("\n")
        print("\n".join(SHAPES.mask(line) for line in shown.split("\n")))
    raise typer.Exit(EXIT_OK)


def _fenced(item: Step | Snippet, lines: list[str]) -> str:
    """The block with its fence lines, from the file (``line`` is its first code line)."""
    start = item.line - 2  # the opening fence, 0-based
    opening = lines[start] if 0 <= start < len(lines) else ""
    fence = re.match(r"\s*(`{3,}|~{3,})", opening)
    marker = fence.group(1) if fence else "```"
    end = start + 1
    while end < len(lines) and not lines[end].lstrip().startswith(marker):
        end += 1
    return "\n".join(lines[start : end + 1])
