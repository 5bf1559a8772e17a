"""Impact-ordered postings: bm25 as FTS5 computes it, kept in step with the files.

A real big index takes a minute to build, so these tests lower the size from
which an index keeps postings; the code paths are the ones a big index takes.
"""

from __future__ import annotations

import random
import sqlite3
from array import array

import pytest

from opsdoc.search import to_query as understand
from opsdoc.search.index import phrases, postings
from opsdoc.search.index.fields import WEIGHTS, parse_for_index
from opsdoc.search.index.store import Index
from opsdoc.search.rank import search
from test_index import copy_runbooks

DUPLICATE_KEY = (
    'ERROR: duplicate key value violates unique constraint "sd_backlog_map_unique_sd_backlog"'
)


def consistent(index: Index) -> set[int]:
    """Every live posting names a live section and every section has postings; their ids."""
    db = index.db
    sections = {r[0] for r in db.execute("SELECT rowid FROM sections")}
    posted = postings.posted(db)
    for table in phrases.TABLES:
        strong = {r[0] for r in db.execute(f"SELECT rowid FROM {table}")}
        assert strong == sections, f"the phrase table {table} is out of step with the sections"
    assert posted <= sections, "postings of sections that are gone"
    empty = {r[0] for r in db.execute("SELECT rowid FROM fts WHERE length(title) = 0")}
    assert sections - posted <= empty, "sections without postings"
    return posted


def test_impacts_times_idf_are_fts5s_own_bm25(tmp_path) -> None:
    index = Index(tmp_path / "idx.sqlite3", postings_from=1)
    index.update([copy_runbooks(tmp_path)], parse=parse_for_index)
    assert index.postings_average() is not None
    total = index.section_count()
    weights = ", ".join(map(str, WEIGHTS))
    for word in ("worker", "constraint", "certificate", "queue"):
        stem, frequency = index.stems([word])[word]
        assert stem and 0 < frequency <= postings.KEEP
        theirs = dict(
            index.db.execute(
                f"SELECT rowid, -bm25(fts, {weights}) FROM fts WHERE fts MATCH ?", (word,)
            )
        )
        sections, impacts = postings.best(index.db, {stem: postings.KEEP})[stem]
        ours = {
            rowid: postings.idf(total, frequency) * impact
            for rowid, impact in zip(sections, impacts, strict=True)
        }
        assert ours.keys() == theirs.keys()
        for rowid, score in theirs.items():
            assert ours[rowid] == pytest.approx(score, rel=1e-9)
    index.close()


def test_postings_follow_changes_deletions_and_shrinking(tmp_path) -> None:
    root = copy_runbooks(tmp_path)
    path = tmp_path / "idx.sqlite3"
    index = Index(path, postings_from=1)
    index.update([root], parse=parse_for_index)
    before = consistent(index)

    best = search(index, understand(DUPLICATE_KEY), limit=1)[0]
    assert (best.file.rsplit("/", 1)[-1], best.id) == (
        "000_5f92c922ed36c991.md",
        "4-duplicate-story-constraint-violations",
    )

    changed = root / "004_95e26377be71e20e.md"
    changed.write_text(
        changed.read_text() + "\n## Zanzibar quorum loss\n\nThe zanzibar ledger stalls.\n"
    )
    assert index.update([root], parse=parse_for_index).read == 1
    after = consistent(index)
    assert after != before  # the file's sections were replaced, not added twice
    hit = search(index, understand("zanzibar ledger"), limit=1)[0]
    assert hit.title == "Zanzibar quorum loss"

    (root / "003_5a19d28ffda2e27a.md").unlink()
    index.update([root], parse=parse_for_index)
    consistent(index)
    left = index.db.execute(
        "SELECT count(*) FROM sections WHERE path LIKE '%003_5a19d28ffda2e27a.md'"
    ).fetchone()[0]
    assert left == 0
    hit = search(index, understand("worker heartbeat failure"), limit=3)
    assert all("003_5a19d28ffda2e27a" not in h.file for h in hit)

    # Enough changes waiting and the next update folds them into a rebuild.
    waiting = postings.waiting(index.db)
    assert waiting > 0
    index.postings_merge_at = waiting - 1
    (root / "000_5f92c922ed36c991.md").write_text("# Gone quiet\n\nNothing here.\n")
    index.update([root], parse=parse_for_index)
    assert postings.waiting(index.db) == 0
    consistent(index)
    index.close()

    # Reopened with the default size, the index is small again: postings go.
    small = Index(path)
    small.update([root], parse=parse_for_index)
    assert small.postings_average() is None
    with pytest.raises(sqlite3.OperationalError):
        small.db.execute("SELECT count(*) FROM postings_lists")
    hit = search(small, understand("zanzibar ledger"), limit=1)[0]
    assert hit.title == "Zanzibar quorum loss"  # bm25 from FTS5 again
    small.close()


def test_both_ways_of_ranking_agree_on_pasted_errors(tmp_path) -> None:
    root = copy_runbooks(tmp_path)
    big = Index(tmp_path / "big.sqlite3", postings_from=1)
    small = Index(tmp_path / "small.sqlite3")
    for index in (big, small):
        index.update([root], parse=parse_for_index)
    for text in (
        DUPLICATE_KEY,
        "ingest worker heartbeat stopped, jobs stay locked",
        "shopify sync queue stuck, items failed (max_retries reached)",
    ):
        query = understand(text)
        assert search(big, query, limit=1)[0].id == search(small, query, limit=1)[0].id, text
    big.close()
    small.close()


