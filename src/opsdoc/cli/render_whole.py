"""A section shown whole: prose, lists, tables, quotes and steps in document order.

An on-call reader needs what the author wrote around the commands (the
escalation path, the contacts table, the "click Settings → Restart" steps in
a web console) as much as the commands. The blocks come from the same
Markdown parse the model was built from, so a block's line is the line a
step or a child section records, and every step lands where it stands.
On a terminal prose wraps to the window; piped, a paragraph stays one line
and a table one row per line, so grep and a pager see what was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rich.text import Text

from opsdoc.cli.render import console, snippet_code, step_entry
from opsdoc.cli.safe_text import visible
from opsdoc.model import Runbook, Section, Snippet, Step
from opsdoc.parse.blocks import Block, Inline

ADMONITION = re.compile(r"^\[!(\w+)\]\s*")
MARKER = re.compile(r"\s*(\d+[.)]|[-*+])\s")


@dataclass
class View:
    """What one section's rendering has placed, so nothing is left out."""

    section: Section
    lines: list[str]
    number: dict[int, int] = field(default_factory=dict)  # step line -> its number
    done: set[int] = field(default_factory=set)  # step and snippet lines shown

    @property
    def piped(self) -> bool:
        return not console.is_terminal


def runbook(book: Runbook, sections: list[Section], text: str) -> None:
    """The runbook's head, then each of ``sections`` whole."""
    from opsdoc.cli.render import runbook_head
    from opsdoc.mask import SHAPES
    from opsdoc.parse.runbook import body_blocks

    runbook_head(book)
    # Secret shapes masked line by line, so the blocks keep their file lines.
    text = "\n".join(SHAPES.mask(line) for line in text.split("\n"))
    blocks = body_blocks(text)
    lines = text.split("\n")
    for section in sections:
        console.print()
        whole(section, blocks, lines)


def whole(section: Section, blocks: list[Block], lines: list[str], depth: int = 0) -> None:
    """Print ``section`` with every block of its own lines, children in place."""
    from opsdoc.cli.render import section_head

    pad = "  " * depth
    section_head(section, pad)
    view = View(section, lines, {s.line: n for n, s in enumerate(section.steps, 1)})
    children = list(section.children)
    placed: list[Section] = []
    previous: Block | None = None
    for block in _own_blocks(section, blocks):
        while children and children[0].line <= block.line:
            child = children.pop(0)
            placed.append(child)
            console.print()
            whole(child, blocks, lines, depth + 1)
            previous = None
        if any(c.line <= block.line <= c.end_line for c in placed) or _silent(block):
            continue
        if previous is not None and not _introduces(previous):
            console.print()
        _block(view, block, pad)
        previous = block
    for number, step in enumerate(section.steps, 1):  # steps not found in place
        if step.line not in view.done:
            step_entry(number, step, pad)
    for snippet in section.snippets:
        if snippet.line not in view.done:
            snippet_code(snippet, pad)
    for child in children:
        console.print()
        whole(child, blocks, lines, depth + 1)


def _silent(block: Block) -> bool:
    """Rules and HTML comments print nothing, so they get no blank line either."""
    if block.type == "hr":
        return True
    if block.type == "html":
        return block.code.lstrip().startswith("<!--")
    return block.type == "paragraph" and not (block.inline and block.inline.text.strip())


def _introduces(block: Block) -> bool:
    """A label such as "Railway Web UI:" stays on the line above what it labels."""
    if block.type == "heading":
        return True
    text = block.inline.text.rstrip() if block.inline is not None else ""
    return block.type == "paragraph" and text.endswith(":")


def _own_blocks(section: Section, blocks: list[Block]) -> list[Block]:
    """Top-level blocks within the section's lines, its own heading left out."""
    out = []
    for block in blocks:
        if block.end < section.line or block.line > section.end_line:
            continue
        if block.type == "heading" and block.line == section.line:
            continue
        out.append(block)
    return out


