"""Quality of `opsdoc find` on the labelled query set in tests/find/queries.yaml.

The set was written before the search was tuned (issue 4). Every query runs the
real CLI against one index built for the session over the five seeds and the
public corpus; a hit counts when its file's base name and section id equal one
of the query's expected answers. We report precision@1 and MRR (reciprocal rank
of the first acceptable hit within the top 10, else 0) overall and per kind,
print the table (`pytest -s` shows it) and write it to tests/find/last-figures.json.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CORPUS, SEEDS, run_opsdoc

FIND_DIR = Path(__file__).resolve().parent / "find"
QUERIES = FIND_DIR / "queries.yaml"
FIGURES = FIND_DIR / "last-figures.json"

KINDS = ("exact", "paraphrase", "alert")
LIMIT = 10
MIN_QUERIES = 72
MIN_PER_KIND = 24
MIN_PUBLIC_FILES = 25
P_AT_1_FLOOR = 0.9
MRR_FLOOR = 0.93


@dataclass(frozen=True)
class Query:
    id: str
    kind: str
    text: str | None
    alert: dict[str, Any] | None
    expect: tuple[tuple[str, str], ...]
    note: str


def _pair(label: str) -> tuple[str, str]:
    file, sep, section = label.partition("#")
    assert sep and file and section, f"expected FILE#SECTION-ID, got {label!r}"
    return file, section


def load_queries() -> list[Query]:
    raw = yaml.safe_load(QUERIES.read_text(encoding="utf-8"))
    assert isinstance(raw, list), "queries.yaml must be a list of queries"
    out = []
    for entry in raw:
        expect = entry.get("expect")
        labels = [expect] if isinstance(expect, str) else list(expect or [])
        out.append(
            Query(
                id=entry.get("id", ""),
                kind=entry.get("kind", ""),
                text=entry.get("query"),
                alert=entry.get("alert"),
                expect=tuple(_pair(label) for label in labels),
                note=entry.get("note", ""),
            )
        )
    return out


QUERY_SET = load_queries()


def find_args(index: Path) -> list[str]:
    return ["find", "--index", str(index), "--in", str(SEEDS), "--in", str(CORPUS)]


# --------------------------------------------------------------------------
# The set itself
# --------------------------------------------------------------------------


def _known_sections() -> dict[tuple[str, str], str]:
    result = run_opsdoc("list", "--json", str(SEEDS), str(CORPUS))
    assert result.returncode == 0, result.stderr
    return {(Path(row["file"]).name, row["id"]): row["kind"] for row in json.loads(result.stdout)}


def test_query_set_is_well_formed() -> None:
    queries = QUERY_SET
    assert len(queries) >= MIN_QUERIES, f"only {len(queries)} queries"

    ids = Counter(q.id for q in queries)
    dupes = sorted(i for i, n in ids.items() if n > 1)
    assert not dupes, f"duplicate ids: {dupes}"

    per_kind = Counter(q.kind for q in queries)
    assert set(per_kind) <= set(KINDS), f"unknown kinds: {set(per_kind) - set(KINDS)}"
    for kind in KINDS:
        assert per_kind[kind] >= MIN_PER_KIND, f"{kind}: {per_kind[kind]} < {MIN_PER_KIND}"

    known = _known_sections()
    problems = []
    for q in queries:
        if not q.id.startswith(f"{q.kind}-"):
            problems.append(f"{q.id}: id does not start with its kind {q.kind!r}")
        if (q.text is None) == (q.alert is None):
            problems.append(f"{q.id}: needs exactly one of `query` and `alert`")
        if q.text is not None and not (isinstance(q.text, str) and q.text.strip()):
            problems.append(f"{q.id}: empty query")
        if q.alert is not None:
            if q.kind != "alert":
                problems.append(f"{q.id}: only alert queries carry a payload")
            if not isinstance(q.alert, dict):
                problems.append(f"{q.id}: alert must be a mapping")
            else:
                try:  # no default=: an unquoted YAML timestamp would sneak in a datetime
                    json.dumps(q.alert)
                except TypeError as exc:
                    problems.append(f"{q.id}: alert is not plain JSON ({exc})")
        if not q.expect:
            problems.append(f"{q.id}: no expected answer")
        if len(set(q.expect)) != len(q.expect):
            problems.append(f"{q.id}: an expected answer is listed twice")
        if not q.note.strip():
            problems.append(f"{q.id}: no note")
        for pair in q.expect:
            kind = known.get(pair)
            if kind is None:
                problems.append(f"{q.id}: {pair[0]}#{pair[1]} is not a section `opsdoc list` knows")
            elif kind == "container":
                problems.append(f"{q.id}: {pair[0]}#{pair[1]} is a container, not a unit section")
    assert not problems, "\n".join(problems)

    files = {file for q in queries for file, _ in q.expect}
    seeds = {p.name for p in SEEDS.glob("*.txt")}
    assert seeds <= files, f"seeds without a query: {sorted(seeds - files)}"
    public = files - seeds
    assert len(public) >= MIN_PUBLIC_FILES, f"only {len(public)} public files covered"


# --------------------------------------------------------------------------
# The search, measured
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def find_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One index over the seeds and the public corpus, built once for the session."""
    index = tmp_path_factory.mktemp("find") / "idx.sqlite3"
    result = run_opsdoc(*find_args(index), "--json", "--limit", "1", "warm up the index")
    parse_hits("building the index", result)
    assert index.exists(), "opsdoc find --index did not create the index"
    return index


