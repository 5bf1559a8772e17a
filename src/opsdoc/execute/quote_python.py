"""The Python placeholder quoter: ``<name>`` becomes an ``os.environ`` lookup.

In code a placeholder becomes ``__import__("os").environ["..."]``; in a
``str`` literal the literal is closed and an f-string holding the lookup is
placed next to it (implicit concatenation, so ``%`` and method calls on the
literal keep working). Not handled: bytes literals (left alone),
placeholders inside an f-string's ``{...}``; a value inside a
``%``/``.format`` template is treated as part of the template.
"""

from __future__ import annotations

import re

from opsdoc.execute.quote_base import Quoter

_PY_STRING = re.compile(r"([rRbBuUfF]{0,2})('''|\"\"\"|'|\")")


class PythonQuoter(Quoter):
    """Quotes placeholders in a Python script."""

    def run(self) -> str:
        s, n, out = self.s, self.n, self.out
        i = 0
        while i < n:
            ch = s[i]
            if ch == "#":
                end = self.line_end(i)
                out.append(s[i:end])
                i = end
                continue
            m = _PY_STRING.match(s, i) if (ch in "'\"" or ch.isalpha()) else None
            if m and (i == 0 or not (s[i - 1].isalnum() or s[i - 1] == "_")):
                i = self.string(m.end(), m.group(1), m.group(2))
                continue
            if ch.isalnum() or ch == "_":  # a whole identifier: "br" in "abr'" is no prefix
                j = i
                while j < n and (s[j].isalnum() or s[j] == "_"):
                    j += 1
                out.append(s[i:j])
                i = j
                continue
            hit = self.match(i)
            if hit:
                var, i = hit
                out.append(f'__import__("os").environ["{var}"]')
                continue
            out.append(ch)
            i += 1
        return "".join(out)

    def string(self, i: int, prefix: str, quote: str) -> int:
        s, out = self.s, self.out
        out.append(prefix + quote)
        splice = "b" not in prefix.lower()
        while i < self.n:
            if s.startswith(quote, i):
                out.append(quote)
                return i + len(quote)
            ch = s[i]
            if ch == "\n" and len(quote) == 1:
                return i  # unterminated; let the interpreter say so
            if ch == "\\":
                if splice and self.match(i + 1):
                    # "C:\<dir>": the backslash goes in a literal of its own, so the
                    # closing quote that follows it is not escaped
                    out.append(f'{quote} "\\\\" {prefix}{quote}')
                    i += 1
                    continue
                out.append(s[i : i + 2])
                i += 2
                continue
            hit = self.match(i) if splice else None
            if hit:
                var, i = hit
                lookup = f"f\"{{__import__('os').environ['{var}']}}\""
                out.append(f"{quote} {lookup} {prefix}{quote}")
                continue
            out.append(ch)
            i += 1
        return i
