"""Impact-ordered postings: bm25 without scoring every matching row.

FTS5's bm25 scores every row an OR query matches, so on a big index (tens
of thousands of sections) a query of a few common words costs tens of
milliseconds. Here each (stem, section) pair carries its bm25 term weight
precomputed from the same tokenizer, field weights and length normalisation
FTS5 uses, and the pairs are stored by stem, best first, in a clustered
table: a query reads the best few hundred sections of each of its stems and
multiplies by the stem's idf. That reads a bounded number of rows per word
whatever the index size; the price is that a section which is not among a
common word's best few hundred gets no credit for that word, which bm25's
idf makes small anyway.

A stem's kept postings are one row: its sections and their impacts as two
packed arrays, best first. Reading a word is one row fetch and two array
copies, however many postings it has; per-posting rows cost a Python tuple
each, which on a query of thirty words was most of its time.

Only big indexes keep postings (see ``BIG``); small ones rank with FTS5's
own bm25, so the two agree exactly where the labelled query set measures.
"""

from __future__ import annotations

import heapq
import math
import sqlite3
from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from operator import itemgetter

try:  # the C twin of _top_python, built at install when a compiler is there
    from opsdoc.search.index._postings import top as _top_compiled
except ImportError:  # pragma: no cover - depends on the machine that installed us
    _top_compiled = None

BIG = 20_000  # sections from which an index keeps postings and find reads them
KEEP = 1000  # postings kept per stem at a full build (later additions are all kept)
K1, B = 1.2, 0.75  # FTS5's bm25 constants

MERGE_AT = 50_000  # postings waiting in the small tables beyond which a rebuild folds them in

# ``postings_lists`` is written by a rebuild only. A small update writes the
# new sections' postings to ``postings_new``, a row each, and names removed
# sections in ``postings_gone``: rewriting a stem's packed lists for every
# new section would cost more than the rest of a one-file re-index.
_LISTS = """CREATE TABLE postings_lists (
    stem TEXT PRIMARY KEY, sections BLOB NOT NULL, impacts BLOB NOT NULL
)"""
_TABLE = """CREATE TABLE {name} (
    stem TEXT NOT NULL, impact REAL NOT NULL, section INTEGER NOT NULL,
    PRIMARY KEY (stem, impact, section)
) WITHOUT ROWID"""
# ``postings`` is the row-per-posting table of an older index format: dropped.
TABLES = ("postings", "postings_lists", "postings_new", "postings_gone")
SECTION, IMPACT = "q", "d"  # array type codes: 64-bit rowids, doubles (bm25 to the last bit)
WIDTH = 8  # bytes per packed value, for both


def _varints(blob: bytes) -> int:
    """The sum of SQLite varints in ``blob`` (FTS5 stores a row's column sizes so)."""
    total = value = 0
    for byte in blob:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            total += value
            value = 0
    return total


def _weight_case(columns: Sequence[str], weights: Sequence[float]) -> str:
    arms = " ".join(f"WHEN '{c}' THEN {w!r}" for c, w in zip(columns, weights, strict=True))
    return f"CASE col {arms} ELSE 0.0 END"