def parse_hits(what: str, result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    """The JSON hit list, checked: exit 0 with hits, or exit 1 with `[]`.

    A crash also exits 1, so the output must parse before exit 1 means "no match".
    """
    assert result.returncode in (0, 1), f"{what}: exit {result.returncode}\n{result.stderr}"
    try:
        hits = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{what}: --json printed no JSON (exit {result.returncode})\n{result.stderr}")
    assert isinstance(hits, list), f"{what}: --json must print a list"
    assert (result.returncode == 1) == (not hits), f"{what}: exit code and hits disagree"
    return hits


def run_query(index: Path, q: Query) -> list[dict[str, Any]]:
    args = [*find_args(index), "--json", "--limit", str(LIMIT)]
    if q.alert is not None:
        result = run_opsdoc(*args, "--alert", "-", input=json.dumps(q.alert))
    else:
        text = q.text.strip("\n") if q.text else ""
        if "\n" in text or text.startswith("-"):
            result = run_opsdoc(*args, "-", input=text + "\n")
        else:
            result = run_opsdoc(*args, text)
    return parse_hits(q.id, result)


def rank_of_first_acceptable(q: Query, hits: list[dict[str, Any]]) -> int | None:
    accepted = set(q.expect)
    for rank, hit in enumerate(hits[:LIMIT], start=1):
        if (Path(hit["file"]).name, hit["id"]) in accepted:
            return rank
    return None


def figures(ranks: dict[str, int | None], kinds: dict[str, str]) -> dict[str, dict[str, float]]:
    def score(ids: list[str]) -> dict[str, float]:
        n = len(ids)
        p1 = sum(1 for i in ids if ranks[i] == 1) / n if n else 0.0
        mrr = sum(1 / ranks[i] for i in ids if ranks[i]) / n if n else 0.0
        return {"n": n, "p@1": round(p1, 4), "mrr": round(mrr, 4)}

    table = {kind: score([i for i in ranks if kinds[i] == kind]) for kind in KINDS}
    table["overall"] = score(list(ranks))
    return table


def render(table: dict[str, dict[str, float]]) -> str:
    lines = [f"{'kind':<12}{'n':>5}{'P@1':>9}{'MRR':>9}"]
    for kind in (*KINDS, "overall"):
        row = table[kind]
        lines.append(f"{kind:<12}{row['n']:>5}{row['p@1']:>9.3f}{row['mrr']:>9.3f}")
    return "\n".join(lines)


def test_find_quality(find_index: Path) -> None:
    ranks: dict[str, int | None] = {}
    misses = []
    for q in QUERY_SET:
        hits = run_query(find_index, q)
        rank = rank_of_first_acceptable(q, hits)
        ranks[q.id] = rank
        if rank != 1:
            top = hits[0] if hits else None
            misses.append(
                {
                    "id": q.id,
                    "kind": q.kind,
                    "rank": rank,
                    "expect": [f"{f}#{s}" for f, s in q.expect],
                    "top": f"{Path(top['file']).name}#{top['id']}" if top else None,
                }
            )

    table = figures(ranks, {q.id: q.kind for q in QUERY_SET})
    FIGURES.write_text(
        json.dumps({"limit": LIMIT, "figures": table, "misses": misses}, indent=2) + "\n",
        encoding="utf-8",
    )
    print("\n" + render(table))
    for miss in misses:
        print(f"  miss {miss['id']}: rank {miss['rank']}, top {miss['top']}")

    overall = table["overall"]
    assert overall["p@1"] >= P_AT_1_FLOOR, f"P@1 {overall['p@1']} < {P_AT_1_FLOOR}"
    assert overall["mrr"] >= MRR_FLOOR, f"MRR {overall['mrr']} < {MRR_FLOOR}"
