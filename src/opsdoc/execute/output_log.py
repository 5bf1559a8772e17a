"""A step's output for the journal, as it comes: whole lines, masked, capped per step.

Chunks are journaled while the step runs, so a reader of the journal (a
browser that reconnects, ``journal show`` in another terminal) sees them
live. Only whole lines are written: a secret the process wrote in two
pieces is masked once it is whole. A step keeps at most
:data:`~opsdoc.execute.MAX_OUTPUT_CHARS` of output in the journal; the
terminal sees all of it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from opsdoc.execute import MAX_OUTPUT_CHARS

CUT_NOTE = "\n… [cut: the journal keeps {kept} characters of a step's output]\n"

Write = Callable[[str, str, bool], None]  # text, stream, truncated


class StepOutput:
    """Buffers partial lines per stream; writes masked lines until the cap is reached."""

    def __init__(
        self, write: Write, mask: Callable[[str], str], cap: int = MAX_OUTPUT_CHARS
    ) -> None:
        self._write = write
        self._mask = mask
        self._cap = cap
        self._kept = 0
        self._partial: dict[str, str] = {}
        self._lock = threading.Lock()  # stdout and stderr may arrive from two threads
        self.cut = False

    def add(self, text: str, stream: str) -> None:
        with self._lock:
            text = self._partial.pop(stream, "") + text
            cut = text.rfind("\n") + 1
            if cut < len(text):
                self._partial[stream] = text[cut:]
            if cut:
                self._emit(text[:cut], stream)

    def close(self) -> None:
        """The step is over: write what is left of unfinished lines."""
        with self._lock:
            for stream, rest in list(self._partial.items()):
                self._emit(rest, stream)
            self._partial.clear()

    def _emit(self, text: str, stream: str) -> None:
        if self.cut or not text:
            return
        masked = self._mask(text)  # mask, then cap: a cut must not leave half a secret
        room = self._cap - self._kept
        if len(masked) <= room:
            self._kept += len(masked)
            self._write(masked, stream, False)
            return
        self.cut = True
        self._write(masked[:room] + CUT_NOTE.format(kept=self._cap), stream, True)
        self._kept = self._cap
