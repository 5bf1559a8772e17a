"""Judging one command's words against the command rules, for bash and PowerShell.

Both block classifiers reduce a command to its words (argv) and hand them to
:class:`Judge`, which finds the command's rule, subcommand and flags and
follows what it runs (``sudo``, ``bash -c``, ``psql -c``, ``find -exec``) to
one :class:`Verdict`. The rest of this module is what both classifiers share
to turn verdicts into Statements: line numbers, comment labels, the fallback.

A command can carry a bash script (``bash -c '...'``, ``ssh host '...'``),
but :mod:`opsdoc.classify.shell` builds on this module, so a judge is handed
the bash classifier instead of importing it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from opsdoc.classify.command_rules import CommandRule, CommandRules, FlagRule, Rule, Wrapper
from opsdoc.classify.programs import program_verdict
from opsdoc.model import SAFETY_ORDER, Safety, Statement

__all__ = [
    "ASSIGNMENT_WORD",
    "MAX_DEPTH",
    "PHRASE",
    "BashClassifier",
    "Judge",
    "Lines",
    "Record",
    "Verdict",
    "assignment_verdict",
    "fallback_statement",
    "placeholder_names",
    "redirect_verdict",
    "redirected",
    "to_statements",
    "unknown_verdict",
]

PHRASE: dict[str, str] = {
    "read": "only reads",
    "write": "changes state",
    "destructive": "can destroy data",
}
MAX_DEPTH = 8  # commands in commands (sudo bash -c ...) nest no deeper
_HELP_ARGS = frozenset({"--help", "--version"})
_SINKS = frozenset(
    {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-", "$null", "&1", "&2", "nul"}
)
ASSIGNMENT_WORD = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")

BashClassifier = Callable[[str, int, Sequence[str], CommandRules, int], list[Statement]]
"""``classify_bash(code, line, placeholders, rules, depth)`` of :mod:`opsdoc.classify.shell`."""


# --------------------------------------------------------------------------
# Judging one command line (argv) against the rules
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """One command's class, the reason for it, and what it is (``kubectl delete``)."""

    safety: Safety
    reason: str
    kind: str


@dataclass(frozen=True)
class _Opt:
    name: str  # as matched (lower-case for PowerShell)
    value: str | None
    text: str  # the word as written


@dataclass
class _Args:
    opts: list[_Opt]
    positional: list[tuple[int, str]]  # (index in args, word)
    dashdash: int | None  # index of "--"


_PROGRAM_FILE = {"awk": ("-f", "--file"), "sed": ("-f", "--file")}
_PROGRAM_TEXT = {"awk": ("-e", "--source"), "sed": ("-e", "--expression")}


def _program(language: str, parsed: _Args, words: Sequence[str], kind: str) -> Verdict | None:
    """An awk or sed program that runs commands or writes files makes its command write."""
    opts = [(o.name, o.value) for o in parsed.opts]
    if any(name in _PROGRAM_FILE[language] for name, _ in opts):
        return Verdict("write", f"{kind} runs a program file (-f) opsdoc cannot see", kind)
    texts = [v or "" for name, v in opts if name in _PROGRAM_TEXT[language]]
    if not texts and words:
        texts = [words[0]]
    for text in texts:
        found = program_verdict(language, text)
        if found is not None:
            return Verdict(found[0], f"{kind}'s program {found[1]}", kind)
    return None


def _worse(a: Verdict, b: Verdict | None) -> Verdict:
    """The more dangerous verdict; ``a`` on a tie."""
    if b is None or SAFETY_ORDER.index(b.safety) <= SAFETY_ORDER.index(a.safety):
        return a
    return b