def _block(view: View, block: Block, pad: str) -> None:
    kind = block.type
    if kind == "heading" and block.inline is not None:
        console.print(Text(pad + _inline(block.inline), style="bold underline"))
    elif kind == "paragraph" and block.inline is not None:
        text = _inline(block.inline)
        if text:
            _para(view, pad, text)
    elif kind == "list":
        _list(view, block, pad)
    elif kind == "table":
        _table(view, block, pad)
    elif kind == "quote":
        _quote(view, block, pad)
    elif kind in ("fence", "code"):
        _code(view, block, pad)
    elif kind == "html" and not block.code.lstrip().startswith("<!--"):
        for line in block.code.rstrip("\n").split("\n"):
            console.print(Text(pad + visible(line), style="dim"), soft_wrap=view.piped)


def _para(view: View, pad: str, text: str, first: str = "", style: str = "") -> None:
    """One paragraph: wrapped under its own indent on a terminal, one line piped."""
    body = visible(text.replace("\n", " "))
    if view.piped:
        console.print(Text(pad + first + body, style=style), soft_wrap=True)
        return
    from rich.padding import Padding
    from rich.table import Table

    grid = Table.grid()
    grid.add_column(width=len(first))
    grid.add_column(ratio=1)
    grid.add_row(first, Text(body, style=style))
    console.print(Padding(grid, (0, 0, 0, len(pad))))


def _inline(inline: Inline) -> str:
    """Plain text with each link's address after its text, where it adds anything."""
    text = inline.text
    cursor = 0
    for href, label in inline.links:
        if not href or href.startswith("#") or href == label:
            continue
        at = text.find(label, cursor) if label else -1
        if at < 0:
            continue
        end = at + len(label)
        text = f"{text[:end]} ({href}){text[end:]}"
        cursor = end + len(href) + 3
    return text


def _list(view: View, block: Block, pad: str) -> None:
    for number, item in enumerate(block.children, 1):
        marker = "•"
        if 0 < item.line <= len(view.lines):
            found = MARKER.match(view.lines[item.line - 1])
            if found:
                marker = found.group(1) if block.ordered else "•"
        elif block.ordered:
            marker = f"{number}."
        first = True
        for child in item.children:
            if first and child.type == "paragraph" and child.inline is not None:
                _para(view, pad, _inline(child.inline), first=marker + " ")
            else:
                if first:
                    console.print(Text(pad + marker))
                _block(view, child, pad + "   ")
            first = False
        if first:  # an empty item
            console.print(Text(pad + marker))


def _quote(view: View, block: Block, pad: str) -> None:
    for child in block.children:
        if child.type == "paragraph" and child.inline is not None:
            text = _inline(child.inline)
            found = ADMONITION.match(text)
            if found:
                text = f"{found.group(1).upper()}: {text[found.end() :]}"
            _para(view, pad, text, first="│ ", style="italic")
        else:
            _block(view, child, pad + "│ ")


def _table(view: View, block: Block, pad: str) -> None:
    rows = [[visible(_inline(cell).replace("\n", " ")) for cell in row] for row in block.rows]
    if not rows:
        return
    if view.piped:
        widths = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(rows[0]))]
        for n, row in enumerate(rows):
            cells = [row[i].ljust(widths[i]) if i < len(row) else "" for i in range(len(widths))]
            console.print(Text(pad + " | ".join(cells).rstrip()), soft_wrap=True)
            if n == 0:
                console.print(Text(pad + "-+-".join("-" * w for w in widths)), soft_wrap=True)
        return
    from rich import box
    from rich.padding import Padding
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for name in rows[0]:
        table.add_column(name, overflow="fold")
    for row in rows[1:]:
        table.add_row(*row)
    console.print(Padding(table, (0, 0, 0, len(pad))))


def _code(view: View, block: Block, pad: str) -> None:
    step: Step | None = next((s for s in view.section.steps if s.line == block.line), None)
    if step is not None:
        view.done.add(step.line)
        step_entry(view.number[step.line], step, pad, group=False)
        return
    snippet: Snippet | None = next((s for s in view.section.snippets if s.line == block.line), None)
    if snippet is not None:
        view.done.add(snippet.line)
        snippet_code(snippet, pad)
        return
    snippet_code(Snippet(block.lang, block.code, block.line), pad)
