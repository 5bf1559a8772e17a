"""What a bash step exports, carried to the steps after it in the same run.

Runme runs the cells of a document in one session: ``export ENV=foo`` in
one cell is ``$ENV`` in the next. opsdoc runs each step in its own
process, so a bash step is run as ``. FILE`` under a shell whose EXIT trap
writes the exported environment (``env -0``) to a file; the runner compares
it with what the step started with and carries the difference on.

A runbook is untrusted, and a read step runs without asking: what it
exports must not change what a later step runs. Variables that choose the
program or how an interpreter starts (``PATH``, ``LD_PRELOAD``, ``BASH_ENV``,
exported functions, ``PYTHONPATH``, ...) are never carried; the journal
names them as refused. Values are never journaled, only names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from opsdoc.execute import EnvChange

EXPORTS_FILE = "OPSDOC_EXPORTS_FILE"
STEP_FILE = "OPSDOC_STEP_FILE"
# The step runs sourced, so `exit N` in it still ends the shell (and fires the trap).
WRAPPER = f'trap \'env -0 > "${EXPORTS_FILE}" 2>/dev/null\' EXIT; . "${STEP_FILE}"'

# The shell keeps these itself; a change in them is not the step's doing.
_SHELL_OWN = {"PWD", "OLDPWD", "SHLVL", "_", EXPORTS_FILE, STEP_FILE}
_NOT_CARRIED = re.compile(
    r"PATH|LD_\w*|DYLD_\w*|BASH_ENV|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|IFS|PS4|PROMPT_COMMAND"
    r"|PYTHON\w*|PERL5\w*|PERLLIB|RUBYOPT|RUBYLIB|NODE_OPTIONS|NODE_PATH|GIT_\w*|HOME|TMPDIR"
    r"|OPSDOC_\w*"
)


def changes(before: Mapping[str, str], dump: bytes) -> EnvChange:
    """The variables the step set or changed (``dump`` is ``env -0``'s output)."""
    after: dict[str, str] = {}
    for entry in dump.split(b"\0"):
        name, eq, value = entry.partition(b"=")
        if eq and name:
            after[name.decode("utf-8", "surrogateescape")] = value.decode(
                "utf-8", "surrogateescape"
            )
    change = EnvChange()
    for name, value in after.items():
        if name in _SHELL_OWN or before.get(name) == value:
            continue
        if _NOT_CARRIED.fullmatch(name):
            change.refused.append(name)
        else:
            change.exported[name] = value
    change.unset = [
        n
        for n in before
        if n not in after and n not in _SHELL_OWN and not _NOT_CARRIED.fullmatch(n)
    ]
    return change
