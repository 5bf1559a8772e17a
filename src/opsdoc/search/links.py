"""Where a hit lives and what a link names: paths as the user writes them, and
the section an alert's ``runbook_url`` points at, when the index holds it."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from opsdoc.search.index.store import Index


def shown_path(path: str) -> str:
    """A path as the user would write it: relative to here when it is below here."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith(os.pardir + os.sep + os.pardir) else relative


def by_runbook_url(index: Index, url: str) -> int | None:
    """The section an alert's runbook_url names, when the index has that file."""
    parts = urlsplit(url)
    raw_path = unquote(parts.path or url)
    components = [c for c in PurePosixPath(raw_path).parts if c not in ("/", "")]
    if not components:
        return None
    best: tuple[int, str] | None = None
    stem = components[-1].rsplit(".", 1)[0]
    # Every way a file can stand for the URL (see _shared_tail) is a way its
    # name answers to this stem (Index.files_named).
    for path in index.files_named(stem):
        name = Path(path).name
        depth = _shared_tail(name, path, components)
        if depth and (best is None or depth > best[0]):
            best = (depth, path)
    if best is None:
        return None
    sections = index.sections_of(best[1])
    if not sections:
        return None
    anchor = parts.fragment
    if anchor:
        for section in sections:
            if section["id"] == anchor or anchor in section["anchors"]:
                return section["rowid"]
    return sections[0]["rowid"]


def _shared_tail(name: str, path: str, components: list[str]) -> int:
    """How many trailing URL path components a file stands for (0 = not this file).

    Files copied out of a repository often flatten their path into the name
    (``owner__repo__docs__x.md``), so both forms count.
    """
    last = components[-1]
    stem = last.rsplit(".", 1)[0]
    if not (
        name == last
        or name.endswith("__" + last)
        or Path(name).stem == stem
        or name.endswith("__" + stem + ".md")
    ):
        return 0
    depth = 1
    flat = name.split("__")
    folders = Path(path).parts
    for i in range(2, len(components) + 1):
        want = components[-i]
        if (len(flat) >= i and flat[-i] == want) or (len(folders) >= i and folders[-i] == want):
            depth = i
        else:
            break
    return depth
