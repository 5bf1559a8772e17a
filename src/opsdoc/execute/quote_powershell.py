"""The PowerShell placeholder quoter: ``<name>`` becomes ``${env:OPSDOC_P_NAME}``.

That reference expands in code, in argument mode and in ``"..."`` strings;
a single-quoted string or ``@'...'@`` here-string that holds a placeholder
is rewritten as the equivalent expandable string (with `````, ``$`` and
``"`` escaped).
"""

from __future__ import annotations

import re

from opsdoc.execute.quote_base import Quoter
from opsdoc.parse.params import PLACEHOLDER

_PS_DQ = '"“”„'  # PowerShell treats typographic double quotes as quotes too
_PS_SQ = "'‘’‚‛"


class PwshQuoter(Quoter):
    """Quotes placeholders in a PowerShell script."""

    def ref(self, var: str) -> str:
        return "${env:" + var + "}"

    def run(self) -> str:
        s, n, out = self.s, self.n, self.out
        i = 0
        while i < n:
            ch = s[i]
            if s.startswith("<#", i):
                end = s.find("#>", i + 2)
                end = n if end < 0 else end + 2
                out.append(s[i:end])
                i = end
                continue
            if ch == "#" and (i == 0 or s[i - 1] in " \t\n;|(){}"):
                end = self.line_end(i)
                out.append(s[i:end])
                i = end
                continue
            if ch == "`":
                out.append(s[i : i + 2])
                i += 2
                continue
            if s.startswith("@'", i) or s.startswith('@"', i):
                i = self.here_string(i, s[i + 1])
                continue
            if ch in _PS_SQ:
                i = self.verbatim(i + 1)
                continue
            if ch in _PS_DQ:
                i = self.expandable(i + 1, ch)
                continue
            hit = self.match(i)
            if hit:
                var, i = hit
                out.append(self.ref(var))
                continue
            out.append(ch)
            i += 1
        return "".join(out)

    def verbatim(self, i: int) -> int:
        """'...' (with '' for a quote); rewritten as "..." when it holds a placeholder."""
        s, n = self.s, self.n
        j = i
        while j < n:
            if s[j] in _PS_SQ:
                if j + 1 < n and s[j + 1] in _PS_SQ:
                    j += 2
                    continue
                break
            j += 1
        body = s[i:j]
        end = min(j + 1, n)
        converted = self.convert(re.sub(r"([" + _PS_SQ + r"])[" + _PS_SQ + r"]", r"\1", body))
        if converted is None:
            self.out.append(s[i - 1 : end])
        else:
            self.out.append('"' + converted + '"')
        return end

    def convert(self, literal: str) -> str | None:
        """A verbatim text as the body of an expandable string, or None if it has no placeholder."""
        pieces: list[str] = []
        last, changed = 0, False
        for m in PLACEHOLDER.finditer(literal):
            if m.group(1) not in self.variables:
                continue
            var = self.variables[m.group(1)]
            self.used[var] = m.group(1)
            pieces.append(re.sub(r"([`$" + _PS_DQ + r"])", r"`\1", literal[last : m.start()]))
            pieces.append(self.ref(var))
            last, changed = m.end(), True
        if not changed:
            return None
        pieces.append(re.sub(r"([`$" + _PS_DQ + r"])", r"`\1", literal[last:]))
        return "".join(pieces)

    def expandable(self, i: int, opener: str) -> int:
        s, n, out = self.s, self.n, self.out
        out.append(opener)
        while i < n:
            ch = s[i]
            if ch == "`":
                out.append(s[i : i + 2])
                i += 2
                continue
            if ch in _PS_DQ:
                if i + 1 < n and s[i + 1] in _PS_DQ:
                    out.append(s[i : i + 2])
                    i += 2
                    continue
                out.append(ch)
                return i + 1
            hit = self.match(i)
            if hit:
                var, i = hit
                out.append(self.ref(var))
                continue
            out.append(ch)
            i += 1
        return i

    def here_string(self, i: int, quote: str) -> int:
        s, n = self.s, self.n
        close = re.compile(r"\n[ \t]*" + re.escape(quote) + "@")
        m = close.search(s, i + 2)
        end = n if m is None else m.end()
        body_start = i + 2
        body_end = n if m is None else m.start()
        body = s[body_start:body_end]
        tail = s[body_end:end]
        if quote == "'":
            converted = self.convert(body)
            if converted is None:
                self.out.append(s[i:end])
            else:
                self.out.append('@"' + converted + tail[:-2] + '"@')
            return end
        text, last = [], 0
        for m2 in PLACEHOLDER.finditer(body):
            if m2.group(1) not in self.variables:
                continue
            var = self.variables[m2.group(1)]
            self.used[var] = m2.group(1)
            text.append(body[last : m2.start()])
            text.append(self.ref(var))
            last = m2.end()
        text.append(body[last:])
        self.out.append('@"' + "".join(text) + tail)
        return end
