"""SIGTERM and SIGHUP end a run the way Ctrl-C does: journaled, children stopped.

A dropped SSH session sends SIGHUP; without a handler opsdoc would die on
the spot, leaving no ``run_interrupted`` in the journal and an open
transaction to the server's idle timeout. The runner already knows how to
unwind a :class:`KeyboardInterrupt`, so both signals become one, once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any, Protocol


class _Interruptible(Protocol):
    interrupt_reason: str

    def stop(self, reason: str) -> bool: ...


SIGNALS = tuple(s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)


@contextlib.contextmanager
def interrupts_as_ctrl_c(runner: _Interruptible) -> Iterator[None]:
    """While the run lasts, SIGTERM/SIGHUP raise KeyboardInterrupt (only the first)."""
    fired = False

    def handler(signum: int, _frame: Any) -> None:
        nonlocal fired
        if signum == getattr(signal, "SIGHUP", None):
            _leave_terminal()
        if fired:
            return  # already unwinding: let the journal be written
        fired = True
        runner.interrupt_reason = signal.Signals(signum).name
        stop = getattr(runner, "stop", None)
        if stop is not None:  # the run's cancel token: what other threads of the run watch
            stop(runner.interrupt_reason)
        raise KeyboardInterrupt  # and the main thread unwinds now, wherever it waits

    previous = {sig: signal.signal(sig, handler) for sig in SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _leave_terminal() -> None:
    """The terminal hung up: writes to it would fail, so send them nowhere."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        try:
            on_tty = stream.isatty()
        except (ValueError, OSError):
            on_tty = True
        if on_tty:
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 - lives as long as opsdoc
