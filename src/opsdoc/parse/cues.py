"""What the text around a code block says: a bold label that names a part,
an "Expected output:" promise, a fence's first comment, an attribute's
duration. Plain functions over text, used while a unit is read."""

from __future__ import annotations

import re

from opsdoc.parse import words
from opsdoc.parse.blocks import Block, Inline


def structural_label(inline: Inline) -> str | None:
    """The label of a paragraph that opens with bold text and says little else.

    ``**Diagnosis**:``, ``**Option B: Delete Batch** (admin only)`` and
    ``**Symptoms:** text...`` are labels; ``**Note:** a long sentence`` is not,
    unless its bold text names a role.
    """
    lead = inline.lead
    if lead is None or not lead.strip():
        return None
    rest = inline.rest.strip()
    rest_core = re.sub(r"\([^)]*\)", "", rest).strip(" :.-–—")
    if not rest_core or words.option_label(lead):
        # "**Option C: Fix one shipment** (when ...). `<id>` is ..." still opens option C.
        return lead.strip()
    role = words.role_of(lead)
    if role not in (None, words.NOTE) and (lead.rstrip().endswith(":") or rest.startswith(":")):
        return lead.strip()
    return None


def expectations(after: str, codes: list[str]) -> list[str]:
    """What an "Expected output: ..." sentence promises: its code spans, else its words.

    Only the first sentence counts; what follows is usually advice for when
    the expectation does not hold.
    """
    sentence = re.split(r"(?<=[.!?])\s", after.strip(), maxsplit=1)[0]
    groups: list[list[str]] = []
    cursor = 0
    for code in codes:
        at = sentence.find(code, cursor)
        if at < 0:
            break
        # "`approved` or `rejected`": either will do, so they make one expectation.
        if groups and sentence[cursor:at].strip(" ,") == "or":
            groups[-1].append(code)
        else:
            groups.append([code])
        cursor = at + len(code)
    if groups:
        return [
            g[0] if len(g) == 1 else "/" + "|".join(re.escape(c) for c in g) + "/" for g in groups
        ]
    value = sentence.strip().rstrip(".").strip()
    return [value] if value else []


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s|\n", text.strip(), maxsplit=1)[0]


def label_text(label: str) -> str:
    return re.sub(r"\s+", " ", label.strip().rstrip(":").strip())


def labels_are_options(blocks: list[Block]) -> bool:
    """Two or more plain labels in one run of blocks offer alternatives."""
    plain = 0
    for block in blocks:
        if block.type != "paragraph" or block.inline is None:
            continue
        label = structural_label(block.inline)
        if label is None:
            continue
        if words.role_of(label) or words.option_label(label) or words.numbered(label):
            continue
        plain += 1
    return plain >= 2


def column(header: list[str], pattern: str) -> int | None:
    for i, name in enumerate(header):
        if re.search(pattern, name):
            return i
    return None


def first_comment(lang: str, code: str) -> str | None:
    prefix = "--" if lang == "sql" else "#"
    for line in code.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#!"):
            continue
        if stripped.startswith(prefix):
            return stripped[len(prefix) :].strip() or None
        return None
    return None


def compiles(code: str) -> bool:
    try:
        compile(code, "<step>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def seconds(value: object) -> float | None:
    if value is None or value is True:
        return None
    text = str(value).strip().lower()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)?", text)
    if not match:
        return None
    number = float(match.group(1))
    return number * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
