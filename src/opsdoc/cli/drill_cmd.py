"""``opsdoc drill PATH...``: prove in a sandbox that each scenario's fix clears its fault.

Reads every drill first (a bad drill file stops everything with exit 2
before any database starts), starts one PostgreSQL, runs the drills one
after another, prints ``PASS``/``FAIL`` per drill as it finishes, and exits
0 when all passed, 1 when any failed.
"""

from __future__ import annotations

import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from opsdoc.cli import render
from opsdoc.cli.app import app
from opsdoc.drill.driver import DrillContext, run_drill
from opsdoc.drill.files import read_drills
from opsdoc.drill.junit import describe, write_junit
from opsdoc.drill.sandbox import Sandbox
from opsdoc.drill.spec import DrillResult
from opsdoc.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from opsdoc.journal import Journal


@app.command("drill")
def drill_cmd(
    paths: Annotated[
        list[Path], typer.Argument(help="Drill files or drills/ folders.", metavar="PATH")
    ],
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            metavar="DSN",
            help="A sandbox PostgreSQL (DSN) instead of the embedded one.",
        ),
    ] = None,
    journal: Annotated[
        str | None,
        typer.Option(
            "--journal", metavar="FILE|DSN", help="Keep the drills' runs in this journal."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", metavar="FILE", help="Write JUnit XML here.")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show phases and step output.")
    ] = False,
) -> None:
    """Run drills: inject a fault, run the scenario, check the fault is gone."""
    drills = read_drills(paths)
    began = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="opsdoc-drill-journal-"))
    sandbox = Sandbox(target)
    store: Journal | None = None
    results: list[DrillResult] = []
    interrupted = False
    previous_term = signal.signal(signal.SIGTERM, _term_as_interrupt)
    try:
        store = Journal(journal or scratch / "journal.sqlite3")
        if not as_json:
            where = "the sandbox PostgreSQL" if target else "an embedded PostgreSQL"
            _note(f"{_drills(len(drills))}; starting {where} ...")
        sandbox.start()
        echo = _echo if verbose else None
        ctx = DrillContext(sandbox=sandbox, journal=store, echo=echo)
        for drill in drills:
            if echo:
                echo(f"{drill.name} ({drill.where})")
            result = run_drill(drill, ctx)
            results.append(result)
            if not as_json:
                _print_result(result)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        if store is not None:
            store.close()
        sandbox.close()
        shutil.rmtree(scratch, ignore_errors=True)
    if interrupted:
        render.errors.print(
            Text("interrupted: the drill was stopped and its sandbox removed", style="bold red")
        )
        raise typer.Exit(EXIT_INTERRUPTED)
    elapsed = time.monotonic() - began
    failed = sum(not r.passed for r in results)
    if junit is not None:
        write_junit(results, junit)
    if as_json:
        print(json.dumps(_document(results, elapsed), indent=2, ensure_ascii=False))
    else:
        summary = f"{_drills(len(results))}: {len(results) - failed} passed, {failed} failed"
        render.console.print(
            Text(f"{summary} ({elapsed:.1f}s)", style="bold red" if failed else "bold green")
        )
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def _term_as_interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _drills(count: int) -> str:
    return f"{count} drill" + ("" if count == 1 else "s")


def _note(text: str) -> None:
    render.errors.print(Text(text, style="dim"))


def _echo(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _print_result(result: DrillResult) -> None:
    line = Text()
    if result.passed:
        line.append("PASS", style="bold green")
    else:
        line.append("FAIL", style="bold red")
    line.append(f" {result.drill.name} ({result.duration:.1f}s)")
    render.console.print(line)
    if not result.passed:
        render.console.print(Text(f"     {describe(result)}", style="red"), soft_wrap=True)


def _document(results: list[DrillResult], elapsed: float) -> dict[str, Any]:
    rows = []
    for result in results:
        drill, failure = result.drill, result.failure
        rows.append(
            {
                "name": drill.name,
                "id": drill.id,
                "file": drill.file,
                "line": drill.line,
                "runbook": str(drill.runbook),
                "section": drill.section,
                "status": "pass" if result.passed else "fail",
                "duration": round(result.duration, 3),
                "phases": result.phases,
                "run_id": result.run_id,
                "failure": None
                if failure is None
                else {
                    "phase": failure.phase,
                    "message": failure.message,
                    "line": failure.line,
                    "step": failure.step,
                    "text": describe(result),
                },
            }
        )
    failed = sum(not r.passed for r in results)
    return {
        "drills": rows,
        "summary": {
            "total": len(results),
            "passed": len(results) - failed,
            "failed": failed,
            "duration": round(elapsed, 3),
        },
    }
