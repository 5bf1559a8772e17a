"""What a fenced block says about itself: its language and its attributes.

Authors can steer opsdoc from the fence's info string, in either of the
forms Runme reads (``bash {"name":"reset"}`` or ``sh { name=reset
interactive=false }``), with opsdoc's own keys added: name, phase, safety,
expect, option, target, timeout, executable, drill.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

LANGS = {
    "bash": "bash",
    "sh": "bash",
    "shell": "bash",
    "console": "bash",
    "zsh": "bash",
    "shell-session": "bash",
    "shellsession": "bash",
    "ksh": "bash",
    "terminal": "bash",
    "sql": "sql",
    "psql": "sql",
    "postgresql": "sql",
    "postgres": "sql",
    "pgsql": "sql",
    "plpgsql": "sql",
    "python": "python",
    "py": "python",
    "python3": "python",
    "powershell": "powershell",
    "pwsh": "powershell",
    "ps1": "powershell",
    "ps": "powershell",
}

# Languages whose console form carries prompts ("$ cmd") mixed with output.
PROMPT_LANGS = {"console", "shell-session", "shellsession", "terminal"}

_COMMENT_PREFIX = {"bash": ("#",), "python": ("#",), "powershell": ("#",), "sql": ("--",)}


def runnable_lang(lang: str | None) -> str | None:
    """The canonical runnable language for a fence language, or None."""
    if not lang:
        return None
    return LANGS.get(lang.strip().lower())


# opsdoc's own keys are typed (booleans, numbers, lists); every other key is
# kept as the string Runme reads ("false", "1"), whatever form it came in.
TYPED_KEYS = {"phase", "safety", "expect", "option", "target", "timeout", "executable", "drill"}


def parse_attrs(info: str) -> dict[str, Any]:
    """Attributes from the part of an info string after the language."""
    info = info.strip()
    # A bare fence (no language) may carry attributes all the same: ``` {"name":"x"}
    rest = info if info.startswith("{") else info.partition(" ")[2].strip()
    if not rest.startswith("{"):
        return {}
    body = rest[: rest.rfind("}") + 1] if "}" in rest else rest + "}"
    try:
        value = json.loads(body)
        if isinstance(value, dict):
            return {str(k): v if k in TYPED_KEYS else _as_runme(v) for k, v in value.items()}
    except json.JSONDecodeError:
        pass
    inner = body.strip()[1:-1]
    try:
        words = shlex.split(inner.replace(",", " "))
    except ValueError:
        words = inner.replace(",", " ").split()
    attrs: dict[str, Any] = {}
    for word in words:
        key, eq, value = word.partition("=")
        key = key.strip()
        if not key:
            continue
        if key in TYPED_KEYS:
            attrs[key] = _scalar(value) if eq else True
        else:
            attrs[key] = value if eq else "true"
    return attrs


def flag(value: Any) -> bool | None:
    """A boolean attribute as Runme reads one ("true", "false"); None when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return None


def _as_runme(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _scalar(value: str) -> Any:
    low = value.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value) if "." in value else int(value)
    return value


# A line of log output rather than a command: a timestamp (ISO, klog, logfmt)
# or a kubectl event's type first. No command starts like that.
_LOG_LINE = re.compile(
    r"^\s*(?:\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|[EWIF]\d{4} \d{2}:\d{2}:\d{2}"
    r"|(?:time|ts|level)=\S|(?:Warning|Normal)\s{2,}[A-Z]\w+\s)"
)


def looks_like_log(code: str) -> bool:
    """Whether every line of a block is log output (pasted under a shell fence by habit)."""
    lines = [line for line in code.splitlines() if line.strip()]
    return bool(lines) and all(_LOG_LINE.match(line) for line in lines)


