"""markdown-it-py tokens folded into a small block tree with inline summaries.

markdown-it-py gives a flat token stream; recognition wants blocks it can
look at as a whole ("a paragraph that is only a bold label", "a list item
that holds a fence"). This module is the only one that touches tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token


def markdown_parser() -> MarkdownIt:
    """CommonMark plus GFM tables: the parser every count in opsdoc refers to."""
    return MarkdownIt("commonmark", {"html": True}).enable("table")


_PARSER = markdown_parser()


@dataclass
class Inline:
    """What recognition needs from a run of inline markup."""

    text: str = ""  # plain text, markup removed; soft breaks become "\n"
    codes: list[str] = field(default_factory=list)  # code spans, in order
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, text)
    lead: str | None = None  # text of a bold run that opens the inline, if any
    rest: str = ""  # plain text after that opening bold run
    lines: list[list[Token]] = field(default_factory=list)  # children split at breaks


@dataclass
class Block:
    type: str  # heading paragraph fence code list item table quote hr html
    line: int  # 1-based first line
    end: int  # 1-based last line
    level: int = 0  # heading level
    inline: Inline | None = None
    lang: str | None = None
    info: str = ""
    code: str = ""
    closed: bool = True  # fences: whether the closing marker was found
    ordered: bool = False
    children: list[Block] = field(default_factory=list)
    rows: list[list[Inline]] = field(default_factory=list)  # tables: header row first


def inline_of(token: Token) -> Inline:
    """Summarize an ``inline`` token's children."""
    out = Inline()
    parts: list[str] = []
    lead: list[str] = []
    state = "start"  # start -> in_lead -> after
    depth_strong = 0
    current_line: list[Token] = []
    link_stack: list[tuple[str, int]] = []
    for child in token.children or []:
        kind = child.type
        piece = ""
        if kind in ("softbreak", "hardbreak"):
            piece = "\n"
            out.lines.append(current_line)
            current_line = []
        else:
            current_line.append(child)
        if kind == "text" or kind == "html_inline":
            piece = child.content if kind == "text" else ""
        elif kind == "code_inline":
            piece = child.content
            out.codes.append(child.content)
        elif kind == "image":
            piece = child.content
        elif kind == "link_open":
            link_stack.append((str(child.attrs.get("href", "")), len("".join(parts))))
        elif kind == "link_close" and link_stack:
            href, start = link_stack.pop()
            out.links.append((href, "".join(parts)[start:]))
        # Track whether the inline opens with a bold run: that is a label.
        if kind == "strong_open":
            if state == "start" and not "".join(parts).strip():
                state = "in_lead"
            depth_strong += 1
        elif kind == "strong_close":
            depth_strong -= 1
            if state == "in_lead" and depth_strong == 0:
                state = "after"
                parts.append(piece)
                continue
        if state == "in_lead" and kind not in ("strong_open",):
            lead.append(piece)
        elif state == "after":
            out.rest += piece
        elif state == "start" and piece.strip() and kind != "strong_open":
            state = "none"
        parts.append(piece)
    out.lines.append(current_line)
    out.text = "".join(parts).strip()
    if state == "after":
        out.lead = "".join(lead).strip()
        out.rest = out.rest.strip()
    return out


def parse_blocks(text: str) -> list[Block]:
    """Top-level blocks of a Markdown text, nested where Markdown nests."""
    tokens = _PARSER.parse(text)
    lines = text.split("\n")
    blocks, _ = _fold(tokens, 0, lines, None)
    return blocks


def count_code_blocks(blocks: list[Block]) -> int:
    """Fenced and indented code blocks in a block tree (one parse, counted once)."""
    return sum((b.type in ("fence", "code")) + count_code_blocks(b.children) for b in blocks)


_CONTAINERS = {
    "bullet_list_open": "list",
    "ordered_list_open": "list",
    "list_item_open": "item",
    "blockquote_open": "quote",
}


def _fold(
    tokens: list[Token], i: int, lines: list[str], close: str | None
) -> tuple[list[Block], int]:
    out: list[Block] = []
    while i < len(tokens):
        tok = tokens[i]
        if close and tok.type == close:
            return out, i + 1
        start, end = (tok.map[0] + 1, tok.map[1]) if tok.map else (0, 0)
        if tok.type == "heading_open":
            inline = inline_of(tokens[i + 1])
            out.append(Block("heading", start, end, level=int(tok.tag[1]), inline=inline))
            i += 3
        elif tok.type == "paragraph_open":
            out.append(Block("paragraph", start, end, inline=inline_of(tokens[i + 1])))
            i += 3
        elif tok.type in ("fence", "code_block"):
            out.append(_code_block(tok, start, end, lines))
            i += 1
        elif tok.type in _CONTAINERS:
            kind = _CONTAINERS[tok.type]
            children, i = _fold(tokens, i + 1, lines, tok.type.replace("_open", "_close"))
            out.append(
                Block(kind, start, end, ordered=tok.type == "ordered_list_open", children=children)
            )
        elif tok.type == "table_open":
            rows, i = _table(tokens, i + 1)
            out.append(Block("table", start, end, rows=rows))
        elif tok.type == "hr":
            out.append(Block("hr", start, end))
            i += 1
        elif tok.type == "html_block":
            out.append(Block("html", start, end, code=tok.content))
            i += 1
        else:
            i += 1
    return out, i


def _code_block(tok: Token, start: int, end: int, lines: list[str]) -> Block:
    info = tok.info.strip() if tok.type == "fence" else ""
    lang = info.split(None, 1)[0] if info else None
    if lang and "{" in lang:  # ```bash{name=x}
        lang, _, rest = lang.partition("{")
        info = f"{lang} {{{rest}{info.split(None, 1)[1] if ' ' in info else ''}"
        lang = lang or None
    closed = True
    if tok.type == "fence":
        last = lines[end - 1].strip() if 0 < end <= len(lines) else ""
        closed = end - start >= 1 and last.startswith(tok.markup) and not last.strip(tok.markup[0])
        first_code_line = start + 1
    else:
        first_code_line = start
    return Block(
        "fence" if tok.type == "fence" else "code",
        first_code_line,
        end,
        lang=lang,
        info=info,
        code=tok.content,
        closed=closed,
    )


def _table(tokens: list[Token], i: int) -> tuple[list[list[Inline]], int]:
    rows: list[list[Inline]] = []
    row: list[Inline] = []
    while i < len(tokens) and tokens[i].type != "table_close":
        tok = tokens[i]
        if tok.type == "tr_open":
            row = []
        elif tok.type == "tr_close":
            rows.append(row)
        elif tok.type == "inline":
            row.append(inline_of(tok))
        i += 1
    return rows, i + 1
