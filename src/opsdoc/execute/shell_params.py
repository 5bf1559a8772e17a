"""Where a parameter's value lands in a bash step, and the values that would change its meaning.

Quoting (``"${OPSDOC_P_X}"``) keeps a value from being split or globbed, but
three places read a value again, as something other than one argument:

* **arithmetic** (``$(( <n> ))``, ``${a[<n>]}``, ``${s:<n>}``, ``let``,
  ``declare -i``, ``[[ … -eq <n> ]]``): bash evaluates the value, and
  ``a[$(cmd)]`` runs ``cmd``. Only an integer may go there;
* **code run later** (``trap``, ``eval``, ``bash -c``, ``ssh host``,
  ``watch``, ``su -c``): the value is parsed as shell. Only a value without
  shell syntax may go there;
* **the start of an argument**: a value beginning with ``-`` becomes an
  option (``sort -oFILE``, ``curl -K evil.cfg``), unless ``--`` came first.

Each is refused with the parameter's name and what to do, before anything
runs. A site is recorded by the quoter in ``quote_bash.py``; the decision is here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["ENV_REF", "ParamRefused", "Site", "check_sites"]

# $NAME or ${NAME} (a plain reference, no operator): where an env-style param is used.
ENV_REF = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")
_INTEGER = re.compile(r"[+-]?\d+")
_PLAIN = re.compile(r"[\w./:@%+=,-]*")
_SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "ash", "busybox"})
_LATER = frozenset({"trap", "eval", "watch", "ssh", "su", "runuser", "script", "xargs", "parallel"})
_DECLARE = frozenset({"declare", "typeset", "local", "readonly", "export"})
_ARITH_TESTS = re.compile(r"-(?:eq|ne|lt|le|gt|ge)\b")


class ParamRefused(ValueError):
    """A value that would change what the step's code means; the message says which and why."""


@dataclass(frozen=True)
class Site:
    """One use of a parameter in the step's code, as the quoter saw it."""

    name: str
    pos: int  # offset of the reference in the original code
    kinds: tuple[str, ...]  # the quoter's context stack, innermost last
    word_start: bool  # the value begins a word (an argument)


def _command_words(code: str, pos: int) -> list[str]:
    """The words of the simple command before ``pos`` (rough: split at ; & | newline)."""
    start = max(code.rfind(c, 0, pos) for c in ";&|\n")
    return code[start + 1 : pos].split()


def _in_subscript(code: str, pos: int) -> bool:
    """Inside ``${name[…]}`` or the offset of ``${name:…}`` (both arithmetic)."""
    start = code.rfind("${", 0, pos)
    if start < 0:
        return False
    inner = code[start + 2 : pos]
    return bool(re.match(r"#?!?[A-Za-z_]\w*(?:\[|:(?![-=+?]))", inner)) and "}" not in inner


def _arithmetic(code: str, site: Site, words: Sequence[str]) -> bool:
    if "arith" in site.kinds:
        return True
    if site.kinds[-1] in ("bbrace", "dbrace") and _in_subscript(code, site.pos):
        return True
    if words and words[0] == "let":
        return True
    if words and words[0] in _DECLARE and any(w.startswith("-") and "i" in w for w in words[1:]):
        return True
    if "[[" in words:
        tail = code[site.pos : code.find("]]", site.pos) if "]]" in code[site.pos :] else None]
        return bool(_ARITH_TESTS.search(" ".join(words[words.index("[[") :]) + tail))
    return False


def _runs_later(words: Sequence[str]) -> str | None:
    """The command that will parse this text as shell again, if any."""
    for k, word in enumerate(words):
        base = word.rsplit("/", 1)[-1]
        if base in _LATER and (k == 0 or words[k - 1] in ("sudo", "env", "command", "exec")):
            return base
        if base in _SHELLS and "-c" in words[k + 1 :]:
            return f"{base} -c"
    return None


def check_sites(code: str, sites: Sequence[Site], values: Mapping[str, str]) -> None:
    """Raise :class:`ParamRefused` for the first value that would change the code's meaning."""
    for site in sites:
        value = values.get(site.name)
        if value is None:
            continue
        words = _command_words(code, site.pos)
        shown = f"<{site.name}>" if not site.name.isupper() else f"${site.name}"
        if _arithmetic(code, site, words) and not _INTEGER.fullmatch(value.strip()):
            raise ParamRefused(
                f"{shown} stands where bash evaluates arithmetic, so its value must be a "
                f"whole number; {value!r} is not one (bash would run what a[$(…)] holds)"
            )
        later = _runs_later(words)
        if later and not _PLAIN.fullmatch(value):
            raise ParamRefused(
                f"{shown} goes into text that {later} runs as shell later, so its value may "
                f"hold only letters, digits and . / : @ % + = , - _; {value!r} has more"
            )
        if site.word_start and value.startswith("-") and "--" not in words:
            command = words[0] if words else "the command"
            raise ParamRefused(
                f"the value of {shown} starts with '-', so {command} would read it as an "
                "option; give a value without the leading '-', or put -- before it in the "
                "runbook if it really is one"
            )
