"""An event's data as the journal stores it: plain JSON, masked, each string capped.

Masking happens here, on the way in, so no store ever holds a secret; and
again on the way out (:func:`remask`), because a journal written by other
code is no exception.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from opsdoc.journal.rows import Event
from opsdoc.mask import Masker

MAX_EVENT_TEXT = 64 * 1024  # characters kept of any one string in an event
CUT_NOTE = "\n… [cut: the journal keeps 64 KB per event]"


def plain(obj: Any) -> Any:
    """JSON-ready data; unknown types become text (so they get masked too)."""
    if obj is None or isinstance(obj, bool | int | float):
        return obj
    if isinstance(obj, str):
        # Cut huge text before masking, but keep enough that masking sees every
        # secret that could end up in the part that is kept.
        return obj if len(obj) <= 2 * MAX_EVENT_TEXT else obj[: 2 * MAX_EVENT_TEXT]
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [plain(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return plain(dataclasses.asdict(obj))
    if isinstance(obj, bytes | bytearray | memoryview):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, datetime):
        return obj.isoformat()
    return str(obj)


def _cap(obj: Any, cut: list[bool]) -> Any:
    if isinstance(obj, str):
        if len(obj) > MAX_EVENT_TEXT:
            cut.append(True)
            return obj[:MAX_EVENT_TEXT] + CUT_NOTE
        return obj
    if isinstance(obj, dict):
        return {k: _cap(v, cut) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_cap(v, cut) for v in obj]
    return obj


def encode(data: dict[str, Any], masker: Masker) -> tuple[str, bool]:
    """Masked, capped JSON text of an event's data, and whether anything was cut."""
    cut: list[bool] = []
    safe = _cap(masker.mask_data(plain(data)), cut)
    return json.dumps(safe, ensure_ascii=False, allow_nan=False, default=str), bool(cut)


def decode(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError:
        return {"unreadable": text[:200]}
    return data if isinstance(data, dict) else {"value": data}


_SHAPES = Masker()


def remask(events: list[Event]) -> list[Event]:
    """Mask secret shapes again on the way out: a journal written by other code is no exception."""
    return [dataclasses.replace(e, data=_SHAPES.mask_data(e.data)) for e in events]
