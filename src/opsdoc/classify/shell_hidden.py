"""Commands bash runs from places a parser of commands does not look: ``$((…))``, ``${…}``.

``echo $(( $(rm -f F; echo 1) + 1 ))`` runs ``rm`` while bashlex sees one
arithmetic word, and ``${a[$(cmd)]}``, ``${s:$(cmd)}`` and ``$[ $(cmd) ]``
are the same. This finds the command substitutions inside arithmetic and
parameter expansions, so the classifier can judge them as the commands they
are. It scans quotes roughly as bash does (nothing inside single quotes is
expanded; double quotes are); when it cannot follow the text it errs towards
reporting a substitution.
"""

from __future__ import annotations

__all__ = ["hidden_substitutions"]

_OPENERS = (("$((", "))"), ("$[", "]"), ("${", "}"))


def _match(code: str, i: int, open_ch: str, close_ch: str) -> int:
    """Index just past the ``close_ch`` that balances the ``open_ch`` at ``i``."""
    depth = 0
    j = i
    n = len(code)
    while j < n:
        c = code[j]
        if c == "\\":
            j += 2
            continue
        if c == "'" and open_ch != "`":
            end = code.find("'", j + 1)
            j = n if end < 0 else end + 1
            continue
        if c == open_ch and open_ch != close_ch:
            depth += 1
        elif c == close_ch:
            depth -= 1
            if depth <= 0:
                return j + 1
        j += 1
    return n


def _substitutions(code: str, start: int, end: int) -> list[tuple[int, str]]:
    """``$(…)`` and backtick commands in code[start:end], with their offsets."""
    out: list[tuple[int, str]] = []
    i = start
    while i < end:
        if code.startswith("$(", i) and not code.startswith("$((", i):
            stop = min(_match(code, i + 1, "(", ")"), end)
            out.append((i + 2, code[i + 2 : stop - 1]))
            i = stop
        elif code[i] == "`":
            stop = code.find("`", i + 1)
            stop = end if stop < 0 or stop > end else stop
            out.append((i + 1, code[i + 1 : stop]))
            i = stop + 1
        elif code[i] == "\\":
            i += 2
        else:
            i += 1
    return out


def hidden_substitutions(code: str) -> list[tuple[int, str]]:
    """(offset, command text) of each substitution inside an arithmetic or ``${…}`` expansion."""
    if "$" not in code or ("$(" not in code and "`" not in code):
        return []
    out: list[tuple[int, str]] = []
    i = 0
    n = len(code)
    in_double = False
    while i < n:
        c = code[i]
        if c == "\\":
            i += 2
            continue
        if c == "'" and not in_double:
            end = code.find("'", i + 1)
            i = n if end < 0 else end + 1
            continue
        if c == '"':
            in_double = not in_double
            i += 1
            continue
        opener = next((o for o in _OPENERS if code.startswith(o[0], i)), None)
        if opener is None:
            i += 1
            continue
        head, close = opener
        open_ch = "(" if head == "$((" else head[-1]
        stop = _match(code, i + len(head) - 1, open_ch, close[-1])
        if head == "$((":
            stop = _match(code, i + 1, "(", ")")
        out.extend(_substitutions(code, i + len(head), stop))
        i = stop
    return out
