"""Programs a "read" command carries that can act: awk's ``system()``, sed's ``e`` and ``w``.

``awk`` and ``sed`` only read, unless their program says otherwise:
``awk 'BEGIN{system("rm F")}'``, ``awk '{print > "out"}'``, ``"cmd" | getline``,
``sed 'w out'``, ``sed 's/x/y/e'``. The checks read the program text with
its string literals blanked, and err towards write: a comparison written
after ``print`` (``print $1 > 5`` is a redirection in awk too) counts as one.
"""

from __future__ import annotations

import re

from opsdoc.model import Safety

__all__ = ["program_verdict"]

Found = tuple[Safety, str] | None

_AWK_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"')
_AWK_REGEX = re.compile(r"(?<![\w)\]])/(?:[^/\\\n]|\\.)+/")
_AWK_SYSTEM = re.compile(r"\bsystem\s*\(")
_AWK_PIPE = re.compile(r"(?<!\|)\|(?!\|)")
_AWK_PRINT_TO = re.compile(r"\bprintf?\b[^;{}\n]*>")
_AWK_OTHER = re.compile(r"\b(?:fflush|close)\s*\(\s*\)|@load|\bextension\s*\(")

# sed commands that run or write: e (GNU: run), w/W (write a file), r/R are reads.
_SED_BLANK = re.compile(r"\\.")
_SED_COMMAND = re.compile(
    r"(?:^|[;\n{}])\s*(?:[\d$]+|/[^/]*/)?(?:,(?:[\d$]+|/[^/]*/))?\s*!?\s*([ewW])\b"
)
_SED_SUBST_FLAGS = re.compile(r"\bs(.)(?:(?!\1).|\\.)*\1(?:(?!\1).|\\.)*\1([gpIiMm\d]*[ew])")


def _awk(program: str) -> Found:
    text = _AWK_REGEX.sub("//", _AWK_STRING.sub('""', program))
    if _AWK_SYSTEM.search(text):
        return "write", "runs a command with system()"
    if _AWK_PIPE.search(text):
        return "write", "runs a command through a pipe"
    if _AWK_PRINT_TO.search(text):
        return "write", "may print to a file"
    if _AWK_OTHER.search(text):
        return "write", "loads code or flushes files"
    return None


def _sed(program: str) -> Found:
    text = _SED_BLANK.sub("__", program)
    if _SED_SUBST_FLAGS.search(text):
        return "write", "runs or writes with an s///e or s///w flag"
    match = _SED_COMMAND.search(text)
    if match:
        what = "runs a command" if match.group(1) == "e" else "writes a file"
        return "write", f"{what} (its {match.group(1)} command)"
    return None


def program_verdict(language: str, program: str) -> Found:
    """What an awk or sed program adds to its command's class; None when it only reads."""
    if language == "awk":
        return _awk(program)
    if language == "sed":
        return _sed(program)
    return None
