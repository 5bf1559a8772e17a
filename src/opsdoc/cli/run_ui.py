"""How ``opsdoc run`` talks: to a person at a terminal, or to a script in JSON lines.

Both get only masked data from the runner. The terminal one also makes
text from runbooks, steps and the database safe to print (control
characters shown as escapes) and asks its questions, the commit prompt
with its time limit among them.
"""

from __future__ import annotations

import getpass
import json
import sys
import time
from dataclasses import replace
from typing import Any, Literal

from rich.text import Text

from opsdoc import events as ev
from opsdoc.cli import render
from opsdoc.cli.prompt import ask_until, clock
from opsdoc.cli.safe_text import visible
from opsdoc.config import Target
from opsdoc.errors import OpsdocError
from opsdoc.execute import Confirmation
from opsdoc.execute.plan import (
    Plan,
    PlannedStep,
)
from opsdoc.mask import Masker
from opsdoc.model import Param
from opsdoc.parse.params import PLACEHOLDER


def resolved_code(code: str, values: dict[str, str], masker: Masker) -> str:
    """The code as it will run, for people: placeholders shown with their values."""

    def sub(match: Any) -> str:
        name = match.group(1)
        return masker.mask(values[name]) if name in values else match.group(0)

    return PLACEHOLDER.sub(sub, code)


# The permission a refusal names, as the flag that grants it on the command line.
FLAGS = {"read": "--yes", "write": "--allow write", "destructive": "--allow destructive"}


# -- user interfaces ------------------------------------------------------------


