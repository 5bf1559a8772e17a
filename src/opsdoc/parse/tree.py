"""Blocks grouped under their headings, and which headings are sections.

A runbook's headings do three different jobs: some are containers ("Common
Issues & Fixes"), some are the units a user works with (a scenario, a
procedure), and some are parts of a unit ("Symptom", "Step 2: Restart the
worker"). ``split_mode`` tells them apart the way a reader does, from the
titles and from what sits under them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from opsdoc.parse import words
from opsdoc.parse.blocks import Block
from opsdoc.parse.words import Slugger

Mode = Literal["container", "parts", "sections"]


@dataclass
class Node:
    title: str
    level: int
    line: int
    anchor: str
    blocks: list[Block] = field(default_factory=list)
    children: list[Node] = field(default_factory=list)
    from_label: bool = False
    end: int = 0

    def real_children(self) -> list[Node]:
        return [c for c in self.children if not c.from_label]

    def anchors(self) -> list[str]:
        out = [self.anchor]
        for child in self.children:
            if not child.from_label:
                out.extend(child.anchors())
        return out


def quoted_label(block: Block) -> str | None:
    """The message of a paragraph that is only a bold, quoted failure message."""
    if block.type != "paragraph" or block.inline is None:
        return None
    inline = block.inline
    if inline.lead is None or inline.rest.strip(" :"):
        return None
    lead = inline.lead.strip()
    if len(lead) >= 8 and lead[0] in "\"“'" and lead[-1] in "\"”'":
        return lead[1:-1].strip()
    return None


def build_tree(blocks: list[Block], slugger: Slugger) -> tuple[list[Block], list[Node]]:
    """Blocks before the first heading, and the heading tree.

    Every heading gets its GitHub anchor here, in document order, so that
    duplicate suffixes match what GitHub renders; bold-label sections get
    their slugs afterwards and never disturb a real heading's anchor.
    """
    preamble: list[Block] = []
    roots: list[Node] = []
    stack: list[Node] = []
    labels: list[Node] = []
    for block in blocks:
        if block.type == "heading" and block.inline is not None:
            while stack and stack[-1].level >= block.level:
                stack.pop()
            title = block.inline.text
            node = Node(title, block.level, block.line, slugger.slug(title))
            (stack[-1].children if stack else roots).append(node)
            stack.append(node)
            continue
        message = quoted_label(block) if stack else None
        if message is not None:
            while stack and stack[-1].from_label:
                stack.pop()
            parent = stack[-1]
            node = Node(message, parent.level + 1, block.line, "", from_label=True)
            parent.children.append(node)
            stack.append(node)
            labels.append(node)
            continue
        (stack[-1].blocks if stack else preamble).append(block)
    for node in labels:
        node.anchor = slugger.slug(node.title)
    for root in roots:
        _set_ends(root)
    return preamble, roots


def _set_ends(node: Node) -> int:
    end = node.line
    for block in node.blocks:
        end = max(end, block.end)
    for child in node.children:
        end = max(end, _set_ends(child))
    node.end = end
    return end


def _part_like(node: Node) -> bool:
    return words.role_of(node.title) is not None or words.step_heading(node.title)


# What makes a sub-heading a unit of its own even inside a scenario: a
# question (an FAQ under "Troubleshooting"), a numbered case ("2.2) If you
# see ..."), a check's status line ("√ proxies are ready"), or a name that
# is a problem or an error ("Unknown Content Type", "FailedScheduling").
_CHECK_MARK = re.compile(r"^\s*[√✓✔✗✘×❌✅]")
_NUMBERED_CASE = re.compile(
    r"^\s*\d+(\.\d+)+[.)]?\s+\S|^\s*(\d+[.)]\s*)?(if|when)\s+(you|the|a|an)\b", re.I
)
_FAULT = (
    r"(?:Error|Err(?=[A-Z])|Exception|Fail(?:ed|ure)?|Invalid|Unknown|BackOff|Killed|Timeout|"
    r"Denied|Refused|Unavailable|NotFound|Missing|Panic)"
)
_ERROR_NAME = re.compile(
    rf"\b[A-Z]*(?:[A-Z][a-z0-9]+)*{_FAULT}(?:[A-Z][a-z0-9]+)*\b(?<=[a-z0-9])|"
    r"\b0x[0-9a-fA-F]{4,}\b|\b[A-Z]{2,}\d{2,}\b|"
    r"(?i:\b(unknown|unrecogni[sz]ed|unsupported|forbidden|unauthori[sz]ed|panic|exception)\b)"
)


def stands_alone(node: Node) -> bool:
    """A sub-heading that names a topic of its own: a unit, not a part of its parent.

    Parts (Symptom, Solution, "Check the logs", "Step 2: ...") stay folded;
    so do plain noun phrases ("Gate modes"), which describe their parent.
    """
    if node.from_label or _part_like(node):
        return False
    # A heading longer than this is prose set as a heading: its start decides.
    title = words.clean_title(node.title[:2000])
    return bool(
        title.rstrip().endswith("?")
        or _CHECK_MARK.match(node.title[:2000])
        or _NUMBERED_CASE.match(title)
        or words.is_problem_title(title)
        or _ERROR_NAME.search(title)
    )


def part_anchors(node: Node) -> list[str]:
    """The anchors of a unit and the parts folded into it, units below left out."""
    out = [node.anchor]
    for child in node.children:
        if not child.from_label and not stands_alone(child):
            out.extend(part_anchors(child))
    return out


_WORDS = re.compile(r"[^\W\d_]{2,}")


def has_code(blocks: list[Block]) -> bool:
    return any(b.type in ("fence", "code") or has_code(b.children) for b in blocks)


def substantive(blocks: list[Block]) -> bool:
    """Whether a heading has content of its own beyond rules and comments."""
    for block in blocks:
        if block.type in ("hr", "meta"):
            continue
        if block.type == "html" and block.code.lstrip().startswith("<!--"):
            continue
        if block.type == "paragraph" and block.inline is not None and not block.inline.text:
            continue
        return True
    return False


def mostly_parts(real: list[Node]) -> bool:
    """Most headings below are parts ("Symptoms", "Likely suspects", "Resolution")
    and none of them is structured as a unit of its own."""
    parts = sum(1 for child in real if _part_like(child))
    if parts == 0 or 2 * parts < len(real):
        return False
    return not any(_part_like(g) for child in real for g in child.real_children())


def title_mode(node: Node) -> Mode:
    """The document's own title heading wraps its sections unless they are its parts."""
    real = node.real_children()
    if not real or mostly_parts(real):
        return "parts"
    return "container"


