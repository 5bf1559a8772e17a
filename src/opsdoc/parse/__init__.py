"""From runbook text to the model: ``parse_runbook`` and ``parse_text``.

The stage itself lives in ``opsdoc.parse.runbook`` and is imported on first
use: ``opsdoc find`` needs only ``opsdoc.parse.words``, and importing this
package must not make it pay for markdown-it and the recogniser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opsdoc.parse.runbook import parse_runbook, parse_text

__all__ = ["parse_runbook", "parse_text"]


def __getattr__(name: str) -> Any:
    """Load the parser when its API is first asked for (PEP 562)."""
    if name in __all__:
        from opsdoc.parse import runbook

        value = globals()[name] = getattr(runbook, name)
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
