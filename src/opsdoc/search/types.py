"""The contracts of search, in one small module: what a query asks and what a hit says.

Pasted text and alert payloads both become a :class:`Query`; the ranking
turns one into :class:`Hit` s. Nothing here imports the rest of search.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Source = Literal["text", "alertmanager", "pagerduty"]


@dataclass
class Query:
    """What a search should look for, from pasted text or an alert."""

    text: str  # the cleaned text: noise stripped, one line per kept input line
    words: list[str] = field(default_factory=list)  # prose words, in order, deduplicated
    signals: list[str] = field(default_factory=list)  # exact strings, in order, deduplicated
    runbook_url: str | None = None  # from an alert annotation or PagerDuty details
    alert_name: str | None = None
    source: Source = "text"

    @property
    def empty(self) -> bool:
        """True when there is nothing to search for."""
        return not (self.words or self.signals or self.runbook_url)


@dataclass
class Hit:
    file: str
    id: str
    title: str
    kind: str
    score: float
    why: list[str] = field(default_factory=list)
    line: int = 0
