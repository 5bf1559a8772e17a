"""A run for a postmortem: Markdown with a timeline, or JSON with every event.

Both carry the run's chain head (the MAC of its last event), so a copy
kept elsewhere can later show that the journal's run was not rewritten.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from opsdoc.journal.rows import Event, summarize
from opsdoc.journal.timeline import timeline

EXPORT_BLOCK_LINES = 100  # lines of output per fenced block in the Markdown export
EXPORT_BLOCK_CHARS = 8_000


def export_data(events: list[Event], head: str | None = None) -> dict[str, Any]:
    """``{"run": {...summary, run_started data, chain_head...}, "events": [...]}``."""
    if not events:
        return {"run": {}, "events": []}
    summary = dataclasses.asdict(summarize(events))
    start = events[0].data if events[0].type == "run_started" else {}
    last = events[-1]
    run = {**start, **summary}
    if last.type == "run_finished":
        run["exit_code"] = last.data.get("exit_code")
    run["chain_head"] = head
    return {"run": run, "events": [dataclasses.asdict(e) for e in events]}


def _fence(text: str, lang: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text.rstrip(chr(10))}\n{ticks}"


def _code(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def clip(text: str, lines: int = EXPORT_BLOCK_LINES, chars: int = EXPORT_BLOCK_CHARS) -> str:
    """At most ``lines`` lines and ``chars`` characters, saying how much was left out."""
    all_lines = text.rstrip("\n").split("\n")
    kept = "\n".join(all_lines[:lines])
    if len(kept) > chars:
        kept = kept[:chars]
    shown = kept.count("\n") + 1
    if shown < len(all_lines) or len(kept) < len("\n".join(all_lines[:lines])):
        more = len(all_lines) - shown
        kept += f"\n… {more} more lines" if more > 0 else "\n… (cut)"
    return kept


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _hms(at: str) -> str:
    return at[11:19] if len(at) >= 19 else at


def _when(at: str | None) -> str:
    if not at:
        return "—"
    return at[:10] + " " + at[11:19] + " UTC" if len(at) >= 19 else at


def export_markdown(events: list[Event], head: str | None = None) -> str:
    """A postmortem timeline: the run's header, then one line per event."""
    if not events:
        return ""
    run = export_data(events, head)["run"]
    lines = [f"# Run {run['id']}", ""]
    where = f"{_code(run['runbook'])}" + (
        f" {_code('#' + run['section'])}" if run["section"] else ""
    )
    facts = [
        ("Runbook", where),
        ("Who", f"{run.get('user') or '?'} on {run.get('host') or '?'}"),
        ("Target", run.get("target") or "none"),
        (
            "Commit",
            _code(run["git_commit"]) if run.get("git_commit") else "not in a git repository",
        ),
        ("Content hash", _code(str(run.get("content_hash") or "?"))),
        ("Started", _when(run["started_at"])),
        ("Ended", _when(run["finished_at"])),
        (
            "Status",
            run["status"]
            + (f" (exit {run['exit_code']})" if run.get("exit_code") is not None else ""),
        ),
    ]
    if run.get("resumed_from"):
        facts.append(("Resumed from", _code(str(run["resumed_from"]))))
    if run.get("params"):
        shown = ", ".join(f"{k}={v}" for k, v in run["params"].items())
        facts.append(("Params", _code(shown)))
    if run.get("argv"):
        facts.append(("Command", _code(" ".join(str(a) for a in run["argv"]))))
    if head:
        facts.append(("Chain head", _code(head)))
    lines += [f"- **{name}:** {value}" for name, value in facts]
    lines += ["", "## Timeline (UTC)", ""]
    day = run["started_at"][:10]
    for entry in timeline(events):
        if entry.at[:10] != day:
            day = entry.at[:10]
            lines += ["", f"**{day}**", ""]
        lines.append(f"- {_hms(entry.at)} {entry.text}")
        chunks = []
        if entry.block:
            planned = entry.type == "step_planned"
            shown = clip(entry.block, 40, 4000) if planned else clip(entry.block)
            chunks.append(_fence(shown, entry.block_lang))
        if entry.columns:
            chunks.append(_table(entry.columns, entry.rows))
        for chunk in chunks:
            lines += ["", _indent(chunk)]
        if chunks:
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _indent(text: str) -> str:
    return "\n".join(("  " + line) if line else "" for line in text.split("\n"))


def _table(columns: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(_cell(c) for c in columns) + " |"]
    out.append("|" + "---|" * len(columns))
    for row in rows:
        cells = [_cell(v) for v in row] + [""] * (len(columns) - len(row))
        out.append("| " + " | ".join(cells[: len(columns)]) + " |")
    if not rows:
        out.append("| " + " | ".join(["(no rows)"] + [""] * (len(columns) - 1)) + " |")
    return "\n".join(out)
