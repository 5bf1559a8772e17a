"""What happens in a run, one dataclass per kind: the runner emits them, the
journal stores them, every front end (terminal, JSON lines, drills, the
timeline, later the browser) reads the same types.

:func:`encode` turns an event into the journal's ``(type, step, data)``;
:func:`decode` turns a stored record back into its class (an unknown type,
or a field this version does not know, is kept, not dropped). Imports
nothing of opsdoc's: this is a contract, not code.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass
class RunEvent:
    """Every event: its kind (``type``), the step it is about (1-based, as
    ``opsdoc show`` numbers them) or None, and fields this version does not know."""

    type: ClassVar[str] = ""
    step: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class RunResumed(RunEvent):
    type: ClassVar[str] = "run_resumed"
    resumed_from: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass
class StepPlanned(RunEvent):
    type: ClassVar[str] = "step_planned"
    title: str | None = None
    phase: str = ""
    lang: str = ""
    safety: str = ""
    option: str | None = None
    group: str | None = None
    line: int | None = None
    code: str = ""
    params: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class ParamsGiven(RunEvent):
    """Values a person typed when the step that needs them came (secret ones masked)."""

    type: ClassVar[str] = "params_given"
    values: dict[str, str] = field(default_factory=dict)


@dataclass
class ApprovalRequested(RunEvent):
    type: ClassVar[str] = "approval_requested"
    safety: str = ""
    requested_by: str = ""


@dataclass
class ApprovalRefused(RunEvent):
    type: ClassVar[str] = "approval_refused"
    by: str = ""
    requested_by: str = ""
    why: str = ""


@dataclass
class Decided(RunEvent):
    """A yes or a no about a step, a statement or a commit: who, how (prompt,
    policy, approval), when, for whom, and about what."""

    kind: str | None = None  # step, run, commit, autocommit
    safety: str | None = None
    by: str | None = None
    how: str | None = None
    decided_at: str | None = None
    requested_by: str | None = None
    statement: str | int | None = None
    rowcount: int | None = None
    reason: str | None = None  # an approver's or decliner's words


@dataclass
class StepConfirmed(Decided):
    type: ClassVar[str] = "step_confirmed"


@dataclass
class StepRefused(Decided):
    """A no, in words; ``needs`` is the permission that was missing, if that was why."""

    type: ClassVar[str] = "step_refused"
    why: str = ""
    needs: str | None = None


@dataclass
class StepStarted(RunEvent):
    type: ClassVar[str] = "step_started"


@dataclass
class Output(RunEvent):
    """A chunk of a step's output as it came (whole lines, masked)."""

    type: ClassVar[str] = "output"
    text: str = ""
    stream: str = "stdout"
    truncated: bool = False


@dataclass
class Statement(RunEvent):
    """One SQL statement's result, its rows as data."""

    type: ClassVar[str] = "statement"
    index: int = 0
    text: str = ""
    safety: str = ""
    status: str = ""
    label: str | None = None
    rowcount: int | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    error: str | None = None
    sqlstate: str | None = None
    duration: float | None = None


@dataclass
class StatementSkipped(RunEvent):
    type: ClassVar[str] = "statement_skipped"
    index: int = 0
    text: str = ""
    why: str = ""


@dataclass
class Expectation(RunEvent):
    type: ClassVar[str] = "expectation"
    expected: str = ""
    held: bool = False
    actual: str | None = None


@dataclass
class EnvCarried(RunEvent):
    """Names (never values) a bash step exported or unset for the steps after it."""

    type: ClassVar[str] = "env_carried"
    exported: list[str] = field(default_factory=list)
    unset: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    why: str | None = None


@dataclass
class StepSkipped(RunEvent):
    type: ClassVar[str] = "step_skipped"
    why: str = ""
    finished: bool = False  # finished in the run being resumed: a later resume skips it too
    code_hash: str | None = None


@dataclass
class StepFinished(RunEvent):
    type: ClassVar[str] = "step_finished"
    status: str = ""
    exit_code: int | None = None
    duration: float | None = None
    error: str | None = None
    rowcount: int | None = None
    code_hash: str | None = None


@dataclass
class RunInterrupted(RunEvent):
    type: ClassVar[str] = "run_interrupted"
    why: str = ""
    status: str = "interrupted"  # or cancelled: a stop asked for, not a signal


@dataclass
class RunFinished(RunEvent):
    type: ClassVar[str] = "run_finished"
    status: str = ""  # ok, failed, refused, stopped, interrupted, cancelled
    exit_code: int | None = None


@dataclass
class Unknown(RunEvent):
    """A stored event of a type this version does not know: kept whole."""

    name: str = ""
    data: dict[str, Any] = field(default_factory=dict)


KINDS: dict[str, type[RunEvent]] = {
    cls.type: cls
    for cls in (
        RunResumed,
        StepPlanned,
        ParamsGiven,
        ApprovalRequested,
        ApprovalRefused,
        StepConfirmed,
        StepRefused,
        StepStarted,
        Output,
        Statement,
        StatementSkipped,
        Expectation,
        EnvCarried,
        StepSkipped,
        StepFinished,
        RunInterrupted,
        RunFinished,
    )
}
_FIELDS = {
    name: [f.name for f in dataclasses.fields(cls) if f.name not in ("step", "extra")]
    for name, cls in KINDS.items()
}
# Left out of the stored data when they hold their default: flags that are rarely set.
_QUIET = {
    ("output", "truncated"),
    ("step_skipped", "finished"),
    ("step_skipped", "code_hash"),
    ("env_carried", "why"),
}


def kind(event: RunEvent) -> str:
    return event.name if isinstance(event, Unknown) else event.type


def encode(event: RunEvent) -> tuple[str, int | None, dict[str, Any]]:
    """The journal's form: type, step, and the data (known fields, then unknown ones)."""
    if isinstance(event, Unknown):
        return event.name, event.step, dict(event.data)
    data: dict[str, Any] = {}
    for name in _FIELDS[event.type]:
        value = getattr(event, name)
        if (event.type, name) in _QUIET and not value:
            continue
        if name in ("by", "how", "decided_at", "requested_by", "needs", "reason") and value is None:
            continue  # a decision's parts are there when there was one
        data[name] = value
    data.update(event.extra)
    return event.type, event.step, data


def decode(type: str, step: int | None, data: dict[str, Any]) -> RunEvent:
    """A stored record as its class; what does not fit goes to ``extra``."""
    cls = KINDS.get(type)
    if cls is None:
        return Unknown(step=step, name=type, data=dict(data))
    known = _FIELDS[type]
    kwargs = {k: v for k, v in data.items() if k in known}
    extra = {k: v for k, v in data.items() if k not in known}
    try:
        return cls(step=step, extra=extra, **kwargs)
    except TypeError:  # pragma: no cover - a field of the wrong shape
        return Unknown(step=step, name=type, data=dict(data))
