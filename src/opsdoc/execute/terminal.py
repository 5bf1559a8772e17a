"""A pseudo-terminal for a step marked ``interactive=true``, as Runme gives one.

Such cells expect a terminal: ``stty -opost``, ``tput``, programs that
check ``isatty``. The step gets the child end as stdin, stdout and stderr;
opsdoc reads the other end, so the output is still captured, masked and
journaled (as one stream: a terminal does not tell stdout from stderr).
Nobody types into it: echo is off and the input is at end-of-file from
the start, so a prompt reads nothing, as it would from /dev/null, instead
of waiting for the timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import struct
import termios
from typing import Any, BinaryIO

COLUMNS = 120
DEFAULT_ROWS = 24


class Terminal:
    """One pseudo-terminal pair: ``child`` for the step, the other end for opsdoc."""

    def __init__(self, rows: int = DEFAULT_ROWS) -> None:
        self.parent, self.child = pty.openpty()
        fcntl.ioctl(self.child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, COLUMNS, 0, 0))
        attrs = termios.tcgetattr(self.child)
        attrs[3] &= ~termios.ECHO  # lflag: what is "typed" is not shown back
        termios.tcsetattr(self.child, termios.TCSANOW, attrs)
        os.write(self.parent, bytes([attrs[6][termios.VEOF][0]]))  # end of input, at once

    def started(self) -> None:
        """The step has its end (or failed to start): opsdoc's copy is closed, so the
        step's exit shows as the end of output."""
        with contextlib.suppress(OSError):
            os.close(self.child)

    def output(self) -> BinaryIO:
        return os.fdopen(self.parent, "rb", buffering=0)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.parent)


def terminal_rows(attrs: dict[str, Any]) -> int | None:
    """The rows of the terminal a cell asks for with ``interactive=true`` (``terminalRows``,
    as Runme writes it: "28"); None: the cell runs without one."""
    if str(attrs.get("interactive", "")).lower() not in ("true", "1"):
        return None
    try:
        count = int(str(attrs.get("terminalRows", DEFAULT_ROWS)))
    except ValueError:
        return DEFAULT_ROWS
    return count if 0 < count < 1000 else DEFAULT_ROWS
