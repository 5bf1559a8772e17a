"""Run a bash, Python or PowerShell step as a child process, safely.

What "safely" means here:

* **Parameters are never spliced raw.** Env-read params (``$WORKER_URL``)
  reach the child as environment variables of the same name. Each
  ``<placeholder>`` is replaced by a *reference* to an environment variable
  ``OPSDOC_P_<NAME>`` that holds the value, quoted for the place it stands
  (see :func:`quote_placeholders`). The shell expands a variable once and
  never parses its value as code, so ``$(touch /tmp/pwned)`` or
  ``x'); DROP TABLE t; --`` arrives as one literal argument.
* **The child is contained.** It runs in its own session and process group
  with stdin from ``/dev/null``. On timeout, on Ctrl-C, and when the step
  ends with processes of its group still running (``cmd &``), the whole
  group gets SIGTERM, then SIGKILL 3 s later if anything is still alive;
  so do its session and descendants (see :mod:`opsdoc.execute.children`),
  so a step leaves nothing running, even with ``setsid cmd &``.
* **Output is streamed and captured.** stdout and stderr are read together
  (a selector, in the calling thread) and handed to ``hooks.output`` line by
  line as they arrive (a partial line is flushed after 0.1 s of silence);
  an interleaved copy is kept, capped at ``MAX_OUTPUT_CHARS`` with a note
  at the end when it was cut.

Bash runs as ``bash --noprofile --norc FILE`` (no startup files; ``BASH_ENV``
is dropped too) **without** ``set -e``: a runbook block is a sequence a
person pastes into a terminal, so every command runs and the step's exit
code is the last command's, exactly as it would be by hand.

Limits of placeholder quoting. Where the scanner misreads a script the
result is still a variable reference, never the value as text: the worst
case is a wrong or split word, or a ``<name>`` left as written. What opsdoc
cannot prevent is a *program* parsing the value again after the shell
handed it over literally: ``eval``, ``bash -c '<x>'``, ``ssh host "cmd
<x>"`` (the remote shell parses it), bash arithmetic (``$(( <n> + 1 ))``,
``[[ <n> -eq 1 ]]``), and SQL text given to ``psql -c`` or a here-doc; such
steps should take their value another way (``psql -v``, an SQL step).

* bash: the scanner understands quotes, escapes, comments, ``$(...)``,
  backticks, ``${...}``, ``$((...))`` and here-docs, roughly. Placeholders
  in a quoted here-doc (``<<'EOF'``) turn it into an unquoted one with
  ``\\``, ``$`` and backticks of its body escaped, which reads the same. As
  in :mod:`opsdoc.parse.params`, ``<name>`` right after a word character
  (``a<b>``) is not a placeholder; one in a variable-name position
  (``<name>=1``) becomes a quoted word, so that line fails.
* Python: a placeholder in code becomes ``__import__("os").environ["..."]``;
  in a ``str`` literal the literal is closed and an f-string holding the
  lookup is placed next to it (implicit concatenation, so ``%`` and method
  calls on the literal keep working). Not handled: bytes literals (left
  alone), placeholders inside an f-string's ``{...}``; a value inside a
  ``%``/``.format`` template is treated as part of the template.
* PowerShell: a placeholder becomes ``${env:OPSDOC_P_X}``, which expands in
  code, in argument mode and in ``"..."`` strings; a single-quoted string or
  ``@'...'@`` here-string that holds one is rewritten as the equivalent
  expandable string (with `````, ``$`` and ``"`` escaped).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Literal

from opsdoc.execute import MAX_OUTPUT_CHARS, Hooks, StepInterrupted, StepOutcome, cell_env
from opsdoc.execute.cancel import NEVER, Cancelled
from opsdoc.execute.children import Watchdog, adopt_orphans, family, signal_all, start_time
from opsdoc.execute.shell_params import ENV_REF, ParamRefused, Site, check_sites
from opsdoc.execute.terminal import Terminal
from opsdoc.model import Step
from opsdoc.parse.params import PLACEHOLDER, placeholders

ENV_PREFIX = "OPSDOC_P_"
KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
DRAIN_AFTER_EXIT = 0.5  # how long to wait for pipes held open by leftovers
PARTIAL_LINE_FLUSH = 0.1  # a line without its newline is shown after this much silence

PWSH_MISSING = (
    "PowerShell (pwsh) is not installed; install it or run one of this step's other options"
)
_SUFFIX = {"bash": ".sh", "python": ".py", "powershell": ".ps1"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

Stream = Literal["stdout", "stderr"]


# --------------------------------------------------------------------------
# Placeholders → quoted environment references
# --------------------------------------------------------------------------


def placeholder_var(name: str) -> str:
    """The variable that carries ``<name>``: ``commit-hash`` → ``OPSDOC_P_COMMIT_HASH``."""
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", name).upper()


def _assign_vars(names: Iterable[str]) -> dict[str, str]:
    """Placeholder name → variable, distinct even when two names normalize alike."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        if name in out:
            continue
        base = var = placeholder_var(name)
        n = 2
        while var in used:
            var = f"{base}_{n}"
            n += 1
        used.add(var)
        out[name] = var
    return out


