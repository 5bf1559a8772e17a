"""``opsdoc demo``: a real incident on embedded defaults, end to end.

Starts the embedded PostgreSQL, loads the Parcelbay example schema with the
"label worker stalled" fault, and runs that scenario from the example
runbooks against it. External CLIs the scenario calls (kubectl) come from
clearly labelled stand-ins in ``examples/lab/bin``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from opsdoc import lab
from opsdoc.cli import render
from opsdoc.cli.app import app
from opsdoc.cli.run_cmd import run_cmd
from opsdoc.errors import OpsdocError

SCENARIO = "label-worker.md#scenario-label-worker-stalled"


def _examples() -> Path:
    here = Path(__file__).resolve()
    for folder in (Path.cwd(), *here.parents):
        candidate = folder / "examples"
        if (candidate / "lab" / "schema.sql").is_file():
            return candidate
    raise OpsdocError(
        "cannot find the example runbooks",
        hint="run from the opsdoc checkout, or pass --examples DIR",
    )


@app.command("demo")
def demo_cmd(
    examples: Annotated[
        Path | None, typer.Option("--examples", help="The examples folder.")
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", help="FILE#SECTION in examples.")
    ] = SCENARIO,
    journal: Annotated[Path | None, typer.Option("--journal", help="Journal file.")] = None,
) -> None:
    """Start an embedded PostgreSQL with a fault and run an example scenario on it."""
    folder = examples or _examples()
    console = render.console
    console.print(Text(f"Starting the embedded PostgreSQL in {lab.data_dir()} ...", style="dim"))
    server = lab.start()
    files = [folder / "lab" / "schema.sql", folder / "lab" / "faults.sql"]
    dsn = lab.fresh_database(server, "parcelbay_demo", files)
    console.print(
        Text("Loaded the Parcelbay lab with its faults (examples/lab/faults.sql).", style="dim")
    )
    os.environ["PATH"] = f"{folder / 'lab' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    interactive = sys.stdin.isatty()
    if not interactive:
        console.print(
            Text("No terminal to ask on: running with --yes --allow write.", style="bold yellow")
        )
    run_cmd(
        target=str(folder / scenario),
        yes=not interactive,
        allow=[] if interactive else ["write"],
        param=[],
        option=[],
        only=None,
        step=[],
        start=None,
        db=dsn,
        journal=journal,
        config=None,
        dry_run=False,
        as_json=False,
        resume=None,
    )