def _short(text: str, limit: int = 60) -> str:
    """A word fit for a one-line reason."""
    text = " ".join(text.split()) or repr(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def unknown_verdict(name: str) -> Verdict:
    return Verdict("write", f"unknown command {_short(name)} counts as write", "unknown")


def assignment_verdict(name: str = "") -> Verdict:
    """Setting a variable only changes the session; the value never enters the reason."""
    name = name.split("=", 1)[0].strip()
    what = f"setting {name}" if name else "an assignment"
    return Verdict("read", f"{what} only changes this session", "assignment")


def _parse_args(
    args: Sequence[str], value_options: frozenset[str], long_single: bool, ignore_case: bool
) -> _Args:
    """Split words into options (with values) and positional words."""
    out = _Args([], [], None)
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word == "--":
            out.dashdash = i - 1
            out.positional.extend((j, args[j]) for j in range(i, len(args)))
            break
        if len(word) < 2 or not word.startswith("-"):
            out.positional.append((i - 1, word))
        elif word.startswith("--") or long_single:
            i = _long_option(word, args, i, value_options, ignore_case, out.opts)
        else:
            i = _short_options(word, args, i, value_options, out.opts)
    return out


def _long_option(
    word: str,
    args: Sequence[str],
    i: int,
    value_options: frozenset[str],
    ignore_case: bool,
    opts: list[_Opt],
) -> int:
    name, eq, value = word.partition("=")
    if ignore_case and not eq:
        name, eq, value = word.partition(":")
    key = name.lower() if ignore_case else name
    if eq:
        opts.append(_Opt(key, value, word))
    elif key in value_options and i < len(args):
        opts.append(_Opt(key, args[i], word))
        return i + 1
    else:
        opts.append(_Opt(key, None, word))
    return i


def _short_options(
    word: str, args: Sequence[str], i: int, value_options: frozenset[str], opts: list[_Opt]
) -> int:
    for j in range(1, len(word)):
        key = "-" + word[j]
        if key in value_options:
            value = word[j + 1 :]
            if not value and i < len(args):
                value, i = args[i], i + 1
            opts.append(_Opt(key, value or None, word))
            return i
        opts.append(_Opt(key, None, word))
    return i


def _match_words(pattern: Sequence[str], words: Sequence[str]) -> int | None:
    """How many words a subcommand pattern consumes, or None; ``**`` skips any."""
    if not pattern:
        return 0
    head = pattern[0]
    if head == "**":
        for skip in range(len(words) + 1):
            rest = _match_words(pattern[1:], words[skip:])
            if rest is not None:
                return skip + rest
        return None
    if not words or not fnmatchcase(words[0].lower(), head):
        return None
    rest = _match_words(pattern[1:], words[1:])
    return None if rest is None else rest + 1


def _best_subcommand(subs: Sequence[Rule], words: Sequence[str]) -> tuple[Rule | None, int]:
    """The most specific matching subcommand: more words, more literals, more danger."""
    best: tuple[tuple[int, int, int], Rule, int] | None = None
    for rule in subs:
        used = _match_words(rule.words, words)
        if used is None:
            continue
        literal = sum(1 for w in rule.words if not any(c in w for c in "*?["))
        key = (len(rule.words) - rule.words.count("**"), literal, SAFETY_ORDER.index(rule.safety))
        if best is None or key > best[0]:
            best = (key, rule, used)
    return (best[1], best[2]) if best else (None, 0)


def _flag_match(flag: FlagRule, opt: _Opt) -> bool:
    if not any(fnmatchcase(opt.name, name) for name in flag.names):
        return False
    value = (opt.value or "").lower()
    if flag.values and (opt.value is None or not _any_glob(value, flag.values)):
        return False
    if flag.values_not and (opt.value is None or _any_glob(value, flag.values_not)):
        return False
    return not (flag.writes_file and opt.value is not None and _is_sink(opt.value))


def _any_glob(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(value, p.lower()) for p in patterns)


def _is_sink(target: str) -> bool:
    """Targets that receive output without writing a file."""
    t = target.strip().strip("'\"").lower()
    return t in _SINKS or t.startswith(("/dev/fd/", ">(", "<(")) or t == "$null"


class Judge:
    """Classifies argv lists of simple commands against the rules."""

    def __init__(
        self,
        rules: CommandRules,
        placeholders: Sequence[str],
        bash: BashClassifier,
        depth: int = 0,
    ):
        self.rules = rules
        self.placeholders = placeholders
        self.bash = bash
        self.depth = depth

    def child(self) -> Judge:
        return Judge(self.rules, self.placeholders, self.bash, self.depth + 1)

    def argv(self, argv: Sequence[str]) -> Verdict:
        """The class of one simple command, assignments already removed."""
        if argv and argv[0] == "$":  # a pasted prompt: "$ kubectl get pods"
            argv = argv[1:]
        if not argv:
            return assignment_verdict()
        name = argv[0]
        if self.depth > MAX_DEPTH:
            return unknown_verdict(name)
        wrapper = self.rules.wrappers.get(name)
        if wrapper is not None:
            return self._unwrap(wrapper, argv)
        if name in ("export", "declare", "local", "readonly", "typeset"):
            return assignment_verdict(argv[1] if len(argv) > 1 else "")
        if name in ("source", "."):
            target = _short(argv[1]) if len(argv) > 1 else "a file"
            return Verdict(
                "write",
                f"{name} {target} runs a file opsdoc cannot see, counts as write",
                "unknown",
            )
        if name.startswith("(("):
            return Verdict("read", "arithmetic only computes a value", "arithmetic")
        rule = self.rules.command(name)
        if rule is None:
            return unknown_verdict(name)
        if rule.alias:
            return self.child().argv([*rule.alias, *argv[1:]])
        return self.known(rule, argv)

    def _unwrap(self, wrapper: Wrapper, argv: Sequence[str]) -> Verdict:
        i, skipped = 1, 0
        while i < len(argv):
            word = argv[i]
            if word == "--":
                i += 1
                break
            if word.startswith("-") and len(word) > 1 and not skipped:
                if word in wrapper.read_flags:
                    return Verdict(
                        "read", f"{wrapper.name} {word} only looks a name up", wrapper.name
                    )
                i += 2 if word in wrapper.value_options else 1
            elif wrapper.assignments and ASSIGNMENT_WORD.match(word):
                i += 1
            elif skipped < wrapper.skip:
                skipped += 1
                i += 1
            else:
                break
        rest = list(argv[i:])
        if not rest:
            alone = wrapper.alone
            return Verdict(alone, f"{wrapper.name} without a command {PHRASE[alone]}", wrapper.name)
        if wrapper.shell:
            return self.shell_text(wrapper.name, [" ".join(rest)])
        return self.child().argv(rest)

    def known(self, rule: CommandRule, argv: Sequence[str]) -> Verdict:
        """The class of a command the rules know."""
        args = list(argv[1:])
        display = argv[0] if any(c in rule.name for c in "*?[") else rule.name
        if len(args) == 1 and args[0] in _HELP_ARGS:
            return Verdict("read", f"{display} {args[0]} only prints help", display)
        parsed = _parse_args(args, rule.value_options, rule.single_dash_long, rule.ignore_case)
        words = [w for _, w in parsed.positional]
        sub, used = _best_subcommand(rule.subcommands, words)
        r = sub or rule.default
        if sub is not None and sub.value_options - rule.value_options:
            parsed = _parse_args(
                args,
                rule.value_options | sub.value_options,
                rule.single_dash_long,
                rule.ignore_case,
            )
            words = [w for _, w in parsed.positional]
        kind = r.kind or " ".join([display, *words[:used]])
        verdict = Verdict(r.safety, f"{kind} {r.reason or PHRASE[r.safety]}", kind)
        if r.bare is not None and len(words) == used:
            verdict = Verdict(r.bare, f"{kind} without arguments {PHRASE[r.bare]}", kind)
        if r.writes_files:
            verdict = self._files(kind, words[used:])
        if r.writes_after is not None:
            verdict = _worse(verdict, self._files(kind, words[used + r.writes_after :]))
        if r.program is not None:
            verdict = _worse(verdict, _program(r.program, parsed, words[used:], kind))
        flags = rule.default.flags + (sub.flags if sub is not None else ())
        verdict = self._set_flags(flags, parsed.opts, kind, verdict)
        verdict = self._content(r, args, parsed, used, kind) or verdict
        for nested in _exec_commands(r.exec_flags, args):
            inner = self.child().argv(nested)
            verdict = _worse(verdict, Verdict(inner.safety, f"{kind} runs {inner.reason}", kind))
        return self._raise_flags(flags, parsed.opts, kind, verdict)

    def _files(self, kind: str, files: Sequence[str]) -> Verdict:
        real = [f for f in files if not _is_sink(f)]
        if real:
            return Verdict("write", f"{kind} writes the file {real[0]}", kind)
        return Verdict("read", f"{kind} writes no file", kind)

    def _set_flags(
        self, flags: Sequence[FlagRule], opts: Sequence[_Opt], kind: str, verdict: Verdict
    ) -> Verdict:
        for flag in flags:
            if not flag.set:
                continue
            for opt in opts:
                if _flag_match(flag, opt):
                    verdict = _flag_verdict(flag, opt, kind)
        return verdict

    def _raise_flags(
        self, flags: Sequence[FlagRule], opts: Sequence[_Opt], kind: str, verdict: Verdict
    ) -> Verdict:
        for flag in flags:
            if flag.set:
                continue
            for opt in opts:
                if _flag_match(flag, opt):
                    verdict = _worse(verdict, _flag_verdict(flag, opt, kind))
                    break
        return verdict

    def _content(
        self, r: Rule, args: Sequence[str], parsed: _Args, used: int, kind: str
    ) -> Verdict | None:
        """Code a command carries: SQL (psql -c), a script (bash -c), a command (exec)."""
        sql = [o for o in parsed.opts if o.name in r.sql and o.value is not None]
        if sql:
            return self.sql_text(f"{kind} {sql[0].name}", [o.value or "" for o in sql])
        scripts = [o for o in parsed.opts if o.name in r.shell and o.value is not None]
        if scripts:
            return self.shell_text(f"{kind} {scripts[0].name}", [o.value or "" for o in scripts])
        nested = _nested_argv(r.run, args, parsed, used)
        if not nested:
            return None
        if r.run_shell:
            return self.shell_text(kind, [" ".join(nested)])
        inner = self.child().argv(nested)
        return Verdict(inner.safety, f"{kind} runs {inner.reason}", kind)

    def sql_text(self, subject: str, texts: Sequence[str]) -> Verdict:
        """The class of SQL embedded in a command: the worst of its statements."""
        worst: Verdict | None = None
        for text in texts:
            for safety, reason in self._sql_parts(text):
                verdict = Verdict(safety, f"{subject} runs SQL: {reason}", subject)
                worst = verdict if worst is None else _worse(worst, verdict)
        return worst or Verdict("write", f"{subject} runs SQL opsdoc cannot read", subject)

    def _sql_parts(self, text: str) -> list[tuple[Safety, str]]:
        try:
            from opsdoc.classify.sql import classify_sql
        except ImportError:
            return [("write", "the SQL classifier is not available, counts as write")]
        try:
            statements = classify_sql(text, placeholders=self.placeholders)
        except Exception:
            statements = []
        if not statements:
            return [("write", "no statement opsdoc can read, counts as write")]
        return [(s.safety, s.reason) for s in statements]

    def shell_text(self, subject: str, scripts: Sequence[str]) -> Verdict:
        """The class of a shell script carried as a string (bash -c, watch, ssh)."""
        worst: Verdict | None = None
        for script in scripts:
            for st in self.bash(script, 1, self.placeholders, self.rules, self.depth + 1):
                verdict = Verdict(st.safety, f"{subject} runs {st.reason}", subject)
                worst = verdict if worst is None else _worse(worst, verdict)
        return worst or Verdict("read", f"{subject} runs nothing", subject)


def _flag_verdict(flag: FlagRule, opt: _Opt, kind: str) -> Verdict:
    value = (opt.value or "").upper()
    flag_kind = flag.kind.replace("{value}", value) if flag.kind else None
    subject = flag_kind or f"{kind} {opt.text}"
    return Verdict(
        flag.safety, f"{subject} {flag.reason or PHRASE[flag.safety]}", flag_kind or kind
    )


def _nested_argv(run: str | int | None, args: Sequence[str], parsed: _Args, used: int) -> list[str]:
    if run is None:
        return []
    if run == "--":
        return list(args[parsed.dashdash + 1 :]) if parsed.dashdash is not None else []
    index = used + int(run)
    if index >= len(parsed.positional):
        return []
    return list(args[parsed.positional[index][0] :])


def _exec_commands(exec_flags: Sequence[str], args: Sequence[str]) -> list[list[str]]:
    """The commands of ``find ... -exec CMD {} ;`` (up to ; or +)."""
    out: list[list[str]] = []
    i = 0
    while i < len(args):
        if args[i] in exec_flags:
            j = i + 1
            while j < len(args) and args[j] not in (";", "+", "\\;"):
                j += 1
            if j > i + 1:
                out.append(list(args[i + 1 : j]))
            i = j
        i += 1
    return out


def redirected(verdict: Verdict, redirect: Verdict | None) -> Verdict:
    """A command whose output goes to a file is at least write; it keeps its kind."""
    if redirect is None or _worse(verdict, redirect) is verdict:
        return verdict
    kind = "redirect" if verdict.kind == "assignment" else verdict.kind
    return Verdict(redirect.safety, redirect.reason, kind)


def redirect_verdict(op: str, target: str) -> Verdict | None:
    """Output redirected to a real file writes it; /dev/null and &2 do not."""
    if "<" in op and op != "<>":
        return None
    if op.endswith("&") and (target.isdigit() or target == "-"):
        return None
    if target.startswith("&") and target[1:].isdigit():
        return None
    if _is_sink(target):
        return None
    return Verdict("write", f"output redirected to {target} writes a file", "redirect")


# --------------------------------------------------------------------------
# Shared by both block classifiers: placeholders, lines, labels, statements
# --------------------------------------------------------------------------


def placeholder_names(placeholders: Iterable[str] | None) -> list[str]:
    """The placeholder names a caller passed, without anything that is not a string."""
    return [p for p in placeholders or () if isinstance(p, str)]


class Lines:
    """Line numbers and comment labels of a code block."""

    def __init__(self, code: str, first_line: int):
        self.code = code
        self.first = first_line
        self.starts = [0] + [m.end() for m in re.finditer("\n", code)]
        self.comments: dict[int, str] = {}  # line index -> comment text
        self.code_lines: set[int] = set()

    def index(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def line(self, pos: int) -> int:
        return self.first + self.index(pos)

    def add_comment(self, pos: int, text: str) -> None:
        idx = self.index(pos)
        if idx == 0 and text.startswith("!") and pos == 0:
            return  # a shebang is not a label
        self.comments.setdefault(idx, text)

    def label(self, pos: int) -> str | None:
        """The comment lines right above the line at pos, without their #."""
        idx = self.index(pos) - 1
        found: list[str] = []
        while idx >= 0 and idx in self.comments and idx not in self.code_lines:
            found.append(self.comments[idx].lstrip("#").strip())
            idx -= 1
        text = "\n".join(t for t in reversed(found) if t)
        return text or None


@dataclass
class Record:
    """A command found in a block, with its verdict, before it becomes a Statement."""

    start: int
    end: int
    verdict: Verdict
    parsed: bool
    label_pos: int
    name: str = ""


def to_statements(recs: Sequence[Record], code: str, lines: Lines) -> list[Statement]:
    """The block's Statements, in the order of the code."""
    out: list[Statement] = []
    for rec in sorted(recs, key=lambda r: (r.start, -r.end)):
        raw = code[rec.start : rec.end]
        text = raw.strip()
        if not text:
            continue
        start = rec.start + (len(raw) - len(raw.lstrip()))
        out.append(
            Statement(
                text=text,
                safety=rec.verdict.safety,
                reason=rec.verdict.reason,
                line=lines.line(start),
                label=lines.label(rec.label_pos),
                kind=rec.verdict.kind,
                parsed=rec.parsed,
            )
        )
    return out


def fallback_statement(code: str, line: int, reason: str) -> list[Statement]:
    """Last resort when classification itself failed: the block counts as write."""
    text = code.strip()
    if not text or all(ln.strip().startswith("#") or not ln.strip() for ln in text.splitlines()):
        return []
    return [
        Statement(text=text, safety="write", reason=reason, line=line, kind="unknown", parsed=False)
    ]
