"""``opsdoc journal list | show | export | verify``: read back what ``opsdoc run`` did."""

from __future__ import annotations

import dataclasses
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.padding import Padding
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from opsdoc.cli import render
from opsdoc.cli.app import app
from opsdoc.cli.help import OpsdocTyper
from opsdoc.cli.safe_text import visible
from opsdoc.errors import EXIT_FAILED, EXIT_OK, OpsdocError
from opsdoc.journal import Journal, clip, export_data, timeline

journal_app = OpsdocTyper(
    name="journal",
    help="Read the journal of runs: list them, show one, export a postmortem timeline, "
    "verify their chains.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(journal_app, name="journal")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
JournalOpt = Annotated[
    str | None,
    typer.Option(
        "--journal",
        metavar="FILE|DSN",
        help="The journal: a file or a postgresql:// DSN (default: $OPSDOC_JOURNAL, "
        "else the user data dir).",
    ),
]
RunArg = Annotated[str, typer.Argument(metavar="RUN", help="A run id, or a unique prefix of one.")]

SHOW_OUTPUT_LINES = 20  # lines of output per block in `journal show`; export has more


class ExportFormat(StrEnum):
    md = "md"
    json = "json"


RUNS_HEADER = ("RUN", "STARTED (UTC)", "STATUS", "USER", "TARGET", "RUNBOOK")
STATUS_STYLE = {
    "ok": "green",
    "failed": "bold red",
    "refused": "yellow",
    "interrupted": "magenta",
    "running": "cyan",
}


@journal_app.command("list")
def list_cmd(
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", min=1, help="How many runs to list.")
    ] = 50,
    as_json: JsonOpt = False,
    journal: JournalOpt = None,
) -> None:
    """The latest runs, newest first: id, start, status, who, target, runbook."""
    with Journal(journal) as book:
        runs = book.runs(limit)
        path = book.where
    if as_json:
        print(json.dumps([dataclasses.asdict(r) for r in runs], indent=2, ensure_ascii=False))
        raise typer.Exit(EXIT_OK)
    if not runs:
        render.errors.print(Text(f"no runs yet in {path}", style="dim"))
        raise typer.Exit(EXIT_OK)
    rows = [
        (
            run.id,
            run.started_at[:19].replace("T", " "),
            Text(run.status, style=STATUS_STYLE.get(run.status, "")),
            run.user,
            run.target or "—",
            run.runbook + (f"#{run.section}" if run.section else ""),
        )
        for run in runs
    ]
    if not render.console.is_terminal:  # piped: one line per run, nothing wrapped
        render.aligned(RUNS_HEADER, rows)
        raise typer.Exit(EXIT_OK)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="dim")
    table.add_column("RUN", no_wrap=True)
    table.add_column("STARTED (UTC)", no_wrap=True)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("USER", no_wrap=True)
    table.add_column("TARGET", no_wrap=True)
    table.add_column("RUNBOOK", overflow="fold", ratio=1)
    for row in rows:
        table.add_row(*row)
    render.console.print(table)
    raise typer.Exit(EXIT_OK)


