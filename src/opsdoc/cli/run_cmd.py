"""``opsdoc run FILE#SECTION``: the on-call engineer's main job.

Interactive on a terminal (each step shown, then run / skip / option /
quit; commits typed out); for scripts, ``--yes`` with ``--allow write`` or
``--allow destructive`` decides instead, and a step that needs more stops
the run with exit code 3 naming the flag.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from opsdoc.cli import render
from opsdoc.cli.app import app
from opsdoc.cli.param_file import read_param_file, warn_secret_args
from opsdoc.cli.run_ui import FLAGS, JsonUI, TerminalUI, resolved_code
from opsdoc.cli.signals import interrupts_as_ctrl_c
from opsdoc.errors import OpsdocError
from opsdoc.execute import COMMIT_WAIT
from opsdoc.execute.decisions import Policy
from opsdoc.execute.plan import alternatives, parse_param_args
from opsdoc.execute.process import interpreter_problem
from opsdoc.execute.session import RunRequest, Session, prepare, shown
from opsdoc.execute.step_run import asked_interpreter


@app.command("run")
def run_cmd(
    target: Annotated[
        str | None,
        typer.Argument(
            metavar="FILE#SECTION",
            help="The section to run, or a cell by its Runme name (FILE#CELL); FILE with --all.",
        ),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Run read steps without asking (see --allow for more)."),
    ] = False,
    allow: Annotated[
        list[str],
        typer.Option(
            "--allow", metavar="LEVEL", help="Also run write or destructive steps without asking."
        ),
    ] = [],  # noqa: B006
    param: Annotated[
        list[str],
        typer.Option("--param", "-p", metavar="NAME=VALUE", help="A param's value (repeatable)."),
    ] = [],  # noqa: B006
    param_file: Annotated[
        str | None,
        typer.Option(
            "--param-file", metavar="FILE", help="NAME=VALUE lines from FILE, or - (stdin)."
        ),
    ] = None,
    option: Annotated[
        list[str], typer.Option("--option", metavar="LABEL", help="Choose an alternative.")
    ] = [],  # noqa: B006
    only: Annotated[
        str | None, typer.Option("--only", metavar="PHASE", help="diagnose, act or verify.")
    ] = None,
    step: Annotated[
        list[int], typer.Option("--step", metavar="N", help="Run step N (repeatable).")
    ] = [],  # noqa: B006
    every_cell: Annotated[
        bool,
        typer.Option("--all", help="Run every cell of FILE in order, as `runme run --all` does."),
    ] = False,
    category: Annotated[
        list[str],
        typer.Option(
            "--category",
            "--tag",
            metavar="NAME",
            help="With --all: only cells in this category (repeatable).",
        ),
    ] = [],  # noqa: B006
    start: Annotated[
        int | None, typer.Option("--from", metavar="N", help="Start at step N.")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--target", metavar="NAME|DSN", help="Target name or DSN.")
    ] = None,
    journal: Annotated[
        str | None,
        typer.Option("--journal", metavar="FILE|DSN", help="Journal file or postgresql:// DSN."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", metavar="FILE", help="opsdoc.toml to use.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan, run nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Events as JSON lines.")] = False,
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="RUN", help="Continue run RUN.")
    ] = None,
    commit_wait: Annotated[
        float,
        typer.Option(
            "--commit-wait",
            metavar="SECONDS",
            min=1,
            help="Seconds a commit prompt may wait before PostgreSQL rolls back by itself.",
        ),
    ] = COMMIT_WAIT,
) -> None:
    """Run a scenario's steps safely, and journal every action."""
    # JSON lines are for scripts: never prompt, let --yes and --allow decide.
    interactive = sys.stdin.isatty() and not yes and not as_json
    given = parse_param_args(param)
    warn_secret_args(given)
    if param_file:
        given = {**read_param_file(param_file), **given}
    session = prepare(
        RunRequest(
            ref=target,
            params=given,
            options=list(option),
            only=only,
            steps=list(step),
            start=start,
            every_cell=every_cell,
            categories=list(category),
            target=db,
            journal=journal,
            config=config,
            resume=resume,
            interactive=interactive,
            yes=yes,
            allow=_allowed(allow),
            dry_run=dry_run,
            commit_wait=commit_wait,
            argv=sys.argv[1:],
        )
    )
    if dry_run:
        _print_plan(session, as_json)
        raise typer.Exit(0)
    ui: TerminalUI | JsonUI = JsonUI() if as_json else TerminalUI(interactive)
    runner = session.start(ui)
    if isinstance(ui, TerminalUI) and (journal or session.config.journal):
        ui.journal_arg = " --journal " + shlex.quote(runner.runlog.journal.where)
    ui.started(runner.runlog.id, session.plan, session.target, session.masker)
    with interrupts_as_ctrl_c(runner):
        code = runner.run()
    ui.finished(runner.runlog.id, code, runner.status)
    raise typer.Exit(code)


def _allowed(values: list[str]) -> frozenset[str]:
    out = set()
    for value in values:
        for part in value.split(","):
            part = part.strip().lower()
            if part not in ("write", "destructive"):
                raise OpsdocError(f"--allow takes write or destructive, not {part!r}")
            out.add(part)
    return frozenset(out)


def _print_plan(session: Session, as_json: bool) -> None:
    """What a run would do, and what it lacks (params, a target): nothing is asked."""
    plan, tgt, masker = session.plan, session.target, session.masker
    policy = Policy(interactive=False, yes=session.policy.yes, allow=session.policy.allow)
    rows = []
    for planned in plan.steps:
        step = planned.step
        rows.append(
            {
                "step": planned.number,
                "name": step.name,
                "line": step.line,
                "phase": step.phase,
                "lang": step.lang,
                "safety": step.safety,
                "option": step.option,
                "title": step.title,
                "needs": None if policy.permits(step.safety) else FLAGS[step.safety],
                "problem": interpreter_problem(
                    step.lang, asked_interpreter(step, plan.runbook.metadata)
                )
                if step.lang in ("bash", "python")
                else None,
                "code": masker.mask(resolved_code(step.code, plan.values, masker)),
            }
        )
    missing = session.missing_params
    offered = alternatives(plan.steps)
    choose = offered if len(offered) > 1 and not session.request.options else []
    if as_json:
        data = {"section": plan.section.id, "target": tgt.shown() if tgt else None, "steps": rows}
        data |= {"missing_params": missing, "missing_target": session.missing_target}
        print(json.dumps({**data, "alternatives": choose}, indent=2, ensure_ascii=False))
        return
    console = render.console
    console.print(
        Text(
            f"Plan for {shown(plan.section)}" + (f" on {tgt.shown()}" if tgt else ""), style="bold"
        )
    )
    if missing:
        console.print(Text(f"a run needs --param for: {', '.join(missing)}", style="yellow"))
    if session.missing_target:
        console.print(Text("a run needs --target NAME|DSN for its SQL steps", style="yellow"))
    if choose:
        line = f"a run without a terminal needs --option, one of: {', '.join(choose)}"
        console.print(Text(line, style="yellow"))
    for row in rows:
        needs = f"  (needs {row['needs']})" if row["needs"] else ""
        console.print(
            Text(
                f"{row['step']}. {row['phase']} · {row['lang']} · {row['safety']}"
                + (f" · option {row['option']}" if row["option"] else "")
                + needs
            )
        )
        console.print(Text(row["code"].rstrip(), style="dim"))
        if row["problem"]:
            console.print(Text(f"   a run will fail here: {row['problem']}", style="yellow"))