def quote_placeholders(
    script: str, names: Iterable[str], *, lang: str = "bash"
) -> tuple[str, dict[str, str]]:
    """The script with placeholders quoted, and the variables it needs (see below)."""
    script, used, _sites = quote_with_sites(script, names, lang=lang)
    return script, used


def quote_with_sites(
    script: str, names: Iterable[str], *, lang: str = "bash", env_names: Iterable[str] = ()
) -> tuple[str, dict[str, str], list[Site]]:
    """Replace each ``<name>`` (for the given names) by a quoted variable reference.

    Returns the new script and the environment additions it needs, as
    ``{variable: placeholder name}`` (e.g. ``{"OPSDOC_P_LOT_ID": "lot-id"}``),
    for the placeholders that were actually replaced; the caller sets each
    variable to that param's value. ``lang`` is ``bash`` (the default),
    ``python`` or ``powershell``. Never raises: if the scanner meets
    something it cannot follow, every placeholder is replaced as if it stood
    bare, which is still never raw text.
    """
    variables = _assign_vars(names)
    env = frozenset(env_names) if lang == "bash" else frozenset()
    if (not variables or "<" not in script) and not (env and "$" in script):
        return script, {}, []
    scanner = {"bash": _BashQuoter, "python": _PythonQuoter, "powershell": _PwshQuoter}.get(
        lang, _BashQuoter
    )
    try:
        q = scanner(script, variables)
        q.env_names = env
        return q.run(), q.used, q.sites
    except Exception:  # a scanner bug must not stop a step; fall back to bare references
        return (*_bare_fallback(script, variables, lang), [])


def _bare_fallback(script: str, variables: dict[str, str], lang: str) -> tuple[str, dict[str, str]]:
    used: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in variables:
            return m.group(0)
        var = variables[name]
        used[var] = name
        if lang == "python":
            return f'__import__("os").environ["{var}"]'
        if lang == "powershell":
            return "${env:" + var + "}"
        return f'"${{{var}}}"'

    return PLACEHOLDER.sub(repl, script), used


class _Quoter:
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


# Bash contexts. "bare" kinds: top, cmd ($(...)), bt (`...`), arith ($((...)), ((...))),
# bbrace (${...} outside double quotes). "dq" kinds: dq ("..."), dbrace (${...} inside
# double quotes), hd (unquoted here-doc body).
_BARE = {"top", "cmd", "bt", "arith", "bbrace"}
_WORD_START = " \t\n;&|()"


class _BashQuoter(_Quoter):
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


_PY_STRING = re.compile(r"([rRbBuUfF]{0,2})('''|\"\"\"|'|\")")


class _PythonQuoter(_Quoter):
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


_PS_DQ = '"“”„'  # PowerShell treats typographic double quotes as quotes too
_PS_SQ = "'‘’‚‛"


class _PwshQuoter(_Quoter):
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


# --------------------------------------------------------------------------
# Running the child
# --------------------------------------------------------------------------


class _Failed(Exception):
    """A step that cannot start; the message is the outcome's error."""


