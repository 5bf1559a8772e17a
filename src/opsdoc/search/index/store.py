"""The search index: every section of every runbook under some roots, in SQLite FTS5.

One index file per set of roots, in the user's cache dir (or ``--index``).
Updating it re-reads only files whose content hash changed and drops files
that are gone; the whole update is one write transaction, so two processes
indexing at once leave it consistent (the second finds nothing to do).
Fields are kept apart so ranking can weigh a symptom or an error signal far
above a word in the body text.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from opsdoc.errors import OpsdocError
from opsdoc.load import DEFAULT_MAX_BYTES, runbook_file_stats
from opsdoc.model import Runbook, Section
from opsdoc.search.index import phrases, postings
from opsdoc.search.index.fields import COLUMNS, TOKENIZER, WEIGHTS, fields, trails

# Bumped whenever the columns or what the parser makes of a file change: an
# index of another version is dropped and rebuilt, not misread.
SCHEMA_VERSION = "4"
BIG_UPDATE = 200  # files re-read in one update beyond which the log is checkpointed

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL,
    title TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS sections (
    rowid INTEGER PRIMARY KEY, path TEXT NOT NULL, id TEXT NOT NULL, title TEXT NOT NULL,
    kind TEXT NOT NULL, line INTEGER NOT NULL, anchors TEXT NOT NULL, position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sections_path ON sections(path);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(
    {", ".join(COLUMNS)}, tokenize = '{TOKENIZER}'
);
"""


@dataclass
class UpdateStats:
    files: int = 0  # files found under the roots
    read: int = 0  # files (re)parsed because their content changed
    unchanged: int = 0
    removed: int = 0
    failed: int = 0  # files that could not be read (kept out of the index)


def default_path(roots: Sequence[Path]) -> Path:
    """The cache file for a set of roots: one index per set, stable across runs."""
    key = "\n".join(sorted(str(Path(r).resolve()) for r in roots))
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(platformdirs.user_cache_dir("opsdoc")) / "index" / f"{digest}.sqlite3"


