"""Safety of bash steps: one :class:`Statement` per simple command.

A runbook's shell block is classified command by command so that a step is
only as dangerous as its most dangerous command, and so the journal and the
UI can say *which* command made it so. This module finds a block's commands;
what each one does is judged by :mod:`opsdoc.classify.commands` against the
rules of ``rules/commands.toml``; commands nobody knows count as write.

Bash goes through bashlex, the closest thing to bash's own grammar in
Python. bashlex rejects plenty of real shell (``[[ ]]``, ``case``, ``$(( ))``,
``time``), so a small quote-aware scanner of our own reads what it rejects,
one logical line at a time, and marks those statements ``parsed=False``.
Nothing in this module raises on any input; unreadable code counts as write.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsdoc.classify.command_rules import CommandRules, rules_or_default
from opsdoc.classify.commands import (
    ASSIGNMENT_WORD,
    PHRASE,
    Judge,
    Lines,
    Record,
    Verdict,
    assignment_verdict,
    fallback_statement,
    placeholder_names,
    redirect_verdict,
    redirected,
    to_statements,
)
from opsdoc.classify.shell_hidden import hidden_substitutions
from opsdoc.model import Statement, max_safety

__all__ = ["classify_bash", "classify_shell"]

# --------------------------------------------------------------------------
# Placeholders: masked so that <name> is a word, not a redirection
# --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"(?<!<)<([A-Za-z_][\w.:-]*)>(?!\w)")


class _Masked:
    """Code with each <placeholder> replaced by a same-length neutral word.

    Same length keeps every position valid in the original text; each
    placeholder gets its own private-use character so words map back exactly.
    """

    def __init__(self, code: str, placeholders: Iterable[str]):
        self.original = code
        names = {p.strip().strip("<>") for p in placeholders if isinstance(p, str)}
        names.discard("")
        pattern = _PLACEHOLDER
        if names:
            alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
            pattern = re.compile(rf"<(?:{alternatives})>|{_PLACEHOLDER.pattern}")
        self._chars: dict[str, str] = {}
        self._back: list[tuple[str, str]] = []
        self._free = (chr(c) for c in range(0xE000, 0xF8FF) if chr(c) not in code)
        self.text = _blank_continuations(pattern.sub(self._mask, code))

    def _mask(self, match: re.Match[str]) -> str:
        original = match.group(0)
        char = self._chars.get(original)
        if char is None:
            char = next(self._free, "_")
            self._chars[original] = char
            self._back.append((char * len(original), original))
        return char * len(original)

    def restore(self, word: str) -> str:
        for masked, original in self._back:
            if masked[0] in word:
                word = word.replace(masked, original)
        return word


_CONTINUATION = re.compile(r"^(?P<body>[^\n]*?)(?<!\\)(?P<even>(?:\\\\)*)\\\n", re.M)


def _blank_continuations(text: str) -> str:
    """Backslash-newline as two spaces: same length, same word split.

    bashlex shifts positions inside ``$( )`` after a continuation. A line
    with a comment keeps its newline, since a comment never continues.
    """

    def blank(match: re.Match[str]) -> str:
        body = match.group("body")
        if re.search(r"(^|\s)#", body):
            return match.group(0)
        return body + match.group("even") + "  "

    return _CONTINUATION.sub(blank, text)


# --------------------------------------------------------------------------
# Bash: a quote-aware lexer (for logical lines, comments and the fallback)
# --------------------------------------------------------------------------

_OPS = (
    ";;&", "&>>", "<<<", "<<-",
    "&&", "||", ";;", ";&", "|&", "&>", ">>", ">|", ">&", "<<", "<&", "<>",
    ";", "|", "&", ">", "<", "(", ")",
)  # fmt: skip
_REDIRECTS = frozenset({"&>>", "&>", ">>", ">|", ">&", "<<<", "<<-", "<<", "<&", "<>", ">", "<"})
_WORD_END = frozenset(" \t\r\n;&|()<>")
_RESERVED = frozenset(
    {
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "do",
        "done",
        "while",
        "until",
        "{",
        "}",
        "!",
        "esac",
        "in",
    }
)


@dataclass
class _Tok:
    kind: str  # word | op | nl
    text: str
    start: int
    end: int
    subs: list[tuple[int, int]] = field(default_factory=list)  # $( ), ` `, <( ) contents


class _BashLexer:
    """Splits bash into words, operators and newlines; never raises."""

    def __init__(self, s: str, start: int, end: int, lines: Lines | None):
        self.s = s[:end]
        self.i = start
        self.lines = lines
        self.toks: list[_Tok] = []
        self.subs: list[tuple[int, int]] = []
        self.heredocs: list[str] = []
        self.want_delimiter = False

    def run(self) -> list[_Tok]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\f\v":
                self.i += 1
            elif s.startswith("\\\n", self.i):
                self.i += 2
            elif c == "\n":
                self._newline()
            elif c == "#":
                self._comment()
            elif s.startswith("((", self.i) and self._command_start():
                self._push("word", self._paren(self.i + 1, record=False) + 1, self.i)
            elif c in "<>" and s.startswith("(", self.i + 1):
                self._word()
            else:
                op = next((o for o in _OPS if s.startswith(o, self.i)), None)
                if op:
                    self._push("op", self.i + len(op), self.i)
                    self.want_delimiter = op in ("<<", "<<-")
                else:
                    self._word()
        return self.toks

    def _push(self, kind: str, end: int, start: int) -> _Tok:
        end = min(end, len(self.s))
        tok = _Tok(kind, self.s[start:end], start, end, self.subs)
        self.subs = []
        self.toks.append(tok)
        if self.lines is not None and kind != "nl":
            self.lines.code_lines.add(self.lines.index(start))
        self.i = end
        return tok

    def _command_start(self) -> bool:
        return (
            not self.toks
            or self.toks[-1].kind == "nl"
            or (self.toks[-1].kind == "op" and self.toks[-1].text not in _REDIRECTS)
        )

    def _newline(self) -> None:
        tok = self._push("nl", self.i + 1, self.i)
        for delimiter in self.heredocs:
            self._skip_heredoc(delimiter)
        self.heredocs = []
        tok.end = self.i

    def _skip_heredoc(self, delimiter: str) -> None:
        s = self.s
        while self.i < len(s):
            end = s.find("\n", self.i)
            end = len(s) if end < 0 else end
            line = s[self.i : end]
            self.i = min(end + 1, len(s))
            if line.strip() == delimiter:
                return

    def _comment(self) -> None:
        end = self.s.find("\n", self.i)
        end = len(self.s) if end < 0 else end
        if self.lines is not None:
            self.lines.add_comment(self.i, self.s[self.i + 1 : end])
        self.i = end

    def _word(self) -> None:
        s, start = self.s, self.i
        i = start
        while i < len(s):
            c = s[i]
            if c in _WORD_END:
                if c in "<>" and i == start and s.startswith("(", i + 1):
                    i = self._paren(i + 1, record=True)
                    continue
                if c == "(" and re.fullmatch(r"[A-Za-z_]\w*\+?=", s[start:i]):
                    i = self._paren(i, record=False)  # array assignment x=( a b )
                    continue
                break
            i = self._step(i, record=True)
        if s[start:i].isdigit() and i < len(s) and s[i] in "<>":
            op = next(o for o in _OPS if s.startswith(o, i))
            self._push("op", i + len(op), start)
            self.want_delimiter = op in ("<<", "<<-")
            return
        tok = self._push("word", i, start)
        if self.want_delimiter:
            self.heredocs.append(_unquote(tok.text))
            self.want_delimiter = False

    def _step(self, i: int, record: bool) -> int:
        """Past one unit of a word: a char, an escape, a quote, an expansion."""
        s = self.s
        c = s[i]
        if c == "\\":
            return i + 2
        if c == "'":
            return self._until(i + 1, "'")
        if c == '"':
            return self._dquote(i + 1, record)
        if c == "`":
            return self._backtick(i + 1, record)
        if c == "$" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt == "(":
                arith = s.startswith("((", i + 1)
                return self._paren(i + 1, record=record and not arith)
            if nxt == "{":
                return self._brace(i + 1)
            if nxt == "'":
                return self._ansi(i + 2)
        return i + 1

    def _until(self, i: int, quote: str) -> int:
        end = self.s.find(quote, i)
        return len(self.s) if end < 0 else end + 1

    def _ansi(self, i: int) -> int:
        s = self.s
        while i < len(s):
            if s[i] == "\\":
                i += 2
            elif s[i] == "'":
                return i + 1
            else:
                i += 1
        return len(s)

    def _dquote(self, i: int, record: bool) -> int:
        s = self.s
        while i < len(s):
            c = s[i]
            if c == '"':
                return i + 1
            if c in "\\`$":
                i = self._step(i, record)
            else:
                i += 1
        return len(s)

    def _backtick(self, i: int, record: bool) -> int:
        s = self.s
        j = i
        while j < len(s):
            if s[j] == "\\":
                j += 2
            elif s[j] == "`":
                if record:
                    self.subs.append((i, j))
                return j + 1
            else:
                j += 1
        if record:
            self.subs.append((i, len(s)))
        return len(s)

    def _paren(self, i: int, record: bool) -> int:
        """Past the ( at i and its matching ); records the inside as a substitution."""
        s = self.s
        depth, j = 1, i + 1
        while j < len(s):
            c = s[j]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    if record:
                        self.subs.append((i + 1, j))
                    return j + 1
            elif c == "#" and s[j - 1] in " \t\n":
                nl = s.find("\n", j)
                j = len(s) if nl < 0 else nl
                continue
            elif c in "\\'\"`$":
                j = self._step(j, record=False)
                continue
            j += 1
        if record:
            self.subs.append((i + 1, len(s)))
        return len(s)

    def _brace(self, i: int) -> int:
        s = self.s
        depth, j = 1, i + 1
        while j < len(s):
            c = s[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return j + 1
            elif c in "\\'\"`$":
                j = self._step(j, record=False)
                continue
            j += 1
        return len(s)


def _unquote(raw: str) -> str:
    """A bash word's value: quotes removed, escapes resolved, expansions kept."""
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "\\" and i + 1 < n:
            if raw[i + 1] != "\n":
                out.append(raw[i + 1])
            i += 2
        elif c == "'":
            end = raw.find("'", i + 1)
            end = n if end < 0 else end
            out.append(raw[i + 1 : end])
            i = end + 1
        elif c == '"':
            i = _unquote_double(raw, i + 1, out)
        elif c == "$" and raw.startswith("$'", i):
            end = raw.find("'", i + 2)
            end = n if end < 0 else end
            out.append(raw[i + 2 : end])
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _unquote_double(raw: str, i: int, out: list[str]) -> int:
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n and raw[i + 1] in '"\\$`\n':
            if raw[i + 1] != "\n":
                out.append(raw[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return n


def _groups(toks: Sequence[_Tok]) -> list[tuple[list[_Tok], int]]:
    """Logical lines: tokens between top-level newlines, with the end of any here-doc."""
    out: list[tuple[list[_Tok], int]] = []
    current: list[_Tok] = []
    for tok in toks:
        if tok.kind == "nl":
            if current:
                out.append((current, max(current[-1].end, tok.end)))
            current = []
        else:
            current.append(tok)
    if current:
        out.append((current, current[-1].end))
    return out


# --------------------------------------------------------------------------
# Bash: classification of a block
# --------------------------------------------------------------------------


def classify_shell(
    code: str,
    *,
    line: int = 1,
    placeholders: Iterable[str] = (),
    rules: CommandRules | None = None,
) -> list[Statement]:
    """One classified Statement per simple command of a bash block; [] for comments only."""
    if not isinstance(code, str):
        return []
    try:
        return classify_bash(
            code, line, placeholder_names(placeholders), rules_or_default(rules), 0
        )
    except Exception:  # never raise: a block we cannot read counts as write
        return fallback_statement(code, line, "opsdoc could not read this shell, counts as write")


def classify_bash(
    code: str, line: int, placeholders: Sequence[str], rules: CommandRules, depth: int
) -> list[Statement]:
    """The statements of a bash block, or of a script a command carries (``bash -c``).

    Unlike :func:`classify_shell` this may raise; ``depth`` counts the scripts
    around this one.
    """
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    block = _BashBlock(code, line, placeholders, Judge(rules, placeholders, classify_bash, depth))
    return block.statements()


class _BashBlock:
    """One bash code block: parses with bashlex where it can, scans where it cannot."""

    def __init__(self, code: str, line: int, placeholders: Sequence[str], judge: Judge):
        self.code = code
        self.masked = _Masked(code, placeholders)
        self.lines = Lines(code, line)
        self.judge = judge
        self.toks = _BashLexer(self.masked.text, 0, len(code), self.lines).run()
        self.groups = _groups(self.toks)
        self.group_starts = [g[0][0].start for g in self.groups]
        self.recs: list[Record] = []
        self.functions: dict[str, list[Record]] = {}
        self.in_case = any(t.text == "case" for t in self.toks)

    def statements(self) -> list[Statement]:
        if not self.groups:
            return []
        if not self._try_bashlex(0, len(self.code)):
            self.recs = []
            self.functions = {}
            for toks, end in self.groups:
                if not self._try_bashlex(toks[0].start, end):
                    self._fallback_group(toks)
        self._resolve_functions()
        self._hidden()
        return to_statements(self.recs, self.code, self.lines)

    def _hidden(self) -> None:
        """Commands inside ``$((…))`` and ``${…}``, which bashlex leaves unread."""
        for offset, inner in hidden_substitutions(self.code):
            line = self.lines.line(offset)
            found = self.judge.bash(
                inner, line, self.judge.placeholders, self.judge.rules, self.judge.depth + 1
            )
            if not found:
                continue
            worst = max(found, key=lambda st: ("read", "write", "destructive").index(st.safety))
            verdict = Verdict(
                worst.safety,
                f"a command substitution inside an expansion runs: {worst.reason}",
                worst.kind,
            )
            self._emit(offset, offset + len(inner), verdict, True)

    def _label_pos(self, pos: int) -> int:
        """Comments label the logical line a command belongs to, not its inner line."""
        idx = bisect.bisect_right(self.group_starts, pos) - 1
        if idx >= 0 and pos < self.groups[idx][1]:
            return self.group_starts[idx]
        return pos

    def _emit(self, start: int, end: int, verdict: Verdict, parsed: bool, name: str = "") -> None:
        self.recs.append(Record(start, end, verdict, parsed, self._label_pos(start), name))

    # -- bashlex ----------------------------------------------------------

    def _try_bashlex(self, start: int, end: int) -> bool:
        """Walks bashlex's tree of code[start:end]; False (and nothing kept) if it fails."""
        import bashlex

        mark = len(self.recs)
        try:
            nodes = bashlex.parse(self.masked.text[start:end])
            for node in nodes:
                self._walk(node, start)
        except Exception:  # bashlex rejects much real shell; the scanner takes over
            del self.recs[mark:]
            return False
        return True

    def _walk(self, node: Any, off: int) -> None:
        kind = node.kind
        if kind == "command":
            self._command(node, off)
        elif kind in ("list", "pipeline"):
            for part in node.parts:
                self._walk(part, off)
        elif kind == "compound":
            self._compound(node, off)
        elif kind in ("if", "for", "while", "until"):
            for part in node.parts:
                self._walk(part, off)
        elif kind == "function":
            self._function(node, off)
        elif kind in ("word", "assignment"):
            for part in getattr(node, "parts", []):
                self._walk(part, off)
        elif kind in ("commandsubstitution", "processsubstitution"):
            self._walk(node.command, off)
        elif kind == "redirect":
            target = node.output
            if hasattr(target, "kind"):
                self._walk(target, off)

    def _compound(self, node: Any, off: int) -> None:
        mark = len(self.recs)
        for part in node.list:
            self._walk(part, off)
        for redirect in getattr(node, "redirects", []) or []:
            self._walk(redirect, off)
            verdict = self._bashlex_redirect(redirect)
            if verdict is not None:
                for rec in self.recs[mark:]:
                    rec.verdict = redirected(rec.verdict, verdict)

    def _function(self, node: Any, off: int) -> None:
        mark = len(self.recs)
        self._walk(node.body, off)
        self.functions[self.masked.restore(node.name.word)] = self.recs[mark:]

    def _command(self, node: Any, off: int) -> None:
        argv: list[str] = []
        assigned = ""
        redirect: Verdict | None = None
        for part in node.parts:
            self._walk(part, off)
            if part.kind == "word":
                argv.append(self._word(part, off))
            elif part.kind == "assignment":
                assigned = assigned or part.word
            elif part.kind == "redirect":
                redirect = redirect or self._bashlex_redirect(part)
        verdict = self.judge.argv(argv) if argv else assignment_verdict(assigned)
        verdict = redirected(verdict, redirect)
        start, end = node.pos
        self._emit(start + off, end + off, verdict, True, argv[0] if argv else "")

    def _word(self, node: Any, off: int) -> str:
        """A word's value from its text: bashlex drops the backslash of "\\dt"."""
        start, end = node.pos
        raw = self.masked.text[start + off : end + off]
        return self.masked.restore(_unquote(raw) if raw else node.word)

    def _bashlex_redirect(self, node: Any) -> Verdict | None:
        target = node.output
        text = target.word if hasattr(target, "word") else str(target)
        return redirect_verdict(node.type, self.masked.restore(text))

    def _resolve_functions(self) -> None:
        """A call to a function defined in the block is as dangerous as its body."""
        for rec in self.recs:
            body = self.functions.get(rec.name)
            if body is None or rec.verdict.kind != "unknown":
                continue
            inner = [r for r in body if r.name != rec.name]
            worst = max_safety(*(r.verdict.safety for r in inner))
            rec.verdict = Verdict(
                worst,
                f"{rec.name} calls a function of this block that {PHRASE[worst]}",
                "function",
            )

    # -- fallback scanner -------------------------------------------------

    def _fallback_group(self, toks: Sequence[_Tok]) -> None:
        try:
            for cmd in _Splitter(toks, self.in_case).run():
                self._fallback_command(cmd)
        except Exception:
            start, end = toks[0].start, toks[-1].end
            self._emit(
                start,
                end,
                Verdict("write", "opsdoc could not read this command, counts as write", "unknown"),
                False,
            )

    def _fallback_command(self, cmd: _Cmd) -> None:
        for tok in cmd.all_words():
            for start, end in tok.subs:
                self._fallback_code(start, end)
        if cmd.skip:
            return
        argv = [self.masked.restore(_unquote(t.text)) for t in cmd.words]
        while argv and ASSIGNMENT_WORD.match(argv[0]):
            argv.pop(0)
        verdict = (
            self.judge.argv(argv)
            if argv
            else assignment_verdict(cmd.words[0].text if cmd.words else "")
        )
        for op, target in cmd.redirects:
            text = self.masked.restore(_unquote(target.text)) if target else ""
            verdict = redirected(verdict, redirect_verdict(op.text.lstrip("0123456789"), text))
        self._emit(cmd.start, cmd.end, verdict, False, argv[0] if argv else "")

    def _fallback_code(self, start: int, end: int) -> None:
        toks = _BashLexer(self.masked.text, start, end, None).run()
        for group, _ in _groups(toks):
            self._fallback_group(group)


@dataclass
class _Cmd:
    """A simple command found by the fallback scanner."""

    words: list[_Tok] = field(default_factory=list)
    redirects: list[tuple[_Tok, _Tok | None]] = field(default_factory=list)
    extra: list[_Tok] = field(default_factory=list)  # words read only for their $( )
    skip: bool = False  # a header: for x in ...; case ... in; function f
    start: int = -1
    end: int = -1

    def add(self, start: int, end: int) -> None:
        self.start = start if self.start < 0 else min(self.start, start)
        self.end = max(self.end, end)

    def all_words(self) -> list[_Tok]:
        return self.words + self.extra + [t for _, t in self.redirects if t is not None]

    def empty(self) -> bool:
        return not self.words and not self.redirects and not self.extra


class _Splitter:
    """Simple commands of one logical line, separated the way bash would."""

    def __init__(self, toks: Sequence[_Tok], in_case: bool):
        self.toks = toks
        self.in_case = in_case
        self.out: list[_Cmd] = []
        self.cmd = _Cmd()
        self.depth = 0

    def run(self) -> list[_Cmd]:
        i = 0
        while 0 <= i < len(self.toks):
            tok = self.toks[i]
            if tok.kind == "op" and tok.text not in _REDIRECTS:
                self._separator(tok)
                i += 1
            elif tok.kind == "op":
                i = self._redirect(i)
            elif not self.cmd.words and not self.cmd.redirects:
                i = self._head(i)
            else:
                self.cmd.words.append(tok)
                self.cmd.add(tok.start, tok.end)
                i += 1
        self._flush()
        return self.out

    def _flush(self) -> None:
        if not self.cmd.empty():
            self.out.append(self.cmd)
        self.cmd = _Cmd()

    def _separator(self, tok: _Tok) -> None:
        if tok.text == "(":
            self.depth += 1
        elif tok.text == ")":
            self.depth = max(self.depth - 1, 0)
        self._flush()

    def _redirect(self, i: int) -> int:
        op = self.toks[i]
        nxt = self.toks[i + 1] if i + 1 < len(self.toks) else None
        target = nxt if nxt is not None and nxt.kind == "word" else None
        self.cmd.redirects.append((op, target))
        self.cmd.add(op.start, (target or op).end)
        return i + (2 if target else 1)

    def _head(self, i: int) -> int:
        """The start of a command: reserved words, headers, case patterns, [[ ]]."""
        toks, tok = self.toks, self.toks[i]
        if tok.text in _RESERVED:
            return i + 1
        if tok.text in ("for", "select", "case", "function"):
            self.cmd.skip = True
            while i < len(toks) and toks[i].text not in (";", "{"):
                self.cmd.extra.append(toks[i])
                i += 1
            return i
        if self.in_case and self.depth == 0:
            end = _case_pattern_end(toks, i)
            if end is not None:
                return end
        if i + 2 < len(toks) and toks[i + 1].text == "(" and toks[i + 2].text == ")":
            return i + 3  # name() { ... } defines a function
        if tok.text == "[[":
            return self._test(i)
        self.cmd.words.append(tok)
        self.cmd.add(tok.start, tok.end)
        return i + 1

    def _test(self, i: int) -> int:
        """[[ ... ]] holds && < > as words, not operators."""
        while i < len(self.toks):
            tok = self.toks[i]
            self.cmd.words.append(tok)
            self.cmd.add(tok.start, tok.end)
            i += 1
            if tok.text == "]]":
                break
        return i


def _case_pattern_end(toks: Sequence[_Tok], i: int) -> int | None:
    """After ``start|restart)`` (a case item, not a command), or None."""
    while i < len(toks) and toks[i].kind == "word":
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt is None or nxt.kind != "op":
            return None
        if nxt.text == ")":
            return i + 2
        if nxt.text != "|":
            return None
        i += 2
    return None
