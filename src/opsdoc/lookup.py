"""What a reference names: ``FILE#SECTION``, ``FILE#CELL``, a cell by its Runme name.

The CLI, the run session and the server all take such references; the
errors say what is near when nothing matches.
"""

from __future__ import annotations

import difflib
import os

from opsdoc.errors import OpsdocError
from opsdoc.model import Runbook, Section, Snippet, Step


def split_target(target: str) -> tuple[str, str | None]:
    """``file.md#section-id`` into the file and the anchor (a file may contain #).

    A section id alone (pasted from ``list``, with or without its ``#``) is
    the usual slip: the error says the file goes first.
    """
    if os.path.exists(target) or "#" not in target:
        path, anchor = target, None
    else:
        path, _, rest = target.rpartition("#")
        anchor = rest or None
    if not os.path.exists(path):
        alone = not path or ("/" not in path and "." not in path)
        raise OpsdocError(
            "no file given before the section id" if not path else "no such file",
            path=path or None,
            hint=f"pass FILE#SECTION, e.g. runbooks/db.md#{anchor or path}"
            if alone
            else "check the path",
        )
    return path, anchor


def named_cell(runbook: Runbook, name: str) -> bool:
    """Whether a cell's author gave it this name (it then wins over a section id)."""
    found = runbook.cell(name)
    return found is not None and str(found[1].attrs.get("name", "")) == name


def find_cell(runbook: Runbook, name: str, path: str) -> tuple[Section, Step | Snippet]:
    """The cell named ``name``; not found, an error that lists the near names."""
    found = runbook.cell(name)
    if found is not None:
        return found
    for section in runbook.walk():  # named by its author, but a cell Runme leaves alone
        for snippet in section.snippets:
            if snippet.name is None and str(snippet.attrs.get("name", "")) == name:
                raise OpsdocError(
                    f"cell {name} is not run: {snippet.reason}",
                    path=f"{path}:{snippet.line}",
                    hint="Runme leaves it alone too; it has no cell name",
                )
    names = [item.name for _, item in runbook.cells() if item.name]
    known = names + [s.id for s in runbook.walk()]
    near = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    sections = [s.id for s in runbook.walk() if s.steps]
    if near:
        hint = "did you mean " + ", ".join(near) + "?"
    elif sections or names:
        parts = []
        if sections:
            parts.append("sections with steps: " + ", ".join(sections[:8]))
        if names:
            parts.append("cells: " + ", ".join(names[:8]))
        hint = "; ".join(parts) + f"; `opsdoc list [--cells] {path}` shows all"
    else:
        hint = f"`opsdoc list {path}` shows the sections"
    raise OpsdocError(f"no section or cell named {name}", path=path, hint=hint)


def cell_step(runbook: Runbook, name: str, path: str) -> tuple[Section, Step]:
    """The step of a cell ``run`` can run; a cell that is not run says why."""
    section, item = find_cell(runbook, name, path)
    if isinstance(item, Snippet) or not item.executable:
        reason = item.reason if isinstance(item, Snippet) else "marked not executable"
        raise OpsdocError(
            f"cell {name} is not run: {reason or 'not a step'}",
            path=f"{path}:{item.line}",
            hint=f"`opsdoc print {path}#{name}` shows it",
        )
    return section, item
