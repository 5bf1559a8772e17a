"""stale: a runbook nobody has looked at for longer than the team allows.

Reads the dates the parser already collected as metadata (``**Last
Updated**: January 5, 2025``, front matter ``lastmod:``) and a review date
that has passed (``Next review: 2025-06-01``). A date it cannot read
("Before production deployment") is left alone.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from opsdoc.lint.doc import Doc

UPDATED_KEYS = (
    "last_updated",
    "updated",
    "last_update",
    "last_reviewed",
    "reviewed",
    "last_review",
    "last_modified",
    "lastmod",
)
REVIEW_KEYS = ("next_review", "review_date", "next_review_date", "review_by")

_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%B %d %Y", "%b %d %Y", "%d %B %Y", "%d %b %Y", "%Y.%m.%d")
_DATE_SHAPES = re.compile(
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|[A-Za-z]{3,9}\.? \d{1,2}(?:st|nd|rd|th)?,? \d{4}"
    r"|\d{1,2}(?:st|nd|rd|th)? [A-Za-z]{3,9},? \d{4}"
)


def parse_date(value: object) -> date | None:
    """A date from the ways people write one; None when there is none."""
    match = _DATE_SHAPES.search(str(value))
    if not match:
        return None
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", match.group()).replace(",", "").replace(".", " ")
    text = re.sub(r"\s+", " ", text).strip()
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt.replace(".", " ")).date()
        except ValueError:
            continue
    return None


def check(doc: Doc, stale_days: int, today: date) -> None:
    metadata = doc.runbook.metadata
    for key in UPDATED_KEYS:
        when = parse_date(metadata.get(key, "")) if key in metadata else None
        if when is None:
            continue
        age = (today - when).days
        if age > stale_days:
            doc.add(
                "stale",
                _line_of(doc, key),
                None,
                f"{key.replace('_', ' ')} {when.isoformat()} is {age} days ago (limit "
                f"{stale_days}): review the runbook and update the date, or set "
                "[lint] stale_days in opsdoc.toml",
            )
        break  # the first date found is the one the file means
    for key in REVIEW_KEYS:
        when = parse_date(metadata.get(key, "")) if key in metadata else None
        if when is not None and when < today:
            doc.add(
                "stale",
                _line_of(doc, key),
                None,
                f"the review due on {when.isoformat()} is {(today - when).days} days overdue: "
                "review the runbook and set the next review date",
            )
            break


def _line_of(doc: Doc, key: str) -> int:
    pattern = re.compile(r"[\s_-]*".join(key.split("_")), re.IGNORECASE)
    for number, line in enumerate(doc.lines, 1):
        if pattern.search(line):
            return number
    return 1
