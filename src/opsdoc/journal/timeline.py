"""A run's events in plain words: one entry per event, consecutive output merged.

The terminal (``journal show``) and the Markdown export both read these
entries, so a run reads the same wherever it is shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

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
    d, step, kind = event.data, event.step, event.type
    entry = Entry(event.at, kind, step, "")
    who = label(step)
    if kind == "run_started":
        target = d.get("target") or "no target"
        entry.text = (
            f"run started by {d.get('user') or '?'} on {d.get('host') or '?'}, target {target}"
        )
        if d.get("resumed_from"):
            entry.text += f", resuming run {d['resumed_from']}"
    elif kind == "step_planned":
        if step is not None:
            steps[step] = d
        who = label(step)
        entry.text = f"{who} planned" + (f": {d['title']}" if d.get("title") else "")
        if d.get("code"):
            entry.block, entry.block_lang = str(d["code"]), str(d.get("lang") or "")
    elif kind == "step_confirmed":
        entry.text = f"{who}{_what(d)} confirmed by {d.get('by') or '?'} {_how(d)}"
    elif kind == "approval_requested":
        entry.text = f"{who} waits for approval by someone other than {d.get('requested_by')}"
    elif kind == "approval_refused":
        entry.text = f"{who} approval by {d.get('by') or '?'} refused: {d.get('why') or ''}"
        entry.ok = False
    elif kind == "step_started":
        entry.text = f"{who} started"
    elif kind == "statement":
        status = str(d.get("status") or "")
        parts = [f"{label(step, False)} statement {d.get('index', '?')}".strip()]
        if d.get("label"):
            parts.append(f"“{d['label']}”")
        result = []
        if isinstance(d.get("rowcount"), int) and d["rowcount"] >= 0:
            result.append(_rows_text(d["rowcount"]))
        if status:
            result.append(status.replace("_", " "))
        if d.get("duration") is not None:
            result.append(_seconds(d["duration"]))
        entry.text = " ".join(parts) + (": " + ", ".join(r for r in result if r) if result else "")
        if d.get("error"):
            code = f" [{d['sqlstate']}]" if d.get("sqlstate") else ""
            entry.text += f" — {d['error']}{code}"
        entry.ok = status not in ("failed", "refused") if status else None
        entry.block, entry.block_lang = str(d.get("text") or "") or None, "sql"
        entry.columns = [str(c) for c in d.get("columns") or []]
        entry.rows = [list(r) if isinstance(r, list) else [r] for r in d.get("rows") or []]
    elif kind == "expectation":
        held = bool(d.get("held"))
        entry.ok = held
        mark = "✓ held" if held else "✗ did not hold"
        entry.text = f"{label(step, False)} expectation {mark}: {d.get('expected', '')}".strip()
        if d.get("actual"):
            entry.text += f" (got {d['actual']})"
    elif kind == "step_refused":
        flag = f" (needs {d['flag']})" if d.get("flag") else ""  # journals before 0.2
        why = f": {d['why']}" if d.get("why") else ""
        entry.text = f"{who}{_what(d)} refused{why}{flag}"
        entry.ok = False
    elif kind == "step_skipped":
        entry.text = f"{who} skipped" + (f": {d['why']}" if d.get("why") else "")
    elif kind == "step_finished":
        status = str(d.get("status") or "?")
        result = [status]
        if d.get("exit_code") is not None:
            result.append(f"exit {d['exit_code']}")
        if d.get("rowcount") is not None:
            result.append(_rows_text(d["rowcount"]))
        if d.get("duration") is not None:
            result.append(_seconds(d["duration"]))
        entry.text = f"{who} finished: " + ", ".join(result)
        if d.get("error"):
            entry.text += f" — {d['error']}"
        entry.ok = status in ("ok", "skipped")
    elif kind == "run_interrupted":
        during = f" during {label(step, False)}" if step is not None else ""
        entry.text = f"run interrupted{during}" + (f": {d['why']}" if d.get("why") else "")
        entry.ok = False
    elif kind == "run_finished":
        code = f" (exit {d['exit_code']})" if d.get("exit_code") is not None else ""
        entry.text = f"run finished: {d.get('status') or '?'}{code}"
        entry.ok = d.get("status") == "ok"
    else:
        extra = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in d.items())
        entry.text = f"{who} {kind}".strip() + (f": {extra}" if extra else "")
    return entry
