"""What every placeholder quoter shares: the script, the wanted names, the output.

A quoter walks one script left to right and copies it to ``out``, putting a
quoted environment reference where a wanted ``<placeholder>`` stands. The
per-language scanners (:mod:`~opsdoc.execute.quote_bash`,
:mod:`~opsdoc.execute.quote_python`, :mod:`~opsdoc.execute.quote_powershell`)
build on this class; :func:`opsdoc.execute.quote.quote_with_sites` picks one.
"""

from __future__ import annotations

from opsdoc.execute.shell_params import Site
from opsdoc.parse.params import PLACEHOLDER


class Quoter:
    """A scanner's state: the source, the variables for the wanted names, what it wrote."""

    def __init__(self, src: str, variables: dict[str, str]) -> None:
        self.s = src
        self.n = len(src)
        self.variables = variables
        self.used: dict[str, str] = {}
        self.out: list[str] = []
        self.sites: list[Site] = []  # where each value lands (bash), for shell_params
        self.env_names: frozenset[str] = frozenset()  # $NAME params to quote as well

    def match(self, i: int) -> tuple[str, int] | None:
        """(variable, end) when a wanted placeholder starts at ``i``."""
        if i >= self.n or self.s[i] != "<":
            return None
        m = PLACEHOLDER.match(self.s, i)
        if not m or m.group(1) not in self.variables:
            return None
        var = self.variables[m.group(1)]
        self.used[var] = m.group(1)
        return var, m.end()

    def line_end(self, i: int) -> int:
        end = self.s.find("\n", i)
        return self.n if end < 0 else end

    def run(self) -> str:
        raise NotImplementedError
