"""Ranking: from an understood query to the sections that answer it, best first.

A query's prose words go into one bm25 query over every field, weighted so
a title or symptom match outranks body text. Its exact signals (a
constraint name, an error code, a quoted message) are phrase queries on
the title, symptom and signal fields, each adding a boost: a pasted error
line that a runbook quotes verbatim should win. An alert's runbook_url that
names a file (and anchor) the index knows wins outright.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import defaultdict

from opsdoc.parse.words import stem
from opsdoc.search.index import phrases, postings
from opsdoc.search.index.fields import COLUMNS, WEIGHTS
from opsdoc.search.index.phrases import STRONG, PhraseRows
from opsdoc.search.index.store import Index
from opsdoc.search.links import by_runbook_url, shown_path
from opsdoc.search.thesaurus import related
from opsdoc.search.types import Hit, Query

# bm25 of thesaurus words counts this much of the user's own words: more for a
# prose description, less for a pasted error that carries its own exact signals.
WEIGHT_RELATED = 0.35
WEIGHT_RELATED_WITH_SIGNALS = 0.08
IDF_SCALE = 4.0  # ln(N/df) around 4 (a signal in ~2% of sections) keeps SIGNAL_BOOST as is
SIGNAL_TITLE_BOOST = 30.0  # per signal in a section's title: sections named after their error
SIGNAL_BOOST = 12.0  # per signal found verbatim in title, symptoms or signals
SIGNAL_BODY_BOOST = 3.0  # per signal found verbatim only in body or code
CANDIDATES = 300
PROSE_SIGNALS = 0.2  # signals under this share of the text's words count in proportion
READ_PER_STEM = 1000  # postings read per query word on a big index (see postings.py)
# Words in more sections than this are not scored (see _selective).
DF_FLOOR = 2000
DF_SHARE = 0.05
_TOKEN = re.compile(r"\w+", re.UNICODE)
# Addresses say where, not what went wrong: they are not signals.
_URLISH = re.compile(r"://|^(?:GET|POST|PUT|PATCH|DELETE|HEAD)\s+\"?https?", re.IGNORECASE)


def _phrase(text: str) -> str | None:
    tokens = _TOKEN.findall(text.lower())
    return '"' + " ".join(tokens) + '"' if tokens else None


def _terms(query: Query) -> list[str]:
    out: dict[str, None] = {}
    for word in query.words:
        for token in _TOKEN.findall(word.lower()):
            if len(token) > 1:
                out.setdefault(f'"{token}"', None)
    for signal in query.signals:
        phrase = _phrase(signal)
        if phrase:
            out.setdefault(phrase, None)
    return list(out)


def search(index: Index, query: Query, *, limit: int = 5) -> list[Hit]:
    """The best sections for a query, best first; [] when nothing matches."""
    hits: list[Hit] = []
    pinned = by_runbook_url(index, query.runbook_url) if query.runbook_url else None
    terms = _terms(query)
    total = index.section_count() or 1
    scores: dict[int, float] = {}
    matched: dict[int, list[str]] = {}
    if terms:
        found_at = {
            p: _phrase_rows(index, p, titles=_long_enough(s))
            for s in query.signals
            if (p := _phrase(s)) and not _URLISH.search(s) and not _costly(index, p)
        }
        weight_related = WEIGHT_RELATED_WITH_SIGNALS if query.signals else WEIGHT_RELATED
        ideas = related(query.words, query.text)
        groups = [(terms, 1.0)]
        for idea in ideas:
            extra = [t for t in dict.fromkeys(_phrase(w) for w in idea) if t and t not in terms]
            if extra:
                groups.append((extra, weight_related))
        scores = _weigh(index, groups)
        share = _signal_share(query)
        for signal in query.signals:
            phrase = _phrase(signal)
            if not phrase or _URLISH.search(signal):
                continue
            found = found_at.get(phrase)
            if found is None:
                continue
            titled = found.titled if _long_enough(signal) else set()
            strong, weak = found.strong, found.weak
            found_in = found.count
            if not found_in:
                continue
            # Longer signals say more; so do rarer ones ("x509: certificate has
            # expired" beats "failed calling webhook", which many sections quote).
            rarity = math.log(max(total, found_in) / found_in) / IDF_SCALE
            weight = min(len(_TOKEN.findall(signal)), 6) ** 0.5 * rarity * share
            boosts = [(r, SIGNAL_TITLE_BOOST if r in titled else SIGNAL_BOOST) for r in strong]
            for rowid, boost in boosts + [(r, SIGNAL_BODY_BOOST) for r in weak]:
                scores[rowid] = scores.get(rowid, 0.0) + boost * weight
                matched.setdefault(rowid, []).append(signal)
    ranked = sorted(scores.items(), key=lambda item: -item[1])
    if pinned is not None:
        ranked = [(pinned, (ranked[0][1] if ranked else 0.0) + 100.0)] + [
            r for r in ranked if r[0] != pinned
        ]
    best = ranked[:limit]
    words = _matched_words(index, [r for r, _ in best], terms)
    for rowid, score in best:
        hit = _hit(index, rowid, score)
        if rowid == pinned:
            hit.why.append(f"runbook_url {query.runbook_url}")
        hit.why += [f'signal "{s}"' for s in matched.get(rowid, [])]
        hit.why += words.get(rowid, [])
        hits.append(hit)
    return hits


def _signal_share(query: Query) -> float:
    """How much the signals should count: fully when they are much of the text.

    A pasted error line is mostly its signals; a sentence that names one
    thing in passing ("pods wait in ContainerCreating while ...") is mostly
    prose, and its one name should not outweigh what the sentence says.
    """
    if PROSE_SIGNALS >= 1.0:
        return 1.0
    words = len(_TOKEN.findall(query.text))
    quoted = sum(len(_TOKEN.findall(s)) for s in query.signals)
    if not words:
        return 1.0
    return min(1.0, quoted / words / PROSE_SIGNALS)


def _long_enough(signal: str) -> bool:
    """A title match counts double only for phrases of three words or more.

    Two common words ("command failed") meet in a title by accident.
    """
    return len(_TOKEN.findall(signal)) >= 3


def _phrase_rows(index: Index, phrase: str, *, titles: bool = True) -> PhraseRows:
    """Where an exact phrase occurs: from one FTS5 query, or on a big index phrases.py."""
    if index.postings_average() is not None:
        return phrases.lookup(index.db, phrase, titles=titles, elsewhere=_rarest_run(index, phrase))

    # bm25 with a column's weight set to 0 is 0 exactly when the phrase is not
    # in that column: one query tells the columns apart.
    def weights(columns: tuple[str, ...]) -> str:
        return ", ".join("1" if c in columns else "0" for c in COLUMNS)

    found = PhraseRows()
    for rowid, title, head in index.db.execute(
        f"SELECT rowid, bm25(fts, {weights(('title',))}), bm25(fts, {weights(STRONG)}) "
        "FROM fts WHERE fts MATCH ?",
        (phrase,),
    ):
        if title:
            found.titled.add(rowid)
        (found.strong if head else found.weak).add(rowid)
    found.count = len(found.strong) + len(found.weak)
    return found


def _rarest_run(index: Index, phrase: str) -> str:
    """The run of ``phrases.WINDOW`` words of a long phrase that fewest sections hold.

    Runs are compared by their rarest word, then the next rarest.
    """
    words = phrase.strip('"').split()
    size = phrases.WINDOW
    if len(words) <= size:
        return phrase
    frequency = index.doc_frequency(words)
    counts = [frequency.get(w, 0) for w in words]
    start = min(range(len(words) - size + 1), key=lambda i: sorted(counts[i : i + size]))
    return '"' + " ".join(words[start : start + size]) + '"'


def _weigh(index: Index, groups: list[tuple[list[str], float]]) -> dict[int, float]:
    """bm25 scores (higher is better) of the best candidates for weighted OR-groups of terms.

    A small index asks FTS5, a query per group. A big one reads precomputed
    impacts for single words, each word once with its groups' weights summed,
    and leaves phrases to the signal boosts (see search). Related phrases
    from the thesaurus are left out there: each would cost an FTS5 phrase
    walk, and at 10,000 runbooks they did not change the labelled set's ranks.
    """
    scores: defaultdict[int, float] = defaultdict(float)
    if index.postings_average() is None:
        for terms, weight in groups:
            expression = " OR ".join(_selective(index, terms))
            for rowid, rank in _bm25(index, expression, CANDIDATES):
                scores[rowid] -= weight * rank
        return dict(scores)
    total = index.section_count()
    words: defaultdict[str, float] = defaultdict(float)
    for terms, weight in groups:
        stems = index.stems([t.strip('"') for t in terms if " " not in t])
        for word_stem, frequency in dict(stems.values()).items():
            if word_stem and frequency:
                words[word_stem] += weight * postings.idf(total, frequency)
    heaviest = max(words.values(), default=0.0)
    # A light word (common, or only related) can add little: fewer of its rows are read.
    limits = {
        stem: max(READ_PER_STEM // 8, int(READ_PER_STEM * min(1.0, 2 * weight / heaviest)))
        for stem, weight in words.items()
    }
    reborn = postings.reused(index.db)
    lists = [
        (sections, impacts, words[stem])
        for stem, (sections, impacts) in postings.best(index.db, limits, reborn).items()
    ]
    gone = array(postings.SECTION, sorted(postings.gone(index.db) - reborn))
    return dict(postings.top(lists, gone, CANDIDATES))


def _selective(index: Index, terms: list[str]) -> list[str]:
    """The terms worth scoring: words in a large share of a big index are left out.

    bm25 gives such words little weight, yet FTS5 must score every row that
    holds them; on a small index nothing is left out.
    """
    ceiling = _common(index)
    if index.section_count() <= ceiling:
        return terms
    single = [t.strip('"') for t in terms if " " not in t]
    frequency = index.doc_frequency(single)
    kept = [t for t in terms if " " in t or frequency.get(t.strip('"'), 0) <= ceiling]
    if not kept:  # keep the rarest few rather than nothing
        kept = sorted(terms, key=lambda t: frequency.get(t.strip('"'), 0))[:3]
    return kept


def _common(index: Index) -> float:
    """The section count above which a word is too common to be worth scoring."""
    return max(DF_FLOOR, DF_SHARE * index.section_count())


def _costly(index: Index, phrase: str) -> bool:
    """On a big index, a phrase whose every word is common: FTS5 must walk all their rows.

    Such a phrase ("not working") costs as much as its most common word and
    says little on an index that size; it is left out there, nowhere else.
    """
    if index.postings_average() is None:
        return False
    ceiling = _common(index)
    words = phrase.strip('"').split()
    return all(df > ceiling for df in index.doc_frequency(words).values())


def _bm25(index: Index, expression: str, limit: int) -> list[tuple[int, float]]:
    weights = ", ".join(str(w) for w in WEIGHTS)
    return index.db.execute(
        f"SELECT rowid, bm25(fts, {weights}) AS rank FROM fts WHERE fts MATCH ? "
        f"ORDER BY rank LIMIT {limit}",
        (expression,),
    ).fetchall()


def _hit(index: Index, rowid: int, score: float) -> Hit:
    path, section_id, title, kind, line = index.db.execute(
        "SELECT path, id, title, kind, line FROM sections WHERE rowid = ?", (rowid,)
    ).fetchone()
    return Hit(shown_path(path), section_id, title, kind, round(score, 3), [], line)


def _matched_words(index: Index, rowids: list[int], terms: list[str]) -> dict[int, list[str]]:
    """The query words each hit holds, by field, in the order the field has them.

    Compared by Snowball stem, so "crashing" in the query names "crash" in a
    title; FTS5's own highlighting said the same at 3.5 ms a query on a big
    index, as it walks every field of every hit with the whole expression.
    """
    wanted = {stem(t) for term in terms for t in _TOKEN.findall(term.lower()) if len(t) > 1}
    if not wanted or not rowids:
        return {}
    # Only words that begin as a wanted stem does are stemmed: a body has
    # thousands of words and a query a handful.
    starts = sorted({w[:3] for w in wanted}, key=len, reverse=True)
    candidate = re.compile(r"\b(?:" + "|".join(map(re.escape, starts)) + r")\w*")
    stems: dict[str, bool] = {}
    why: dict[int, list[str]] = {}
    marks = ",".join("?" * len(rowids))
    names = ", ".join(COLUMNS)
    for rowid, *texts in index.db.execute(
        f"SELECT rowid, {names} FROM fts WHERE rowid IN ({marks})", rowids
    ):
        for name, text in zip(COLUMNS, texts, strict=True):
            words = []
            for token in dict.fromkeys(candidate.findall((text or "").lower())):
                if token not in stems:
                    stems[token] = stem(token) in wanted
                if stems[token]:
                    words.append(token)
            if words:
                why.setdefault(rowid, []).append(f"{name}: {', '.join(words[:8])}")
    return why
