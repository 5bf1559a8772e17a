"""Cell names as Runme gives them, so a Runme user's `run NAME` works here too.

Runme names every fenced block of a file (a "cell"): the ``name``
attribute when there is one, else a name made from the first line that is
not a comment, its first two words lowercased and joined by a dash, only
ASCII letters and digits kept ("export GOPATH=..." gives "export-gopath").
A name met a second time gets "-2", a third "-3", in document order. Cells
Runme does not run (``ignore=true``, ``transform=false``, mermaid diagrams)
get no name and do not count for the suffixes. Indented code blocks are
not cells.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opsdoc.parse.blocks import Block
from opsdoc.parse.fences import flag, parse_attrs

IGNORED_LANGS = {"mermaid"}
_NAME_BYTES = 32  # Runme reads this much of the first line


def name_cells(blocks: list[Block]) -> dict[int, str]:
    """Each named cell's first code line (``Block.line``) and its name."""
    seen: dict[str, int] = {}
    names: dict[int, str] = {}
    for block in fences(blocks):
        attrs = parse_attrs(block.info)
        if ignored(block.lang, attrs):
            continue
        given = attrs.get("name")
        base = str(given) if given not in (None, "", True) else generated_name(block.code)
        count = seen.get(base, 0) + 1
        seen[base] = count
        names[block.line] = base if count == 1 else f"{base}-{count}"
    return names


def fences(blocks: list[Block]) -> Iterator[Block]:
    """Every fenced block of a block tree (list items and quotes too), in document order."""
    for block in blocks:
        if block.type == "fence":
            yield block
        yield from fences(block.children)


def ignored(lang: str | None, attrs: dict[str, Any]) -> bool:
    """Whether Runme leaves the cell alone: it is shown, never run."""
    return (
        (lang or "").lower() in IGNORED_LANGS
        or flag(attrs.get("ignore")) is True
        or flag(attrs.get("transform")) is False
    )


def generated_name(code: str) -> str:
    """The name Runme makes from a cell's first non-comment line."""
    lines = [line.lstrip("$").rstrip() for line in code.splitlines()]
    first = next((c for c in (_uncommented(line) for line in lines) if c), None)
    if first is None:
        first = lines[0] if lines else ""
    return _sanitized(first)


def _uncommented(line: str) -> str:
    return line.strip().split("#", 1)[0].rstrip()


def _sanitized(text: str) -> str:
    # A first line that sets a variable is named by the variable.
    if text.find("=") > 0:
        return _sanitized(text[: text.find("=")])
    head = text.encode("utf-8")[:_NAME_BYTES].decode("utf-8", "ignore")
    words = head.split(" ")
    out: list[str] = []
    for char in " ".join(words[:2]).lower():
        if char == " " and out:
            out.append("-")
        elif "a" <= char <= "z" or "0" <= char <= "9":
            out.append(char)
    return "".join(out)


def in_run_all(attrs: dict[str, Any]) -> bool:
    """Whether ``run --all`` runs the cell: not when ``excludeFromRunAll`` is true."""
    return flag(attrs.get("excludeFromRunAll")) is not True


def categories(attrs: dict[str, Any]) -> set[str]:
    """The cell's categories (``category="a,b"``; ``tag`` read the same way)."""
    found: set[str] = set()
    for key in ("category", "tag"):
        value = attrs.get(key)
        if isinstance(value, str):
            found.update(part.strip() for part in value.split(",") if part.strip())
    return found
