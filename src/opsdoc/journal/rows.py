"""What the journal hands back: a stored event, and a run in one line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

RunStatus = Literal["ok", "failed", "refused", "interrupted", "stopped", "running"]


@dataclass
class Event:
    run_id: str
    seq: int
    at: str
    type: str
    step: int | None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSummary:
    id: str
    started_at: str
    finished_at: str | None
    runbook: str
    section: str
    user: str
    target: str | None
    status: str  # ok / failed / refused / interrupted / stopped / running


def status_of(last_type: str, last_data: dict[str, Any]) -> str:
    """A run's status from its last event."""
    if last_type == "run_finished":
        return str(last_data.get("status") or "ok")
    if last_type == "run_interrupted":
        return "interrupted"
    if last_type == "step_refused":
        return "refused"
    return "running"


def summary_of(
    run_id: str, at: str, start: dict[str, Any], last_type: str, last_at: str, last: dict[str, Any]
) -> RunSummary:
    status = status_of(last_type, last)
    return RunSummary(
        id=run_id,
        started_at=at,
        finished_at=None if status == "running" else last_at,
        runbook=str(start.get("runbook") or ""),
        section=str(start.get("section") or ""),
        user=str(start.get("user") or ""),
        target=start.get("target"),
        status=status,
    )


def summarize(events: list[Event]) -> RunSummary:
    first, last = events[0], events[-1]
    start = first.data if first.type == "run_started" else {}
    return summary_of(first.run_id, first.at, start, last.type, last.at, last.data)
