"""Who may let a step run, and the record of who did: policy, decisions, approvals.

A :class:`Decision` is what the journal keeps of every yes and no: who
gave it, how (a person at the prompt, the run's policy, an approval by
someone else) and when. A refusal names the permission that was missing in
words (``needs``); turning that into a flag (``--allow write``) is the
CLI's business, not the journal's.

The two-person rule: a policy may say which kinds of step need an approver
other than the person running. The runner then waits, through its front
end, for an :class:`ApprovalBox` to receive a decision; an approval by the
person running is refused and the wait goes on.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from opsdoc import events as ev
from opsdoc.execute.cancel import NEVER, CancelToken
from opsdoc.model import Safety

How = Literal["prompt", "policy", "approval"]

PERMISSION = {
    "read": "permission to run unattended",
    "write": "permission to write",
    "destructive": "permission for destructive changes",
}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Decision:
    """One yes or no, with who gave it, how and when."""

    granted: bool
    by: str
    how: How
    at: str = field(default_factory=now)
    needs: Safety | None = None  # refused by policy: the permission that was missing
    reason: str = ""  # an approver's or decliner's words

    def journaled(self) -> dict[str, object]:
        data: dict[str, object] = {"by": self.by, "how": self.how, "decided_at": self.at}
        if self.needs:
            data["needs"] = self.needs
        if self.reason:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True)
class Policy:
    """What may run without a person saying yes (--yes, --allow), and what needs a second one."""

    interactive: bool
    yes: bool = False
    allow: frozenset[str] = frozenset()
    two_person: frozenset[str] = frozenset()  # kinds of step another person must approve

    def permits(self, safety: Safety) -> bool:
        if not self.yes:
            return False
        if safety == "read":
            return True
        if safety == "write":
            return bool(self.allow & {"write", "destructive"})
        return "destructive" in self.allow

    def decide(self, safety: Safety, user: str) -> Decision:
        """The policy's own answer, when nobody is asked."""
        if self.permits(safety):
            return Decision(True, user, "policy")
        return Decision(False, user, "policy", needs=safety)

    def needs_approval(self, safety: Safety) -> bool:
        return safety in self.two_person


def recorded(decision: Decision, why: str = "", **about: object) -> ev.Decided:
    """The event that journals a decision: confirmed, or refused with why."""
    if decision.granted:
        return ev.StepConfirmed(**about, **decision.journaled())  # type: ignore[arg-type]
    return ev.StepRefused(**about, **decision.journaled(), why=why)  # type: ignore[arg-type]


def refusal_why(what: str, needs: Safety) -> str:
    """A refusal in words: ``a write step needs permission to write``."""
    return f"{what} needs {PERMISSION[needs]}"


class ApprovalBox:
    """Where approvals for a waiting step arrive, from any thread (a web request, a test)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: dict[int, str] = {}  # step number -> who runs it
        self._decisions: dict[int, list[Decision]] = {}

    def waiting(self) -> dict[int, str]:
        """The steps waiting for an approval, and who asked."""
        with self._cond:
            return dict(self._waiting)

    def decide(self, step: int, decision: Decision) -> None:
        with self._cond:
            self._decisions.setdefault(step, []).append(decision)
            self._cond.notify_all()

    def wait(self, step: int, requested_by: str, cancel: CancelToken = NEVER) -> Decision:
        """The next decision on ``step`` (blocks; the cancel token raises Cancelled)."""
        undo = cancel.on_cancel(self._wake)
        try:
            with self._cond:
                self._waiting[step] = requested_by
                try:
                    while not self._decisions.get(step):
                        cancel.check()
                        self._cond.wait(timeout=1.0)
                    return self._decisions[step].pop(0)
                finally:
                    self._waiting.pop(step, None)
        finally:
            undo()

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()