def _prepare(
    step: Step, values: Mapping[str, str], env: Mapping[str, str] | None
) -> tuple[str, dict[str, str]]:
    """The script to write and the child's environment."""
    base = dict(os.environ if env is None else env)
    for key in [k for k in base if k.startswith(ENV_PREFIX)]:
        del base[key]  # a stale reference from the caller's own environment must not leak in
    base.pop("BASH_ENV", None)  # a startup file for non-interactive bash; --norc does not stop it

    angle: list[str] = []
    for param in step.params:
        value = values.get(param.name, param.default)
        if param.source == "angle":
            angle.append(param.name)
        elif _IDENT.match(param.name) and value is not None:
            _check_value(param.name, value)
            base[param.name] = value
    # Placeholders the parse did not list but the caller gave a value for.
    angle.extend(n for n in placeholders(step.code) if n in values and n not in angle)

    env_names = [p.name for p in step.params if p.source != "angle" and p.name in base]
    script, refs, sites = quote_with_sites(step.code, angle, lang=step.lang, env_names=env_names)
    params = {p.name: p for p in step.params}
    missing = []
    for var, name in refs.items():
        param = params.get(name)
        value = values.get(name, param.default if param else None)
        if value is None:
            missing.append(f"<{name}>")
            continue
        _check_value(name, value)
        base[var] = value
    if missing:
        raise _Failed("no value for " + ", ".join(missing) + " (pass --param NAME=VALUE)")
    given = {
        name: values.get(name, params[name].default if name in params else "") or ""
        for name in {site.name for site in sites}
    }
    try:
        check_sites(step.code, sites, given)
    except ParamRefused as exc:
        raise _Failed(f"{exc}; nothing was run") from None
    return script, base


def _check_value(name: str, value: str) -> None:
    if "\0" in value:
        raise _Failed(f"the value of {name} contains a NUL byte, which a process cannot receive")


def run_process(
    step: Step,
    *,
    values: dict[str, str],
    hooks: Hooks,
    timeout: float = 300.0,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    interpreter: str | None = None,
    terminal: int | None = None,
) -> StepOutcome:
    """Run a bash, python or powershell step; see the module docstring for the rules.

    ``timeout`` is the limit used (the runner passes ``step.timeout`` when a
    step sets one). ``interpreter`` is the program a Runme cell asks for
    (``interpreter=zsh``, front-matter ``shell: ksh``, ``python3``): a shell
    for a shell step, a Python for a Python step; one not installed fails
    the step, naming it. ``terminal`` (rows) runs the step on a pseudo-terminal
    of that height, for a cell marked ``interactive=true`` (terminal.py).
    Raises :class:`StepInterrupted` on Ctrl-C, after the child's process group
    is gone; returns a :class:`StepOutcome` otherwise.
    """
    started = time.monotonic()
    lang = step.lang
    if lang not in _SUFFIX:
        return StepOutcome(status="failed", error=f"opsdoc cannot run {lang!r} steps as a process")
    try:
        script, child_env = _prepare(step, values, env)
    except _Failed as exc:
        return StepOutcome(status="failed", error=str(exc))
    path_var = child_env.get("PATH")
    if lang == "powershell":
        pwsh = shutil.which("pwsh", path=path_var)
        if pwsh is None:
            return StepOutcome(status="failed", exit_code=None, error=PWSH_MISSING)
    fd, tmp = tempfile.mkstemp(prefix="opsdoc-step-", suffix=_SUFFIX[lang])
    exports = ""
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(script)
        before = dict(child_env)
        program = _interpreter(lang, interpreter, path_var)
        if isinstance(program, StepOutcome):
            return program
        if lang == "bash":
            efd, exports = tempfile.mkstemp(prefix="opsdoc-exports-")
            os.close(efd)
            child_env = {**child_env, cell_env.STEP_FILE: tmp, cell_env.EXPORTS_FILE: exports}
            flags = _SHELL_FLAGS.get(Path(program[0]).name, [])
            argv = [*program, *flags, "-c", cell_env.WRAPPER, tmp]  # $0: the script, as before
        elif lang == "python":
            argv = [*program, "-u", tmp]
        else:
            argv = [pwsh, "-NoProfile", "-NonInteractive", "-File", tmp]
        outcome = _supervise(argv, child_env, cwd, hooks, timeout, started, terminal)
        if exports:
            with contextlib.suppress(OSError):
                outcome.env = cell_env.changes(before, Path(exports).read_bytes())
        return outcome
    finally:
        for path in (tmp, exports):
            if path:
                with contextlib.suppress(OSError):
                    os.unlink(path)


