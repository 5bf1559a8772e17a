"""Query understanding for ``opsdoc find``: from pasted text to a search.

A pasted error line, a screen of log output, a stack trace or ``kubectl``
output says a few things that matter (an exception class, a constraint name,
an SQLSTATE, a quoted message) inside a lot that does not (timestamps,
levels, pids, request ids, addresses, durations). :func:`understand` keeps
the first kind as exact *signals*, generalizes or strips the second, and
gives the prose that is left as *words*. :func:`opsdoc.search.alerts.from_alert`
does the same for an Alertmanager webhook or a PagerDuty event. Everything
is local regular expressions and small word lists: no network, no model.

The ranking reads ``words`` as an OR of terms and ``signals`` as phrases
that boost a section quoting them, so a wrong signal costs more than a
missing word: signals are kept only when they look like names or codes.

This module is the glue: :mod:`.traces` and :mod:`.tables` turn a paste into
logical lines, :mod:`.lines` picks those of a long paste worth reading,
:mod:`.clean` and :mod:`.signals` read each one, with the lists in
:mod:`.words` and the expressions in :mod:`.patterns`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from opsdoc.search.text.clean import AnalyzedLine, analyze_line
from opsdoc.search.text.lines import MAX_LINE_CHARS, Logical, chunks, ranked
from opsdoc.search.text.patterns import (
    ANSI_RE,
    BAD_CHARS_RE,
    INLINE_LEVEL_RE,
    PLACEHOLDER_RE,
    SPACE_RE,
    WORD_RE,
)
from opsdoc.search.text.signals import camel_parts, is_camel_signal
from opsdoc.search.text.traces import logical_lines
from opsdoc.search.text.words import NOISE_WORDS, STOP_WORDS
from opsdoc.search.types import Query

__all__ = ["Query", "analyze_text", "dedupe", "understand"]


MAX_INPUT_CHARS = 1_000_000  # beyond this, the head and the tail of a paste are read
MAX_LINES = 200  # the most signal-dense lines of a long paste
MAX_READ_CHARS = 30_000  # and at most this much of them read closely
# Bytes dropped to compare two lines of a long paste: digits and hex letters.
_SHAPE_DROP = b"0123456789abcdefABCDEF"


def dedupe(items: Iterable[str], *, fold: bool = False) -> list[str]:
    """Items in order without repeats or empty ones; ``fold`` ignores case."""
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        key = item.lower() if fold else item
        if item and key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _words(cleaned: str, camel: set[str]) -> Iterator[str]:
    for token in WORD_RE.findall(INLINE_LEVEL_RE.sub(" ", cleaned)):
        parts = camel_parts(token) if token in camel else [token]
        for part in parts:
            word = part.lower()
            if len(word) < 2 or word in STOP_WORDS or word in NOISE_WORDS:
                continue
            digits = sum(c.isdigit() for c in word)
            if (
                word.startswith("0x")
                or digits == len(word)
                or digits > 3
                or (digits and len(word) > 10)
            ):
                continue
            yield word


def _plain(cleaned: str) -> str:
    """Cleaned text without placeholders, for reading and for words."""
    text = PLACEHOLDER_RE.sub(" ", cleaned)
    text = re.sub(r"\(\s*\)|\[\s*\]|\{\s*\}", " ", text)
    return SPACE_RE.sub(" ", text).strip()


@dataclass
class _Result:
    lines: list[str]  # cleaned, placeholders removed
    words: list[str]
    signals: list[str]


def analyze_text(text: str) -> _Result:
    """The cleaned lines, words and signals of pasted text (alert prose included)."""
    if "\x1b" in text or "[0m" in text or "[1m" in text:
        text = ANSI_RE.sub("", text)
    raw_lines: list[str] = []
    for line in text.splitlines():
        raw_lines.extend(chunks(line) if len(line) > MAX_LINE_CHARS else (line,))
    logical, weak = logical_lines(raw_lines, text)

    first: dict[Any, Logical] = {}
    if len(logical) > MAX_LINES:
        # Lines that differ only in digits and hex ids are one event: keep its first.
        for item in logical:
            first.setdefault(
                item.text.encode("utf-8", "replace").translate(None, _SHAPE_DROP), item
            )
    else:
        for item in logical:
            first.setdefault(item.text, item)
    candidates = list(first.values())
    if len(candidates) > MAX_LINES:
        candidates = ranked(candidates)[:MAX_LINES]
    chosen: dict[str, tuple[int, AnalyzedLine, tuple[str, ...]]] = {}
    budget = MAX_READ_CHARS
    for item in candidates:
        budget -= len(item.text)
        if budget < 0 and chosen:
            break
        analyzed = analyze_line(item.text)
        if analyzed.cleaned or analyzed.signals or item.extra:
            chosen.setdefault(analyzed.cleaned, (item.index, analyzed, item.extra))

    lines: list[str] = []
    words: list[str] = []
    signals: list[str] = []
    for _, analyzed, extra in sorted(chosen.values(), key=lambda entry: entry[0]):
        plain = _plain(analyzed.cleaned)
        if plain:
            lines.append(plain)
        line_signals = [*extra, *analyzed.signals]
        signals.extend(line_signals)
        camel = {s for s in line_signals if is_camel_signal(s)}
        words.extend(_words(plain, camel))
    words.extend(weak)
    return _Result(lines, dedupe(words), dedupe(signals, fold=True))


def _readable(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str):
        return ""
    if len(text) > MAX_INPUT_CHARS:
        half = MAX_INPUT_CHARS // 2
        head = text[:half].rsplit("\n", 1)[0]
        tail = text[-half:].split("\n", 1)[-1]
        text = head + "\n" + tail
    return text


def _binaryish(text: str) -> bool:
    sample = text[:4096]
    return len(BAD_CHARS_RE.findall(sample)) > max(8, len(sample) // 10)


def understand(text: str) -> Query:
    """What pasted text is about: one line, many lines, a stack trace, kubectl output.

    Never raises: empty, binary or otherwise unreadable input gives an empty
    :class:`Query`. An alert payload pasted as text is for
    :func:`opsdoc.search.to_query`, which tells the two apart.
    """
    try:
        text = _readable(text)
        if not text.strip() or _binaryish(text):
            return Query(text="")
        result = analyze_text(text)
    except RecursionError:  # pragma: no cover - deeply nested JSON in a log line
        return Query(text="")
    return Query(text="\n".join(result.lines), words=result.words, signals=result.signals)
