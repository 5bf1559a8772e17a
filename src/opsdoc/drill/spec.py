"""What a drill file says: plain dataclasses, filled by ``files`` and read by ``driver``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

FenceKind = Literal["setup", "before", "check"]
FENCE_KINDS: tuple[FenceKind, ...] = ("setup", "before", "check")


@dataclass
class Fence:
    """One ``{drill=...}`` block: SQL or bash that sets up or checks the sandbox."""

    kind: FenceKind
    lang: str  # "sql" or "bash"
    code: str
    line: int  # file line of the opening ``` (what a reader looks for)


@dataclass
class Drill:
    """One scenario to prove: where it is, how to run it, how to tell it worked."""

    name: str
    id: str  # the heading's anchor, unique within its file
    file: str  # the drill file, as given on the command line or found in a folder
    line: int
    runbook: Path
    section: str
    schema: list[Path] = field(default_factory=list)  # SQL files loaded into the fresh database
    bin: Path | None = None  # stand-in CLIs, first on PATH
    params: dict[str, str] = field(default_factory=dict)  # values may use ${OPSDOC_DRILL_*}
    options: list[str] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    only: str | None = None
    fences: list[Fence] = field(default_factory=list)

    def of(self, kind: FenceKind) -> list[Fence]:
        return [f for f in self.fences if f.kind == kind]

    @property
    def where(self) -> str:
        return f"{self.file}#{self.id}"


Phase = Literal["database", "setup", "before", "plan", "run", "check", "interrupted"]


@dataclass
class Failure:
    """Why a drill failed: the phase, the file line or step, and what was seen."""

    phase: Phase
    message: str
    line: int | None = None  # the drill fence's line (setup, before, check)
    step: int | None = None  # the runbook step (run)


@dataclass
class DrillResult:
    drill: Drill
    passed: bool
    duration: float
    failure: Failure | None = None
    run_id: str | None = None  # the scenario's run in the journal
    phases: dict[str, float] = field(default_factory=dict)  # seconds per phase