def test_a_phrase_many_sections_quote_counts_where_it_is_a_symptom(tmp_path, monkeypatch) -> None:
    root = copy_runbooks(tmp_path)
    index = Index(tmp_path / "idx.sqlite3", postings_from=1)
    index.update([root], parse=parse_for_index)
    everywhere = phrases.lookup(index.db, '"worker"')
    assert everywhere.weak and everywhere.count == len(everywhere.strong | everywhere.weak)

    monkeypatch.setattr(phrases, "CAP", 2)
    capped = phrases.lookup(index.db, '"worker"')
    assert capped.strong == everywhere.strong  # symptoms and titles still count
    assert capped.titled == everywhere.titled
    assert not capped.weak  # body quotes past the cap do not
    assert capped.count > 2  # its frequency is estimated, not taken as the cap
    index.close()


def test_a_re_read_file_that_reuses_its_rowids_is_still_found(tmp_path) -> None:
    # SQLite hands the highest rowids out again once they are deleted: re-reading
    # the file indexed last gives its new sections the numbers of its old ones.
    root = copy_runbooks(tmp_path)
    index = Index(tmp_path / "idx.sqlite3", postings_from=1)
    index.update([root], parse=parse_for_index)
    (last,) = index.db.execute("SELECT path FROM sections ORDER BY rowid DESC LIMIT 1").fetchone()
    path = root / last.rsplit("/", 1)[-1]
    path.write_text(path.read_text() + "\n## Zanzibar quorum loss\n\nThe zanzibar ledger stalls.\n")
    index.update([root], parse=parse_for_index)
    reused = {r[0] for r in index.db.execute("SELECT rowid FROM sections")} & postings.gone(
        index.db
    )
    assert reused, "the test needs a rowid that is both gone and live again"
    consistent(index)
    for rowid in reused:
        title = index.db.execute("SELECT title FROM sections WHERE rowid = ?", (rowid,)).fetchone()[
            0
        ]
        if len(title.split()) >= 3:
            hits = search(index, understand(title), limit=3)
            assert title in [h.title for h in hits], title
    assert search(index, understand("zanzibar ledger"), limit=1)[0].title == "Zanzibar quorum loss"
    index.close()


TOPS = [pytest.param(postings._top_python, id="python")] + (
    [pytest.param(postings._top_compiled, id="compiled")]
    if postings._top_compiled is not None
    else []
)


def _lists(*stems: tuple[list[int], list[float], float]) -> list[postings.Weighted]:
    return [
        (array(postings.SECTION, rows), array(postings.IMPACT, impacts), weight)
        for rows, impacts, weight in stems
    ]


@pytest.mark.parametrize("top", TOPS)
def test_top_sums_weighted_impacts_best_first_and_leaves_gone_sections_out(top) -> None:
    lists = _lists(([1, 2, 3], [1.0, 2.0, 3.0], 2.0), ([3, 4, 5], [1.0, 10.0, 0.5], 1.0))
    assert top(lists, array(postings.SECTION, [2]), 3) == [(4, 10.0), (3, 7.0), (1, 2.0)]
    assert top(lists, array(postings.SECTION), 0) == []
    assert top([], array(postings.SECTION), 5) == []
    # Equal scores come out by rowid, whatever order they were added in.
    tied = _lists(([9, 7, 8], [1.0, 1.0, 1.0], 1.0))
    assert top(tied, array(postings.SECTION, [42]), 2) == [(7, 1.0), (8, 1.0)]


def test_the_compiled_sums_are_the_python_ones_bit_for_bit() -> None:
    if postings._top_compiled is None:
        pytest.skip("the C helper was not built here (no compiler at install)")
    rng = random.Random(4)
    for _case in range(200):
        lists = []
        for _stem in range(rng.randint(0, 12)):
            rows = rng.sample(range(1, 3000), rng.randint(0, 400))
            # Coarse impacts make many exact ties, where the order is most fragile.
            impacts = [rng.choice([0.5, 1.25, rng.random() * 3]) for _ in rows]
            lists += _lists((rows, impacts, rng.choice([1.0, 0.35, rng.random() * 8])))
        gone = array(postings.SECTION, rng.sample(range(1, 3000), rng.randint(0, 50)))
        k = rng.choice([0, 1, 5, 300, 5000])
        assert postings._top_compiled(lists, gone, k) == postings._top_python(lists, gone, k)


def test_the_compiled_sums_refuse_lists_that_do_not_line_up() -> None:
    if postings._top_compiled is None:
        pytest.skip("the C helper was not built here (no compiler at install)")
    uneven = [(array(postings.SECTION, [1, 2]), array(postings.IMPACT, [1.0]), 1.0)]
    with pytest.raises(ValueError, match="as many"):
        postings._top_compiled(uneven, array(postings.SECTION), 5)
    with pytest.raises(TypeError):
        postings._top_compiled([("not", "buffers")], array(postings.SECTION), 5)
    with pytest.raises(TypeError, match="tuple"):
        postings._top_compiled([1], array(postings.SECTION), 5)
