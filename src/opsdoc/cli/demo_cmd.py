"""``opsdoc demo``: a real incident on embedded defaults, end to end.

Starts the embedded PostgreSQL, loads the Parcelbay example schema with the
"label worker stalled" fault, and runs that scenario from the example
runbooks against it. External CLIs the scenario calls (kubectl) come from
clearly labelled stand-ins in ``examples/lab/bin``. ``--keep`` leaves the
server running and prints the ``--target`` to run the examples against;
``--stop`` stops it.
"""

from __future__ import annotations

import os
import shlex
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
DATABASE = "parcelbay_demo"


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
        Path | None, typer.Option("--examples", metavar="DIR", help="The examples folder.")
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", metavar="FILE#SECTION", help="FILE#SECTION in examples.")
    ] = SCENARIO,
    journal: Annotated[
        Path | None, typer.Option("--journal", metavar="FILE", help="Journal file.")
    ] = None,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep", help="Leave the PostgreSQL running and print the --target to run against."
        ),
    ] = False,
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop a PostgreSQL that --keep left running.")
    ] = False,
) -> None:
    """Start an embedded PostgreSQL with a fault and run an example scenario on it."""
    console = render.console
    if stop:
        where = lab.data_dir()
        said = (
            f"Stopped the embedded PostgreSQL in {where}."
            if lab.stop()
            else f"No embedded PostgreSQL is running in {where}; nothing to stop."
        )
        console.print(Text(said), soft_wrap=True)
        raise typer.Exit(0)
    folder = examples or _examples()
    console.print(Text(f"Starting the embedded PostgreSQL in {lab.data_dir()} ...", style="dim"))
    server = lab.start(keep=keep)
    files = [folder / "lab" / "schema.sql", folder / "lab" / "faults.sql"]
    dsn = lab.fresh_database(server, DATABASE, files)
    console.print(
        Text("Loaded the Parcelbay lab with its faults (examples/lab/faults.sql).", style="dim")
    )
    stand_ins = folder / "lab" / "bin"
    os.environ["PATH"] = f"{stand_ins}{os.pathsep}{os.environ.get('PATH', '')}"
    interactive = sys.stdin.isatty()
    if not interactive:
        console.print(
            Text("No terminal to ask on: running with --yes --allow write.", style="bold yellow")
        )
    try:
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
    finally:  # the run ends with its exit code; the server outlives it with --keep
        if keep:
            _print_kept(dsn, folder / scenario, stand_ins)


def _print_kept(dsn: str, scenario: Path, stand_ins: Path) -> None:
    """How to use the server --keep left running, and how to stop it."""
    target = lab.shown_dsn(dsn)
    command = (
        f'PATH={shlex.quote(_short(stand_ins))}:"$PATH" opsdoc run '
        f"{shlex.quote(_short(scenario))} --target {shlex.quote(target)}"
    )
    lines = [
        "",
        f"The embedded PostgreSQL is still running (--keep), with the lab in {DATABASE}.",
        f"Target: {target}",
        "Run a scenario against it (kubectl and the other CLIs are stand-ins from the lab):",
        f"  {command}",
        "Stop it with:",
        "  opsdoc demo --stop",
    ]
    for line in lines:
        render.console.print(Text(line), soft_wrap=True)


def _short(path: Path) -> str:
    """A path relative to the working directory when it lies below it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative
