"""One step's mechanics: the hooks an executor talks through, and the executor for its language.

The runner decides whether a step runs; this module runs it: SQL to
:mod:`~opsdoc.execute.sql`, the rest to :mod:`~opsdoc.execute.process`,
with output shown and journaled as it comes and confirmations answered
by the run's policy or its front end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from opsdoc import events as ev
from opsdoc.execute import Confirmation, StepOutcome, cell_env
from opsdoc.execute.decisions import Decision, recorded, refusal_why
from opsdoc.execute.output_log import StepOutput
from opsdoc.execute.plan import PlannedStep, step_cwd
from opsdoc.execute.terminal import terminal_rows
from opsdoc.model import Safety, Step, to_dict

if TYPE_CHECKING:
    from opsdoc.execute.runner import Runner

DEFAULT_TIMEOUT = 300.0


class StepHooks:
    """Executor hooks for one step: mask and show output, answer confirmations."""

    def __init__(self, runner: Runner, planned: PlannedStep) -> None:
        self.runner = runner
        self.planned = planned
        self.needed: Safety | None = None  # the permission a refused statement lacked
        self.journaled = StepOutput(self._journal, runner.masker.mask)
        self.cancel = runner.cancel  # executors check it and are woken by it

    def _journal(self, text: str, stream: str, truncated: bool) -> None:
        # Straight to the journal: the UI saw this chunk already, through output().
        _, step, data = ev.encode(
            ev.Output(self.planned.number, text=text, stream=stream, truncated=truncated)
        )
        self.runner.runlog.event("output", step=step, **data)

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None:
        self.runner.ui.output(self.runner.masker.mask(text), stream)
        self.journaled.add(text, stream)

    def mask(self, text: str) -> str:
        """For executors that cut text (cells, capture caps): mask before cutting."""
        return self.runner.masker.mask(text)

    def confirm(self, request: Confirmation) -> bool:
        runner = self.runner
        masked = Confirmation(**runner.masker.mask_data(to_dict(request)))
        user = runner.settings.user
        if runner.settings.policy.interactive:
            decision = Decision(runner.ui.confirm(masked), user, "prompt")
            why = f"the {request.kind} was declined at the prompt"
        else:
            decision = runner.settings.policy.decide(request.safety, user)
            why = refusal_why(f"the {request.kind}", request.safety)
            self.needed = decision.needs
        runner.emit(
            recorded(
                decision,
                why,
                step=self.planned.number,
                kind=request.kind,
                safety=request.safety,
                statement=request.statement,
                rowcount=request.rowcount,
            )
        )
        return decision.granted


def dispatch(runner: Runner, step: Step, hooks: StepHooks) -> StepOutcome:
    """Run one step with the executor for its language."""
    values = {
        p.name: runner.plan.values[p.name] for p in step.params if p.name in runner.plan.values
    }
    timeout = step.timeout or DEFAULT_TIMEOUT
    if step.lang == "sql":
        target = runner.settings.target
        if target is None:
            return StepOutcome(
                status="failed",
                error="this step is SQL and no target is set; pass --target NAME|DSN",
            )
        from opsdoc.execute.sql import run_sql

        return run_sql(
            step,
            dsn=target.dsn,
            values=values,
            hooks=hooks,
            timeout=step.timeout,
            read_dsn=target.read_dsn,
            idle_limit=runner.settings.commit_wait,
        )
    from opsdoc.execute.process import run_process

    for value in cell_env.literal_secrets(step.code) if step.lang == "bash" else []:
        runner.masker.add(value)

    outcome = run_process(
        step,
        values=values,
        hooks=hooks,
        timeout=timeout,
        cwd=step_cwd(
            runner.settings.cwd, runner.plan.runbook.metadata.get("cwd"), step.attrs.get("cwd")
        ),
        env=runner.run_env.for_step(runner.settings.env),
        interpreter=asked_interpreter(step, runner.plan.runbook.metadata),
        terminal=terminal_rows(step.attrs),
    )
    if outcome.env is not None:
        runner.carry(outcome.env, hooks.planned.number)
    if outcome.status == "failed" and outcome.exit_code is None and step.option:
        # The same step's other ways, from the whole section, not just this plan.
        others: dict[str, None] = {}
        for other in runner.plan.section.steps:
            if other.group == step.group and other.option not in (None, step.option):
                others.setdefault(other.option, None)
        if others and outcome.error:
            outcome.error += "; other options for this step: " + ", ".join(others)
    return outcome


def asked_interpreter(step: Step, metadata: Mapping[str, Any]) -> str | None:
    """The cell's ``interpreter``, else for a shell step the front matter's ``shell``."""
    asked = step.attrs.get("interpreter")
    if not asked and step.lang == "bash":
        asked = metadata.get("shell")
    return asked if isinstance(asked, str) else None


def describe(planned: PlannedStep) -> ev.StepPlanned:
    step = planned.step
    return ev.StepPlanned(
        step=planned.number,
        title=step.title,
        phase=step.phase,
        lang=step.lang,
        safety=step.safety,
        option=step.option,
        group=step.group,
        line=step.line,
        code=step.code,
        params=[p.name for p in step.params],
        reasons=list(step.safety_reasons),
    )
