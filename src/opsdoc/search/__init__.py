"""Search: from pasted text or an alert to the sections that answer it.

One entry for every front end: ``search(index, to_query(text_or_alert))``.
``text`` reads pasted lines (``understand``), ``alerts`` reads alert
payloads, ``index`` stores the sections, ``rank`` orders them.
"""

from __future__ import annotations

import re
from typing import Any

from opsdoc.errors import OpsdocError
from opsdoc.search.index.store import Index, default_path
from opsdoc.search.links import shown_path
from opsdoc.search.rank import search
from opsdoc.search.text import understand
from opsdoc.search.types import Hit, Query

__all__ = ["Hit", "Index", "Query", "default_path", "search", "shown_path", "to_query"]

_ALERT_KEYS = re.compile(r'"(?:alerts|payload|event|labels)"')


def to_query(given: str | bytes | dict[str, Any] | list[Any], *, alert: bool = False) -> Query:
    """A query from pasted text or an alert payload.

    ``alert=True`` (or a parsed mapping or list) reads ``given`` as an alert
    payload, raising OpsdocError that says why when it is not one. Pasted
    text (str or raw bytes) that is a JSON alert payload is read as one; any
    other text, a JSON log line that only looks like one included, is read
    as pasted lines, and never raises.
    """
    if alert or isinstance(given, dict | list):
        from opsdoc.search.alerts import from_alert  # the payload readers: alerts only

        return from_alert(given)  # type: ignore[arg-type]
    text = given if isinstance(given, str) else given.decode("utf-8", errors="replace")
    if text.lstrip()[:1] in ("{", "[") and _ALERT_KEYS.search(text[:100_000]):
        from opsdoc.search.alerts import from_alert

        try:
            return from_alert(text)
        except (OpsdocError, RecursionError):
            pass
    return understand(text if isinstance(given, str) else given)  # type: ignore[arg-type]
