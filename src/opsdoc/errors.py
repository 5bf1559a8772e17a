"""The one exception type commands turn into a clear message and an exit code."""

from __future__ import annotations

# Exit codes scripts can rely on, shared by every command.
EXIT_OK = 0
EXIT_FAILED = 1  # a step failed, an expectation did not hold, nothing matched
EXIT_BAD_INPUT = 2  # unreadable file, bad arguments, unknown section
EXIT_REFUSED = 3  # refused by policy
EXIT_INTERRUPTED = 130


class OpsdocError(Exception):
    """An error the user can act on: where it happened, what went wrong, what to do."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def where(self) -> str:
        if self.path and self.line:
            return f"{self.path}:{self.line}"
        return self.path or ""

    def __str__(self) -> str:
        text = f"{self.where()}: {self.message}" if self.where() else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text