class TerminalUI:
    """A person at a terminal: steps rendered, questions asked on stdin."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.console = render.console
        self.values: dict[str, str] = {}
        self.masker = Masker()
        self.total = 0
        self.titles: dict[tuple[str | None, str | None], str] = {}  # (group, option) -> title
        self.journal_arg = ""  # " --journal X" when the run's journal is not the default
        self.closed = False  # stdin reached its end

    def started(self, run_id: str, plan: Plan, tgt: Target | None, masker: Masker) -> None:
        self.values, self.masker = plan.values, masker
        self.titles = {}
        for planned in plan.steps:
            key = (planned.step.group, planned.step.option)
            if planned.step.option and planned.step.title:
                self.titles.setdefault(key, planned.step.title)
        self.total = sum(1 for s in plan.section.steps if s.executable)
        where = f" against {masker.mask(tgt.shown())}" if tgt else ""
        line = visible(f"Run {run_id}: {plan.section.title}{where}")
        self.console.print(Text(line, style="bold"))
        self.console.print(
            Text(f"journal: opsdoc journal show {run_id}{self.journal_arg}", style="dim")
        )

    def finished(self, run_id: str, code: int, status: str = "") -> None:
        words = {0: "done", 1: "failed", 3: "stopped: not allowed", 130: "interrupted"}
        said = "stopped by you" if status == "stopped" else words.get(code, "ended")
        if status == "cancelled":
            said = "cancelled"
        ok = code == 0 and status != "stopped"
        self.console.print(
            Text(
                f"Run {run_id} {said} (exit {code})",
                style="bold green" if ok else ("bold yellow" if code == 0 else "bold red"),
            )
        )
        if code in (1, 130) or status == "stopped":
            self.console.print(
                Text(
                    f"to go on where it stopped: opsdoc run --resume {run_id}{self.journal_arg}",
                    style="dim",
                )
            )

    def event(self, event: ev.RunEvent) -> None:
        type, step, data = ev.encode(event)
        # titles, code, errors: written by the runbook or the server, shown without escapes
        e = ev.decode(type, step, _visible_data(data))
        say = self.console.print
        if isinstance(e, ev.StepPlanned):
            head = Text(f"\nStep {step}/{self.total} · ")
            head.append(e.phase, style=render.PHASE_STYLE.get(e.phase, ""))
            head.append(f" · {e.lang} · ")
            head.append(e.safety, style=render.SAFETY_STYLE.get(e.safety, ""))
            if e.option:
                head.append(f" · option {e.option}", style="bold")
            if e.group:
                head.append(f" · {e.group}", style="dim")
            say(head)
            if e.title:
                say(Text(f"  {e.title}", style="italic"))
            code = resolved_code(e.code, self.values, self.masker)
            render.code(self.masker.mask(code), e.lang, e.line)
        elif isinstance(e, ev.StepRefused):
            hint = f" (pass {FLAGS[e.needs]})" if e.needs in FLAGS else ""
            say(Text(f"  refused: {e.why}{hint}", style="bold red"))
        elif isinstance(e, ev.ApprovalRequested):
            say(Text(f"  waiting for another person to approve step {step}", style="yellow"))
        elif isinstance(e, ev.ApprovalRefused):
            say(Text(f"  approval by {e.by} refused: {e.why}"))
        elif isinstance(e, ev.StepSkipped):
            say(Text(f"  skipped step {step}: {e.why}", style="dim"))
        elif isinstance(e, ev.StatementSkipped):
            line = f"  skipped statement {e.index} of step {step}: {e.why}"
            say(Text(line, style="yellow"))
        elif isinstance(e, ev.EnvCarried):
            parts = []
            if e.exported:
                parts.append("the next steps see " + ", ".join(e.exported))
            if e.unset:
                parts.append("unset for them: " + ", ".join(e.unset))
            if e.refused:
                parts.append("not carried (they choose what runs): " + ", ".join(e.refused))
            say(Text("  " + "; ".join(parts), style="dim"))
        elif isinstance(e, ev.RunResumed):
            for note in [f"resuming run {e.resumed_from}", *e.notes]:
                say(Text(f"  {note}", style="yellow"))
        elif isinstance(e, ev.Expectation):
            mark = "✓" if e.held else "✗"
            say(Text(f"  {mark} expected: {e.expected}", style="green" if e.held else "bold red"))
        elif isinstance(e, ev.StepFinished):
            line = f"  step {step} {e.status} in {e.duration or 0:.2f}s"
            if e.error:
                line += f": {e.error}"
            say(Text(line, style="green" if e.status == "ok" else "bold red"))
        elif isinstance(e, ev.RunInterrupted):
            what = "cancelled" if e.status == "cancelled" else "interrupted"
            say(Text(f"  {what}: nothing left running, open work rolled back", style="bold red"))

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None:
        sys.stdout.write(visible(text))  # escapes in output must not repaint the screen
        sys.stdout.flush()

    def ask(self, question: str) -> str:
        self.console.print(Text(question, style="bold"), end="")
        try:
            return input().strip()
        except EOFError:
            self.closed = True  # Ctrl-D: nobody is left to answer
            return ""

    def ask_param(self, param: Param) -> str:
        prompt = f"{param.name}{' (secret, not shown)' if param.secret else ''}: "
        if param.secret:
            return getpass.getpass(prompt)
        return self.ask(prompt)

    def choose(self, planned: PlannedStep, options: list[str]) -> str:
        letters = "[r]un / [s]kip / " + ("[o]ther option / " if options else "") + "[q]uit"
        while True:
            answer = self.ask(f"  {letters}? ").lower()
            if answer in ("r", "run", "y", "yes"):
                return "run"
            if answer in ("s", "skip"):
                return "skip"
            if answer in ("q", "quit") or self.closed:
                return "quit"
            if answer not in ("o", "option") or not options:
                self.console.print(Text(f"  answer {letters.replace(' / ', ', ')}", style="dim"))
                continue
            if answer in ("o", "option") and options:
                group = planned.step.group
                for number, label in enumerate(options, 1):
                    title = self.titles.get((group, label))
                    line = f"    {number}. {label}" + (f": {title}" if title else "")
                    if label == planned.step.option:
                        line += "  (this one)"
                    self.console.print(Text(visible(line)))
                pick = self.ask("  which option? ")
                if pick.isdigit() and 1 <= int(pick) <= len(options):
                    return "option:" + options[int(pick) - 1]
                self.console.print(Text(f"  answer 1 to {len(options)}", style="dim"))

    def confirm(self, request: Confirmation) -> bool:
        request = replace(
            request, statement=visible(request.statement), reason=visible(request.reason)
        )
        if request.kind == "commit":
            # The executor has already shown the rows (RETURNING or the preview).
            rows = request.rowcount if request.rowcount is not None else "?"
            self.console.print(
                Text(
                    f"  {request.safety}: {rows} row(s) would change ({request.reason})",
                    style=render.SAFETY_STYLE.get(request.safety, ""),
                )
            )
            question = "  type commit to commit, anything else rolls back: "
            if not request.wait_limit:
                return self.ask(question) == "commit"
            at = time.strftime("%H:%M:%S", time.localtime(time.time() + request.wait_limit))
            self.console.print(
                Text(
                    f"  the transaction holds its locks while it waits: it rolls back at {at} "
                    f"(in {clock(request.wait_limit)}) if there is no answer",
                    style="yellow",
                )
            )
            self.console.print(Text(question, style="bold"), end="")
            answer = ask_until(request.wait_limit, lambda s: self.console.print(Text(s)))
            if answer is None:
                self.console.print(Text("\n  no answer in time: rolling back", style="yellow"))
            return answer == "commit"
        if request.kind == "autocommit":
            self.console.print(
                Text(
                    f"  {request.statement.strip()[:120]} cannot run inside a "
                    "transaction; there is no rollback.",
                    style="bold yellow",
                )
            )
            return self.ask("  type run to run it: ") == "run"
        self.console.print(Text(f"  {request.reason}", style="bold yellow"))
        return self.ask("  run it as a write? [y/N] ").lower() in ("y", "yes")

    def keep_going(self, reason: str) -> bool:
        return self.ask(f"  {reason}; continue with the next step? [y/N] ").lower() in ("y", "yes")


def _visible_data(value: Any) -> Any:
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {k: _visible_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_visible_data(v) for v in value]
    return value


class JsonUI:
    """Scripts: one JSON object per line on stdout, already masked."""

    def started(self, run_id: str, plan: Plan, tgt: Target | None, masker: Masker) -> None:
        self._line(
            {
                "type": "run_started",
                "run_id": run_id,
                "section": plan.section.id,
                "target": masker.mask(tgt.shown()) if tgt else None,
                "steps": len(plan.steps),
            }
        )

    def finished(self, run_id: str, code: int, status: str = "") -> None:
        self._line({"type": "exit", "run_id": run_id, "exit_code": code, "status": status})

    def event(self, event: ev.RunEvent) -> None:
        type, step, data = ev.encode(event)
        self._line({"type": type, "step": step, **data})

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None:
        self._line({"type": "output", "stream": stream, "text": text})

    def ask_param(self, param: Param) -> str:  # pragma: no cover - never interactive
        raise OpsdocError(f"missing parameter {param.name}")

    def choose(self, planned: PlannedStep, options: list[str]) -> str:
        return "run"

    def confirm(self, request: Confirmation) -> bool:
        return False

    def keep_going(self, reason: str) -> bool:
        return False

    @staticmethod
    def _line(data: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(data, default=str, ensure_ascii=False) + "\n")
        sys.stdout.flush()
