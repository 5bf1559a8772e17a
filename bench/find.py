"""Search at scale: a corpus of 10,000 runbooks, indexed and queried.

The seeds and the public corpus are replicated with varied file names, ids
and numbers. Printed: the full index build, a re-index after one file
changes, warm query latency (p50/p95 over 1,000 queries, in process), the
cold `opsdoc find` wall time (a new process, index up to date), and the same
queries with `rg -l -i` over the same files when ripgrep is installed.
Targets: warm p95 under 10 ms, re-index under 100 ms, cold CLI under 0.5 s.
Run: ``.venv/bin/python bench/find.py [--files 10000] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from opsdoc.search import to_query as understand
from opsdoc.search.alerts import from_alert
from opsdoc.search.index import postings
from opsdoc.search.index.fields import parse_for_index
from opsdoc.search.index.store import Index
from opsdoc.search.rank import search

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
TEAMS = ["payments", "search", "infra", "identity", "data", "mobile", "edge", "billing"]


def base_files() -> list[Path]:
    return sorted((SHARED / "seeds").glob("*.txt")) + sorted(
        (SHARED / "corpus" / "public").glob("*.md")
    )


def build_corpus(target: Path, count: int, rng: random.Random) -> list[Path]:
    """``count`` runbooks: the base files again and again, names and numbers varied."""
    bases = [(p, p.read_text(encoding="utf-8", errors="replace")) for p in base_files()]
    made = []
    for i in range(count):
        path, text = bases[i % len(bases)]
        team = TEAMS[i % len(TEAMS)]
        folder = target / team / f"svc-{i % 97:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        text = re.sub(r"\b\d{3,}\b", lambda m: str(rng.randrange(100, 99999)), text)
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}", lambda m: f"{rng.getrandbits(32):08x}-beef", text)
        name = f"{team}-{i:05d}-{path.stem[:40]}.md"
        out = folder / name
        out.write_text(text, encoding="utf-8")
        made.append(out)
    return made


def labelled() -> list[dict]:
    path = ROOT / "tests" / "find" / "queries.yaml"
    return yaml.safe_load(path.read_text()) if path.exists() else []


def load_queries() -> list:
    out = []
    for item in labelled():
        if "alert" in item:
            out.append(from_alert(item["alert"]))
        else:
            out.append(understand(item["query"]))
    return out or [understand("duplicate key value violates unique constraint")]


def quality_at_scale(index: Index) -> tuple[float, float]:
    """P@1 and MRR of the labelled set on the big corpus; a copy of a section counts as it."""
    items = labelled()

    def base(name: str, section: str) -> tuple[str, str]:
        stem = Path(name).stem
        return re.sub(r"^[a-z]+-\d{5}-", "", stem)[:40], section

    p1 = mrr = 0.0
    for item, query in zip(items, load_queries(), strict=True):
        expect = item["expect"]
        wanted = {base(*e.split("#", 1)) for e in ([expect] if isinstance(expect, str) else expect)}
        ranks = [base(Path(h.file).name, h.id) for h in search(index, query, limit=10)]
        rank = next((n for n, key in enumerate(dict.fromkeys(ranks), 1) if key in wanted), None)
        p1 += rank == 1
        mrr += 1 / rank if rank else 0.0
    return p1 / max(1, len(items)), mrr / max(1, len(items))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--keep", type=Path, help="build the corpus here and keep it")
    args = parser.parse_args()
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp(prefix="opsdoc-find-bench-"))
    corpus = args.keep or tmp / "corpus"
    try:
        if not (corpus.exists() and any(corpus.rglob("*.md"))):
            start = time.perf_counter()
            files = build_corpus(corpus, args.files, rng)
            print(
                f"corpus: {len(files)} runbooks in {corpus} ({time.perf_counter() - start:.1f} s)"
            )
        else:
            files = sorted(corpus.rglob("*.md"))
            print(f"corpus: reusing {len(files)} runbooks in {corpus}")
        index_path = tmp / "index.sqlite3"

        index = Index(index_path)
        start = time.perf_counter()
        stats = index.update([corpus], parse=parse_for_index)
        build = time.perf_counter() - start
        sections = index.db.execute("SELECT count(*) FROM sections").fetchone()[0]
        print(
            f"full index build:        {build:8.2f} s   ({stats.read} files, {sections} sections,"
            f" {stats.read / build:.0f} files/s)"
        )

        times = []
        for number in range(3):  # three edits to three files, one re-index each
            changed = files[(len(files) // 2 + number * 977) % len(files)]
            extra = f"\n## Added in the bench {number}\n\nA symptom.\n"
            changed.write_text(changed.read_text() + extra)
            start = time.perf_counter()
            stats = index.update([corpus], parse=parse_for_index)
            times.append((time.perf_counter() - start) * 1000)
        shown = ", ".join(f"{t:.0f}" for t in times)
        print(
            f"re-index, one changed:   {statistics.median(times):8.1f} ms median ({shown} ms; "
            f"read {stats.read}, unchanged {stats.unchanged})"
        )

        queries = load_queries()
        workload = [queries[i % len(queries)] for i in range(args.queries)]
        for query in workload[:20]:  # warm the page cache and SQLite's
            search(index, query, limit=5)
        times = []
        for query in workload:
            start = time.perf_counter()
            search(index, query, limit=5)
            times.append((time.perf_counter() - start) * 1000)
        print(
            f"warm query latency:      p50 {percentile(times, 50):6.2f} ms   "
            f"p95 {percentile(times, 95):6.2f} ms   max {max(times):6.1f} ms "
            f"({len(times)} queries)"
        )
        p1, mrr = quality_at_scale(index)
        ranking = "impact postings" if index.postings_average() is not None else "FTS5 bm25"
        if index.postings_average() is not None:
            ranking += ", sums in " + ("C" if postings._top_compiled else "Python (no C helper)")
        print(f"labelled set at scale:   P@1 {p1:.3f}   MRR {mrr:.3f}   (ranking: {ranking})")
        index.close()

        texts = [
            "duplicate key value violates unique constraint",
            "Simplicity API returned 500",
            "KubeProxyDown",
            "x509: certificate signed by unknown authority",
        ]
        colds = []
        for text in texts:
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "opsdoc",
                    "find",
                    "--in",
                    str(corpus),
                    "--index",
                    str(index_path),
                    text,
                ],
                capture_output=True,
                check=False,
            )
            colds.append(time.perf_counter() - start)
        print(
            f"cold `opsdoc find`:      {statistics.median(colds) * 1000:8.0f} ms median "
            f"({len(colds)} runs, index up to date, new process each)"
        )

        rg = shutil.which("rg")
        if rg:
            rg_times = []
            for text in texts:
                start = time.perf_counter()
                subprocess.run(
                    [rg, "-l", "-i", "-F", text, str(corpus)], capture_output=True, check=False
                )
                rg_times.append(time.perf_counter() - start)
            print(
                f"rg -l -i, same queries:  {statistics.median(rg_times) * 1000:8.0f} ms median "
                "(file names only, no ranking)"
            )
        else:
            print("rg -l -i:                not installed (apt-get install ripgrep to compare)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
