"""Search quality on the labelled query set, beside plain BM25, in one run.

In process (fast enough to try a ranking change in seconds): the seeds and the
public corpus are indexed into a temporary index, every query of
tests/find/queries.yaml is asked, and P@1 / MRR are printed per half (tuning,
validation, and the queries added for issue 12 alone) and per kind, next to
plain BM25 over the same unit sections (tests/findset.py says what that is).
Tune on the tuning half only; report the validation half.
Run: ``.venv/bin/python bench/quality.py [--misses tuning|validation|all] [--json]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import findset  # noqa: E402
from opsdoc.model import to_dict  # noqa: E402
from opsdoc.read import read_runbook  # noqa: E402
from opsdoc.search import to_query as understand  # noqa: E402
from opsdoc.search.alerts import from_alert  # noqa: E402
from opsdoc.search.index.fields import parse_for_index  # noqa: E402
from opsdoc.search.index.store import Index  # noqa: E402
from opsdoc.search.rank import search  # noqa: E402

SHARED = ROOT.parent / "shared"


def files() -> list[Path]:
    return sorted((SHARED / "seeds").glob("*.txt")) + sorted(
        (SHARED / "corpus" / "public").glob("*.md")
    )


def shown(path: Path) -> dict:
    return to_dict(read_runbook(str(path), classify=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", choices=["tuning", "validation", "all"], default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    queries = findset.load_queries()
    base = findset.baseline(files(), shown)
    ours: dict[str, int | None] = {}
    theirs: dict[str, int | None] = {}
    tops: dict[str, tuple[str, str] | None] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = Index(Path(tmp) / "idx.sqlite3")
        index.update([SHARED / "seeds", SHARED / "corpus" / "public"], parse=parse_for_index)
        for q in queries:
            understood = from_alert(q.alert) if q.alert is not None else understand(q.text or "")
            hits = [(Path(h.file).name, h.id) for h in search(index, understood, limit=10)]
            ours[q.id] = findset.rank_of(q, hits)
            tops[q.id] = hits[0] if hits else None
            theirs[q.id] = findset.rank_of(q, base.search(findset.query_text(q)))
    a, b = findset.table(queries, ours), findset.table(queries, theirs)
    if args.json:
        print(json.dumps({"opsdoc": a, "bm25": b}, indent=2))
    else:
        print(findset.render(a, b))
    if args.misses:
        for q in queries:
            if ours[q.id] != 1 and args.misses in ("all", q.half):
                expect = ", ".join(f"{f}#{s}" for f, s in q.expect)
                top = "#".join(tops[q.id]) if tops[q.id] else None
                print(f"miss {q.id} [{q.half}] rank {ours[q.id]} bm25 {theirs[q.id]}")
                print(f"   want {expect}\n   got  {top}")


if __name__ == "__main__":
    main()
