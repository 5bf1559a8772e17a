"""A run's events in plain words: one entry per event, consecutive output merged.

The terminal (``journal show``) and the Markdown export both read these
entries, so a run reads the same wherever it is shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from opsdoc import events as ev
from opsdoc.journal.rows import Event


@dataclass
class Entry:
    """One line of a run's timeline, in plain words, for Markdown and the terminal."""

    at: str
    type: str
    step: int | None
    text: str
    ok: bool | None = None  # expectation held / failed; step finished ok / not
    block: str | None = None  # output or a statement's text
    block_lang: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)


def _seconds(value: Any) -> str:
    try:
        secs = float(value)
    except (TypeError, ValueError):
        return ""
    if secs < 10:
        return f"{secs:.2f} s"
    if secs < 120:
        return f"{secs:.1f} s"
    return f"{int(secs // 60)} min {int(secs % 60)} s"


def _rows_text(n: Any) -> str:
    return f"{n} row" + ("" if n == 1 else "s")


def timeline(events: list[Event]) -> Iterator[Entry]:
    """The run's events as entries in plain words; consecutive output is merged."""
    steps: dict[int, dict[str, Any]] = {}

    def label(step: int | None, full: bool = True) -> str:
        if step is None:
            return ""
        plan = steps.get(step, {})
        parts = [str(plan[k]) for k in ("phase", "lang", "safety") if plan.get(k)]
        if plan.get("option"):
            parts.append(f"option {plan['option']}")
        return f"step {step}" + (f" ({', '.join(parts)})" if full and parts else "")

    pending: Entry | None = None
    for event in events:
        d, step = event.data, event.step
        if event.type == "output":
            text = str(d.get("text") or "")
            if pending and pending.step == step:
                pending.block = (pending.block or "") + text
                continue
            if pending:
                yield pending
            stream = f" ({d['stream']})" if d.get("stream") not in (None, "", "stdout") else ""
            pending = Entry(
                event.at, event.type, step, f"{label(step, False)} output{stream}".strip()
            )
            pending.block = text
            continue
        if pending:
            yield pending
            pending = None
        yield _entry(event, label, steps)
    if pending:
        yield pending


def _short(text: str, width: int = 60) -> str:
    one = " ".join(text.split())
    return one if len(one) <= width else one[: width - 1] + "…"


def _what(d: dict[str, Any]) -> str:
    """What a confirmation was for: a commit of N rows, one statement, the whole step."""
    kind = str(d.get("kind") or "")
    out = {"commit": " commit", "autocommit": " autocommit run"}.get(kind, "")
    if kind == "commit" and isinstance(d.get("rowcount"), int):
        out += f" of {_rows_text(d['rowcount'])}"
    statement = d.get("statement")
    if isinstance(statement, int):
        out = f" statement {statement}" + out
    elif isinstance(statement, str) and statement.strip():
        out += f" ({_short(statement)})"
    return out


def _how(d: dict[str, Any]) -> str:
    """How a yes was given: at the prompt, by the run's policy, by another person's approval."""
    how = d.get("how")
    if how == "approval":
        asked = f", asked by {d['requested_by']}" if d.get("requested_by") else ""
        return f"(approval{asked})"
    if how in ("prompt", "policy"):
        return f"({'at the prompt' if how == 'prompt' else 'by the run policy'})"
    return f"via {d.get('via') or '?'}"  # journals before 0.2 named the flag


