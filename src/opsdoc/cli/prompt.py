"""A question with a deadline: the commit prompt, while a transaction holds its locks.

PostgreSQL rolls the transaction back by itself when the limit passes
(``idle_in_transaction_session_timeout``); the prompt gives up a little
before that, counting down in reminders on lines of their own (rewriting the
line being typed on would garble it), so the person learns what happened.
"""

from __future__ import annotations

import select
import sys
import time
from collections.abc import Callable

REMINDERS = (60.0, 30.0, 10.0)  # seconds left at which the countdown speaks up
MARGIN = 2.0  # give up this long before the server does


def clock(seconds: float) -> str:
    """``4:05`` for 245 seconds."""
    whole = max(0, int(seconds + 0.5))
    return f"{whole // 60}:{whole % 60:02d}"


def ask_until(limit: float, say: Callable[[str], None]) -> str | None:
    """One line from stdin within ``limit`` seconds; None when time ran out or at EOF."""
    deadline = time.monotonic() + max(1.0, limit - MARGIN)
    pending = [r for r in REMINDERS if r < limit]
    stream = sys.stdin
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        wake = next((left - r for r in pending if r < left), left)
        try:
            ready, _, _ = select.select([stream], [], [], max(0.05, wake))
        except (OSError, ValueError):  # not a real file (a test's StringIO): just read
            ready = [stream]
        if ready:
            line = stream.readline()
            return line.strip() if line else None
        left = deadline - time.monotonic()
        while pending and pending[0] >= left - 0.05:
            say(f"  {clock(left)} left to answer, then it rolls back")
            pending.pop(0)
