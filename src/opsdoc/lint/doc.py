"""What every rule reads: the runbook model, its text by line, and small helpers.

Rules work from the model (sections, steps, statements) and go back to the
file's lines only to put a finding on the right line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from opsdoc.model import Runbook, Section, Step

_FENCE_LINE = re.compile(r"^\s*(`{3,}|~{3,})\s*$")
# Comment lines of a block, by the block's language.
_COMMENT = {"sql": "--", "bash": "#", "python": "#", "powershell": "#"}


@dataclass
class Finding:
    """One problem in one file, at one line, with what to do about it."""

    rule: str
    severity: str
    file: str
    line: int
    section: str | None
    message: str

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "section": self.section,
            "message": self.message,
        }


@dataclass
class Doc:
    """A runbook being linted: its model and its lines (1-based via :meth:`line`)."""

    path: str
    runbook: Runbook
    lines: list[str]
    findings: list[Finding] = field(default_factory=list)

    def line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def add(self, rule: str, line: int, section: Section | None, message: str) -> None:
        """Record a finding; the severity is filled in later from the rule table."""
        self.findings.append(
            Finding(rule, "", self.path, max(1, line), section.id if section else None, message)
        )

    def steps(self) -> Iterator[tuple[Section, Step]]:
        for section in self.runbook.walk():
            for step in section.steps:
                yield section, step

    def block_text(self, step: Step) -> str:
        """The block as written in the file, up to its closing fence: a console
        transcript's comments and output, which the step's code leaves out."""
        out = []
        for number in range(step.line, len(self.lines) + 1):
            text = self.line(number)
            if _FENCE_LINE.match(text):
                break
            out.append(text)
        return "\n".join(out)

    def file_line(self, step: Step, code_line: int) -> int:
        """The file line of line ``code_line`` (1-based) of a step's code.

        A step's code is usually the block itself, line for line; a console
        transcript keeps only its commands, so the line is searched for.
        """
        code_lines = step.code.splitlines()
        if not 0 < code_line <= len(code_lines):
            return step.line
        wanted = code_lines[code_line - 1].strip()
        guess = step.line + code_line - 1
        if self.line(guess).strip() == wanted:
            return guess
        if wanted:
            for number in range(step.line, min(len(self.lines), step.line + 5000) + 1):
                if self.line(number).strip().endswith(wanted):
                    return number
        return step.line


def comment_lines(lang: str, code: str) -> list[tuple[int, str]]:
    """(1-based line, text) of the comment lines of a block, markers removed."""
    marker = _COMMENT.get(lang, "#")
    out = []
    for number, raw in enumerate(code.splitlines(), 1):
        text = raw.strip()
        if text.startswith(marker) and not text.startswith("#!"):
            out.append((number, text[len(marker) :].strip()))
        elif marker in text and lang == "bash" and re.search(r"\s#\s", text):
            out.append((number, re.split(r"\s#\s", text, maxsplit=1)[-1].strip()))
    return out


def short(text: str, limit: int = 60) -> str:
    """One line of code for a message: first line, cut short."""
    first = " ".join(text.strip().splitlines()[0].split()) if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