def split_mode(node: Node) -> Mode:
    """How a heading relates to the headings under it.

    parts: they are parts of one unit; sections: it is a unit and they are
    units too; container: it only groups units.
    """
    real = node.real_children()
    if not real or node.from_label or words.is_scenario_title(node.title):
        return "parts"
    if all(_part_like(child) for child in real) or mostly_parts(real):
        return "parts"
    structured = any(_part_like(g) for child in real for g in child.real_children())
    problems = [c for c in real if not _part_like(c) and words.is_problem_title(c.title)]
    units_below = (
        structured
        or 2 * len(problems) >= len(real)
        or not substantive(node.blocks)
        or words.names_collection(node.title)
    )
    if not units_below:
        return "parts"
    return "sections" if has_code(node.blocks) or has_prose(node.blocks) else "container"


def has_prose(blocks: list[Block]) -> bool:
    """Whether a heading says something of its own: a paragraph, list, table or
    quote with words in it (a lone link line or a comment only groups)."""
    for block in blocks:
        if block.type in ("hr", "meta", "html", "heading"):
            continue
        if block.type == "paragraph" and block.inline is not None:
            if len(_WORDS.findall(block.inline.text)) >= 4:
                return True
            continue
        if block.type in ("list", "table", "quote"):
            return True
    return False
