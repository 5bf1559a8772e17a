"""A cancel token: how anyone (Ctrl-C, SIGTERM, a "stop" from another thread) stops a run.

The runner checks it between steps; the executors check it while a step
runs (the process supervisor every 50 ms, the SQL runner before each
statement) and are woken by it: cancelling calls what an executor
registered, such as sending PostgreSQL a cancel request for the running
query. No signal is involved, so a run in a worker thread can be stopped.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable


class Cancelled(Exception):
    """Raised inside a step when its run was cancelled; the executor cleans up first."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CancelToken:
    """Set once, by any thread; seen by every part of the run."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self.reason = ""

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self, reason: str = "cancelled") -> bool:
        """Stop the run; False if it was already stopped (the first reason stays)."""
        with self._lock:
            if self._event.is_set():
                return False
            self.reason = reason
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            with contextlib.suppress(Exception):  # a failed wake-up must not stop the others
                callback()
        return True

    def check(self) -> None:
        """Raise :class:`Cancelled` if the run was cancelled."""
        if self._event.is_set():
            raise Cancelled(self.reason)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until cancelled or ``timeout``; True if cancelled."""
        return self._event.wait(timeout)

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` when cancelled (at once if already); returns the undo."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)

                def undo() -> None:
                    with self._lock:
                        if callback in self._callbacks:
                            self._callbacks.remove(callback)

                return undo
        callback()
        return lambda: None


NEVER = CancelToken()  # for executors called without a run: never cancelled