def _insert_from(
    db: sqlite3.Connection,
    instances: str,
    sizes: str,
    columns: Sequence[str],
    weights: Sequence[float],
    average: float,
    keep: int | None,
    into: str = "postings",
) -> None:
    """Postings from an fts5vocab 'instance' table and its FTS table's docsize."""
    # Created once per connection: a schema change costs more than a small update.
    db.execute("CREATE TEMP TABLE IF NOT EXISTS norms (doc INTEGER PRIMARY KEY, norm REAL)")
    db.execute("DELETE FROM temp.norms")
    db.executemany(
        "INSERT INTO temp.norms VALUES (?, ?)",
        (
            (doc, K1 * (1 - B + B * _varints(size) / average))
            for doc, size in db.execute(f"SELECT id, sz FROM {sizes}")
        ),
    )
    scored = f"""
        SELECT t.term AS stem, t.wtf * {K1 + 1!r} / (t.wtf + n.norm) AS impact, t.doc AS section
        FROM (SELECT term, doc, sum({_weight_case(columns, weights)}) AS wtf
              FROM {instances} GROUP BY term, doc) AS t
        JOIN temp.norms AS n ON n.doc = t.doc
    """
    if keep is None:
        db.execute(f"INSERT OR REPLACE INTO {into} {scored}")
    else:
        ranked = db.execute(f"""
            SELECT stem, section, impact FROM (
                SELECT *, row_number() OVER (PARTITION BY stem ORDER BY impact DESC) AS n
                FROM ({scored})
            ) WHERE n <= {keep} ORDER BY stem, n
        """)
        db.executemany(
            "INSERT INTO postings_lists VALUES (?, ?, ?)",
            (_packed(stem, list(rows)) for stem, rows in groupby(ranked, itemgetter(0))),
        )
    db.execute("DELETE FROM temp.norms")


def _packed(stem: str, rows: list[tuple[str, int, float]]) -> tuple[str, bytes, bytes]:
    return (
        stem,
        array(SECTION, [r[1] for r in rows]).tobytes(),
        array(IMPACT, [r[2] for r in rows]).tobytes(),
    )


def average_length(db: sqlite3.Connection) -> float:
    """Tokens per section over the whole FTS table, as bm25 normalises by it."""
    total = rows = 0
    for (size,) in db.execute("SELECT sz FROM fts_docsize"):
        total += _varints(size)
        rows += 1
    return total / rows if rows else 1.0


def rebuild(db: sqlite3.Connection, columns: Sequence[str], weights: Sequence[float]) -> float:
    """Every section's postings, from FTS5's own token instances; returns the average length.

    Runs inside the caller's transaction.
    """
    # One statement at a time: executescript would commit the caller's transaction.
    drop(db)
    db.execute(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.instances USING fts5vocab(main, fts, 'instance')"
    )
    average = average_length(db)
    db.execute(_LISTS)
    _insert_from(db, "temp.instances", "fts_docsize", columns, weights, average, KEEP)
    db.execute(_TABLE.format(name="postings_new"))
    db.execute("CREATE INDEX postings_new_section ON postings_new(section)")
    db.execute("CREATE TABLE postings_gone (section INTEGER PRIMARY KEY)")
    return average


def drop(db: sqlite3.Connection) -> None:
    for table in TABLES:
        db.execute(f"DROP TABLE IF EXISTS {table}")


def waiting(db: sqlite3.Connection) -> int:
    """Postings and removals kept aside since the last rebuild (see MERGE_AT)."""
    return sum(
        db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        for table in ("postings_new", "postings_gone")
    )


def add_scratch(
    db: sqlite3.Connection, columns: Sequence[str], weights: Sequence[float], average: float
) -> None:
    """Postings for the sections the caller copied to ``temp.scratch`` (a small update).

    That scratch table has the main table's tokenizer, so the stems are
    exactly the ones the main table holds.
    """
    _insert_from(
        db,
        "temp.scratch_instances",
        "temp.scratch_docsize",
        columns,
        weights,
        average,
        None,
        into="postings_new",
    )


def remove(db: sqlite3.Connection, sections: Iterable[int]) -> None:
    """Forget sections: dropped from the new postings, named gone for the rebuilt ones."""
    rows = list(sections)
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM postings_new WHERE section IN ({marks})", chunk)
        db.executemany("INSERT OR IGNORE INTO postings_gone VALUES (?)", [(r,) for r in chunk])


def gone(db: sqlite3.Connection) -> set[int]:
    """Sections removed since the last rebuild, whose old postings are still stored."""
    return {r[0] for r in db.execute("SELECT section FROM postings_gone")}


