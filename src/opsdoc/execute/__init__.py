"""Execute: run one step against the world, with the caller deciding what may change.

Each language has an executor (``sql`` with psycopg, ``process`` for bash,
Python and PowerShell). An executor never decides policy and never prints:
it streams output and asks for confirmations through :class:`Hooks`, which
the runner implements (a terminal prompt, ``--allow`` flags, the web UI).
This module holds the types they share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from opsdoc.model import Safety

# What a step ended as. "refused": a confirmation was declined or not allowed;
# "timeout": the step ran past its time limit and was stopped.
Status = Literal["ok", "failed", "refused", "skipped", "interrupted", "cancelled", "timeout"]

# Kinds of confirmation an executor asks for:
#   run        a statement or step is about to run (write/destructive, or a read
#              statement that PostgreSQL refused in READ ONLY: 25006)
#   commit     a write ran inside a transaction; rows and a preview are shown;
#              True commits, False rolls back
#   autocommit a statement that cannot run in a transaction (VACUUM, CREATE INDEX
#              CONCURRENTLY) is about to run without a way back
ConfirmKind = Literal["run", "commit", "autocommit"]

MAX_PREVIEW_ROWS = 20
MAX_OUTPUT_CHARS = 64_000  # captured per step for the journal; the terminal sees all
COMMIT_WAIT = 300.0  # seconds a transaction may sit at a commit prompt before it is rolled back


@dataclass
class Confirmation:
    """A question an executor needs answered before it goes on."""

    kind: ConfirmKind
    safety: Safety
    statement: str  # the statement or command, with placeholders as written
    reason: str  # why it is this safety ("DELETE removes rows", "SQLSTATE 25006 ...")
    label: str | None = None
    rowcount: int | None = None  # commit: rows the statement changed
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # preview, at most 20
    wait_limit: float | None = None  # commit: seconds before PostgreSQL rolls back by itself


@dataclass
class StatementResult:
    """What one SQL statement did."""

    index: int  # 1-based within the step
    text: str
    safety: Safety  # as finally treated (a read refused with 25006 becomes write)
    status: Literal["ok", "committed", "rolled_back", "failed", "refused", "skipped"]
    label: str | None = None
    rowcount: int | None = None
    columns: list[str] = field(default_factory=list)
    rows: list[tuple[Any, ...]] = field(default_factory=list)  # at most 20 shown/kept
    error: str | None = None
    sqlstate: str | None = None
    duration: float = 0.0


@dataclass
class EnvChange:
    """What a bash step did to its exported environment (see cell_env.py)."""

    exported: dict[str, str] = field(default_factory=dict)  # set or changed: carried on
    refused: list[str] = field(default_factory=list)  # set, but never carried (PATH, ...)
    unset: list[str] = field(default_factory=list)  # there at the start, gone at the end


@dataclass
class StepOutcome:
    """What running one step did; the runner journals it and checks expectations."""

    status: Status
    exit_code: int | None = None  # processes; SQL: 0 ok, 1 failed
    output: str = ""  # captured text (stdout and stderr interleaved, tables as text), capped
    statements: list[StatementResult] = field(default_factory=list)
    duration: float = 0.0
    error: str | None = None  # one line: what went wrong and what to do
    env: EnvChange | None = None  # bash: what it exported, for the steps after it


class StepInterrupted(Exception):
    """Ctrl-C during a step, raised after the executor cleaned up.

    The process group is dead or the query cancelled, and any open
    transaction rolled back; ``outcome`` says what had happened so far.
    """

    def __init__(self, outcome: StepOutcome) -> None:
        super().__init__("interrupted")
        self.outcome = outcome


class Hooks(Protocol):
    """How an executor talks to whoever runs it."""

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None:
        """Output as it happens (unmasked: the hooks mask before showing)."""

    def confirm(self, request: Confirmation) -> bool:
        """True to go ahead (run, commit); False to skip or roll back."""

    # Hooks may also carry ``cancel`` (an :class:`opsdoc.execute.cancel.CancelToken`)
    # and ``mask``; executors read both with getattr, so plain hooks still work.
