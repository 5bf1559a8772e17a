"""What of a section the index holds, and how: its columns and their weights.

The columns are a unit's fields (title, symptoms, signals, step labels,
body, code, and the breadcrumb of the titles above it); bm25 weighs each
column by WEIGHTS, in the small index (FTS5) and the postings of a big one
alike.
"""

from __future__ import annotations

import re

from opsdoc.load import decode
from opsdoc.model import Runbook, Section

TOKENIZER = "porter unicode61 remove_diacritics 2"
# FTS columns in order; find.py weighs them with bm25 in this order.
# ``context`` is the breadcrumb: the runbook's title and the titles of the
# headings a section sits under, which say what system its own title is about.
COLUMNS = ("title", "symptoms", "signals", "labels", "body", "code", "context")
# How much a word counts in each column, for bm25 and the postings alike.
# Signals count mostly as exact phrases (find.py); as loose words they weigh
# less, or a section quoting a long error sample wins every query sharing a word.
WEIGHTS = (10.0, 6.0, 3.0, 2.0, 1.0, 0.5, 2.0)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def split_words(text: str) -> str:
    """CamelCase and snake_case spelled out, so "KubeProxyDown" is found by "proxy down"."""
    return " ".join(
        _CAMEL.sub(" ", w).replace("_", " ") for w in re.findall(r"[A-Za-z0-9_]+", text)
    )


def trails(book: Runbook) -> list[tuple[Section, list[str]]]:
    """Every section with the titles above it: the runbook's, then its ancestors'."""
    out: list[tuple[Section, list[str]]] = []

    def visit(section: Section, above: list[str]) -> None:
        out.append((section, above))
        for child in section.children:
            visit(child, [*above, section.title])

    for section in book.sections:
        visit(section, [book.title] if book.title else [])
    return out


def fields(book: Runbook, section: Section, trail: list[str] = ()) -> tuple[str, ...]:  # type: ignore[assignment]
    """The FTS columns of a section, in COLUMNS order."""
    title = f"{section.title} {split_words(section.title)}"
    if section.level <= 1 or len(book.sections) == 1:
        title += f" {book.title} {split_words(book.title)}"
    title += f" {section.id.replace('-', ' ')}"
    signals = section.signals + [a.name for a in section.quick_actions]
    labels: list[str] = []
    for step in section.steps:
        labels += [step.title or "", step.group or "", step.option or ""]
        labels += [s.label or "" for s in step.statements]
    code = [step.code for step in section.steps] + [
        s.code for s in section.snippets if s.role != "symptom"
    ]
    return (
        title,
        "\n".join(section.symptoms),
        "\n".join(signals + [split_words(s) for s in signals]),
        "\n".join(x for x in labels if x),
        section.text,
        "\n".join(code),
        "\n".join(f"{t} {split_words(t)}" for t in dict.fromkeys(trail) if t != section.title),
    )


def parse_for_index(path: str, data: bytes) -> Runbook:
    """Read a file for the index as ``list`` and ``show`` read it, classified too.

    Safety is not searched, but a unit's kind depends on it (read-only steps
    make a check), and a hit must name the kind ``list`` shows. It doubles
    the parse; the index pays it once per changed file.
    """
    from opsdoc.classify import classify_step
    from opsdoc.parse import parse_runbook

    return parse_runbook(decode(data, path), classify_step)
