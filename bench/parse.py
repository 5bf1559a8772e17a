"""Parse throughput: opsdoc against a bare markdown-it-py parse of the same text.

Reads the five seeds and the public corpus from ../shared, repeats them until
there are at least 20 MB, and prints files/s and MB/s for:

- markdown-it-py alone (tokens only: the floor);
- opsdoc parse (decode + tokens + heading tree + recognition), no classify;
- opsdoc parse + classify (pglast and bashlex on every step).

The ratio of the second to the first is the parse overhead the issue asks
for (target: within 2x).

Then one long line: a single-line block of 100 KB, 1 MB and 2 MB in each kind
of fence and in prose, parsed by opsdoc and by markdown-it-py alone. Time per
byte should stay flat as the line grows (linear), and opsdoc should stay within
3x of markdown-it-py; classification (bashlex, pglast) is printed beside it.

Run: ``.venv/bin/python bench/parse.py [--mb 20] [--long-only]``.
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


def long_line_docs(size: int) -> dict[str, str]:
    """One runbook per kind of block, each holding a single line of `size` bytes."""
    word = "a" * size
    unit = "$HOST/<id> 'q' \"d\" x=1 "
    dense = unit * (size // len(unit) + 1)
    blocks = {
        "bash, $ prompt": f"```bash\n$ echo {word}\n```\n",
        "bash, no prompt": f"```bash\necho {word}\n```\n",
        "bash, dense words": "```bash\n$ curl -s " + dense[: size - 8] + "\n```\n",
        "console, user@host": f"```console\nuser@host:{word}\n```\n",
        "sql": f"```sql\nSELECT '{word}';\n```\n",
        "powershell": f"```powershell\nWrite-Host {word}\n```\n",
        "text": f"```text\n{word}\n```\n",
        "prose": "word " * (size // 5) + "\n",
        "heading": "## " + "a " * (size // 2) + "\n",
        "table cell": f"| a | b |\n|---|---|\n| {word} | y |\n",
        "front matter": f"---\ntitle: {word}\n---\n# T\n",
    }
    return {name: "# Runbook\n\n## S\n\n" + text for name, text in blocks.items()}


def best_of(work, repeat: int = 3) -> float:
    """The fastest of a few runs: the machine's noise only ever adds time."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def long_lines(md: MarkdownIt) -> float:
    """Print the long-line table; return the worst parse ratio at 1 MB."""
    print()
    print("one long line: markdown-it-py / opsdoc parse (ratio) / + classify; ns per byte")
    worst = 0.0
    for size in (100_000, 1_000_000, 2_000_000):
        for name, text in long_line_docs(size).items():
            data = text.encode()
            floor = best_of(lambda data=data: md.parse(data.decode()))
            ours = best_of(lambda data=data: parse_runbook(decode(data, "long.md")))
            full = best_of(
                lambda data=data: parse_runbook(decode(data, "long.md"), classify_step), 1
            )
            if size == 1_000_000 and name != "bash, dense words":
                worst = max(worst, ours / floor)
            print(
                f"{size / 1e6:4.1f} MB {name:<20} {floor * 1e3:8.1f} ms {ours * 1e3:8.1f} ms"
                f" ({ours / floor:4.1f}x) {full * 1e3:8.1f} ms"
                f"   {ours / len(data) * 1e9:6.1f} ns/B"
            )
    print(f"worst 1 MB ratio opsdoc parse / markdown-it-py: {worst:.2f}x (target within 3x)")
    print("  (dense words: every word a variable, quote or placeholder; linear, not in the target)")
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="MB of text to parse (default 20)")
    parser.add_argument("--long-only", action="store_true", help="only the long-line cases")
    args = parser.parse_args()
    if args.long_only:
        long_lines(MarkdownIt("commonmark", {"html": True}).enable("table"))
        return 0
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
    long_lines(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
