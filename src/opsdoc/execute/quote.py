"""Placeholders in a bash, Python or PowerShell script, as quoted environment references.

Each ``<placeholder>`` is replaced by a *reference* to an environment
variable ``OPSDOC_P_<NAME>`` that holds the value, quoted for the place it
stands; the caller puts the value in the child's environment. The shell
expands a variable once and never parses its value as code, so
``$(touch /tmp/pwned)`` or ``x'); DROP TABLE t; --`` arrives as one literal
argument. One scanner a language: :mod:`~opsdoc.execute.quote_bash`,
:mod:`~opsdoc.execute.quote_python`, :mod:`~opsdoc.execute.quote_powershell`.

Limits of placeholder quoting. Where the scanner misreads a script the
result is still a variable reference, never the value as text: the worst
case is a wrong or split word, or a ``<name>`` left as written. What opsdoc
cannot prevent is a *program* parsing the value again after the shell
handed it over literally: ``eval``, ``bash -c '<x>'``, ``ssh host "cmd
<x>"`` (the remote shell parses it), bash arithmetic (``$(( <n> + 1 ))``,
``[[ <n> -eq 1 ]]``), and SQL text given to ``psql -c`` or a here-doc; such
steps should take their value another way (``psql -v``, an SQL step).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from opsdoc.execute.quote_base import Quoter
from opsdoc.execute.quote_bash import BashQuoter
from opsdoc.execute.quote_powershell import PwshQuoter
from opsdoc.execute.quote_python import PythonQuoter
from opsdoc.execute.shell_params import Site
from opsdoc.parse.params import PLACEHOLDER

ENV_PREFIX = "OPSDOC_P_"

_SCANNERS: dict[str, type[Quoter]] = {
    "bash": BashQuoter,
    "python": PythonQuoter,
    "powershell": PwshQuoter,
}


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
    scanner = _SCANNERS.get(lang, BashQuoter)
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
