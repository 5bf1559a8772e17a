"""From runbook text to the model: front matter, blocks, headings, sections.

``parse_runbook`` is the whole stage (``opsdoc.parse`` re-exports it). It
takes an optional hook that is called for every step as soon as it exists,
which is how the classifier gives each step its safety without this package
importing it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from opsdoc.load import Source
from opsdoc.model import Diagnostic, Link, Runbook, Section
from opsdoc.parse import words
from opsdoc.parse.blocks import Block, Inline, count_code_blocks, parse_blocks
from opsdoc.parse.cells import name_cells
from opsdoc.parse.recognize import Document, SeverityRow, StepHook
from opsdoc.parse.sections import build_section
from opsdoc.parse.tree import (
    Node,
    build_tree,
    has_code,
    mostly_parts,
    substantive,
    title_mode,
)
from opsdoc.parse.words import Slugger

__all__ = ["parse_runbook", "parse_text"]

_META_KEYS = {
    "last updated",
    "updated",
    "last update",
    "last reviewed",
    "reviewed",
    "next review",
    "review date",
    "owner",
    "owners",
    "maintainer",
    "maintainers",
    "maintained by",
    "author",
    "authors",
    "team",
    "status",
    "version",
    "escalation",
    "created",
    "date",
    "on-call",
    "service",
    "tier",
    "severity",
}


def parse_text(text: str, path: str = "<text>", hook: StepHook | None = None) -> Runbook:
    """Parse Markdown text that did not come from a file (tests, the API)."""
    return parse_runbook(Source(path=path, text=text), hook)


def parse_runbook(source: Source, hook: StepHook | None = None) -> Runbook:
    text, front = _front_matter(source.text)
    blocks = parse_blocks(text)
    runbook = Runbook(path=source.path, title="", encoding=source.encoding, sha256=source.sha256)
    runbook.diagnostics.extend(source.diagnostics)
    runbook.code_blocks = count_code_blocks(blocks)
    runbook.metadata.update(front)
    _collect_metadata(blocks, runbook.metadata)
    _check_fences(blocks, runbook)
    _collect_links(blocks, runbook.links)
    if not text.strip():
        runbook.diagnostics.append(Diagnostic("warning", "empty file, no sections"))

    _fill_template_titles(blocks, str(front.get("title") or "") or _stem(source.path))
    slugger = Slugger()
    preamble, roots = build_tree(blocks, slugger)
    doc = Document(hook=hook)
    title_node: Node | None = None
    h1s = [r for r in roots if r.level == 1]
    if len(roots) == 1 and len(h1s) == 1:
        title_node = roots[0]
    first = roots[0].title if roots and not mostly_parts(roots) else ""
    fallback = str(front.get("title") or "") or first or _stem(source.path)
    runbook.title = title_node.title if title_node else fallback

    sections: list[Section] = []
    if title_node is not None:
        mode = title_mode(title_node)
        if mode == "parts":
            sections.append(build_section(_merge(preamble, title_node), doc))
        else:
            own = preamble + title_node.blocks
            if has_code(own) or any(b.type == "table" for b in own) or _own_text(own):
                sections.append(
                    _preamble_section(
                        own, title_node.title, title_node.anchor, title_node.line, doc
                    )
                )
            for child in title_node.children:
                sections.append(build_section(child, doc))
    elif roots and mostly_parts(roots):
        # No title heading, and the top headings are parts ("## Symptoms",
        # "## Troubleshooting"): the whole file is one unit.
        level = min(r.level for r in roots) - 1
        node = Node(runbook.title, level, 1, slugger.slug(runbook.title), preamble, roots)
        node.end = max(r.end for r in roots)
        sections.append(build_section(node, doc))
    else:
        if has_code(preamble) or any(b.type == "table" for b in preamble) or _own_text(preamble):
            anchor = slugger.slug(runbook.title) if not roots else "preamble"
            sections.append(_preamble_section(preamble, runbook.title, anchor, 1, doc))
        for root in roots:
            sections.append(build_section(root, doc))
    runbook.sections = sections
    _assign_severity(runbook, doc.severity_rows)
    names = name_cells(blocks)
    for section in runbook.walk():
        for item in [*section.steps, *section.snippets]:
            item.name = names.get(item.line)
    return runbook


# A heading a site generator fills in: ERB `<%= current_page.data.title %>`,
# Liquid/Jinja/Hugo `{{ page.title }}`, `{% ... %}`.
_TEMPLATE = re.compile(r"^\s*(<%=?.*%>|\{\{.*\}\}|\{%.*%\})\s*$")


def _own_text(blocks: list[Block]) -> bool:
    """Text before the first sub-heading that is a unit: prose or lists of its own.

    A callout in a quote ("> Battle-ready runbook: copy-paste commands") says
    what the document is, not what to do, so alone it makes no unit.
    """
    return substantive([b for b in blocks if b.type != "quote"])


def _fill_template_titles(blocks: list[Block], title: str) -> None:
    """Headings that are a template expression read as the page's real title."""
    for block in blocks:
        inline = block.inline
        if block.type == "heading" and inline is not None and _TEMPLATE.match(inline.text):
            inline.text = title


def body_blocks(text: str) -> list[Block]:
    """The blocks the parser reads from a runbook's text, front matter blanked.

    Renderers that show a section whole walk these: their lines are the lines
    the model's sections, steps and snippets record.
    """
    return parse_blocks(_front_matter(text)[0])


def _merge(preamble: list[Block], node: Node) -> Node:
    if preamble:
        node.blocks = preamble + node.blocks
    return node


def _preamble_section(
    blocks: list[Block], title: str, anchor: str, line: int, doc: Document
) -> Section:
    node = Node(title, 1, line, anchor, blocks=blocks)
    node.end = max([line, *(b.end for b in blocks)])
    return build_section(node, doc)


