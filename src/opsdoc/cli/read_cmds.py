"""``opsdoc list`` and ``opsdoc show``: read runbooks and print what was understood."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from opsdoc.cli import render
from opsdoc.cli.app import app
from opsdoc.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, OpsdocError
from opsdoc.load import DEFAULT_MAX_BYTES, empty_folders, iter_runbook_paths, parse_size
from opsdoc.lookup import split_target
from opsdoc.model import PHASES, Runbook, Section, to_dict
from opsdoc.read import read_document, read_runbook

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
MaxSizeOpt = Annotated[
    str,
    typer.Option(
        "--max-size", metavar="SIZE", help="Largest file to read, e.g. 5MB.", show_default=True
    ),
]


def max_bytes(text: str) -> int:
    return parse_size(text) if text else DEFAULT_MAX_BYTES


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def report(runbook: Runbook) -> None:
    for diag in runbook.diagnostics:
        if diag.level == "info":
            continue
        where = f"{runbook.path}:{diag.line}" if diag.line else runbook.path
        print(f"{diag.level}: {where}: {diag.message}", file=sys.stderr)


@app.command("list")
def list_cmd(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Runbook files or directories.")
    ],
    as_json: JsonOpt = False,
    cells: Annotated[
        bool,
        typer.Option("--cells", help="One line per code block (cell) by its Runme name instead."),
    ] = False,
    max_size: MaxSizeOpt = "5MB",
) -> None:
    """One line per section: file, id, kind, steps by phase (diagnose/act/verify), title.

    With --cells, one line per code block instead: its Runme name, what opsdoc
    makes of it, and its first command.
    """
    from opsdoc.cli import cells_cmd

    rows: list[dict[str, Any]] = []
    failed = False
    limit = max_bytes(max_size)
    files = runbook_files(paths)
    with render.progress("reading runbooks") as step:
        for number, path in enumerate(files, 1):
            step(number, len(files))
            try:
                book = read_runbook(path, max_bytes=limit)
            except OpsdocError as exc:
                print(f"error: {exc}", file=sys.stderr)
                failed = True
                continue
            report(book)
            rows.extend(cells_cmd.cell_rows(book) if cells else _rows(book))
    if as_json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif cells:
        cells_cmd.print_cell_rows(rows)
    else:
        render.section_table(rows)
    raise typer.Exit(EXIT_BAD_INPUT if failed else EXIT_OK)


def runbook_files(paths: list[Path]) -> list[Path]:
    """The runbook files under ``paths``; a folder with none is said so on stderr.

    With no runbook anywhere the command ends here with exit 1: silence and
    exit 0 would let a user think the runbooks held no sections.
    """
    files = list(iter_runbook_paths(paths, on_warning=_warn))
    for message in empty_folders(paths, files):
        print(f"{'warning' if files else 'error'}: {message}", file=sys.stderr)
    if not files:
        raise typer.Exit(EXIT_FAILED)
    return files


def _rows(runbook: Runbook) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def visit(section: Section, depth: int) -> None:
        counts = dict.fromkeys(PHASES, 0)
        for step in section.steps:
            counts[step.phase] += 1
        out.append(
            {
                "file": runbook.path,
                "id": section.id,
                "kind": section.kind,
                "title": section.title,
                "line": section.line,
                "depth": depth,
                "severity": section.severity,
                "steps": counts,
            }
        )
        for child in section.children:
            visit(child, depth + 1)

    for section in runbook.sections:
        visit(section, 0)
    return out


@app.command("show")
def show_cmd(
    target: Annotated[
        str,
        typer.Argument(
            metavar="FILE[#SECTION]", help="A runbook file, optionally FILE#section-id."
        ),
    ],
    as_json: JsonOpt = False,
    steps_only: Annotated[
        bool,
        typer.Option("--steps-only", help="Only each section's summary and numbered steps."),
    ] = False,
    max_size: MaxSizeOpt = "5MB",
) -> None:
    """A section (or a whole runbook) as the author wrote it, its steps numbered in place."""
    path, anchor = split_target(target)
    runbook, text = read_document(path, max_bytes=max_bytes(max_size))
    report(runbook)
    sections = runbook.sections
    if anchor:
        found = runbook.find(anchor)
        if found is None:
            ids = ", ".join(s.id for s in runbook.walk()[:12])
            raise OpsdocError(
                f"no section #{anchor}",
                path=path,
                hint=f"sections are: {ids}; `opsdoc list {path}` shows all",
            )
        sections = [found]
    if as_json:
        data = to_dict(runbook)
        data["sections"] = [to_dict(s) for s in sections]
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif steps_only:
        render.runbook(runbook, sections)
    else:
        from opsdoc.cli import render_whole

        render_whole.runbook(runbook, sections, text)
