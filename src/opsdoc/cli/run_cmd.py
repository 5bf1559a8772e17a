"""``opsdoc run FILE#SECTION``: the on-call engineer's main job.

Interactive on a terminal (each step shown, then run / skip / option /
quit; commits typed out); for scripts, ``--yes`` with ``--allow write`` or
``--allow destructive`` decides instead, and a step that needs more stops
the run with exit code 3 naming the flag.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from opsdoc.cli import render
from opsdoc.cli.app import app
from opsdoc.cli.cells_cmd import cell_step, named_cell
from opsdoc.cli.param_file import read_param_file, warn_secret_args
from opsdoc.cli.read_cmds import split_target
from opsdoc.cli.run_ui import FLAGS, JsonUI, TerminalUI, resolved_code
from opsdoc.cli.signals import interrupts_as_ctrl_c
from opsdoc.config import Target, dsn_password, load_config
from opsdoc.errors import OpsdocError
from opsdoc.execute import COMMIT_WAIT
from opsdoc.execute.plan import (
    ALL_CELLS,
    Plan,
    all_cells,
    all_cells_id,
    alternatives,
    parse_param_args,
    required_params,
    resolve_params,
    select_steps,
)
from opsdoc.execute.process import interpreter_problem
from opsdoc.execute.resume import ResumeState, ask_again, load_state, match_steps, runbook_path
from opsdoc.execute.runner import Policy, Runner, RunSettings, asked_interpreter
from opsdoc.identity import current as current_identity
from opsdoc.journal import Journal
from opsdoc.mask import Masker
from opsdoc.model import Runbook, Section
from opsdoc.parse.cells import categories as cell_categories
from opsdoc.read import read_runbook


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
    allowed = _allowed(allow)
    # JSON lines are for scripts: never prompt, let --yes and --allow decide.
    interactive = sys.stdin.isatty() and not yes and not as_json
    cfg_hint = Path(split_target(target)[0]) if target else Path.cwd()
    settings_journal = journal
    finished: dict[int, str] = {}
    committed: dict[int, set[int]] = {}
    given = parse_param_args(param)
    warn_secret_args(given)
    if param_file:
        given = {**read_param_file(param_file), **given}
    resumed_from = None
    state = _resume_state(resume, journal, config, cfg_hint) if resume else None
    if state is not None:
        resumed_from = state.run_id
        target = f"{runbook_path(state)}#{state.section}"
        given = {**state.params, **given}
        db = db or state.target_arg
        option = option or state.options
        step = step or state.steps
        only = only or state.only
        start = start or state.start
    if not target:
        raise OpsdocError("run needs FILE#SECTION", hint="`opsdoc list FILE` shows the sections")
    path, anchor = split_target(target)
    if every_cell or category:
        if anchor or not every_cell:
            raise OpsdocError(
                "--all runs a whole file; --category goes with it",
                hint=f"opsdoc run {path} --all [--category NAME]",
            )
        anchor = all_cells_id(category)
    cfg = load_config(config, near=Path(path))
    runbook = read_runbook(path, command_rules=cfg.command_rules, sql_rules=cfg.sql_rules)
    section, cell_step = _section(runbook, anchor, path)
    numbers = step or cell_step
    planned = select_steps(section, only=only, numbers=numbers, start=start, options=option)
    if not planned:
        raise OpsdocError(
            f"nothing to run in {_shown(section)}",
            path=path,
            hint=_nothing_hint(runbook, section),
        )
    notes: list[str] = []
    if state is not None:
        finished, committed, notes = match_steps(state, select_steps(section), runbook.sha256)
        ask_again(state, given, cfg.params, interactive)
    offered = alternatives(planned)
    if not interactive and not option and len(offered) > 1:
        raise OpsdocError(
            f"#{section.id} offers alternatives: {', '.join(offered)}",
            hint="choose one with --option LABEL",
        )
    tgt = cfg.target(db)
    # A dry run connects to nothing and runs nothing: what it lacks is in the plan.
    if tgt is None and any(p.step.lang == "sql" for p in planned) and not dry_run:
        raise OpsdocError(
            f"#{section.id} has SQL steps and no target is set",
            hint="pass --target NAME|DSN, or set default_target in opsdoc.toml",
        )
    params = required_params(planned)
    ui: TerminalUI | JsonUI = JsonUI() if as_json else TerminalUI(interactive)
    values = resolve_params(
        params,
        given=given,
        config=cfg.params,
        ask=ui.ask_param if interactive and not dry_run else None,
        missing_ok=dry_run,
    )
    masker = Masker([values[p.name] for p in params if p.secret and p.name in values])
    if tgt and tgt.password:
        masker.add(tgt.password)
    if tgt and tgt.read_dsn and (read_password := dsn_password(tgt.read_dsn)):
        masker.add(read_password)
    plan = Plan(runbook, section, planned, values, {p.name for p in params if p.secret})
    if dry_run:
        _print_plan(plan, tgt, masker, allowed, yes, as_json)
        raise typer.Exit(0)
    store = Journal(settings_journal or cfg.journal)
    who = current_identity()
    user = who.user
    runlog = store.start_run(
        runbook=str(Path(path).resolve()),  # a resume from another folder finds the same file
        section=section.id,
        content_hash=runbook.sha256,
        user=user,
        host=socket.gethostname(),
        target=masker.mask(tgt.label()) if tgt else None,
        git_commit=_git_commit(Path(path)),
        params={p.name: values[p.name] for p in params if p.name in values and not p.secret},
        argv=masker.mask_data(sys.argv[1:]),
        masker=masker,
        resumed_from=resumed_from,
        identity=who.fields(),
    )
    runlog.event(
        "run_options",
        options=option,
        only=only,
        steps=numbers,
        start=start,
        cell=anchor if cell_step else None,
        target_arg=db if db and tgt and tgt.name != "dsn" else None,
    )
    ui.started(runlog.id, plan, tgt, masker)
    if state is not None:
        runlog.event("run_resumed", resumed_from=state.run_id, notes=notes)
        ui.event("run_resumed", {"step": None, "resumed_from": state.run_id, "notes": notes})
    settings = RunSettings(
        policy=Policy(interactive=interactive, yes=yes, allow=allowed),
        target=tgt,
        user=user,
        cwd=Path(
            os.path.abspath(path)
        ).parent,  # as given: a cwd chain climbs the path the user sees
        options=option,
        finished_before=finished,
        committed_before=committed,
        commit_wait=commit_wait,
    )
    runner = Runner(plan, settings, runlog, masker, ui)
    with interrupts_as_ctrl_c(runner):
        code = runner.run()
    ui.finished(runlog.id, code, runner.status)
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


def _section(runbook: Runbook, anchor: str | None, path: str) -> tuple[Section, list[int]]:
    """The section a run goes through, and the step to run when ``anchor`` names a cell."""
    if not anchor:
        ids = ", ".join(s.id for s in runbook.walk() if s.steps)
        raise OpsdocError(
            "run needs a section or a cell: FILE#SECTION or FILE#CELL",
            path=path,
            hint=f"sections with steps: {ids}; `opsdoc list --cells {path}` names the cells; "
            "--all runs every cell",
        )
    if anchor.startswith(ALL_CELLS + ":") or anchor == ALL_CELLS:
        return all_cells(runbook, anchor), []
    section = runbook.find(anchor)
    if section is not None and not named_cell(runbook, anchor):
        return section, []
    section, step = cell_step(runbook, anchor, path)
    return section, [section.steps.index(step) + 1]


def _git_commit(path: Path) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", str(path.resolve().parent), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _resume_state(run_id: str, journal: str | None, config: Path | None, near: Path) -> ResumeState:
    """Where a run left off: its runbook, section, params and what it finished."""
    cfg = load_config(config, near=near)
    store = Journal(journal or cfg.journal)
    return load_state(store.events(store.resolve(run_id)))


def _print_plan(
    plan: Plan,
    tgt: Target | None,
    masker: Masker,
    allowed: frozenset[str],
    yes: bool,
    as_json: bool,
) -> None:
    policy = Policy(interactive=False, yes=yes, allow=allowed)
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
    missing = [p.name for p in required_params(plan.steps) if p.name not in plan.values]
    if as_json:
        data = {"section": plan.section.id, "target": tgt.shown() if tgt else None, "steps": rows}
        print(json.dumps({**data, "missing_params": missing}, indent=2, ensure_ascii=False))
        return
    console = render.console
    console.print(
        Text(
            f"Plan for {_shown(plan.section)}" + (f" on {tgt.shown()}" if tgt else ""), style="bold"
        )
    )
    if missing:
        console.print(Text(f"a run needs --param for: {', '.join(missing)}", style="yellow"))
    if tgt is None and any(row["lang"] == "sql" for row in rows):
        console.print(Text("a run needs --target NAME|DSN for its SQL steps", style="yellow"))
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


def _shown(section: Section) -> str:
    """How a plan names what it runs: ``#id``, or for ``--all`` "every cell"."""
    return section.title if section.id.startswith(ALL_CELLS) else f"#{section.id}"


def _nothing_hint(runbook: Runbook, section: Section) -> str:
    if section.id.startswith(ALL_CELLS + ":"):
        known = sorted({c for _, item in runbook.cells() for c in cell_categories(item.attrs)})
        return "categories here: " + (", ".join(known) or "none") + " (names match exactly)"
    return "it has no executable steps for these filters"
