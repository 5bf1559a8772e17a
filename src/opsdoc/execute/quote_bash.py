"""The bash placeholder quoter: ``<name>`` becomes ``"${OPSDOC_P_NAME}"`` where it stands.

The scanner understands quotes, escapes, comments, ``$(...)``, backticks,
``${...}``, ``$((...))`` and here-docs, roughly, so that each reference is
quoted for its context. Placeholders in a quoted here-doc (``<<'EOF'``) turn
it into an unquoted one with ``\\``, ``$`` and backticks of its body escaped,
which reads the same. As in :mod:`opsdoc.parse.params`, ``<name>`` right
after a word character (``a<b>``) is not a placeholder; one in a
variable-name position (``<name>=1``) becomes a quoted word, so that line
fails. The quoter also records where each value lands (a
:class:`~opsdoc.execute.shell_params.Site`) for :mod:`opsdoc.execute.shell_params`.
"""

from __future__ import annotations

import re

from opsdoc.execute.quote_base import Quoter
from opsdoc.execute.shell_params import ENV_REF, Site
from opsdoc.parse.params import PLACEHOLDER

# Bash contexts. "bare" kinds: top, cmd ($(...)), bt (`...`), arith ($((...)), ((...))),
# bbrace (${...} outside double quotes). "dq" kinds: dq ("..."), dbrace (${...} inside
# double quotes), hd (unquoted here-doc body).
_BARE = {"top", "cmd", "bt", "arith", "bbrace"}
_WORD_START = " \t\n;&|()"


