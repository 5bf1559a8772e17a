"""One run, built from plain arguments: what the CLI, drills and the server share.

:func:`prepare` reads the runbook, picks the section (or cell), plans the
steps, resolves params from every source, finds the target, builds the
masker and the policy, and loads the run being resumed. It writes nothing
and connects to nothing, so a dry run is a prepared session that is never
started. :meth:`Session.start` opens the journal, writes ``run_started``
and returns the :class:`~opsdoc.execute.runner.Runner`; a front end only
adds itself (a terminal, JSON lines, a browser) and calls ``run()``.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from opsdoc.config import Config, Target, dsn_password, load_config
from opsdoc.errors import OpsdocError
from opsdoc.execute import COMMIT_WAIT
from opsdoc.execute.cancel import CancelToken
from opsdoc.execute.decisions import Policy
from opsdoc.execute.plan import (
    ALL_CELLS,
    Plan,
    all_cells,
    all_cells_id,
    alternatives,
    required_params,
    resolve_params,
    select_steps,
)
from opsdoc.execute.resume import ResumeState, ask_again, load_state, match_steps, runbook_path
from opsdoc.execute.runner import Runner, RunSettings, RunUI
from opsdoc.identity import Identity
from opsdoc.identity import current as current_identity
from opsdoc.journal import Journal
from opsdoc.lookup import cell_step, named_cell, split_target
from opsdoc.mask import Masker
from opsdoc.model import Param, Runbook, Section
from opsdoc.read import read_runbook


@dataclass
class RunRequest:
    """What a front end asks for, as plain values (a CLI's flags, a form, a drill file)."""

    ref: str | None = None  # FILE#SECTION, FILE#CELL, or FILE with every_cell
    params: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)
    only: str | None = None  # a phase: diagnose, act or verify
    steps: list[int] = field(default_factory=list)
    start: int | None = None
    every_cell: bool = False
    categories: list[str] = field(default_factory=list)
    target: str | Target | None = None  # a name, a DSN, or a Target a drill made
    journal: str | Path | None = None  # None: opsdoc.toml's, else the default
    config: Path | None = None
    resume: str | None = None  # a run id (or prefix) to go on with
    interactive: bool = False
    yes: bool = False
    allow: frozenset[str] = frozenset()
    two_person: frozenset[str] = frozenset()
    dry_run: bool = False
    commit_wait: float = COMMIT_WAIT
    identity: Identity | None = None  # None: the OS account running opsdoc
    argv: list[str] = field(default_factory=list)
    cwd: Path | None = None  # None: the runbook's folder, as the path was given
    env: Mapping[str, str] | None = None  # the steps' environment; None: opsdoc's own
    environ: Mapping[str, str] | None = None  # where params are looked up; None: os.environ
    config_params: bool = True  # False (drills): opsdoc.toml's params stay out


@dataclass
class Session:
    """A run ready to start (or, for a dry run, to be shown)."""

    request: RunRequest
    config: Config
    runbook: Runbook
    section: Section
    plan: Plan
    target: Target | None
    policy: Policy
    masker: Masker
    params: list[Param]  # every input the planned steps take
    anchor: str  # the section id or cell name the run was asked for
    cell_numbers: list[int]  # the anchor named one cell: its step's number
    state: ResumeState | None = None
    notes: list[str] = field(default_factory=list)  # how a resume matched the steps
    finished: dict[int, str] = field(default_factory=dict)
    committed: dict[int, set[int]] = field(default_factory=dict)

    @property
    def missing_params(self) -> list[str]:
        return [p.name for p in self.params if p.name not in self.plan.values]

    @property
    def missing_target(self) -> bool:
        return self.target is None and any(p.step.lang == "sql" for p in self.plan.steps)

    @property
    def path(self) -> str:
        return self.runbook.path

    def settings(self, cancel: CancelToken | None = None) -> RunSettings:
        req = self.request
        return RunSettings(
            policy=self.policy,
            target=self.target,
            user=self.identity.user,
            # as given: a cwd chain climbs the path the user sees, symlinks and all
            cwd=req.cwd or Path(os.path.abspath(self.path)).parent,
            env=req.env,
            options=list(req.options),
            finished_before=self.finished,
            committed_before=self.committed,
            commit_wait=req.commit_wait,
            resumed_from=self.state.run_id if self.state else None,
            resume_notes=list(self.notes),
        )

    @property
    def identity(self) -> Identity:
        return self.request.identity or current_identity()

    def open_journal(self) -> Journal:
        return Journal(self.request.journal or self.config.journal)

    def start(
        self, ui: RunUI, journal: Journal | None = None, cancel: CancelToken | None = None
    ) -> Runner:
        """Write ``run_started`` (and the run's options) and return the runner to run."""
        if self.request.dry_run:
            raise OpsdocError("a dry run is not started", hint="leave out --dry-run to run it")
        journal = journal or self.open_journal()
        who = self.identity
        values, secret = self.plan.values, self.plan.secrets
        runlog = journal.start_run(
            runbook=str(Path(self.path).resolve()),  # a resume from elsewhere finds the file
            section=self.section.id,
            content_hash=self.runbook.sha256,
            user=who.user,
            host=socket.gethostname(),
            target=self.masker.mask(self.target.label()) if self.target else None,
            git_commit=_git_commit(Path(self.path)),
            params={
                p.name: values[p.name]
                for p in self.params
                if p.name in values and p.name not in secret
            },
            argv=self.masker.mask_data(list(self.request.argv)),
            masker=self.masker,
            resumed_from=self.state.run_id if self.state else None,
            identity=who.fields(),
        )
        req = self.request
        named = req.target if isinstance(req.target, str) else None  # a name a resume reuses
        runlog.event(
            "run_options",
            options=req.options,
            only=req.only,
            steps=req.steps or self.cell_numbers,
            start=req.start,
            cell=self.anchor if self.cell_numbers else None,
            target_arg=named if named and self.target and self.target.name != "dsn" else None,
        )
        return Runner(self.plan, self.settings(cancel), runlog, self.masker, ui, cancel)


