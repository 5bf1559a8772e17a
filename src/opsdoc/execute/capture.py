"""The output a step's outcome keeps: the first characters up to a cap, then a note.

The terminal sees all of a step's output as it arrives; the outcome keeps at
most :data:`~opsdoc.execute.MAX_OUTPUT_CHARS` of it and says at the end that
the rest was cut. One class for both executors: the process supervisor
(bash, Python, PowerShell) and the SQL runner, each with its own note. (The
journal's copy, written while the step runs, has its own cap in
:mod:`opsdoc.execute.output_log`.)
"""

from __future__ import annotations

from collections.abc import Callable

from opsdoc.execute import MAX_OUTPUT_CHARS

# The note after a process step's output; {limit} and {dropped} are filled in.
TRUNCATED = "\n[opsdoc: output truncated at {limit} characters; {dropped} more not captured]\n"


class Capture:
    """Interleaved output, capped; says at the end how much it dropped."""

    def __init__(
        self,
        limit: int = MAX_OUTPUT_CHARS,
        *,
        mask: Callable[[str], str] | None = None,
        note: str = TRUNCATED,
    ) -> None:
        self.limit = limit
        self.mask = mask  # applied before the cap, so a cut never halves a secret
        self.note = note
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def add(self, text: str) -> None:
        text = self.mask(text) if self.mask else text  # mask before the cap cuts a token
        room = self.limit - self.size
        kept = text[: max(room, 0)]
        if kept:
            self.parts.append(kept)
            self.size += len(kept)
        self.dropped += len(text) - len(kept)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += self.note.format(limit=self.limit, dropped=self.dropped)
        return out
