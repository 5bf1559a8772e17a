"""The read pipeline every command starts with: load, parse, classify.

Commands ask for runbooks here and get a :class:`Runbook`, or the
:class:`OpsdocError` that explains why a file could not be read; a command
reading a directory reports a bad file and goes on with the others.
"""

from __future__ import annotations

from pathlib import Path

from opsdoc.classify import classify_step
from opsdoc.load import DEFAULT_MAX_BYTES, load_file
from opsdoc.model import Runbook
from opsdoc.parse import parse_runbook


def read_runbook(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, classify: bool = True
) -> Runbook:
    """One runbook file, fully read; raises OpsdocError when it cannot be."""
    source = load_file(path, max_bytes=max_bytes)
    return parse_runbook(source, classify_step if classify else None)