@journal_app.command("show")
def show_cmd(run: RunArg, as_json: JsonOpt = False, journal: JournalOpt = None) -> None:
    """A readable timeline of one run."""
    with Journal(journal) as book:
        events = book.events(run)
    data = export_data(events)
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        raise typer.Exit(EXIT_OK)
    info = data["run"]
    console = render.console
    head = Text(f"run {info['id']}", style="bold")
    head.append("  ")
    head.append(info["status"], style=STATUS_STYLE.get(info["status"], ""))
    if info.get("exit_code") is not None:
        head.append(f" (exit {info['exit_code']})", style="dim")
    console.print(head)
    where = info["runbook"] + (f"#{info['section']}" if info["section"] else "")
    facts = [
        ("runbook", where),
        ("who", f"{info.get('user') or '?'} on {info.get('host') or '?'}"),
        ("target", info.get("target") or "none"),
        ("commit", info.get("git_commit") or "—"),
        ("content", info.get("content_hash") or "—"),
        ("started", info["started_at"]),
        ("ended", info["finished_at"] or "—"),
    ]
    if info.get("resumed_from"):
        facts.append(("resumed", info["resumed_from"]))
    for name, value in facts:
        console.print(Text.assemble((f"{name:>9}  ", "dim"), str(value)))
    console.print()
    for entry in timeline(events):
        line = Text(entry.at[11:19] + "  ", style="dim")
        if entry.type == "expectation":  # its text says ✓ held / ✗ did not hold
            line.append("  ")
        elif entry.ok is True:
            line.append("✓ ", style="green")
        elif entry.ok is False:
            line.append("✗ ", style="red")
        else:
            line.append("  ")
        line.append(visible(entry.text))
        console.print(line)
        if entry.block:
            lines = SHOW_OUTPUT_LINES if entry.type != "step_planned" else 10
            shown = visible(clip(entry.block, lines, 4000))
            if entry.block_lang:
                console.print(
                    Syntax(
                        shown,
                        entry.block_lang,
                        theme="ansi_dark",
                        word_wrap=True,
                        padding=(0, 0, 0, 12),
                    )
                )
            else:
                for text in shown.split("\n"):
                    console.print(Text(" " * 12 + text, style="dim"))
        if entry.columns:
            table = Table(box=None, padding=(0, 2, 0, 0), header_style="bold")
            for column in entry.columns:
                table.add_column(column, overflow="fold")
            for row in entry.rows:
                table.add_row(*("NULL" if v is None else visible(str(v)) for v in row))
            console.print(Padding(table, (0, 0, 0, 12)))
    raise typer.Exit(EXIT_OK)


@journal_app.command("export")
def export_cmd(
    run: RunArg,
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format", metavar="FORMAT", help="md: a postmortem timeline; json: all events."
        ),
    ] = ExportFormat.md,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write to this file instead of stdout.",
            dir_okay=False,
        ),
    ] = None,
    journal: JournalOpt = None,
) -> None:
    """One run as a Markdown timeline for a postmortem, or as JSON; secrets masked."""
    with Journal(journal) as book:
        text = book.export(run, fmt.value)
    if output is None:
        print(visible(text), end="")  # a terminal must not run escapes kept in the journal
        raise typer.Exit(EXIT_OK)
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise OpsdocError(
            f"cannot write the export: {exc.strerror or exc}", path=str(output)
        ) from None
    render.errors.print(Text(f"wrote {output}", style="dim"))
    raise typer.Exit(EXIT_OK)


VERDICT_TEXT = {
    "ok": "ok",
    "broken": "BROKEN",
    "unsigned": "not chained",
    "other_key": "other key",
}


@journal_app.command("verify")
def verify_cmd(
    run: Annotated[
        str | None,
        typer.Argument(metavar="[RUN]", help="A run id or prefix; every run when left out."),
    ] = None,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            metavar="MAC",
            help="The chain head an export of RUN carries: "
            "also proves no events were removed from the run's end.",
        ),
    ] = None,
    as_json: JsonOpt = False,
    journal: JournalOpt = None,
) -> None:
    """Check each run's chain of MACs: exit 0 when every one holds, 1 when any does not."""
    if head and not run:
        raise OpsdocError("--head needs a RUN", hint="opsdoc journal verify RUN --head MAC")
    with Journal(journal) as book:
        checks = book.verify(run, head.strip().lower() if head else None)
        where = book.where
    failed = [c for c in checks if c.verdict != "ok"]
    if as_json:
        print(json.dumps([dataclasses.asdict(c) for c in checks], indent=2, ensure_ascii=False))
        raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)
    if not checks:
        render.errors.print(Text(f"no runs yet in {where}", style="dim"))
        raise typer.Exit(EXIT_OK)
    for check in checks if run or failed else []:
        style = "green" if check.verdict == "ok" else "bold red"
        line = Text(f"{check.run_id}  ")
        line.append(VERDICT_TEXT[check.verdict], style=style)
        line.append(f"  {check.events} events")
        if check.why:
            line.append(f": {check.why}")
        render.console.print(line)
    ok = len(checks) - len(failed)
    summary = f"{ok} of {len(checks)} runs verified in {where}"
    if failed:
        summary += f"; {len(failed)} did not"
    render.errors.print(Text(summary, style="red" if failed else "dim"))
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)