class BashQuoter(Quoter):
    """Quotes placeholders (and ``$NAME`` env params) in a bash script."""

    def __init__(self, src: str, variables: dict[str, str]) -> None:
        super().__init__(src, variables)
        # frames: [kind, depth, extra]; extra for hd: (delimiter, strip_tabs)
        self.stack: list[list[object]] = [["top", 0, None]]
        # here-docs whose body starts at the next newline: delim, strip, quoted, out index
        self.pending: list[tuple[str, bool, bool, int]] = []

    def run(self) -> str:
        s, n, out = self.s, self.n, self.out
        i = 0
        while i < n:
            frame = self.stack[-1]
            kind = frame[0]
            if kind == "hdq":
                i = self.quoted_heredoc(i, frame)
                continue
            if kind == "hd" and (i == 0 or s[i - 1] == "\n"):
                end = self.line_end(i)
                delim, strip = frame[2]  # type: ignore[misc]
                line = s[i:end]
                if (line.lstrip("\t") if strip else line) == delim:
                    out.append(line)
                    self.stack.pop()
                    i = end
                    continue
            if s[i] == "$" and self.env_names and self.env_ref(i, kind):
                i = self.env_ref(i, kind, emit=True)
                continue
            hit = self.match(i)
            if hit:
                self.site(i, hit[0])
                var, i = hit
                out.append(f'"${{{var}}}"' if kind in _BARE else f"${{{var}}}")
                continue
            ch = s[i]
            two = s[i : i + 2]
            step = self.bare if kind in _BARE else self.double
            i = step(i, ch, two, frame)
        return "".join(out)

    def site(self, i: int, var: str, name: str | None = None, quoted: bool = False) -> None:
        """Note where a value lands: its context and whether it begins a word."""
        kinds = tuple(str(f[0]) for f in self.stack) + (("sq",) if quoted else ())
        opened = i > 0 and self.s[i - 1] in "'\""
        start = self.word_start(i - 1) if opened else (kinds[-1] in _BARE and self.word_start(i))
        self.sites.append(Site(name or self.used[var], i, kinds, start))

    def env_ref(self, i: int, kind: object, emit: bool = False) -> int:
        """``$NAME`` of an env-style param: quoted in bare contexts; the end, or 0."""
        m = ENV_REF.match(self.s, i)
        name = (m.group(1) or m.group(2)) if m else None
        if m is None or name not in self.env_names:
            return 0
        if emit:
            self.site(i, "", name)
            self.out.append(f'"${{{name}}}"' if kind in _BARE else m.group(0))
        return m.end()

    def word_start(self, i: int) -> bool:
        """Whether ``i`` begins a word: after an unescaped blank or operator."""
        if i == 0:
            return True
        if self.s[i - 1] not in _WORD_START:
            return False
        backslashes = 0
        while i - 2 - backslashes >= 0 and self.s[i - 2 - backslashes] == "\\":
            backslashes += 1
        return backslashes % 2 == 0

    def push(self, kind: str, extra: object = None) -> None:
        self.stack.append([kind, 0, extra])

    def pop(self) -> None:
        if len(self.stack) > 1:
            self.stack.pop()

    def bare(self, i: int, ch: str, two: str, frame: list[object]) -> int:
        s, out = self.s, self.out
        kind = frame[0]
        if ch == "\\":
            out.append(s[i : i + 2])
            return i + 2
        if ch == "'":
            return self.single(i + 1, "'", "'\"${%s}\"'")
        if two == "$'":
            out.append("$")
            return self.single(i + 2, "'", "'\"${%s}\"$'", escapes=True)
        if ch == '"':
            out.append(ch)
            self.push("dq")
            return i + 1
        if s.startswith("$((", i) or (two == "((" and kind != "arith" and self.word_start(i)):
            opener = "$((" if ch == "$" else "(("
            out.append(opener)
            self.push("arith")
            return i + len(opener)
        if two == "$(":
            out.append(two)
            self.push("cmd")
            return i + 2
        if two == "${":
            out.append(two)
            self.push("bbrace")
            return i + 2
        if ch == "`":
            out.append(ch)
            if kind == "bt":
                self.pop()
            else:
                self.push("bt")
            return i + 1
        if kind == "bbrace":
            if ch == "{":
                frame[1] = int(frame[1]) + 1  # type: ignore[call-overload]
            elif ch == "}":
                if frame[1]:
                    frame[1] = int(frame[1]) - 1  # type: ignore[call-overload]
                else:
                    self.pop()
            out.append(ch)
            return i + 1
        if kind == "arith":
            if two == "))" and not frame[1]:
                out.append(two)
                self.pop()
                return i + 2
            if ch == "(":
                frame[1] = int(frame[1]) + 1  # type: ignore[call-overload]
            elif ch == ")" and frame[1]:
                frame[1] = int(frame[1]) - 1  # type: ignore[call-overload]
            out.append(ch)
            return i + 1
        # top, cmd, bt
        if ch == "#" and self.word_start(i):
            end = self.line_end(i)
            out.append(s[i:end])
            return end
        if s.startswith("<<<", i):  # a here-string, not a here-doc
            out.append("<<<")
            return i + 3
        if two == "<<":
            return self.heredoc_operator(i)
        if kind == "cmd":
            if ch == "(":
                frame[1] = int(frame[1]) + 1  # type: ignore[call-overload]
            elif ch == ")":
                if frame[1]:
                    frame[1] = int(frame[1]) - 1  # type: ignore[call-overload]
                else:
                    out.append(ch)
                    self.pop()
                    return i + 1
        if ch == "\n" and self.pending:
            out.append(ch)
            for delim, strip, quoted, index in reversed(self.pending):
                if quoted:
                    self.push("hdq", (delim, strip, index, len(self.stack) == 1))
                else:
                    self.push("hd", (delim, strip))
            self.pending = []
            return i + 1
        out.append(ch)
        return i + 1

    def double(self, i: int, ch: str, two: str, frame: list[object]) -> int:
        s, out = self.s, self.out
        kind = frame[0]
        if ch == "\\":
            out.append(s[i : i + 2])
            return i + 2
        if s.startswith("$((", i):
            out.append("$((")
            self.push("arith")
            return i + 3
        if two == "$(":
            out.append(two)
            self.push("cmd")
            return i + 2
        if two == "${":
            out.append(two)
            self.push("dbrace")
            return i + 2
        if ch == "`":
            out.append(ch)
            self.push("bt")
            return i + 1
        if ch == '"' and kind != "hd":
            out.append(ch)
            if kind == "dq":
                self.pop()
            else:  # "..." nested inside ${...} inside "..."
                self.push("dq")
            return i + 1
        if ch == "}" and kind == "dbrace":
            out.append(ch)
            self.pop()
            return i + 1
        out.append(ch)
        return i + 1

    def single(self, i: int, close: str, template: str, *, escapes: bool = False) -> int:
        """Copy a '...' (or $'...') body starting at ``i``, placeholders spliced out of it."""
        s, out = self.s, self.out
        out.append("'")
        while i < self.n:
            ch = s[i]
            if escapes and ch == "\\":
                out.append(s[i : i + 2])
                i += 2
                continue
            if ch == close:
                out.append(ch)
                return i + 1
            hit = self.match(i)
            if hit:
                self.site(i, hit[0], quoted=True)
                var, i = hit
                out.append(template % var)
                continue
            out.append(ch)
            i += 1
        return i

    def heredoc_operator(self, i: int) -> int:
        s, n, out = self.s, self.n, self.out
        j = i + 2
        strip = s[j : j + 1] == "-"
        if strip:
            j += 1
        while j < n and s[j] in " \t":
            j += 1
        start, quoted = j, False
        while j < n and s[j] not in " \t\n;|&<>()":
            if s[j] in "'\"":
                quoted = True
                close = s.find(s[j], j + 1)
                j = n if close < 0 else close + 1
            elif s[j] == "\\":
                quoted = True
                j += 2
            else:
                j += 1
        j = min(j, n)
        word = s[start:j]
        out.append(s[i:start])
        if not word:
            return j
        delim = _UNQUOTE.sub(lambda m: "".join(g or "" for g in m.groups()), word)
        self.pending.append((delim, strip, quoted, len(out)))
        out.append(word)
        return j

    def quoted_heredoc(self, i: int, frame: list[object]) -> int:
        """A <<'EOF' body: literal; rewritten unquoted (and escaped) if it holds a placeholder."""
        s, out = self.s, self.out
        delim, strip, index, toplevel = frame[2]  # type: ignore[misc]
        self.pop()
        j = i
        body_end = end = self.n
        terminated = False
        while j < self.n:
            eol = self.line_end(j)
            line = s[j:eol]
            if (line.lstrip("\t") if strip else line) == delim:
                body_end, end, terminated = j, eol, True
                break
            j = eol + 1
        body = s[i:body_end]
        pieces: list[str] = []
        last, changed = 0, False
        # An unterminated body inside `...` or $(...) is left as written: bash may end
        # it at the closing backquote or parenthesis, which escaping would move.
        for m in PLACEHOLDER.finditer(body if terminated or toplevel else ""):
            if m.group(1) not in self.variables:
                continue
            var = self.variables[m.group(1)]
            self.used[var] = m.group(1)
            pieces.append(_escape_heredoc(body[last : m.start()]))
            pieces.append(f"${{{var}}}")
            last, changed = m.end(), True
        if changed:
            pieces.append(_escape_heredoc(body[last:]))
            out[index] = delim  # <<'EOF' → <<EOF: the body now expands, but only our references
            out.append("".join(pieces))
        else:
            out.append(body)
        out.append(s[body_end:end])
        return end


_UNQUOTE = re.compile(r"\\(.)|'([^']*)'|\"([^\"]*)\"")


def _escape_heredoc(text: str) -> str:
    return re.sub(r"([\\$`])", r"\\\1", text)
