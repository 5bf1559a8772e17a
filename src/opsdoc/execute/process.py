"""Run a bash, Python or PowerShell step as a child process, safely.

What "safely" means here:

* **Parameters are never spliced raw.** Env-read params (``$WORKER_URL``)
  reach the child as environment variables of the same name. Each
  ``<placeholder>`` is replaced by a *reference* to an environment variable
  ``OPSDOC_P_<NAME>`` that holds the value, quoted for the place it stands
  (see :mod:`opsdoc.execute.quote`).
* **The child is contained, its output streamed and captured**: see
  :mod:`opsdoc.execute.supervisor`.

Bash runs as ``bash --noprofile --norc FILE`` (no startup files; ``BASH_ENV``
is dropped too) **without** ``set -e``: a runbook block is a sequence a
person pastes into a terminal, so every command runs and the step's exit
code is the last command's, exactly as it would be by hand.

This module is the entry point: it prepares the script and the child's
environment, finds the interpreter, and hands the child to the supervisor.
It re-exports the quoting functions that callers have imported from here.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from opsdoc.execute import Hooks, StepOutcome, cell_env
from opsdoc.execute.quote import ENV_PREFIX, placeholder_var, quote_placeholders, quote_with_sites
from opsdoc.execute.shell_params import ParamRefused, check_sites
from opsdoc.execute.supervisor import supervise
from opsdoc.model import Step
from opsdoc.parse.params import placeholders

__all__ = [
    "ENV_PREFIX",
    "PWSH_MISSING",
    "interpreter_problem",
    "placeholder_var",
    "quote_placeholders",
    "quote_with_sites",
    "run_process",
]

PWSH_MISSING = (
    "PowerShell (pwsh) is not installed; install it or run one of this step's other options"
)
_SUFFIX = {"bash": ".sh", "python": ".py", "powershell": ".ps1"}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


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
        outcome = supervise(argv, child_env, cwd, hooks, timeout, started, terminal)
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