class Index:
    def __init__(
        self,
        path: Path,
        *,
        postings_from: int = postings.BIG,
        postings_merge_at: int = postings.MERGE_AT,
    ) -> None:
        """Open (creating) the index at ``path``.

        ``postings_from``: the section count from which updates keep
        impact-ordered postings and searches read them; ``postings_merge_at``:
        how many set-aside postings a rebuild folds in (see postings.py).
        """
        self.path = Path(path)
        self.postings_from = postings_from
        self.postings_merge_at = postings_merge_at
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise OpsdocError(
                f"cannot open the index: {exc}",
                path=str(self.path),
                hint="pass --index with a writable path",
            ) from None
        self._use_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        # One transaction: a second process opening a new index must not see its
        # tables before its schema row and take them for another version's.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self._drop_other_schema()
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self.db.execute(statement)
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        # Document frequencies come from FTS5's own vocabulary; a scratch table
        # with the same tokenizer turns query words into the stems it stores.
        self.db.executescript(f"""
            CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, fts, 'row');
            CREATE VIRTUAL TABLE IF NOT EXISTS temp.stemmer USING fts5(t, tokenize = '{TOKENIZER}');
            CREATE VIRTUAL TABLE IF NOT EXISTS temp.stems
                USING fts5vocab(temp, stemmer, 'instance');
            CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch
                USING fts5({", ".join(COLUMNS)}, tokenize = '{TOKENIZER}');
            CREATE VIRTUAL TABLE IF NOT EXISTS temp.scratch_instances
                USING fts5vocab(temp, scratch, 'instance');
        """)
        self._stems: dict[str, tuple[str | None, int]] = {}
        self._count: int | None = None
        self._names: dict[str, list[str]] | None = None  # see files_named
        self._average: float | bool | None = False  # False: not looked up yet
        self._added: list[int] = []
        self._removed: list[int] = []

    def _drop_other_schema(self) -> None:
        """An index written by another version is dropped: it is a cache of the files."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.OperationalError:  # a new file: no meta table yet
            return
        if row is not None and row[0] == SCHEMA_VERSION:
            return
        old = ("postings_strong",)  # the phrase table of schema 3
        for table in ("fts", "sections", "files", "meta", *postings.TABLES, *phrases.TABLES, *old):
            self.db.execute(f"DROP TABLE IF EXISTS {table}")

    def _use_wal(self) -> None:
        """Switch a new index to WAL; two processes creating it at once may both try.

        SQLite answers a journal-mode change that races another connection
        with "database is locked" at once, without waiting: so wait here.
        """
        for _attempt in range(100):
            try:
                if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc):
                    raise
                time.sleep(0.05)
        raise OpsdocError(
            "the index stays locked by another process",
            path=str(self.path),
            hint="wait for the other opsdoc to finish, or pass --index with another path",
        )

    def close(self) -> None:
        self.db.close()

    def section_count(self) -> int:
        if self._count is None:
            self._count = self.db.execute("SELECT count(*) FROM sections").fetchone()[0]
        return self._count

    def doc_frequency(self, words: Sequence[str]) -> dict[str, int]:
        """How many sections contain each word (as FTS5 stems it); cached until an update."""
        return {w: df for w, (_stem, df) in self.stems(words).items()}

    def stems(self, words: Sequence[str]) -> dict[str, tuple[str | None, int]]:
        """Each word's stem as FTS5 stores it, and how many sections hold that stem."""
        missing = [w for w in dict.fromkeys(words) if w not in self._stems]
        if missing:
            self.db.execute("DELETE FROM temp.stemmer")
            self.db.executemany(
                "INSERT INTO temp.stemmer (rowid, t) VALUES (?, ?)", list(enumerate(missing))
            )
            stems = dict(self.db.execute("SELECT doc, term FROM temp.stems"))
            for number, word in enumerate(missing):
                stem = stems.get(number)
                row = (
                    self.db.execute("SELECT doc FROM temp.vocab WHERE term = ?", (stem,)).fetchone()
                    if stem
                    else None
                )
                self._stems[word] = (stem, row[0] if row else 0)
        return {w: self._stems[w] for w in words}

    def postings_average(self) -> float | None:
        """The average section length the postings were scored with; None: no postings."""
        if self._average is False:
            row = self.db.execute(
                "SELECT value FROM meta WHERE key = 'postings' AND EXISTS "
                "(SELECT 1 FROM sqlite_master WHERE name = ?)",
                (phrases.TABLES[-1],),
            ).fetchone()  # an index from before that table is rebuilt by its next update
            self._average = float(row[0]) if row else None
        return self._average  # type: ignore[return-value]

    def is_empty(self) -> bool:
        return self.db.execute("SELECT count(*) FROM files").fetchone()[0] == 0

    # -- updating --------------------------------------------------------------

    def update(
        self,
        roots: Sequence[Path],
        *,
        parse: Callable[[str, bytes], Runbook],
        on_file: Callable[[int, int], None] = lambda _i, _n: None,
        on_warning: Callable[[str], None] = lambda _m: None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> UpdateStats:
        """Bring the index in line with the files under ``roots``.

        ``on_file(done, total)`` is called for each file that has to be read
        again (new, or its size or mtime changed); unchanged files cost a stat.
        """
        # Roots are made absolute once; paths built from them need no resolving
        # (a realpath per file costs a syscall per path component).
        scope = [os.path.abspath(r) for r in roots]
        found = runbook_file_stats(scope, on_warning=on_warning)
        stats = UpdateStats(files=len(found))
        self.db.execute("BEGIN IMMEDIATE")
        try:
            # Every search starts here: the walk's (size, mtime) pairs against the
            # stored ones, in one comparison per file and no call for the unchanged.
            known = {
                row[0]: row[1:] for row in self.db.execute("SELECT path, size, mtime FROM files")
            }
            todo = [path for path, now in found.items() if now is None or known.get(path) != now]
            stats.unchanged = len(found) - len(todo)
            for number, path in enumerate(todo, 1):
                on_file(number, len(todo))
                before = (
                    self.db.execute(
                        "SELECT sha256, size, mtime FROM files WHERE path = ?", (path,)
                    ).fetchone()
                    if path in known
                    else None
                )
                self._update_file(path, before, parse, stats, max_bytes)
            for path in known.keys() - found.keys():
                if _under(path, scope):
                    self._forget(path)
                    stats.removed += 1
            self._update_postings(rebuild=stats.read > BIG_UPDATE)
            self.db.execute("COMMIT")
            self._stems.clear()
            self._count = None
            self._names = None
            self._average = False
            if stats.read > BIG_UPDATE:
                # A big build leaves a big write-ahead log; fold it in now rather
                # than making the next small update pay for it.
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        finally:
            self._added.clear()
            self._removed.clear()
        return stats

    def _update_postings(self, *, rebuild: bool) -> None:
        """Keep a big index's postings and phrase table in step (postings.py, phrases.py)."""
        # Counting stops at the threshold: all that matters is which side it is on.
        count = self.db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM sections LIMIT ?)", (self.postings_from,)
        ).fetchone()[0]
        average = self.postings_average()
        if count < self.postings_from:
            if average is not None:
                postings.drop(self.db)
                phrases.drop(self.db)
                self.db.execute("DELETE FROM meta WHERE key = 'postings'")
            return
        if average is None or rebuild or postings.waiting(self.db) > self.postings_merge_at:
            average = postings.rebuild(self.db, COLUMNS, WEIGHTS)
            phrases.drop(self.db)
            phrases.create(self.db, TOKENIZER)
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('postings', ?)", (str(average),))
            return
        postings.remove(self.db, self._removed)
        phrases.remove(self.db, self._removed)
        if self._added:
            with self._scratch(self._added):
                postings.add_scratch(self.db, COLUMNS, WEIGHTS, average)
                phrases.add_scratch(self.db)

    def _update_file(
        self,
        path: str,
        known: tuple | None,
        parse: Callable[[str, bytes], Runbook],
        stats: UpdateStats,
        max_bytes: int,
    ) -> None:
        try:
            info = os.stat(path)
        except OSError:
            stats.failed += 1
            return
        if known and known[1] == info.st_size and known[2] == info.st_mtime:
            stats.unchanged += 1
            return
        try:
            if info.st_size > max_bytes:
                raise OpsdocError("too large to index")
            with open(path, "rb") as handle:
                data = handle.read()
        except (OSError, OpsdocError) as exc:
            self._forget(path)
            self._record(path, "", info, None, str(exc))
            stats.failed += 1
            return
        digest = hashlib.sha256(data).hexdigest()
        if known and known[0] == digest:  # touched, not changed
            self.db.execute(
                "UPDATE files SET mtime = ?, size = ? WHERE path = ?",
                (info.st_mtime, info.st_size, path),
            )
            stats.unchanged += 1
            return
        self._forget(path)
        try:
            book = parse(path, data)
        except OpsdocError as exc:
            self._record(path, digest, info, None, str(exc))
            stats.failed += 1
            return
        self._record(path, digest, info, book.title, None)
        units = [(s, trail) for s, trail in trails(book) if s.kind != "container"]
        for position, (section, trail) in enumerate(units):
            self._add_section(path, book, section, position, trail)
        stats.read += 1

    def _record(
        self, path: str, digest: str, info: os.stat_result, title: str | None, error: str | None
    ) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)",
            (path, digest, info.st_size, info.st_mtime, title, error),
        )

    def _forget(self, path: str) -> None:
        rows = [r[0] for r in self.db.execute("SELECT rowid FROM sections WHERE path = ?", (path,))]
        self._removed += rows
        for rowid in rows:
            self.db.execute("DELETE FROM fts WHERE rowid = ?", (rowid,))
        self.db.execute("DELETE FROM sections WHERE path = ?", (path,))
        self.db.execute("DELETE FROM files WHERE path = ?", (path,))

    def _add_section(
        self, path: str, book: Runbook, section: Section, position: int, trail: list[str]
    ) -> None:
        cursor = self.db.execute(
            "INSERT INTO sections (path, id, title, kind, line, anchors, position) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                path,
                section.id,
                section.title,
                section.kind,
                section.line,
                json.dumps(section.anchors),
                position,
            ),
        )
        self.db.execute(
            f"INSERT INTO fts (rowid, {', '.join(COLUMNS)}) VALUES (?{', ?' * len(COLUMNS)})",
            (cursor.lastrowid, *fields(book, section, trail)),
        )
        self._added.append(cursor.lastrowid)  # type: ignore[arg-type]

    # -- reading ---------------------------------------------------------------

    def files(self) -> list[str]:
        """Indexed file paths, in order."""
        return [r[0] for r in self.db.execute("SELECT path FROM files ORDER BY path")]

    def files_named(self, stem: str) -> list[str]:
        """Indexed files, in order, whose name can stand for ``stem`` (see _name_keys).

        An alert's runbook_url names a file; a scan of every path for it cost
        a millisecond a query on a big index. The map is built on first use.
        """
        if self._names is None:
            names: dict[str, list[str]] = {}
            for path in self.files():
                for key in _name_keys(os.path.basename(path)):
                    names.setdefault(key, []).append(path)
            self._names = names
        return self._names.get(stem, [])

    @contextmanager
    def _scratch(self, rowids: Sequence[int]) -> Iterator[None]:
        """These sections copied to the scratch FTS table (same tokenizer), for the block."""
        names = ", ".join(COLUMNS)
        self.db.execute("DELETE FROM temp.scratch")
        try:
            self.db.execute(
                f"INSERT INTO temp.scratch (rowid, {names}) SELECT rowid, {names} FROM fts "
                f"WHERE rowid IN ({','.join('?' * len(rowids))})",
                list(rowids),
            )
            yield
        finally:
            self.db.execute("DELETE FROM temp.scratch")

    def sections_of(self, path: str) -> list[dict]:
        rows = self.db.execute(
            "SELECT rowid, id, title, kind, anchors FROM sections WHERE path = ? ORDER BY position",
            (path,),
        )
        return [
            {"rowid": r[0], "id": r[1], "title": r[2], "kind": r[3], "anchors": json.loads(r[4])}
            for r in rows
        ]


def _name_keys(name: str) -> set[str]:
    """The stems a file name answers to: its own, and each "__"-separated tail's.

    Files copied out of a repository often flatten their path into the name
    (``owner__repo__docs__x.md``), so ``x`` finds that file too.
    """
    keys = {name.rsplit(".", 1)[0], Path(name).stem}
    at = name.find("__")
    while at >= 0:
        keys.add(name[at + 2 :].rsplit(".", 1)[0])
        at = name.find("__", at + 1)
    return keys


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)
