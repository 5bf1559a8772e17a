"""The runbooks a server serves: which files, found how, searched how.

A runbook is named in URLs by its path relative to the root it was found
under (``db/migrations.md``), prefixed by the root's number when a server
has several roots. Only files the walk found can be named: a URL is never
joined onto the file system, so ``../`` leads nowhere.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from opsdoc.errors import OpsdocError
from opsdoc.load import iter_runbook_paths
from opsdoc.model import Runbook
from opsdoc.read import read_document
from opsdoc.search import Hit, Index, default_path, search, to_query
from opsdoc.search.index.fields import parse_for_index


class NotFound(OpsdocError):
    """What a URL names is not served here."""


@dataclass
class Document:
    ref: str
    runbook: Runbook
    text: str
    mtime: float


class Library:
    """The served folders: file refs, parsed runbooks (cached by mtime), search."""

    def __init__(self, roots: list[Path], index: Path | None = None) -> None:
        self.roots = [Path(os.path.abspath(r)) for r in roots]
        self.index_path = index or default_path(self.roots)
        self._local = threading.local()  # an SQLite connection belongs to one thread
        self._docs: dict[str, Document] = {}
        self._lock = threading.Lock()

    def files(self) -> dict[str, Path]:
        """Every runbook served, by ref, in walk order."""
        out: dict[str, Path] = {}
        for number, root in enumerate(self.roots):
            prefix = f"{number}/" if len(self.roots) > 1 else ""
            for path in iter_runbook_paths([root]):
                rel = path.name if root.is_file() else os.path.relpath(path, root)
                out[prefix + rel.replace(os.sep, "/")] = Path(path)
        return out

    def ref_of(self, path: str) -> str | None:
        wanted = os.path.abspath(path)
        for ref, found in self.files().items():
            if os.path.abspath(found) == wanted:
                return ref
        return None

    def document(self, ref: str) -> Document:
        path = self.files().get(ref)
        if path is None:
            raise NotFound(f"no runbook {ref!r} is served here", hint="see /runbooks")
        mtime = path.stat().st_mtime
        with self._lock:
            doc = self._docs.get(ref)
        if doc is None or doc.mtime != mtime:
            runbook, text = read_document(path)
            doc = Document(ref, runbook, text, mtime)
            with self._lock:
                self._docs[ref] = doc
        return doc

    def search(self, text: str, limit: int = 10) -> list[Hit]:
        index = getattr(self._local, "index", None)
        if index is None:
            index = self._local.index = Index(self.index_path)
        index.update(self.roots, parse=parse_for_index)
        return search(index, to_query(text), limit=limit)
