"""The labelled query set for `opsdoc find`, split in halves, and the plain baseline.

Shared by tests/test_find_quality.py (the real CLI, with floors) and
bench/quality.py (in process, for tuning). Three things live here:

- the queries of tests/find/queries.yaml, each assigned to the *tuning* or the
  *validation* half by the file of its best answer, from a hash of that file's
  base name alone, so a file never changes half when others are added;
- plain Okapi BM25 (k1 1.2, b 0.75) over the same unit sections opsdoc
  shows, each section's document being its own lines of the file (heading
  included, child units' lines left out), lowercase alphanumeric words, no
  stemming, no stopwords and no field weights: what a search without opsdoc's
  understanding of runbooks gets on the same units;
- the figures table: P@1 and MRR per kind, per half and overall.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
QUERIES = HERE / "find" / "queries.yaml"
KINDS = ("exact", "paraphrase", "alert")
HALVES = ("tuning", "validation")
LIMIT = 10
WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class Query:
    id: str
    kind: str
    text: str | None
    alert: dict[str, Any] | None
    expect: tuple[tuple[str, str], ...]
    note: str
    # Added for issue 12, after the ranking of issue 4 was tuned on the others.
    new: bool = False

    @property
    def file(self) -> str:
        return self.expect[0][0] if self.expect else ""

    @property
    def half(self) -> str:
        return half_of(self.file)


def half_of(file: str) -> str:
    """The half a file's queries belong to, from its name alone."""
    return HALVES[hashlib.sha1(file.encode()).digest()[0] % 2]


def _pair(label: str) -> tuple[str, str]:
    file, sep, section = label.partition("#")
    assert sep and file and section, f"expected FILE#SECTION-ID, got {label!r}"
    return file, section


def load_queries(path: Path = QUERIES) -> list[Query]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(raw, list), "queries.yaml must be a list of queries"
    new_from = _first_new_line(path)
    lines = _entry_lines(path)
    out = []
    for number, entry in enumerate(raw):
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
                new=new_from is not None and lines[number] > new_from,
            )
        )
    return out


NEW_MARK = "# 4. issue 12"


def _first_new_line(path: Path) -> int | None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if line.startswith(NEW_MARK):
            return number
    return None


def _entry_lines(path: Path) -> list[int]:
    return [
        number
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines())
        if line.startswith("- ")
    ]


# --------------------------------------------------------------------------
# Plain BM25 over the same sections
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    file: str
    id: str
    words: Counter[str]
    length: int


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def unit_docs(shown: dict[str, Any], text: str) -> list[Doc]:
    """One document per unit section of `opsdoc show --json`: its own lines."""
    lines = text.splitlines()
    name = Path(shown["path"]).name
    out: list[Doc] = []

    def visit(section: dict[str, Any]) -> None:
        first, last = section["line"], section["end_line"]
        own = set(range(first, last + 1))
        for child in section["children"]:
            own -= set(range(child["line"], child["end_line"] + 1))
        if section["kind"] != "container":
            body = [lines[n - 1] for n in sorted(own) if 0 < n <= len(lines)]
            counted = Counter(words("\n".join(body)))
            out.append(Doc(name, section["id"], counted, sum(counted.values())))
        for child in section["children"]:
            visit(child)

    for section in shown["sections"]:
        visit(section)
    return out


class BM25:
    K1, B = 1.2, 0.75

    def __init__(self, docs: list[Doc]) -> None:
        self.docs = docs
        self.avg = sum(d.length for d in docs) / max(len(docs), 1)
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(doc.words.keys())
        n = len(docs)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}

    def search(self, text: str, limit: int = LIMIT) -> list[tuple[str, str]]:
        terms = set(words(text))
        scored = []
        for doc in self.docs:
            score = 0.0
            norm = self.K1 * (1 - self.B + self.B * doc.length / self.avg)
            for term in terms:
                tf = doc.words.get(term)
                if tf:
                    score += self.idf[term] * tf * (self.K1 + 1) / (tf + norm)
            if score > 0:
                scored.append((score, doc.file, doc.id))
        scored.sort(key=lambda s: -s[0])
        return [(file, id_) for _, file, id_ in scored[:limit]]


def alert_text(payload: Any) -> str:
    """Every string value of an alert payload, for a search that reads no structure."""
    if isinstance(payload, dict):
        return " ".join(alert_text(v) for v in payload.values())
    if isinstance(payload, list):
        return " ".join(alert_text(v) for v in payload)
    return payload if isinstance(payload, str) else ""


def query_text(q: Query) -> str:
    return q.text if q.text is not None else alert_text(q.alert)


def shown_by_cli(opsdoc: list[str]) -> Callable[[Path], dict[str, Any] | None]:
    """`opsdoc show --json` of a file through the real CLI."""

    def show(path: Path) -> dict[str, Any] | None:
        result = subprocess.run(
            [*opsdoc, "show", "--json", str(path)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            print(f"baseline: skipped {path.name}: {result.stderr.strip()}", file=sys.stderr)
            return None
        return json.loads(result.stdout)

    return show


def baseline(files: list[Path], show: Callable[[Path], dict[str, Any] | None]) -> BM25:
    """BM25 over the units that ``show`` (the data of `opsdoc show --json`) finds."""
    docs: list[Doc] = []
    for path in files:
        shown = show(path)
        if shown is not None:
            text = path.read_bytes().decode("utf-8", errors="replace")
            docs.extend(unit_docs(shown, text))
    return BM25(docs)


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


def rank_of(q: Query, hits: list[tuple[str, str]]) -> int | None:
    accepted = set(q.expect)
    for rank, hit in enumerate(hits[:LIMIT], start=1):
        if hit in accepted:
            return rank
    return None


def score(queries: list[Query], ranks: dict[str, int | None]) -> dict[str, float]:
    n = len(queries)
    p1 = sum(1 for q in queries if ranks[q.id] == 1) / n if n else 0.0
    mrr = sum(1 / r for q in queries if (r := ranks[q.id])) / n if n else 0.0
    return {"n": n, "p@1": round(p1, 4), "mrr": round(mrr, 4)}


def table(queries: list[Query], ranks: dict[str, int | None]) -> dict[str, dict[str, Any]]:
    """Figures per half (and for the new queries alone), each per kind and overall."""
    groups = {
        "all": queries,
        **{half: [q for q in queries if q.half == half] for half in HALVES},
        "new": [q for q in queries if q.new],
    }
    out: dict[str, dict[str, Any]] = {}
    for name, group in groups.items():
        row = {kind: score([q for q in group if q.kind == kind], ranks) for kind in KINDS}
        row["overall"] = score(group, ranks)
        out[name] = row
    return out


def render(ours: dict[str, Any], base: dict[str, Any]) -> str:
    """P@1 (MRR) of opsdoc beside plain BM25, per group and kind."""
    lines = [
        f"{'group':<11}{'kind':<11}{'n':>4}   {'opsdoc P@1 / MRR':>17}   {'BM25 P@1 / MRR':>15}"
    ]
    for group, rows in ours.items():
        for kind in (*KINDS, "overall"):
            a, b = rows[kind], base[group][kind]
            lines.append(
                f"{group:<11}{kind:<11}{a['n']:>4}   {a['p@1']:>8.3f} / {a['mrr']:.3f}"
                f"   {b['p@1']:>7.3f} / {b['mrr']:.3f}"
            )
    return "\n".join(lines)
