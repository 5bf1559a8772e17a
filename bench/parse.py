"""Parse throughput: opsdoc against a bare markdown-it-py parse of the same text.

Reads the five seeds and the public corpus from ../shared, repeats them until
there are at least 20 MB, and prints files/s and MB/s for:

- markdown-it-py alone (tokens only: the floor);
- opsdoc parse (decode + tokens + heading tree + recognition), no classify;
- opsdoc parse + classify (pglast and bashlex on every step).

The ratio of the second to the first is the parse overhead the issue asks
for (target: within 2x). Run: ``.venv/bin/python bench/parse.py [--mb 20]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from markdown_it import MarkdownIt

from opsdoc.classify import classify_step
from opsdoc.load import decode
from opsdoc.parse import parse_runbook

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"


def corpus() -> list[tuple[str, bytes]]:
    files = sorted((SHARED / "seeds").glob("*.txt")) + sorted(
        (SHARED / "corpus" / "public").glob("*.md")
    )
    return [(str(p), p.read_bytes()) for p in files]


def timed(label: str, work, docs: list[tuple[str, bytes]], total: int) -> float:
    start = time.perf_counter()
    for path, data in docs:
        work(path, data)
    elapsed = time.perf_counter() - start
    print(
        f"{label:<34} {len(docs) / elapsed:9.0f} files/s {total / elapsed / 1e6:8.2f} MB/s"
        f" {elapsed:8.2f} s"
    )
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="MB of text to parse (default 20)")
    args = parser.parse_args()
    base = corpus()
    if not base:
        print(f"no runbooks under {SHARED}", file=sys.stderr)
        return 2
    size = sum(len(d) for _, d in base)
    repeats = max(1, int(args.mb * 1e6 / size) + 1)
    docs = base * repeats
    total = size * repeats
    print(
        f"{len(base)} runbooks ({size / 1e6:.2f} MB) x {repeats} = {len(docs)} files, "
        f"{total / 1e6:.1f} MB"
    )
    md = MarkdownIt("commonmark", {"html": True}).enable("table")

    def bare(_path: str, data: bytes) -> None:
        md.parse(data.decode("utf-8", "replace"))

    def ours(path: str, data: bytes) -> None:
        parse_runbook(decode(data, path))

    def ours_classified(path: str, data: bytes) -> None:
        parse_runbook(decode(data, path), classify_step)

    floor = timed("markdown-it-py parse", bare, docs, total)
    parse = timed("opsdoc parse (no classify)", ours, docs, total)
    full = timed("opsdoc parse + classify", ours_classified, docs, total)
    print(f"ratio parse / markdown-it-py:            {parse / floor:.2f}x (target within 2x)")
    print(f"ratio parse+classify / markdown-it-py:   {full / floor:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
