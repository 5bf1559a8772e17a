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
        self.console.print(Text(f"journal: opsdoc journal show {run_id}", style="dim"))

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
                Text(f"to go on where it stopped: opsdoc run --resume {run_id}", style="dim")
            )

    def event(self, type: str, data: dict[str, Any]) -> None:
        data = _visible_data(data)  # titles, code, errors: written by the runbook or the server
        step = data.get("step")
        if type == "step_planned":
            head = Text(f"\nStep {step}/{self.total} · ")
            head.append(data["phase"], style=render.PHASE_STYLE.get(data["phase"], ""))
            head.append(f" · {data['lang']} · ")
            head.append(data["safety"], style=render.SAFETY_STYLE.get(data["safety"], ""))
            if data.get("option"):
                head.append(f" · option {data['option']}", style="bold")
            if data.get("group"):
                head.append(f" · {data['group']}", style="dim")
            self.console.print(head)
            if data.get("title"):
                self.console.print(Text(f"  {data['title']}", style="italic"))
            code = resolved_code(data["code"], self.values, self.masker)
            render.code(self.masker.mask(code), data["lang"], data["line"])
        elif type == "step_refused":
            hint = f" (pass {FLAGS[data['needs']]})" if data.get("needs") in FLAGS else ""
            self.console.print(Text(f"  refused: {data['why']}{hint}", style="bold red"))
        elif type == "approval_requested":
            self.console.print(
                Text(f"  waiting for another person to approve step {step}", style="yellow")
            )
        elif type == "approval_refused":
            self.console.print(Text(f"  approval by {data['by']} refused: {data['why']}"))
        elif type == "step_skipped":
            self.console.print(Text(f"  skipped step {step}: {data['why']}", style="dim"))
        elif type == "statement_skipped":
            line = f"  skipped statement {data['index']} of step {step}: {data['why']}"
            self.console.print(Text(line, style="yellow"))
        elif type == "env_carried":
            parts = []
            if data["exported"]:
                parts.append("the next steps see " + ", ".join(data["exported"]))
            if data["unset"]:
                parts.append("unset for them: " + ", ".join(data["unset"]))
            if data["refused"]:
                parts.append("not carried (they choose what runs): " + ", ".join(data["refused"]))
            self.console.print(Text("  " + "; ".join(parts), style="dim"))
        elif type == "run_resumed":
            for note in [f"resuming run {data['resumed_from']}", *data["notes"]]:
                self.console.print(Text(f"  {note}", style="yellow"))
        elif type == "expectation":
            mark = "✓" if data["held"] else "✗"
            style = "green" if data["held"] else "bold red"
            self.console.print(Text(f"  {mark} expected: {data['expected']}", style=style))
        elif type == "step_finished":
            status = data["status"]
            line = f"  step {step} {status} in {data['duration']:.2f}s"
            if data.get("error"):
                line += f": {data['error']}"
            self.console.print(Text(line, style="green" if status == "ok" else "bold red"))
        elif type == "run_interrupted":
            self.console.print(
                Text("  interrupted: nothing left running, open work rolled back", style="bold red")
            )

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None:
        sys.stdout.write(visible(text))  # escapes in output must not repaint the screen
        sys.stdout.flush()

    def ask(self, question: str) -> str:
        self.console.print(Text(question, style="bold"), end="")
        try:
            return input().strip()
        except EOFError:
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
            if answer in ("q", "quit"):
                return "quit"
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

    def event(self, type: str, data: dict[str, Any]) -> None:
        self._line({"type": type, **data})

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
