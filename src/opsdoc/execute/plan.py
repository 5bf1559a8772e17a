"""Planning a run: which steps, which option, every parameter resolved.

Everything that can go wrong before anything runs goes wrong here, at
once: an unknown step number, alternatives with no option chosen, every
missing parameter named in one message. Nothing in this module touches the
world.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from opsdoc.errors import OpsdocError
from opsdoc.model import PHASES, Param, Runbook, Section, Step
from opsdoc.parse import cells
from opsdoc.parse.params import shell_sets

# The section id of `run FILE --all`: every cell of the file, ':all:a,b' for categories.
ALL_CELLS = ":all"


@dataclass
class PlannedStep:
    number: int  # 1-based among the section's executable steps, as `opsdoc show` numbers them
    step: Step


@dataclass
class Plan:
    runbook: Runbook
    section: Section
    steps: list[PlannedStep]
    values: dict[str, str] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # names of secret params


def option_matches(option: str | None, wanted: Iterable[str]) -> bool:
    """Whether a step's option is one the user chose ("A", "railway" for "Railway CLI")."""
    if option is None:
        return True
    low = option.lower()
    return any(low == w.lower() or low.startswith(w.lower()) for w in wanted)


def select_steps(
    section: Section,
    *,
    only: str | None = None,
    numbers: Iterable[int] = (),
    start: int | None = None,
    options: Iterable[str] = (),
) -> list[PlannedStep]:
    """The steps of a section a run will go through, in order."""
    steps = [PlannedStep(n, s) for n, s in enumerate(section.steps, 1) if s.executable]
    count = len(steps)
    wanted = sorted(set(numbers))
    for number in [*wanted, *([start] if start else [])]:
        if not 1 <= number <= count:
            raise OpsdocError(
                f"no step {number} in #{section.id}",
                hint=f"it has {count} executable steps; `opsdoc show` numbers them",
            )
    if only is not None and only not in PHASES:
        raise OpsdocError(f"--only takes diagnose, act or verify, not {only!r}")
    if wanted:
        steps = [p for p in steps if p.number in wanted]
    if start:
        steps = [p for p in steps if p.number >= start]
    if only:
        steps = [p for p in steps if p.step.phase == only]
    chosen = list(options)
    if chosen:
        offered = {p.step.option for p in steps if p.step.option}
        if offered and not any(option_matches(o, chosen) for o in offered):
            raise OpsdocError(
                f"no option {', '.join(chosen)} in #{section.id}",
                hint="options here: " + ", ".join(sorted(offered)),
            )
        steps = [p for p in steps if option_matches(p.step.option, chosen)]
    return steps


def alternatives(steps: list[PlannedStep]) -> list[str]:
    """The distinct options among the planned steps, in order of appearance."""
    seen: dict[str, None] = {}
    for planned in steps:
        if planned.step.option:
            seen.setdefault(planned.step.option, None)
    return list(seen)


def required_params(steps: Iterable[PlannedStep]) -> list[Param]:
    """Every input the steps need, each once, in order of first use.

    A variable an earlier bash step of the plan sets is not an input: the run
    carries it to the steps after (execute/cell_env.py), as Runme does.
    """
    out: dict[str, Param] = {}
    assigned: set[str] = set()
    for planned in steps:
        step = planned.step
        for param in step.params:
            if not (param.source == "env" and param.name in assigned):
                out.setdefault(param.name, param)
        if step.lang == "bash":
            assigned |= shell_sets(step.code)
    return list(out.values())


def env_name(name: str) -> str:
    """The environment variable that may carry a placeholder's value."""
    return "OPSDOC_PARAM_" + re.sub(r"[^A-Za-z0-9]+", "_", name).upper()


def resolve_params(
    params: list[Param],
    *,
    given: Mapping[str, str],
    config: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
    ask: Callable[[Param], str] | None = None,
    missing_ok: bool = False,
) -> dict[str, str]:
    """A value for every param: --param, then the environment, the config,
    the runbook's default, and last the user (when there is one to ask).

    Without anyone to ask, every missing param is named in one error before
    anything runs; ``missing_ok`` (a dry run, which runs nothing) leaves them out.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    missing: list[Param] = []
    for param in params:
        for source in (given, environ, config):
            keys = (param.name, env_name(param.name)) if source is environ else (param.name,)
            value = next((source[k] for k in keys if k in source), None)
            if value is not None:
                values[param.name] = value
                break
        else:
            if param.default is not None:
                values[param.name] = param.default
            elif ask is not None:
                values[param.name] = ask(param)
            else:
                missing.append(param)
    if missing and not missing_ok:
        names = ", ".join(p.name + (" (secret)" if p.secret else "") for p in missing)
        first = missing[0]
        variable = first.name if first.source == "env" else env_name(first.name)
        raise OpsdocError(
            f"missing parameters: {names}",
            hint=f"pass --param {first.name}=VALUE, set {variable} in the environment, "
            "or run interactively",
        )
    return values


def parse_param_args(items: Iterable[str]) -> dict[str, str]:
    """``NAME=VALUE`` pairs from repeated --param options."""
    out: dict[str, str] = {}
    for item in items:
        name, eq, value = item.partition("=")
        if not eq or not name.strip():
            raise OpsdocError(f"--param takes NAME=VALUE, not {item!r}")
        out[name.strip().strip("<>")] = value
    return out


def all_cells_id(wanted: Iterable[str]) -> str:
    chosen = sorted(set(wanted))
    return ALL_CELLS + (":" + ",".join(chosen) if chosen else "")


def all_cells(runbook: Runbook, anchor: str) -> Section:
    """``run FILE --all``: the file's cells that run, in file order, as one section.

    Cells marked ``excludeFromRunAll`` are left out, as Runme leaves them;
    with categories in ``anchor`` (see all_cells_id) only cells in one of
    them are kept. The id is kept in the journal, so a resume finds the
    same steps.
    """
    wanted = {c for c in anchor[len(ALL_CELLS) + 1 :].split(",") if c}
    steps = [
        item
        for _, item in runbook.cells()
        if isinstance(item, Step)
        and item.executable
        and cells.in_run_all(item.attrs)
        and (not wanted or wanted & cells.categories(item.attrs))
    ]
    title = "every cell" + (f" in {', '.join(sorted(wanted))}" if wanted else "")
    last = max((s.end_line for s in runbook.sections), default=1)
    return Section(anchor, title, "procedure", 1, 1, last, steps=steps)


def step_cwd(folder: Path | None, front: object, cell: object) -> Path | None:
    """Where a step runs, chained as Runme chains it: the runbook's folder, then the
    front matter's ``cwd`` (relative to it), then the cell's ``cwd`` (relative to that)."""
    where = folder
    for value in (front, cell):
        if isinstance(value, str) and value.strip():
            step = Path(os.path.expanduser(value.strip()))
            where = step if step.is_absolute() or where is None else where / step
    return Path(os.path.normpath(where)) if where is not None else None
