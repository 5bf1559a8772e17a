"""The class of a psql meta-command line (``\\du``, ``\\copy ... to 'f'``, ``\\o |cmd``).

psql runs the text between backticks in any meta-command argument as a
shell command, pipes ``\\o``/``\\g``/``\\w`` output into a command when the
target starts with ``|`` (quoted or not), and reads a backslash in an
argument as the start of another meta-command. So this is an allowlist:
only describe commands and a few that change psql's own display or
variables are read, and only on a line with no backtick; anything opsdoc
does not know is write, and what runs a command on the operator's machine
is destructive.
"""

from __future__ import annotations

import re

from opsdoc.model import SAFETY_ORDER, Safety

__all__ = ["meta_verdict"]

Verdict = tuple[Safety, str]

# Every backslash starts a command; an empty name is one psql does not know either.
_COMMAND = re.compile(r"\\([A-Za-z_]+[+Sx]*|!|\?|\\|)")
_DESCRIBE = re.compile(r"(d[A-Za-z]*|l|list|z|sf|sv|lo_list|dconfig)[+Sx]*$")
# Plain identifiers, psql name patterns and <placeholders> (bound to plain names only).
_PATTERN_ARGS = re.compile(r'[\w.*?"+^$|\[\](),<>\s-]*$')
_STATE_NAMES = """
    x timing conninfo echo qecho warn pset a t H f C T errverbose ? h help q quit
    p print r reset set unset gdesc watch crosstabview if elif else endif prompt
    getenv bind bind_named parse close_prepared startpipeline endpipeline
    syncpipeline sendpipeline flushrequest flush getresults copyright restrict
    unrestrict gset
"""
_STATE = frozenset(_STATE_NAMES.split())
# Commands that send their output somewhere: read with no argument, else write.
_OUTPUT = frozenset({"o", "out", "g", "gx", "w", "write", "s"})
_WRITE = {
    "i": "runs the SQL of another file opsdoc cannot see",
    "include": "runs the SQL of another file opsdoc cannot see",
    "ir": "runs the SQL of another file opsdoc cannot see",
    "include_relative": "runs the SQL of another file opsdoc cannot see",
    "gexec": "runs every value of the result as SQL",
    "c": "connects to another database",
    "connect": "connects to another database",
    "password": "changes a role's password",
    "lo_import": "imports a file as a large object",
    "lo_export": "writes a large object to a file",
    "setenv": "changes psql's environment",
    "cd": "changes psql's working directory",
    "encoding": "changes the client encoding the server decodes text with",
    "e": "opens an editor and runs what it returns",
    "edit": "opens an editor and runs what it returns",
    "ef": "opens an editor and runs what it returns",
    "ev": "opens an editor and runs what it returns",
}


def _worst(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=lambda v: SAFETY_ORDER.index(v[0]))


def _outside_parens(args: str) -> str:
    depth, flat = 0, []
    for char in args:
        depth += char == "("
        if depth == 0:
            flat.append(char)
        depth -= char == ")" and depth > 0
    return "".join(flat)


def _copy(args: str) -> Verdict:
    """\\copy: FROM loads rows; TO a file writes one; PROGRAM runs a shell command."""
    words = re.findall(r"[\w]+|'[^']*'?|\"[^\"]*\"?|\S", _outside_parens(args).lower())
    if "program" in words:
        return "destructive", "\\copy ... program runs a shell command on this machine"
    if "from" in words:
        return "write", "\\copy ... from loads rows into a table"
    target = words[words.index("to") + 1] if "to" in words[:-1] else ""
    if target in ("stdout", "pstdout"):
        return "read", "\\copy ... to stdout only shows rows"
    return "write", "\\copy ... to writes a file on this machine"


def _output(command: str, args: str) -> Verdict:
    base = command.rstrip("+Sx") or command
    rest = _outside_parens(args) if base in ("g", "gx") else args
    target = rest.strip().lstrip("'\"").lstrip()
    if target.startswith(("|", ":")):  # a psql variable may hold "|cmd"
        return "destructive", f"\\{command} pipes output to a shell command on this machine"
    if not target:
        return "read", f"\\{command} only changes where psql shows output"
    return "write", f"\\{command} writes a file on this machine"


def _one(command: str, args: str) -> Verdict:
    """One meta-command, its arguments up to the next backslash."""
    base = command.rstrip("+Sx") or command
    if command == "!":
        return "destructive", "\\! runs a shell command on this machine"
    if command == "\\":
        return "read", "\\\\ only separates meta-commands"
    if command == "copy":
        return _copy(args)
    if command == "lo_unlink":
        return "destructive", "\\lo_unlink deletes a large object"
    if command in _WRITE or base in _WRITE:
        return "write", f"\\{command} {_WRITE.get(command) or _WRITE[base]}"
    if base in _OUTPUT:
        return _output(command, args)
    if _DESCRIBE.match(command):
        if _PATTERN_ARGS.match(args):
            return "read", f"\\{command} only describes objects"
        return "write", f"\\{command} has arguments opsdoc does not read as a name pattern"
    if command in _STATE or base in _STATE:
        return "read", f"\\{command} only changes or shows psql's own state"
    return "write", f"\\{command} is not a psql meta-command opsdoc knows"


def meta_verdict(line: str) -> Verdict:
    """The class of a whole meta-command line, the worst of every command on it."""
    if "`" in line:
        return "destructive", "psql runs text between backticks as a shell command on this machine"
    starts = list(_COMMAND.finditer(line))
    if not starts or starts[0].start() != 0:
        word = line.split()[0] if line.split() else line
        return "write", f"{word} is not a known psql meta-command"
    verdicts: list[Verdict] = []
    for index, match in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(line)
        command = match.group(1)
        if command == "!":  # \! takes the rest of the line, backslashes and all
            verdicts.append(_one(command, line[match.end() :]))
            break
        verdicts.append(_one(command, line[match.end() : end].strip()))
    return _worst(verdicts)
