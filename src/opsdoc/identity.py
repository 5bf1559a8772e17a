"""Who runs opsdoc: the operating system's answer, not the environment's.

``$USER`` and ``$LOGNAME`` are whatever the caller set (``USER=alice opsdoc
run …``), so the journal records the account of the process's real uid. A
differing environment name is kept beside it as a claim, never instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

try:
    import pwd
except ImportError:  # pragma: no cover - Windows has no pwd
    pwd = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Identity:
    """The OS account running opsdoc, and what the environment claimed."""

    user: str  # the account name of the real uid ("uid 1000" when it has none)
    uid: int | None
    claimed: str | None = None  # $USER / $LOGNAME when it differs from ``user``

    def fields(self) -> dict[str, object]:
        """What run_started records."""
        out: dict[str, object] = {"user": self.user, "uid": self.uid}
        if self.claimed:
            out["claimed_user"] = self.claimed
        return out


def current() -> Identity:
    """The real uid's account; an env-given name only as a claim beside it."""
    claim = os.environ.get("USER") or os.environ.get("LOGNAME") or None
    if pwd is None or not hasattr(os, "getuid"):  # pragma: no cover - no POSIX uid
        return Identity(user=claim or "unknown", uid=None)
    uid = os.getuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no passwd entry (some containers)
        name = f"uid {uid}"
    return Identity(user=name, uid=uid, claimed=claim if claim and claim != name else None)
