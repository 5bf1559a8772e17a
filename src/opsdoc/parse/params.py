"""Inputs a step needs: ``<placeholders>`` and variables it reads but never sets.

This is a light lexer, not a shell parser: it only needs to tell a read of
``$VAR`` from a ``VAR=`` assignment, and to skip comments and single-quoted
text where nothing expands.
"""

from __future__ import annotations

import re

from opsdoc.mask import is_secret_name
from opsdoc.model import Param

# <lot-id>, <MIGRATION_VERSION>, <user-email>; not a < b, not List<T>, not <br>.
PLACEHOLDER = re.compile(r"(?<![\w<])<([A-Za-z][A-Za-z0-9_.\-]*)>(?!>)")
_HTML_TAGS = {
    "br",
    "p",
    "div",
    "span",
    "b",
    "i",
    "a",
    "em",
    "strong",
    "code",
    "pre",
    "html",
    "head",
    "body",
    "script",
    "style",
    "table",
    "tr",
    "td",
    "th",
    "ul",
    "li",
    "ol",
    "details",
    "summary",
    "sup",
    "sub",
    "hr",
    "img",
    "kbd",
    "title",
    "meta",
    "link",
}
_SHELL_SPECIAL = {
    "HOME",
    "PATH",
    "PWD",
    "OLDPWD",
    "USER",
    "SHELL",
    "RANDOM",
    "SECONDS",
    "LINENO",
    "HOSTNAME",
    "IFS",
    "PPID",
    "UID",
    "EUID",
    "TERM",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "EDITOR",
    "PAGER",
    "BASH_SOURCE",
    "BASH_VERSION",
    "PIPESTATUS",
    "FUNCNAME",
    "REPLY",
    "OPTARG",
    "OPTIND",
}
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_ASSIGN = re.compile(
    rf"(?:^|[\s;&|(`])(?:export\s+|local\s+|declare\s+(?:-\w+\s+)*|readonly\s+)?({_NAME})\+?="
)
_READ_CMD = re.compile(
    # Options that take an argument end in one of these letters (`-p PROMPT`,
    # `-rt 5`); the others stand alone (`-r`), so `read -r answer` names answer.
    # Blanks, not newlines: a `read` ends at the end of its line.
    r"(?:^|[\s;&|])(?:read|mapfile|readarray)[ \t]+"
    r"(?:-[A-Za-z]*[adinNptuOsCc][ \t]+(?:\"[^\"]*\"|'[^']*'|[^-\s]\S*)[ \t]+|-[A-Za-z]+[ \t]+)*"
    rf"({_NAME}(?:[ \t]+{_NAME})*)"
)
_FOR_VAR = re.compile(rf"(?:^|[\s;])for\s+({_NAME})\s+in\b")
# $X, ${X}, ${X:-default}, ${#X} (length), ${X%suffix} and the like.
_VAR_REF = re.compile(rf"\$(?:\{{#?({_NAME})(?::?[-=?+]([^}}]*)|[%#/:^,][^}}]*)?\}}|({_NAME}))")
_PROCESS_ENV = re.compile(rf"process\.env\.({_NAME})(?:\s*\|\|\s*['\"]([^'\"]*)['\"])?")
_PY_ENV = re.compile(
    rf"os\.(?:environ\.get|getenv)\(\s*['\"]({_NAME})['\"](?:\s*,\s*['\"]([^'\"]*)['\"])?"
    rf"|os\.environ\[\s*['\"]({_NAME})['\"]\s*\]"
)
_PS_ENV = re.compile(rf"\$env:({_NAME})(\s*=(?!=))?", re.IGNORECASE)


def placeholders(code: str) -> list[str]:
    """Names of ``<placeholder>`` inputs in order of first appearance."""
    seen: dict[str, None] = {}
    if "<" not in code:
        return []
    for match in PLACEHOLDER.finditer(code):
        name = match.group(1)
        if name.lower() in _HTML_TAGS:
            continue
        seen.setdefault(name, None)
    return list(seen)


