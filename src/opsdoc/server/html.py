"""A runbook's Markdown as HTML that cannot run: raw HTML is shown as text,
``javascript:`` and other unsafe links are not links, secrets are masked."""

from __future__ import annotations

from markdown_it import MarkdownIt

from opsdoc.mask import SHAPES

# html=False: a <script> in a runbook is escaped text. markdown-it's own link
# check refuses javascript:, vbscript:, file: and data: (but images) URLs.
_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def markdown(text: str) -> str:
    masked = "\n".join(SHAPES.mask(line) for line in text.split("\n"))
    return _MD.render(masked)


def lines(text: str, first: int, last: int) -> str:
    """Lines ``first``..``last`` (1-based, inclusive) of ``text``, rendered."""
    return markdown("\n".join(text.split("\n")[first - 1 : last]))