def _entry(event: Event, label: Callable[..., str], steps: dict[int, dict[str, Any]]) -> Entry:
    d, step = event.data, event.step
    entry = Entry(event.at, event.type, step, "")
    who = label(step)
    e = ev.decode(event.type, step, d)
    if event.type == "run_started":  # written by the session, not the runner: plain data
        target = f"target {d['target']}" if d.get("target") else "no target"
        entry.text = f"run started by {d.get('user') or '?'} on {d.get('host') or '?'}, {target}"
        if d.get("resumed_from"):
            entry.text += f", resuming run {d['resumed_from']}"
    elif event.type == "run_options":  # what the run was asked to select (a resume reads it)
        asked = [
            f"{name} {', '.join(map(str, value)) if isinstance(value, list) else value}"
            for name, value in d.items()
            if value not in (None, [], "", False) and name != "target_arg"
        ]
        entry.text = "run selects " + "; ".join(asked) if asked else "run selects every step"
    elif isinstance(e, ev.StepPlanned):
        if step is not None:
            steps[step] = d
        who = label(step)
        entry.text = f"{who} planned" + (f": {e.title}" if e.title else "")
        if e.code:
            entry.block, entry.block_lang = str(e.code), str(e.lang or "")
    elif isinstance(e, ev.StepConfirmed):
        entry.text = f"{who}{_what(d)} confirmed by {e.by or '?'} {_how(d)}"
    elif isinstance(e, ev.ApprovalRequested):
        entry.text = f"{who} waits for approval by someone other than {e.requested_by}"
    elif isinstance(e, ev.ApprovalRefused):
        entry.text = f"{who} approval by {e.by or '?'} refused: {e.why or ''}"
        entry.ok = False
    elif isinstance(e, ev.StepStarted):
        entry.text = f"{who} started"
    elif isinstance(e, ev.Statement):
        _statement(entry, e, label(step, False))
    elif isinstance(e, ev.Expectation):
        entry.ok = bool(e.held)
        mark = "✓ held" if e.held else "✗ did not hold"
        entry.text = f"{label(step, False)} expectation {mark}: {e.expected or ''}".strip()
        if e.actual:
            entry.text += f" (got {e.actual})"
    elif isinstance(e, ev.StepRefused):
        flag = f" (needs {d['flag']})" if d.get("flag") else ""  # journals before the chain
        why = f": {e.why}" if e.why else ""
        entry.text = f"{who}{_what(d)} refused{why}{flag}"
        entry.ok = False
    elif isinstance(e, ev.StepSkipped):
        entry.text = f"{who} skipped" + (f": {e.why}" if e.why else "")
    elif isinstance(e, ev.StepFinished):
        status = str(e.status or "?")
        result = [status]
        if e.exit_code is not None:
            result.append(f"exit {e.exit_code}")
        if e.rowcount is not None:
            result.append(_rows_text(e.rowcount))
        if e.duration is not None:
            result.append(_seconds(e.duration))
        entry.text = f"{who} finished: " + ", ".join(result)
        if e.error:
            entry.text += f" — {e.error}"
        entry.ok = status in ("ok", "skipped")
    elif isinstance(e, ev.RunInterrupted):
        during = f" during {label(step, False)}" if step is not None else ""
        entry.text = f"run interrupted{during}" + (f": {e.why}" if e.why else "")
        entry.ok = False
    elif isinstance(e, ev.RunFinished):
        code = f" (exit {e.exit_code})" if e.exit_code is not None else ""
        entry.text = f"run finished: {e.status or '?'}{code}"
        entry.ok = e.status == "ok"
    else:
        extra = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in d.items())
        entry.text = f"{who} {event.type}".strip() + (f": {extra}" if extra else "")
    return entry


def _statement(entry: Entry, e: ev.Statement, who: str) -> None:
    status = str(e.status or "")
    parts = [f"{who} statement {e.index if e.index is not None else '?'}".strip()]
    if e.label:
        parts.append(f"“{e.label}”")
    result = []
    if isinstance(e.rowcount, int) and e.rowcount >= 0:
        result.append(_rows_text(e.rowcount))
    if status:
        result.append(status.replace("_", " "))
    if e.duration is not None:
        result.append(_seconds(e.duration))
    entry.text = " ".join(parts) + (": " + ", ".join(r for r in result if r) if result else "")
    if e.error:
        code = f" [{e.sqlstate}]" if e.sqlstate else ""
        entry.text += f" — {e.error}{code}"
    entry.ok = status not in ("failed", "refused") if status else None
    entry.block, entry.block_lang = str(e.text or "") or None, "sql"
    entry.columns = [str(c) for c in e.columns or []]
    entry.rows = [list(r) if isinstance(r, list) else [r] for r in e.rows or []]
