"""The lines of a paste: logical lines, long lines cut, lines ranked by what they say.

A paste can be a megabyte of log; these keep what is read closely small.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from itertools import accumulate
from typing import NamedTuple

from opsdoc.search.text.patterns import QUOTE_PAIR_RE
from opsdoc.search.text.words import LOW_LEVELS, SCORE_WORDS

MAX_LINE_CHARS = 2_000  # longer lines are read in pieces of this size


class Logical(NamedTuple):
    index: int
    text: str
    extra: tuple[str, ...] = ()  # signals from a table column


def chunks(line: str) -> Iterator[str]:
    while len(line) > MAX_LINE_CHARS:
        cut = line.rfind(" ", MAX_LINE_CHARS // 2, MAX_LINE_CHARS)
        cut = cut if cut > 0 else MAX_LINE_CHARS
        yield line[:cut]
        line = line[cut:]
    yield line


def ranked(items: list[Logical]) -> list[Logical]:
    """Items by how much they say, most first: error words, quotes, table states.

    Scored in one pass over the joined text, not line by line: a 1 MB paste is
    tens of thousands of lines, and a Python call per line costs more than
    the regular expressions.
    """
    texts = [item.text for item in items]
    joined = "\n".join(texts)
    starts = list(accumulate(map((1).__add__, map(len, texts)), initial=0))
    scores = [3 * len(item.extra) for item in items]
    low = joined.lower()
    for word in SCORE_WORDS:
        pos = low.find(word)
        while pos != -1:
            scores[bisect_right(starts, pos) - 1] += 2
            pos = low.find(word, pos + len(word))
    for m in QUOTE_PAIR_RE.finditer(joined):
        scores[bisect_right(starts, m.start()) - 1] += 1
    for level in LOW_LEVELS:
        pos = joined.find(level)
        while pos != -1:
            line = bisect_right(starts, pos) - 1
            if pos - starts[line] < 60:
                scores[line] -= 3
            pos = joined.find(level, pos + len(level))
    order = sorted(range(len(items)), key=lambda i: (-scores[i], i))
    return [items[i] for i in order]
