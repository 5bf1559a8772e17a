"""The read pipeline every command starts with: load, parse, classify.

Commands ask for runbooks here and get either a :class:`Runbook` or the
:class:`OpsdocError` that explains why a file could not be read, so a
directory with one bad file still yields all the good ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from opsdoc.classify import classify_step
from opsdoc.errors import OpsdocError
from opsdoc.load import DEFAULT_MAX_BYTES, iter_runbook_paths, load_file
from opsdoc.model import Runbook
from opsdoc.parse import parse_runbook


def read_runbook(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, classify: bool = True
) -> Runbook:
    """One runbook file, fully read; raises OpsdocError when it cannot be."""
    source = load_file(path, max_bytes=max_bytes)
    return parse_runbook(source, classify_step if classify else None)


def read_paths(
    paths: Iterable[str | Path],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    classify: bool = True,
    on_warning: Callable[[str], None] = lambda _m: None,
) -> Iterator[Runbook | OpsdocError]:
    """Every runbook under the given files and directories, in a stable order."""
    for path in iter_runbook_paths(paths, on_warning=on_warning):
        try:
            yield read_runbook(path, max_bytes=max_bytes, classify=classify)
        except OpsdocError as exc:
            yield exc
