"""What a bash step exports, carried to the steps after it in the same run.

Runme runs the cells of a document in one session: ``export ENV=foo`` in
one cell is ``$ENV`` in the next. opsdoc runs each step in its own
process, so a bash step is run as ``. FILE``, and then the exported
environment (``env -0``) is written to a file; the runner compares it with
what the step started with and carries the difference on.

A runbook is untrusted, and a read step runs without asking: what it
exports must not change what a later step runs. Variables that choose the
program or how an interpreter starts (``PATH``, ``LD_PRELOAD``, ``BASH_ENV``,
exported functions, ``PYTHONPATH``, ...) are never carried; the journal
names them as refused. Values are never journaled, only names.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opsdoc.execute import EnvChange
from opsdoc.mask import is_secret_name

EXPORTS_FILE = "OPSDOC_EXPORTS_FILE"
STEP_FILE = "OPSDOC_STEP_FILE"
# The step runs sourced; what it exported is written when it ends. Not from an EXIT
# trap: with one, a shell stopped by a signal reports it ("Terminated") before it goes.
# A step that ends with `exit` passes nothing on.
WRAPPER = (
    f'. "${STEP_FILE}"; __opsdoc_status=$?; env -0 > "${EXPORTS_FILE}" 2>/dev/null; '
    "exit $__opsdoc_status"
)

# The shell keeps these itself; a change in them is not the step's doing.
_SHELL_OWN = {"PWD", "OLDPWD", "SHLVL", "_", EXPORTS_FILE, STEP_FILE}
_NOT_CARRIED = re.compile(
    r"PATH|LD_\w*|DYLD_\w*|BASH_ENV|BASH_FUNC_.*|SHELLOPTS|BASHOPTS|IFS|PS4|PROMPT_COMMAND"
    r"|PYTHON\w*|PERL5\w*|PERLLIB|RUBYOPT|RUBYLIB|NODE_OPTIONS|NODE_PATH|GIT_\w*|HOME|TMPDIR"
    r"|OPSDOC_\w*"
)


# NAME=value with a literal value: "..." without expansions, '...', or a bare word.
_LITERAL = re.compile(
    r"(?:^|[\s;&|(])(?:export\s+|declare\s+-x\s+|local\s+|readonly\s+)?([A-Za-z_]\w*)="
    r"(?:\"([^\"$`\\]*)\"|'([^']*)'|([^\s\"'$`;|&()<>]+))"
)


def literal_secrets(code: str) -> list[str]:
    """Values a script gives secret-named variables literally (``export DB_PASSWORD=x``):
    masked before the step runs, so its own output cannot show them either."""
    found = []
    for match in _LITERAL.finditer(code):
        value = next((g for g in match.groups()[1:] if g), "")
        if is_secret_name(match.group(1)) and len(value) >= 4:
            found.append(value)
    return found


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


@dataclass
class RunEnv:
    """What the steps of one run exported or unset so far, for the steps after them."""

    carried: dict[str, str] = field(default_factory=dict)
    unset: set[str] = field(default_factory=set)

    def for_step(self, base: Mapping[str, str] | None) -> Mapping[str, str] | None:
        """The environment the next process step starts with (None: the caller's own)."""
        if not self.carried and not self.unset:
            return base
        start = os.environ if base is None else base
        return {**{k: v for k, v in start.items() if k not in self.unset}, **self.carried}

    def carry(self, change: EnvChange) -> list[str]:
        """Take a step's changes in; the values to mask from now on (secret names)."""
        for name, value in change.exported.items():
            self.carried[name] = value
            self.unset.discard(name)
        for name in change.unset:
            self.carried.pop(name, None)
            self.unset.add(name)
        return [v for n, v in change.exported.items() if is_secret_name(n)]


def journaled(change: EnvChange) -> dict[str, Any]:
    """The journal's record of a change: names only (a value may be a secret whose
    name does not say so)."""
    data: dict[str, Any] = {
        "exported": sorted(change.exported),
        "unset": sorted(change.unset),
        "refused": sorted(change.refused),
    }
    if change.refused:
        data["why"] = "these choose what program runs; never carried"
    return data