def _stem(path: str) -> str:
    name = Path(path).name
    for suffix in (".md", ".markdown", ".txt", ".erb", ".html"):
        name = name.removesuffix(suffix)
    return name or path


# -- front matter ---------------------------------------------------------------


def _front_matter(text: str) -> tuple[str, dict[str, Any]]:
    """YAML (---) or TOML (+++) front matter, blanked out so line numbers hold."""
    if text.startswith("{"):
        return _json_front_matter(text)
    for fence, loader in (("---", _yaml), ("+++", _toml)):
        if not text.startswith(fence + "\n"):
            continue
        lines = text.split("\n")
        for end in range(1, min(len(lines), 300)):
            if lines[end].strip() in (fence, "...") and lines[end].strip() != "":
                body = "\n".join(lines[1:end])
                data = loader(body)
                if data is None:
                    return text, {}
                blanked = "\n" * end + "\n" + "\n".join(lines[end + 1 :])
                return blanked, data
        return text, {}
    return text, {}


def _json_front_matter(text: str) -> tuple[str, dict[str, Any]]:
    """Hugo's JSON front matter: an object from the first line to a line ``}``."""
    import json

    lines = text.split("\n")
    for end in range(min(len(lines), 300)):
        if lines[end].rstrip() == "}":
            try:
                data = json.loads("\n".join(lines[: end + 1]))
            except ValueError:
                return text, {}
            if not isinstance(data, dict):
                return text, {}
            return "\n" * (end + 1) + "\n".join(lines[end + 1 :]), _plain(data)
    return text, {}


def _yaml(body: str) -> dict[str, Any] | None:
    import yaml

    try:
        # The C loader where libyaml is there: the pure-Python one takes
        # seconds on a megabyte of front matter.
        data = yaml.load(body, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return None
    return {str(k): _plain(v) for k, v in data.items()} if isinstance(data, dict) else None


def _toml(body: str) -> dict[str, Any] | None:
    import tomllib

    try:
        return {k: _plain(v) for k, v in tomllib.loads(body).items()}
    except tomllib.TOMLDecodeError:
        return None


def _plain(value: Any) -> Any:
    """Front-matter values made JSON-safe (dates become ISO strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


# -- metadata, fences, links ------------------------------------------------------


def _collect_metadata(blocks: list[Block], metadata: dict[str, Any]) -> None:
    """``**Last Updated**: 2025-10-27`` lines, wherever the team put them."""
    for block in blocks:
        if block.type != "paragraph" or block.inline is None:
            continue
        pairs = _key_values(block.inline)
        if pairs and any(key.replace("_", " ") in _META_KEYS for key, _ in pairs):
            for key, value in pairs:
                metadata.setdefault(key, value)
            block.type = "meta"


def _key_values(inline: Inline) -> list[tuple[str, str]] | None:
    pairs: list[tuple[str, str]] = []
    for line in inline.lines:
        if not line:
            continue
        types = [t.type for t in line if not (t.type == "text" and not t.content.strip())]
        if not types or types[0] not in ("strong_open", "em_open"):
            return None
        flat = "".join(t.content for t in line if t.type in ("text", "code_inline")).strip()
        key, colon, value = flat.partition(":")
        key = words.clean_title(key).strip().lower()
        if not colon or not value.strip() or not re.fullmatch(r"[a-z][a-z /-]{0,30}", key):
            return None
        pairs.append((re.sub(r"[ /-]+", "_", key), value.strip().strip("*_").strip()))
    return pairs or None


def _check_fences(blocks: list[Block], runbook: Runbook) -> None:
    for block in _all_blocks(blocks):
        if block.type == "fence" and not block.closed:
            runbook.diagnostics.append(
                Diagnostic(
                    "warning",
                    f"code fence opened at line {block.line - 1} is never closed; "
                    "the rest of the file was read as code",
                    block.line - 1,
                )
            )


def _collect_links(blocks: list[Block], links: list[Link]) -> None:
    for block in _all_blocks(blocks):
        inlines = [block.inline] if block.inline else []
        inlines += [cell for row in block.rows for cell in row]
        for inline in inlines:
            for href, text in inline.links:
                links.append(Link(href, block.line, text))


def _all_blocks(blocks: list[Block]):
    for block in blocks:
        yield block
        yield from _all_blocks(block.children)


# -- severity -----------------------------------------------------------------


def _stems(text: str) -> set[str]:
    out = set()
    for word in re.findall(r"[a-z0-9]+", words.words_key(text)):
        if word in {"the", "a", "an", "is", "are", "on", "in", "of", "to", "for", "and", "or"}:
            continue
        out.add(words.stem(word))
    return out


def _assign_severity(runbook: Runbook, rows: list[SeverityRow]) -> None:
    """Give scenarios the severity of the quick-reference row that describes them.

    Rows and sections are matched one to one, best coverage of the row's
    words first, so "Database down" does not take the slot of "Slow queries".
    """
    if not rows:
        return
    candidates = [s for s in runbook.walk() if s.kind == "scenario"]
    scored: list[tuple[float, int, int]] = []
    for r, row in enumerate(rows):
        want = _stems(row.issue)
        if not want:
            continue
        for c, section in enumerate(candidates):
            have = _stems(section.title) | _stems(" ".join(section.symptoms))
            coverage = len(want & have) / len(want)
            if coverage >= 0.5:
                scored.append((coverage, -r, c))
    used_rows: set[int] = set()
    for _coverage, neg_r, c in sorted(scored, reverse=True):
        section = candidates[c]
        if -neg_r in used_rows or section.severity is not None:
            continue
        section.severity = rows[-neg_r].severity
        used_rows.add(-neg_r)
