"""The run loop: gate each step, execute it, check what it printed, journal it all.

The runner owns policy (what may run without asking) and the journal; the
executors own the mechanics; the user interface (a terminal, JSON lines,
later the web UI) is a :class:`RunUI` it talks to. Every event is masked
before the journal or the UI sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from opsdoc import events as ev
from opsdoc.config import Target
from opsdoc.execute import (
    COMMIT_WAIT,
    Confirmation,
    EnvChange,
    StepInterrupted,
    StepOutcome,
    cell_env,
)
from opsdoc.execute.cancel import Cancelled, CancelToken
from opsdoc.execute.decisions import Decision, Policy, recorded, refusal_why
from opsdoc.execute.expect import holds
from opsdoc.execute.plan import (
    Plan,
    PlannedStep,
    alternatives,
    option_matches,
    required_params,
)
from opsdoc.execute.resume import code_hash, without_committed
from opsdoc.execute.step_run import StepHooks, describe
from opsdoc.execute.step_run import dispatch as run_step
from opsdoc.journal import RunLog
from opsdoc.mask import Masker
from opsdoc.model import Step, to_dict

EXIT_OK, EXIT_FAILED, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 3, 130


Choice = str  # "run" | "skip" | "quit" | "option:<label>"


class RunUI(Protocol):
    """The person (or script) on the other end of a run."""

    def event(self, event: ev.RunEvent) -> None: ...

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None: ...

    def choose(self, planned: PlannedStep, options: list[str]) -> Choice: ...

    def confirm(self, request: Confirmation) -> bool: ...

    def keep_going(self, reason: str) -> bool: ...


@dataclass
class RunSettings:
    policy: Policy
    target: Target | None = None
    user: str = ""
    cwd: Path | None = None
    env: Mapping[str, str] | None = None
    options: list[str] = field(default_factory=list)
    finished_before: dict[int, str] = field(default_factory=dict)  # step number -> code hash
    # Seconds an open transaction may wait at a commit prompt before PostgreSQL rolls it back.
    commit_wait: float = COMMIT_WAIT
    # Resume: statements (1-based) an interrupted step already committed, by step number.
    committed_before: dict[int, set[int]] = field(default_factory=dict)
    resumed_from: str | None = None  # the run this one goes on with
    resume_notes: list[str] = field(default_factory=list)  # how its steps were matched


class Runner:
    def __init__(
        self,
        plan: Plan,
        settings: RunSettings,
        runlog: RunLog,
        masker: Masker,
        ui: RunUI,
        cancel: CancelToken | None = None,
    ) -> None:
        self.plan = plan
        self.settings = settings
        self.runlog = runlog
        self.masker = masker
        self.ui = ui
        self._current: PlannedStep | None = None
        self.interrupt_reason = "Ctrl-C"  # the CLI sets SIGTERM or SIGHUP before raising
        self.cancel = cancel or CancelToken()  # stop() from any thread
        self.status = ""  # how the run ended: ok, failed, refused, stopped, interrupted, cancelled
        self._index_map: list[int] = []  # resumed SQL step: its statements' original numbers
        self.run_env = cell_env.RunEnv()  # what earlier bash steps exported or unset
        self._inputs: dict[str, Any] | None = None  # the plan's inputs, by name

    def emit(self, event: ev.RunEvent) -> None:
        """Journal an event and show it; both see only masked data."""
        type, step, data = ev.encode(event)
        data = self.masker.mask_data(data)
        if isinstance(event, ev.RunFinished):
            self.status = event.status
        self.runlog.event(type, step=step, **data)
        self.ui.event(ev.decode(type, step, data))

    def skipped(self, planned: PlannedStep, why: str) -> None:
        self.emit(ev.StepSkipped(step=planned.number, why=why))

    # -- the loop ------------------------------------------------------------

    def run(self) -> int:
        exit_code = EXIT_OK
        chosen = list(self.settings.options)
        taken: dict[str | None, str] = {}  # a group's option a person ran: the others are not
        if self.settings.resumed_from:
            self.emit(
                ev.RunResumed(
                    resumed_from=self.settings.resumed_from, notes=self.settings.resume_notes
                )
            )
        try:
            for index, planned in enumerate(self.plan.steps):
                self.cancel.check()
                step = planned.step
                last = index == len(self.plan.steps) - 1
                if planned.number in self.settings.finished_before:
                    self.emit(
                        ev.StepSkipped(
                            step=planned.number,
                            why="finished in the run being resumed",
                            finished=True,  # a resume of this run skips it too
                            code_hash=code_hash(step),
                        )
                    )
                    continue
                if step.option and chosen and not option_matches(step.option, chosen):
                    self.skipped(planned, f"option {step.option} not chosen")
                    continue
                if step.option and taken.get(step.group, step.option) != step.option:
                    self.skipped(planned, f"option {taken[step.group]} was run instead")
                    continue
                self.emit(describe(planned))
                decision = self.gate(planned, self._others(planned))
                if decision == "quit":
                    self.emit(ev.RunFinished(status="stopped", exit_code=exit_code))
                    return exit_code
                if decision.startswith("option:"):
                    chosen = [decision.split(":", 1)[1]]
                    if not option_matches(step.option, chosen):
                        self.skipped(planned, f"option {step.option} not chosen")
                        continue
                    decision = "run"
                if step.option and decision == "run":
                    taken[step.group] = step.option
                if decision == "skip":
                    self.skipped(planned, "skipped by the user")
                    continue
                if decision == "refused":
                    decided = self.settings.policy.decide(step.safety, self.settings.user)
                    self.emit(
                        ev.StepRefused(
                            step=planned.number,
                            safety=step.safety,
                            **decided.journaled(),
                            why=refusal_why(f"a {step.safety} step", step.safety),
                        )
                    )
                    exit_code = EXIT_REFUSED
                    break
                result = self.execute(planned)
                if result == EXIT_REFUSED:
                    exit_code = EXIT_REFUSED
                    if not self.settings.policy.interactive:
                        break
                elif result == EXIT_FAILED:
                    exit_code = EXIT_FAILED
                    if last or not (
                        self.settings.policy.interactive
                        and self.ui.keep_going(f"step {planned.number} did not succeed")
                    ):
                        break
        except StepInterrupted as exc:
            cancelled = exc.outcome.status == "cancelled"
            if not cancelled:
                exc.outcome.status = "interrupted"
            self.finish_step(exc.outcome, self._current)
            return self._interrupted(cancelled)
        except Cancelled:
            return self._interrupted(True)
        except KeyboardInterrupt:
            return self._interrupted(False)
        status = {EXIT_OK: "ok", EXIT_FAILED: "failed", EXIT_REFUSED: "refused"}[exit_code]
        self.emit(ev.RunFinished(status=status, exit_code=exit_code))
        return exit_code

    def stop(self, reason: str) -> bool:
        """Cancel the run from any thread: the step's processes stop, its query is cancelled
        and its transaction rolled back; False if it was already stopping."""
        return self.cancel.cancel(reason)

    def _interrupted(self, cancelled: bool) -> int:
        status = "cancelled" if cancelled else "interrupted"
        why = f"cancelled: {self.cancel.reason}" if cancelled else self.interrupt_reason
        self.emit(ev.RunInterrupted(step=self._current_number(), why=why, status=status))
        self.emit(ev.RunFinished(status=status, exit_code=EXIT_INTERRUPTED))
        return EXIT_INTERRUPTED

    def _current_number(self) -> int | None:
        return self._current.number if self._current else None

    def _others(self, planned: PlannedStep) -> list[str]:
        """The options a person may switch to at this step: its own group's, if it has one."""
        step = planned.step
        if not step.option:
            return []
        return alternatives([p for p in self.plan.steps if p.step.group == step.group])

    def gate(self, planned: PlannedStep, options: list[str]) -> str:
        """run, skip, quit, option:X, or refused (the policy does not permit it)."""
        policy = self.settings.policy
        if policy.interactive:
            return self.ui.choose(planned, options)
        if policy.permits(planned.step.safety):
            return "run"
        return "refused"

    def execute(self, planned: PlannedStep) -> int:
        step = planned.step
        policy = self.settings.policy
        self._current = planned
        self._ask_missing(planned)
        user = self.settings.user
        decision = Decision(True, user, "prompt" if policy.interactive else "policy")
        if policy.needs_approval(step.safety):
            decision = self._approval(planned)
        why = f"not approved by {decision.by or 'anyone'}"
        why += f": {decision.reason}" if decision.reason else ""
        about = {"step": planned.number, "kind": "step", "safety": step.safety}
        self.emit(recorded(decision, why, requested_by=user, **about))
        if not decision.granted:
            return EXIT_REFUSED
        self.emit(ev.StepStarted(step=planned.number))
        hooks = StepHooks(self, planned)
        done = self.settings.committed_before.get(planned.number)
        if done and step.lang == "sql":
            step = self._resumed_sql(planned, done)
            if step is None:
                outcome = StepOutcome(status="ok", exit_code=0)
                return self.finish_step(outcome, planned)
        try:
            outcome = self.dispatch(step, hooks)
        finally:
            hooks.journaled.close()
        code = self.finish_step(outcome, planned)
        if outcome.status == "refused" and hooks.needed:
            self.emit(
                ev.StepRefused(
                    step=planned.number,
                    safety=step.safety,
                    needs=hooks.needed,
                    why=refusal_why("a statement", hooks.needed),
                )
            )
        return code

    def _ask_missing(self, planned: PlannedStep) -> None:
        """Interactive: ask for the inputs this step needs and nobody gave, now, not upfront."""
        ask = getattr(self.ui, "ask_param", None)
        if self._inputs is None:
            self._inputs = {p.name: p for p in required_params(self.plan.steps)}
        values = self.plan.values
        wanted = [
            self._inputs[p.name]
            for p in planned.step.params
            if p.name in self._inputs and p.name not in values
        ]
        if not wanted or ask is None or not self.settings.policy.interactive:
            return
        given = {}
        for param in {p.name: p for p in wanted}.values():
            values[param.name] = ask(param)
            if param.secret:
                self.plan.secrets.add(param.name)
                self.masker.add(values[param.name])
            given[param.name] = values[param.name]
        self.emit(ev.ParamsGiven(step=planned.number, values=given))

    def _approval(self, planned: PlannedStep) -> Decision:
        """Wait, through the front end, for someone other than the runner to approve."""
        user, number = self.settings.user, planned.number
        wait = getattr(self.ui, "await_approval", None)
        self.emit(ev.ApprovalRequested(step=number, safety=planned.step.safety, requested_by=user))
        while True:
            if wait is None:
                return Decision(
                    False, "", "approval", reason="this front end cannot take an approval"
                )
            decision: Decision = wait(planned, user, self.cancel)
            if decision.by and decision.by != user:
                return decision
            self.emit(
                ev.ApprovalRefused(
                    step=number,
                    by=decision.by,
                    requested_by=user,
                    why="the person who runs a step cannot approve it; another person must",
                )
            )

    def _resumed_sql(self, planned: PlannedStep, done: set[int]) -> Step | None:
        """The step minus what the run being resumed committed; None when nothing is left."""
        from opsdoc.classify.sql import classify_sql

        step = planned.step
        statements = step.statements or classify_sql(
            step.code, line=step.line, placeholders=[p.name for p in step.params]
        )
        rest, kept = without_committed(step, done, statements)
        self._index_map = kept  # results renumbered back, so a later resume still matches
        for index in sorted(done):
            text = statements[index - 1].text if index <= len(statements) else ""
            self.emit(
                ev.StatementSkipped(
                    step=planned.number,
                    index=index,
                    text=text,
                    why="committed in the run being resumed; not run again",
                )
            )
        return rest if rest.statements else None

    def dispatch(self, step: Step, hooks: StepHooks) -> StepOutcome:
        return run_step(self, step, hooks)

    def carry(self, change: EnvChange, number: int) -> None:
        for value in self.run_env.carry(change):
            self.masker.add(value)
        if change.exported or change.refused or change.unset:
            self.emit(ev.EnvCarried(step=number, **cell_env.journaled(change)))

    def finish_step(self, outcome: StepOutcome, planned: PlannedStep) -> int:
        number = planned.number
        kept, self._index_map = self._index_map, []
        for result in outcome.statements:
            if kept and 1 <= result.index <= len(kept):
                result.index = kept[result.index - 1]
            data = to_dict(result)
            data["rows"] = [list(row) for row in data.get("rows") or []]
            self.emit(ev.Statement(step=number, **data))
        code = EXIT_OK
        if outcome.status == "ok":
            missed = []
            for expected in planned.step.expect:
                held = holds(expected, outcome.output, outcome.statements)
                self.emit(ev.Expectation(step=number, expected=expected, held=held))
                if not held:
                    missed.append(expected)
            if missed:  # it ran, but not as the runbook says it should: not ok
                code = EXIT_FAILED
                outcome.status = "failed"
                outcome.error = "expected output not seen: " + "; ".join(missed)
        elif outcome.status == "refused":
            code = EXIT_REFUSED
        elif outcome.status in ("failed", "timeout"):
            code = EXIT_FAILED
        self.emit(
            ev.StepFinished(
                step=number,
                status=outcome.status,
                exit_code=outcome.exit_code,
                duration=round(outcome.duration, 3),
                error=outcome.error,
                rowcount=sum(r.rowcount or 0 for r in outcome.statements) or None,
                code_hash=code_hash(planned.step),
            )
        )
        return code
