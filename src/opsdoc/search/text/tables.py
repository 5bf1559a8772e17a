"""kubectl tables in a paste: the rows in a bad state, with their state as signals.

``kubectl get pods`` or ``get events`` output is mostly healthy rows and
columns (AGE, RESTARTS, IP) that say nothing about the problem.
"""

from __future__ import annotations

import re

from opsdoc.search.text.lines import Logical
from opsdoc.search.text.words import HEALTHY_STATES


class Table:
    """A kubectl table: NAME/STATUS/REASON/MESSAGE columns kept, the rest dropped."""

    KEEP = ("NAME", "STATUS", "REASON", "OBJECT", "MESSAGE")
    STATE = ("STATUS", "REASON")

    def __init__(self, header: str, columns: list[tuple[str, int]]) -> None:
        self.header_line = header
        self.columns = columns
        self.items: list[tuple[int, dict[str, str]]] = []

    @classmethod
    def header(cls, line: str) -> Table | None:
        columns = [(m.group(0).upper(), m.start()) for m in re.finditer(r"\S+(?: \S+)*", line)]
        names = [name for name, _ in columns]
        if not all(re.fullmatch(r"[A-Z][A-Z ()-]*", n) for n in names) or len(names) < 2:
            return None
        if "NAME" in names and ({"STATUS", "READY", "REASON"} & set(names)):
            return cls(line, columns)
        if "REASON" in names and "MESSAGE" in names:
            return cls(line, columns)  # kubectl get events, describe's Events
        return None

    def ends_at(self, line: str) -> bool:
        return line.lstrip().startswith(("$ ", "# ", "---")) and not re.match(r"\s*-{2,}\s", line)

    def add(self, index: int, line: str) -> None:
        if re.fullmatch(r"\s*[-\s]+", line):
            return  # describe's ---- underline
        values = self._split(line)
        if values:
            self.items.append((index, values))

    def _split(self, line: str) -> dict[str, str] | None:
        names = [name for name, _ in self.columns]
        starts = [start for _, start in self.columns]
        aligned = all(start == 0 or line[start - 1 : start] in (" ", "\t", "") for start in starts)
        if aligned and len(line) > starts[-1]:
            bounds = [*starts[1:], len(line)]
            return {n: line[s:e].strip() for n, s, e in zip(names, starts, bounds, strict=True)}
        cells = re.split(r"\s{2,}|\t", line.strip())
        if len(cells) < len(names):
            cells = line.split()
        if len(cells) < len(names):
            return None
        last = len(names) - 1
        cells = [*cells[:last], " ".join(cells[last:])]
        return dict(zip(names, cells, strict=True))

    def rows(self) -> list[Logical]:
        def unhealthy(values: dict[str, str]) -> bool:
            if values.get("TYPE", "").lower() == "normal":
                return False
            states = [values[c] for c in self.STATE if c in values]
            return (
                any(
                    part.strip().lower() not in HEALTHY_STATES
                    for state in states
                    for part in re.split(r"[,:]", state)
                    if part.strip() and not re.search(r"\d", part)
                )
                or not states
            )

        items = self.items
        bad = [item for item in items if unhealthy(item[1])]
        if bad:
            items = bad
        out: list[Logical] = []
        for index, values in items:
            kept = [values[c] for c in self.KEEP if values.get(c) and values[c] != "<none>"]
            extra = [
                part.strip()
                for c in self.STATE
                for part in re.split(r"[,:]", values.get(c, ""))
                if part.strip()
                and not re.search(r"\d", part)
                and part.strip().lower() not in HEALTHY_STATES
                and re.fullmatch(r"[A-Za-z][A-Za-z-]+", part.strip())
            ]
            out.append(Logical(index, "  ".join(kept), tuple(extra)))
        return out