# What `_strip_shell` blanks, left to right as bash reads it: a backslash
# pair, a single-quoted string, a double-quoted one (kept, but its backslash
# pairs blanked) and a comment: a `#` at the start of a word.
_SHELL_BLANKS = re.compile(
    r"""\\[\s\S]|'[^']*'?|"(?:\\[\s\S]|[^"\\])*"?|(?:\A|(?<=[ \t\n;|&(]))#[^\n]*"""
)
_ESCAPED_PAIR = re.compile(r"\\[\s\S]")


def _blank(match: re.Match[str]) -> str:
    text = match.group()
    if text[0] == '"':
        return _ESCAPED_PAIR.sub("  ", text) if "\\" in text else text
    return " " * len(text)


def _strip_shell(code: str) -> str:
    """Shell text with comments and single-quoted strings blanked out.

    One regex pass rather than a Python step per character: a long line stays
    cheap, and a line with no quote, backslash or hash is returned as it is.
    """
    if not any(ch in code for ch in "\\'\"#"):
        return code
    return _SHELL_BLANKS.sub(_blank, code)


def _strip_comments(code: str, prefix: str) -> str:
    return "\n".join("" if line.lstrip().startswith(prefix) else line for line in code.splitlines())


def shell_sets(code: str) -> set[str]:
    """Variables a bash script sets: assignments, ``for`` loops, ``read``/``mapfile``."""
    return _sets(_strip_shell(code))


def _sets(text: str) -> set[str]:
    sets: set[str] = set()
    if "=" in text:
        sets.update(_ASSIGN.findall(text))
    if "for" in text:
        sets.update(_FOR_VAR.findall(text))
    if "read" in text or "mapfile" in text:
        for m in _READ_CMD.finditer(text):
            sets.update(m.group(1).split())
    return sets


def env_reads(lang: str, code: str) -> list[tuple[str, str | None]]:
    """Variables a block reads from its environment and never sets, with defaults."""
    reads: dict[str, str | None] = {}
    sets: set[str] = set()
    if lang == "bash":
        # Each pattern runs only when the text holds the one character or word
        # it cannot match without: a long line then costs a few substring scans.
        text = _strip_shell(code)
        sets = _sets(text)
        if "$" in text:
            for m in _VAR_REF.finditer(text):
                name = m.group(1) or m.group(3)
                reads.setdefault(name, m.group(2) if m.group(1) else None)
        if "process.env" in code:
            for m in _PROCESS_ENV.finditer(code):
                reads.setdefault(m.group(1), m.group(2))
        if "os." in code:
            for m in _PY_ENV.finditer(code):
                reads.setdefault(m.group(1) or m.group(3), m.group(2))
        reads = {k: v for k, v in reads.items() if k not in _SHELL_SPECIAL}
    elif lang == "python":
        for m in _PY_ENV.finditer(_strip_comments(code, "#")):
            reads.setdefault(m.group(1) or m.group(3), m.group(2))
    elif lang == "powershell":
        for m in _PS_ENV.finditer(_strip_comments(code, "#")):
            if m.group(2):
                sets.add(m.group(1))
            elif m.group(1) not in sets:
                reads.setdefault(m.group(1), None)
        for m in _PROCESS_ENV.finditer(code):
            reads.setdefault(m.group(1), m.group(2))
        for m in _PY_ENV.finditer(code):
            reads.setdefault(m.group(1) or m.group(3), m.group(2))
    return [(name, default) for name, default in reads.items() if name not in sets]


def step_params(lang: str, code: str) -> list[Param]:
    """Every input of a block: placeholders first, then environment reads."""
    params = [Param(name, is_secret_name(name), "angle") for name in placeholders(code)]
    known = {p.name for p in params}
    for name, default in env_reads(lang, code):
        if name not in known:
            params.append(Param(name, is_secret_name(name), "env", default))
            known.add(name)
    return params