def prepare(req: RunRequest) -> Session:
    """Everything a run needs, checked before anything runs; raises OpsdocError."""
    state = _resume_state(req) if req.resume else None
    given = dict(req.params)
    if state is not None:
        req.ref = f"{runbook_path(state)}#{state.section}"
        given = {**state.params, **given}
        req.target = req.target or state.target_arg
        req.options = req.options or state.options
        req.steps = req.steps or state.steps
        req.only = req.only or state.only
        req.start = req.start or state.start
    if not req.ref:
        raise OpsdocError("run needs FILE#SECTION", hint="`opsdoc list FILE` shows the sections")
    path, anchor = split_target(req.ref)
    if req.every_cell or req.categories:
        if anchor or not req.every_cell:
            raise OpsdocError(
                "--all runs a whole file; --category goes with it",
                hint=f"opsdoc run {path} --all [--category NAME]",
            )
        anchor = all_cells_id(req.categories)
    cfg = load_config(req.config, near=Path(path))
    runbook = read_runbook(path, command_rules=cfg.command_rules, sql_rules=cfg.sql_rules)
    section, cell_numbers = _section(runbook, anchor, path)
    planned = select_steps(
        section,
        only=req.only,
        numbers=req.steps or cell_numbers,
        start=req.start,
        options=req.options,
    )
    if not planned:
        raise OpsdocError(
            f"nothing to run in {shown(section)}", path=path, hint=_nothing_hint(runbook, section)
        )
    finished: dict[int, str] = {}
    committed: dict[int, set[int]] = {}
    notes: list[str] = []
    if state is not None:
        finished, committed, notes = match_steps(state, select_steps(section), runbook.sha256)
        ask_again(state, given, cfg.params if req.config_params else {}, req.interactive)
    offered = alternatives(planned)
    if not req.interactive and not req.options and len(offered) > 1 and not req.dry_run:
        raise OpsdocError(
            f"#{section.id} offers alternatives: {', '.join(offered)}",
            hint="choose one with --option LABEL",
        )
    target = req.target if isinstance(req.target, Target) else cfg.target(req.target)
    if target is None and any(p.step.lang == "sql" for p in planned) and not req.dry_run:
        raise OpsdocError(
            f"#{section.id} has SQL steps and no target is set",
            hint="pass --target NAME|DSN, or set default_target in opsdoc.toml",
        )
    params = required_params(planned)
    # Interactive: what is missing is asked when the step that needs it comes
    # (an option not taken asks nothing); a dry run only names what is missing.
    values = resolve_params(
        params,
        given=given,
        config=cfg.params if req.config_params else {},
        environ=req.environ,
        missing_ok=req.dry_run or req.interactive,
    )
    secrets = {p.name for p in params if p.secret}
    masker = Masker([values[name] for name in secrets if name in values])
    if target and target.password:
        masker.add(target.password)
    if target and target.read_dsn and (read_password := dsn_password(target.read_dsn)):
        masker.add(read_password)
    return Session(
        request=req,
        config=cfg,
        runbook=runbook,
        section=section,
        plan=Plan(runbook, section, planned, values, secrets),
        target=target,
        policy=Policy(
            interactive=req.interactive, yes=req.yes, allow=req.allow, two_person=req.two_person
        ),
        masker=masker,
        params=params,
        anchor=anchor or "",
        cell_numbers=cell_numbers,
        state=state,
        notes=notes,
        finished=finished,
        committed=committed,
    )


def shown(section: Section) -> str:
    """How a plan names what it runs: ``#id``, or for ``--all`` "every cell"."""
    return section.title if section.id.startswith(ALL_CELLS) else f"#{section.id}"


def _resume_state(req: RunRequest) -> ResumeState:
    """Where a run left off: its runbook, section, params and what it finished."""
    near = Path(split_target(req.ref)[0]) if req.ref else Path.cwd()
    cfg = load_config(req.config, near=near)
    with Journal(req.journal or cfg.journal) as store:
        return load_state(store.events(store.resolve(req.resume or "")))


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


def _nothing_hint(runbook: Runbook, section: Section) -> str:
    from opsdoc.parse.cells import categories

    if section.id.startswith(ALL_CELLS + ":"):
        known = sorted({c for _, item in runbook.cells() for c in categories(item.attrs)})
        return "categories here: " + (", ".join(known) or "none") + " (names match exactly)"
    return "it has no executable steps for these filters"


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
