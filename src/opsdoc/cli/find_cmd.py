"""``opsdoc find``: from a symptom, a pasted log or an alert to the right scenario."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from opsdoc.cli import render
from opsdoc.cli.app import app
from opsdoc.errors import EXIT_FAILED, OpsdocError
from opsdoc.mask import Masker
from opsdoc.search import Hit, Index, Query, default_path, search, to_query
from opsdoc.search.index.fields import parse_for_index

_MASKER = Masker()


def _read_stdin(what: str) -> bytes:
    """Raw bytes: a pasted log may hold a stray byte that is not UTF-8."""
    if sys.stdin.isatty():
        raise OpsdocError(f"no {what} given", hint="pass it as an argument or pipe it in")
    return sys.stdin.buffer.read()


@app.command("find")
def find_cmd(
    query: Annotated[
        str | None, typer.Argument(metavar="QUERY", help="Error line, symptom or '-' for stdin.")
    ] = None,
    roots: Annotated[
        list[Path], typer.Option("--in", metavar="PATH", help="Runbooks to search (repeatable).")
    ] = [],  # noqa: B006
    limit: Annotated[int, typer.Option("--limit", metavar="N", help="How many hits.")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    alert: Annotated[
        str | None, typer.Option("--alert", metavar="FILE", help="Alert payload file, or -.")
    ] = None,
    open_best: Annotated[bool, typer.Option("--open", help="Show the best hit.")] = False,
    index_path: Annotated[
        Path | None, typer.Option("--index", metavar="FILE", help="Index file.")
    ] = None,
) -> None:
    """Find the runbook section that answers an error, a symptom or an alert."""
    folders = roots or [Path.cwd()]
    if not roots:  # say where: a search of a home folder's whole tree surprises
        print(f"searching runbooks under {Path.cwd()} (--in FOLDER to choose)", file=sys.stderr)
    for folder in folders:
        if not folder.exists():
            raise OpsdocError("no such file or directory", path=str(folder))
    understood = _understand(query, alert)
    index = Index(index_path or default_path(folders))
    try:
        _refresh(index, folders)
        hits = search(index, understood, limit=limit)
    finally:
        index.close()
    if as_json:
        print(json.dumps([_row(h) for h in hits], indent=2, ensure_ascii=False))
    elif not hits:
        print(
            "nothing matches; try other words, or --in the folder that holds your runbooks",
            file=sys.stderr,
        )
    else:
        _print(hits)
    if hits and open_best and not as_json:
        from opsdoc.cli.read_cmds import show_cmd

        render.console.print()
        show_cmd(target=f"{hits[0].file}#{hits[0].id}", as_json=False, max_size="5MB")
    raise typer.Exit(0 if hits else EXIT_FAILED)


def _understand(query: str | None, alert: str | None) -> Query:
    if alert is not None:
        if alert == "-":
            payload = _read_stdin("alert payload")
        else:
            try:
                payload = Path(alert).read_bytes()  # from_alert says when it is not UTF-8
            except OSError as exc:
                raise OpsdocError(f"cannot read the alert: {exc.strerror}", path=alert) from None
        try:
            return to_query(payload, alert=True)
        except OpsdocError as exc:
            if alert != "-" and exc.path is None:
                exc.path = alert  # say which file, when it was one
            raise
    if query in (None, "-"):
        query = _read_stdin("query").decode("utf-8", errors="replace")
    return to_query(query or "")


def _refresh(index: Index, folders: list[Path]) -> None:
    def warn(message: str) -> None:
        print(f"warning: {message}", file=sys.stderr)

    first = index.is_empty()
    with render.progress("indexing runbooks", wanted=first) as progress:
        stats = index.update(folders, parse=parse_for_index, on_file=progress, on_warning=warn)
    if first and stats.files:
        render.errors.print(Text(f"indexed {stats.read} runbooks into {index.path}", style="dim"))
    if not stats.files:  # say why there is nothing to search, not "nothing matches"
        from opsdoc.load import no_runbooks

        for folder in folders:
            if folder.is_dir():
                print(f"error: {no_runbooks(folder)}", file=sys.stderr)
        raise typer.Exit(EXIT_FAILED)


def _row(hit: Hit) -> dict:
    return {
        "file": hit.file,
        "id": hit.id,
        "title": hit.title,
        "kind": hit.kind,
        "score": hit.score,
        "why": _masked(hit.why),
        "line": hit.line,
    }


def _masked(why: list[str]) -> list[str]:
    """A pasted log may hold a token; what find echoes back goes through the masker."""
    return [_MASKER.mask(reason) for reason in why]


def _print(hits: list[Hit]) -> None:
    console = render.console
    for rank, hit in enumerate(hits, 1):
        head = Text(f"{rank}. ")
        head.append(hit.title, style="bold")
        head.append(f"  [{hit.kind}]  ", style="dim")
        head.append(f"{hit.file}#{hit.id}", style="cyan")
        head.append(f"  score {hit.score:.1f}", style="dim")
        console.print(head)
        for reason in _masked(hit.why):
            line = Text("     ")
            if reason.startswith("signal "):
                line.append(reason, style="bold green")
            else:
                name, _, found = reason.partition(": ")
                line.append(f"{name}: ", style="dim")
                line.append(found, style="green")
            console.print(line)