def reused(db: sqlite3.Connection) -> set[int]:
    """Gone sections whose rowid a new section has taken since.

    SQLite hands the highest rowids out again, so re-reading the file indexed
    last gives its new sections its old numbers: the lists must drop those old
    postings row by row. Other gone sections a reader leaves out of its totals.
    """
    # CROSS JOIN keeps the few gone sections outermost: the planner, with no
    # statistics, would otherwise scan every section.
    return {
        r[0]
        for r in db.execute(
            "SELECT g.section FROM postings_gone AS g "
            "CROSS JOIN sections AS s ON s.rowid = g.section"
        )
    }


def idf(total: int, frequency: int) -> float:
    """bm25's idf as FTS5 computes it (never below a tiny positive value)."""
    value = math.log((total - frequency + 0.5) / (frequency + 0.5))
    return value if value > 0 else 1e-6


def posted(db: sqlite3.Connection) -> set[int]:
    """Every section some live posting names (for checks; reads every list)."""
    out: set[int] = set()
    for (blob,) in db.execute("SELECT sections FROM postings_lists"):
        out.update(_unpack(SECTION, blob))
    out -= gone(db)
    out.update(r[0] for r in db.execute("SELECT section FROM postings_new"))
    return out


def _unpack(code: str, blob: bytes) -> array:
    values = array(code)
    values.frombytes(blob)
    return values


Postings = tuple[array, array]  # sections and their impacts, best first


def best(
    db: sqlite3.Connection,
    limits: Mapping[str, int],
    reborn: set[int] = frozenset(),  # type: ignore[assignment]
) -> dict[str, Postings]:
    """For each stem, the sections where it weighs most (up to its limit), best first.

    Postings added since the last rebuild follow, whatever their impact: a
    handful per stem. A list that names a :func:`reused` section (``reborn``,
    read once per query by the caller) loses those old postings; other gone
    sections are still named, for the caller to leave out of its totals.
    """
    if not limits:
        return {}
    marks = ",".join("?" * len(limits))
    stems = list(limits)
    most = WIDTH * max(limits.values())
    found: dict[str, Postings] = {}
    for stem, sections, impacts in db.execute(
        f"SELECT stem, substr(sections, 1, ?), substr(impacts, 1, ?) FROM postings_lists "
        f"WHERE stem IN ({marks})",
        (most, most, *stems),
    ):
        keep = limits[stem]
        sections, impacts = _unpack(SECTION, sections)[:keep], _unpack(IMPACT, impacts)[:keep]
        if reborn and not reborn.isdisjoint(sections):
            live = [i for i, section in enumerate(sections) if section not in reborn]
            sections = array(SECTION, [sections[i] for i in live])
            impacts = array(IMPACT, [impacts[i] for i in live])
        found[stem] = (sections, impacts)
    for stem, section, impact in db.execute(
        f"SELECT stem, section, impact FROM postings_new WHERE stem IN ({marks})", stems
    ):
        sections, impacts = found.setdefault(stem, (array(SECTION), array(IMPACT)))
        sections.append(section)
        impacts.append(impact)
    return found


Weighted = tuple[array, array, float]  # a stem's sections, impacts and the query's weight for it


def top(lists: Sequence[Weighted], gone: array, k: int) -> list[tuple[int, float]]:
    """The k sections with the highest sum of weight x impact, best first.

    Sections in ``gone`` are left out; equal scores go by rowid. The sums
    are the whole cost of a long query on a big index, so they run in C
    when the helper was built, else in Python: the same answer either way.
    """
    if _top_compiled is not None:
        return _top_compiled(lists, gone, k)
    return _top_python(lists, gone, k)


def _top_python(lists: Sequence[Weighted], gone: array, k: int) -> list[tuple[int, float]]:
    scores: defaultdict[int, float] = defaultdict(float)
    for sections, impacts, weight in lists:
        for rowid, impact in zip(sections, impacts, strict=True):
            scores[rowid] += weight * impact
    for rowid in gone:
        scores.pop(rowid, None)
    if k <= 0 or not scores:
        return []
    cut = heapq.nlargest(k, scores.values())[-1]
    best = sorted((kv for kv in scores.items() if kv[1] >= cut), key=lambda kv: (-kv[1], kv[0]))
    return best[:k]
