"""Exact phrases on a big index: where a quoted error occurs, at a bounded cost.

A pasted error line carries exact signals ("failed calling webhook"), each
looked up as an FTS5 phrase. On the main table that costs a walk of every
phrase word's whole posting list, positions included, and bm25 on top: on
tens of thousands of sections, several milliseconds a phrase. Two things
bound it there:

* The fields where a signal counts fully (title, symptoms, signals) are
  short; two more FTS5 tables, one of titles and one of symptoms and
  signals, answer a phrase from posting lists a fraction of the size, and
  tell a title from the rest without a column filter (which walks the
  lists a second time). Which sections hold it is all the ranking needs
  (see rank.py): no bm25 is computed.
* Everywhere else (labels, body, code) a phrase is looked up without bm25
  and in at most ``CAP`` sections. A phrase that many sections quote in
  their body says little about any one of them: past the cap it still
  counts where it is a symptom or in a title, and its frequency is
  estimated from how far into the table the cap was reached. A long
  phrase is looked for there by its rarest run of words (``WINDOW``, the
  caller's choice): its common words ("could not be", "the") have the
  longest posting lists, and the rare run finds the same sections.

Only big indexes keep this table, beside the postings (see postings.py);
small ones look phrases up on the main table, as before.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field

STRONG = ("title", "symptoms", "signals")  # the fields where a quoted signal counts fully
CAP = 400  # sections a phrase is looked up in outside the strong fields
WINDOW = 4  # words of a long phrase looked for outside the strong fields
TITLES = "phrases_title"
HEADS = "phrases_heads"  # symptoms and signals
TABLES = (TITLES, HEADS)
_COLUMNS = {TITLES: ("title",), HEADS: ("symptoms", "signals")}


@dataclass
class PhraseRows:
    """Where one exact phrase occurs."""

    titled: set[int] = field(default_factory=set)  # in the title
    strong: set[int] = field(default_factory=set)  # in the title, symptoms or signals
    weak: set[int] = field(default_factory=set)  # only in labels, body or code
    count: int = 0  # sections that hold it (estimated past CAP)


def create(db: sqlite3.Connection, tokenizer: str) -> None:
    """The strong-field tables, filled from the main FTS table (inside the caller's transaction)."""
    for table, columns in _COLUMNS.items():
        names = ", ".join(columns)
        db.execute(f"CREATE VIRTUAL TABLE {table} USING fts5({names}, tokenize = '{tokenizer}')")
        db.execute(f"INSERT INTO {table} (rowid, {names}) SELECT rowid, {names} FROM fts")


def drop(db: sqlite3.Connection) -> None:
    for table in TABLES:
        db.execute(f"DROP TABLE IF EXISTS {table}")


def add_scratch(db: sqlite3.Connection) -> None:
    """The sections the caller copied to ``temp.scratch`` (a small update)."""
    for table, columns in _COLUMNS.items():
        names = ", ".join(columns)
        db.execute(f"INSERT INTO {table} (rowid, {names}) SELECT rowid, {names} FROM temp.scratch")


def remove(db: sqlite3.Connection, sections: Iterable[int]) -> None:
    rows = [(r,) for r in sections]
    for table in TABLES:
        db.executemany(f"DELETE FROM {table} WHERE rowid = ?", rows)


def lookup(
    db: sqlite3.Connection, phrase: str, *, titles: bool = True, elsewhere: str | None = None
) -> PhraseRows:
    """Where ``phrase`` (an FTS5 phrase query) occurs.

    ``titles``: whether to tell the sections that have it in their title;
    ``elsewhere``: the phrase to look for outside the strong fields, a run
    of ``phrase``'s words (by default the whole of it).
    """
    found = PhraseRows()
    in_titles = {r[0] for r in db.execute(f"SELECT rowid FROM {TITLES}(?)", (phrase,))}
    in_heads = {r[0] for r in db.execute(f"SELECT rowid FROM {HEADS}(?)", (phrase,))}
    found.strong = in_titles | in_heads
    if titles:
        found.titled = in_titles
    anywhere = [
        r[0]
        for r in db.execute(
            "SELECT rowid FROM fts WHERE fts MATCH ? LIMIT ?", (elsewhere or phrase, CAP + 1)
        )
    ]
    if len(anywhere) <= CAP:
        found.weak = set(anywhere) - found.strong
        found.count = len(found.strong | found.weak)
    else:
        # Rowids run in file order, so the share of the table the cap took to
        # reach estimates the phrase's share of all sections.
        last = db.execute("SELECT max(rowid) FROM fts").fetchone()[0] or 1
        found.count = max(len(found.strong), round(CAP * last / anywhere[-1]))
    return found