def only_comments(lang: str, code: str) -> bool:
    """Whether a block in a runnable language holds nothing that would run."""
    prefixes = _COMMENT_PREFIX.get(lang, ("#",))
    in_block = False
    for raw in code.splitlines():
        line = raw.strip()
        if not line:
            continue
        if lang == "sql":
            if in_block:
                if "*/" in line:
                    in_block = False
                    line = line.split("*/", 1)[1].strip()
                    if not line:
                        continue
                else:
                    continue
            if line.startswith("/*"):
                if "*/" not in line:
                    in_block = True
                continue
        if lang == "powershell":
            if in_block:
                if "#>" in line:
                    in_block = False
                continue
            if line.startswith("<#"):
                in_block = "#>" not in line
                continue
        if line.startswith(prefixes):
            continue
        return False
    return True


def console_commands(code: str) -> str:
    """The commands of a console transcript (see :func:`split_transcript`)."""
    return split_transcript(code, transcript=True)[0]


# Words that start a command even without a prompt, in a shell block that
# mixes `$ ` lines with plain ones (Runme's `$ stty -opost` then `export X=1`).
_SHELL_WORDS_TEXT = (
    "export unset set cd pushd popd source . echo printf read local declare readonly "
    "alias trap exit return if then else elif fi for while until do done case esac "
    "function sleep test [ [[ eval exec shift wait true false"
)
_SHELL_WORDS = frozenset(_SHELL_WORDS_TEXT.split())
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][\w.-]*)\1")


def split_transcript(code: str, *, transcript: bool) -> tuple[str, list[str], list[int]]:
    """A block that shows prompts: the script to run, and the output it shows.

    ``$ cmd`` lines are commands; a line after one ending in ``\\`` continues
    it; a heredoc body, up to its delimiter, belongs to the command that opens
    it. Any other line is the output the runbook shows, unless the block is a
    shell block (``transcript`` false) and the line is plainly a command of its
    own (an assignment, ``export``, ``echo``, a comment): those run too. A block
    with no prompt at all is commands only. Nothing is dropped: every line is
    in one of the two. The third item is the block line (0-based) of each
    line of the script, for line numbers that match the file.
    """
    lines = code.splitlines()
    prompts = [_prompt(line) for line in lines]
    if all(command is None for command in prompts):
        return code, [], list(range(len(lines)))
    script: list[str] = []
    at: list[int] = []
    output: list[str] = []
    continuing = False
    heredoc: str | None = None
    for number, (line, command) in enumerate(zip(lines, prompts, strict=True)):
        if heredoc is not None:
            script.append(line)
            at.append(number)
            if line.strip() == heredoc or line.split(maxsplit=1)[:1] == [heredoc]:
                heredoc = None
            continue
        if continuing:
            script.append(line)
        elif command is not None:
            script.append(command)
            line = command
        elif not transcript and _plain_command(line):
            script.append(line)
        else:
            output.append(line)
            continue
        at.append(number)
        continuing = line.rstrip().endswith("\\")
        opened = _HEREDOC.search(line)
        if opened:
            heredoc = opened.group(2)
    text = "\n".join(script) + ("\n" if script else "")
    return text, output, at


def _plain_command(line: str) -> bool:
    stripped = line.strip()
    if not stripped or line[:1].isspace():
        return False
    first = stripped.split(maxsplit=1)[0]
    return first in _SHELL_WORDS or stripped.startswith("#") or bool(_ASSIGNMENT.match(first))


# A shell prompt: an optional `(venv)`, an optional `user@host:~/dir`, then
# `$`, `%` or `#` and a space. The host part is written so that no two
# quantifiers can share a character: a long line without a prompt fails in
# linear time (the earlier `[\w.@-]+[:~\w/.-]*` was quadratic on one).
_PROMPT = re.compile(r"\s*(?:\(\S+\)\s*)?(?:[\w.@-]+(?:[:~/][:~\w/.-]*)?)?[$%#]\s(.*)")


def _prompt(line: str) -> str | None:
    if "$" not in line and "%" not in line and "#" not in line:
        return None
    match = _PROMPT.match(line)
    if match and not line.lstrip().startswith("#"):
        return match.group(1)
    if line.startswith("$ "):
        return line[2:]
    return None