# Shells a shell step may run under, and how each is kept from reading startup files.
_SHELL_FLAGS = {"bash": ["--noprofile", "--norc"], "zsh": ["-f"], "sh": [], "dash": [], "ksh": []}
_SHELL_FLAGS |= {"mksh": [], "ash": [], "ksh93": []}


def interpreter_problem(lang: str, asked: str | None) -> str | None:
    """Why a step's interpreter cannot run it (for a plan, before anything runs); None: it can."""
    found = _interpreter(lang, asked, os.environ.get("PATH"))
    return found.error if isinstance(found, StepOutcome) else None


def _interpreter(lang: str, asked: str | None, path_var: str | None) -> list[str] | StepOutcome:
    """The program (and its own arguments) that runs a bash or python step."""
    if lang == "powershell":
        return []
    if not asked or not asked.strip():
        default = shutil.which("bash", path=path_var) or "bash"
        return [default] if lang == "bash" else [sys.executable]
    try:
        words = shlex.split(asked)
    except ValueError:
        words = asked.split()
    name = Path(words[0]).name
    fits = name in _SHELL_FLAGS if lang == "bash" else re.fullmatch(r"python[0-9.]*", name)
    if not fits:
        kind = "a shell" if lang == "bash" else "a Python"
        return StepOutcome(
            status="failed",
            error=f"the interpreter {asked!r} is not {kind}; opsdoc runs this step only with "
            f"one it can classify for (e.g. {'bash, sh, zsh' if lang == 'bash' else 'python3'})",
        )
    found = shutil.which(words[0], path=path_var)
    if found is None:
        return StepOutcome(
            status="failed",
            error=f"{words[0]} is not installed; the runbook asks for it (a cell's interpreter "
            f"or the front matter's shell): install {words[0]}, or remove that line to run "
            "under the default",
        )
    return [found, *words[1:]]


def _supervise(
    argv: list[str],
    env: dict[str, str],
    cwd: Path | None,
    hooks: Hooks,
    timeout: float,
    started: float,
    terminal: int | None = None,
) -> StepOutcome:
    adopting = adopt_orphans()  # a double fork's orphan stays ours to find
    watchdog = Watchdog()  # first, so that the step is guarded from its first instant
    try:
        return _supervise_guarded(
            argv, env, cwd, hooks, timeout, started, watchdog, adopting, terminal
        )
    finally:
        watchdog.release()


