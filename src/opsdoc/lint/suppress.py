"""Inline and per-file suppression: ``<!-- opsdoc: disable=rule-id[,rule-id] -->``.

An HTML comment renders as nothing, so authors can leave it in the runbook:

- before the first heading, it disables the rules for the whole file;
- on its own line(s) before a code block, it disables them for that block;
  before a heading or a paragraph, for that heading or paragraph (a
  section's own findings sit on its heading line);
- at the end of a line with text, for that line.

``disable=all`` disables every rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DIRECTIVE = re.compile(r"<!--\s*opsdoc:\s*disable\s*[=:]\s*([\w\s,-]+?)\s*-->", re.IGNORECASE)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_HEADING = re.compile(r"^\s{0,3}#{1,6}(\s|$)")


@dataclass
class Suppressions:
    whole_file: set[str] = field(default_factory=set)
    ranges: list[tuple[int, int, set[str]]] = field(default_factory=list)

    def hides(self, rule: str, line: int) -> bool:
        if rule in self.whole_file or "all" in self.whole_file:
            return True
        return any(
            start <= line <= end and (rule in rules or "all" in rules)
            for start, end, rules in self.ranges
        )


def find_suppressions(lines: list[str]) -> Suppressions:
    """Every directive of a file, with the lines each one covers."""
    found = Suppressions()
    fences = _fence_ends(lines)
    first_heading = next(
        (n for n, text in enumerate(lines, 1) if _HEADING.match(text) and n not in fences),
        len(lines) + 1,
    )
    for number, text in enumerate(lines, 1):
        for match in _DIRECTIVE.finditer(text):
            rules = {r.strip().lower() for r in re.split(r"[,\s]+", match.group(1)) if r.strip()}
            if number < first_heading:
                found.whole_file |= rules
            elif text[: match.start()].strip():
                found.ranges.append((number, number, rules))
            else:
                start = _next_content(lines, number)
                found.ranges.append((number, _unit_end(lines, start, fences), rules))
    return found


def _fence_ends(lines: list[str]) -> dict[int, int]:
    """Opening line -> closing line of each fenced block (line numbers inside are keys too)."""
    ends: dict[int, int] = {}
    opened: tuple[int, str] | None = None
    for number, text in enumerate(lines, 1):
        match = _FENCE.match(text)
        if opened is None:
            if match:
                opened = (number, match.group(1))
        elif match and match.group(1)[0] == opened[1][0] and len(match.group(1)) >= len(opened[1]):
            for inside in range(opened[0], number + 1):
                ends[inside] = number
            opened = None
    if opened is not None:
        for inside in range(opened[0], len(lines) + 1):
            ends[inside] = len(lines)
    return ends


def _next_content(lines: list[str], after: int) -> int:
    for number in range(after + 1, len(lines) + 1):
        text = lines[number - 1]
        if text.strip() and not _DIRECTIVE.fullmatch(text.strip()):
            return number
    return after


def _unit_end(lines: list[str], start: int, fences: dict[int, int]) -> int:
    """The last line of the block that starts at ``start``: its fence or its paragraph."""
    if start in fences:
        return fences[start]
    number = start
    while number < len(lines) and lines[number].strip() and (number + 1) not in fences:
        number += 1
    return number
