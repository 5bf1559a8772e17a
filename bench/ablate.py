"""Each ranking feature taken out in turn: does it earn its place on both halves?

The rule this project keeps (tests/find/queries.yaml, issue 12): a feature on
top of plain BM25F over the unit fields stays only if it helps the half of
the query set it was not tuned on. This prints P@1 per kind, tuning half and
validation half, for the ranking as it is and with each feature switched
off, from one index, in one run, beside plain BM25 over the same sections.
Run: ``.venv/bin/python bench/ablate.py [--json]`` (about half a minute).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

import findset  # noqa: E402
import quality  # noqa: E402
from opsdoc.search import rank, to_query  # noqa: E402
from opsdoc.search.index.fields import COLUMNS, WEIGHTS, parse_for_index  # noqa: E402
from opsdoc.search.index.store import Index  # noqa: E402

KINDS = ("exact", "paraphrase", "alert", "overall")


def _no_related(words: list[str], text: str = "") -> list[list[str]]:
    return []


def _field_off(name: str) -> tuple[float, ...]:
    return tuple(0.0 if c == name else w for c, w in zip(COLUMNS, WEIGHTS, strict=True))


# Each variant: the module attributes of rank.py it replaces.
VARIANTS: dict[str, dict[str, object]] = {
    "as it is": {},
    "without the thesaurus": {"related": _no_related},
    "without signal boosts": {
        "SIGNAL_BOOST": 0.0,
        "SIGNAL_TITLE_BOOST": 0.0,
        "SIGNAL_BODY_BOOST": 0.0,
    },
    "signals at full weight in prose": {"PROSE_SIGNALS": 1.0},
    "without the breadcrumb field": {"WEIGHTS": _field_off("context")},
    "without field weights (all 1)": {"WEIGHTS": tuple(1.0 for _ in COLUMNS)},
    "plain BM25F (none of the above)": {
        "related": _no_related,
        "SIGNAL_BOOST": 0.0,
        "SIGNAL_TITLE_BOOST": 0.0,
        "SIGNAL_BODY_BOOST": 0.0,
    },
}


def measure(index: Index, queries: list[findset.Query], patch: dict[str, object]) -> dict:
    saved = {name: getattr(rank, name) for name in patch}
    try:
        for name, value in patch.items():
            setattr(rank, name, value)
        ranks = {}
        for q in queries:
            understood = (
                to_query(q.alert, alert=True) if q.alert is not None else to_query(q.text or "")
            )
            hits = [(Path(h.file).name, h.id) for h in rank.search(index, understood, limit=10)]
            ranks[q.id] = findset.rank_of(q, hits)
        return findset.table(queries, ranks)
    finally:
        for name, value in saved.items():
            setattr(rank, name, value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    queries = findset.load_queries()
    base = findset.baseline(quality.files(), quality.shown)
    plain = findset.table(
        queries, {q.id: findset.rank_of(q, base.search(findset.query_text(q))) for q in queries}
    )
    results: dict[str, dict] = {"plain BM25 (baseline)": plain}
    with tempfile.TemporaryDirectory() as tmp:
        index = Index(Path(tmp) / "idx.sqlite3")
        index.update(
            [quality.SHARED / "seeds", quality.SHARED / "corpus" / "public"], parse=parse_for_index
        )
        for name, patch in VARIANTS.items():
            results[name] = measure(index, queries, patch)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(_render(results))


def _render(results: dict[str, dict]) -> str:
    cell: Callable[[dict, str, str], str] = lambda t, g, k: f"{t[g][k]['p@1']:.3f}"  # noqa: E731
    head = "P@1".ljust(33) + " | ".join(
        f"{half:<10}" + " ".join(k[:5].rjust(6) for k in KINDS) for half in ("tuning", "validation")
    )
    lines = [head]
    for name, table in results.items():
        row = " | ".join(
            " " * 10 + " ".join(cell(table, half, k).rjust(6) for k in KINDS)
            for half in ("tuning", "validation")
        )
        lines.append(f"{name:<33}{row}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