def _supervise_guarded(
    argv: list[str],
    env: dict[str, str],
    cwd: Path | None,
    hooks: Hooks,
    timeout: float,
    started: float,
    watchdog: Watchdog,
    adopting: bool,
    terminal: int | None = None,
) -> StepOutcome:
    tty = Terminal(terminal) if terminal else None
    stdio: dict[str, Any] = (
        {"stdin": tty.child, "stdout": tty.child, "stderr": tty.child}
        if tty
        else {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    )
    try:
        proc = subprocess.Popen(argv, **stdio, cwd=cwd, env=env, start_new_session=True, bufsize=0)
    except FileNotFoundError:
        if cwd is not None and not Path(cwd).is_dir():
            error = f"working directory not found: {cwd}"
        else:
            error = f"{Path(argv[0]).name} is not installed (install it or put it on PATH)"
        if tty:
            tty.close()
        return StepOutcome(status="failed", error=error, duration=time.monotonic() - started)
    except OSError as exc:
        if tty:
            tty.close()
        return StepOutcome(
            status="failed",
            error=f"could not start {Path(argv[0]).name}: {exc.strerror or exc}",
            duration=time.monotonic() - started,
        )
    finally:
        if tty:
            tty.started()
    child = _Child(proc, hooks, tty.output() if tty else None)
    watchdog.watch(proc.pid, child.born)
    child.adopter = os.getpid() if adopting else None
    child.others = frozenset({watchdog.pid} if watchdog.pid else ())
    timed_out = False
    token = getattr(hooks, "cancel", NEVER)
    try:
        deadline = started + timeout
        while proc.poll() is None:
            token.check()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                child.stop()
                break
            child.pump(min(0.05, remaining))
        if not timed_out:
            child.drain(DRAIN_AFTER_EXIT)
            if child.group_alive():  # `cmd &` left behind: a step leaves nothing running
                child.stop()
        child.drain(1.0)
        child.flush()
        child.finished = True
        if child.interrupted:
            raise KeyboardInterrupt
    except (KeyboardInterrupt, Cancelled) as exc:
        child.stop()
        child.flush()
        why = f"cancelled ({exc.reason})" if isinstance(exc, Cancelled) else "interrupted (Ctrl-C)"
        outcome = StepOutcome(
            status="cancelled" if isinstance(exc, Cancelled) else "interrupted",
            exit_code=None,
            output=child.capture.text(),
            duration=time.monotonic() - started,
            error=f"{why}; the step's processes were stopped",
        )
        raise StepInterrupted(outcome) from None
    finally:
        child.close()  # stops the group first if anything above raised

    duration = time.monotonic() - started
    output = child.capture.text()
    if timed_out:
        return StepOutcome(
            status="timeout",
            exit_code=None,
            output=output,
            duration=duration,
            error=f"stopped after {timeout:g}s (timeout)",
        )
    code = proc.returncode
    if code == 0:
        return StepOutcome(status="ok", exit_code=0, output=output, duration=duration)
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        error = f"killed by {name}"
    elif code == 127:
        error = _not_found(child.stderr_tail)
    else:
        error = f"exited with code {code}"
    return StepOutcome(
        status="failed", exit_code=code, output=output, duration=duration, error=error
    )


_NOT_FOUND = re.compile(
    r"^(?:.*?: )?(?:line \d+: )?(.+?): (?:command not found|No such file or directory)$",
    re.MULTILINE,
)


def _not_found(stderr: str) -> str:
    """Exit 127: name the command bash could not find."""
    found = _NOT_FOUND.findall(stderr)
    if found:
        return f"command not found: {found[-1]} (install it or put it on PATH)"
    return "exited with code 127: a command was not found (install it or put it on PATH)"


class _Capture:
    """Interleaved output, capped; says at the end how much it dropped."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.mask: Callable[[str], str] | None = None
        self.parts: list[str] = []
        self.size = 0
        self.dropped = 0

    def add(self, text: str) -> None:
        text = self.mask(text) if self.mask else text  # mask before the cap cuts a token
        room = self.limit - self.size
        kept = text[: max(room, 0)]
        if kept:
            self.parts.append(kept)
            self.size += len(kept)
        self.dropped += len(text) - len(kept)

    def text(self) -> str:
        out = "".join(self.parts)
        if self.dropped:
            out += (
                f"\n[opsdoc: output truncated at {self.limit} characters; "
                f"{self.dropped} more not captured]\n"
            )
        return out


class _Reader:
    """One pipe: bytes → text, split so that hooks see whole lines."""

    def __init__(self, name: Stream, *, terminal: bool = False) -> None:
        self.name: Stream = name
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.partial = ""
        self.since = 0.0
        self.terminal = terminal  # a terminal ends lines with \r\n

    def feed(self, data: bytes) -> str:
        text = self.partial + self.decoder.decode(data)
        if self.terminal:
            text = text.replace("\r\n", "\n")
        cut = max(text.rfind("\n"), text.rfind("\r")) + 1
        if not self.partial or cut:
            self.since = time.monotonic()
        self.partial = text[cut:]
        return text[:cut]

    def take_partial(self, final: bool = False) -> str:
        if final:
            self.partial += self.decoder.decode(b"", final=True)
        text, self.partial = self.partial, ""
        return text


class _Child:
    """A running child process group: its pipes, its capture, and how to stop it."""

    def __init__(
        self, proc: subprocess.Popen[bytes], hooks: Hooks, terminal: BinaryIO | None = None
    ) -> None:
        self.proc = proc
        self.pgid = proc.pid  # start_new_session: the child leads its own group
        self.born = start_time(proc.pid)  # so that a reused pid is never taken for it
        self.adopter: int | None = None  # opsdoc, when it reaps the step's orphans
        self.others: frozenset[int] = frozenset()  # opsdoc's children that are not the step's
        self.hooks = hooks
        self.capture = _Capture(MAX_OUTPUT_CHARS)
        self.capture.mask = getattr(hooks, "mask", None)
        self.stderr_tail = ""
        self.readers: list[_Reader] = []
        self.selector = selectors.DefaultSelector()
        # A terminal has one stream: the step's stdout and stderr, as a person sees them.
        pipes = (
            [("stdout", terminal)]
            if terminal
            else [("stdout", proc.stdout), ("stderr", proc.stderr)]
        )
        for name, pipe in pipes:
            assert pipe is not None
            os.set_blocking(pipe.fileno(), False)
            reader = _Reader(name, terminal=terminal is not None)  # type: ignore[arg-type]
            self.readers.append(reader)
            self.selector.register(pipe, selectors.EVENT_READ, reader)
        self.finished = False
        self.interrupted = False  # a Ctrl-C arrived while stop() was waiting

    # -- output --------------------------------------------------------------

    def emit(self, reader: _Reader, text: str) -> None:
        if not text:
            return
        self.capture.add(text)
        if reader.name == "stderr":
            self.stderr_tail = (self.stderr_tail + text)[-8192:]
        self.hooks.output(text, reader.name)

    def pump(self, wait: float) -> None:
        """Read what is there (waiting up to ``wait`` s) and pass it on."""
        if not self.selector.get_map():
            time.sleep(max(wait, 0.0))
            return
        for key, _ in self.selector.select(max(wait, 0.0)):
            reader: _Reader = key.data
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                self.emit(reader, reader.feed(data))
            else:
                self.selector.unregister(key.fileobj)
                key.fileobj.close()  # type: ignore[union-attr]
                self.emit(reader, reader.take_partial(final=True))
        now = time.monotonic()
        for reader in self.readers:
            if reader.partial and now - reader.since >= PARTIAL_LINE_FLUSH:
                self.emit(reader, reader.take_partial())

    def drain(self, limit: float) -> None:
        """Read until both pipes are closed, for at most ``limit`` seconds."""
        end = time.monotonic() + limit
        while self.selector.get_map() and time.monotonic() < end:
            self.pump(min(0.05, max(end - time.monotonic(), 0.0)))

    def flush(self) -> None:
        for reader in self.readers:
            self.emit(reader, reader.take_partial(final=not self.open(reader)))

    def open(self, reader: _Reader) -> bool:
        return any(key.data is reader for key in self.selector.get_map().values())

    # -- the process group -----------------------------------------------------

    def group_alive(self) -> bool:
        """Whether any live (non-zombie) process is left of the step: its session,
        its group, or a descendant (``set -m`` jobs, ``setsid`` children)."""
        members = family(self.pgid, self.born, self.adopter, self.others)
        return _group_alive(self.pgid) if members is None else bool(members)

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)
        signal_all(family(self.pgid, self.born, self.adopter, self.others) or set(), sig)

    def stop(self) -> None:
        """SIGTERM the group; SIGKILL whatever is alive 3 s later; reap the child."""
        # While the leader is unreaped its pid is the group's id and cannot be reused.
        if self.proc.returncode is None or self.group_alive():
            self.signal(signal.SIGTERM)
        end = time.monotonic() + KILL_GRACE
        try:
            while time.monotonic() < end:
                if self.proc.poll() is not None and not self.group_alive():
                    break
                self.pump(0.05)
        except KeyboardInterrupt:
            self.interrupted = True  # Ctrl-C while stopping: go straight to SIGKILL
        if self.proc.poll() is None or self.group_alive():
            self.signal(signal.SIGKILL)
        with contextlib.suppress(KeyboardInterrupt):
            self.proc.wait(timeout=5)
        self.finished = True

    def close(self) -> None:
        try:
            if self.proc.poll() is None or (not self.finished and self.group_alive()):
                self.signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=KILL_GRACE)
                self.signal(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
        finally:
            for key in list(self.selector.get_map().values()):
                with contextlib.suppress(Exception):
                    self.selector.unregister(key.fileobj)
                with contextlib.suppress(OSError):
                    key.fileobj.close()  # type: ignore[union-attr]
            self.selector.close()


def _group_alive(pgid: int) -> bool:
    proc = Path("/proc")
    if (proc / "self" / "stat").exists():
        for entry in os.scandir(proc):
            if not entry.name.isdigit():
                continue
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            # fields: state, ppid, pgrp, ...
            if len(fields) > 2 and fields[0] != b"Z" and int(fields[2]) == pgid:
                return True
        return False
    try:  # no /proc (macOS): zombies count as alive here
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
