"""Safety of PowerShell steps: one :class:`Statement` per command.

There is no PowerShell parser in Python, so a quote-aware scanner of our own
splits a block into statements and pipelines. Cmdlets are judged by their
rules or their verb (``Get-`` reads, ``Remove-`` destroys); other commands
(``kubectl``, ``psql -c``) go to the judge bash uses too, in
:mod:`opsdoc.classify.commands`, and a bash script a command carries
(``bash -c '...'``) to :mod:`opsdoc.classify.shell`. Nothing in this module
raises on any input; unreadable code counts as write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from opsdoc.classify.command_rules import CommandRules, rules_or_default
from opsdoc.classify.commands import (
    MAX_DEPTH,
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
    unknown_verdict,
)
from opsdoc.classify.shell import classify_bash
from opsdoc.model import Statement

__all__ = ["classify_powershell"]

_PS_KEYWORDS_BLOCK = frozenset({
    "if", "elseif", "else", "switch", "foreach", "for", "while", "do", "until", "try",
    "catch", "finally", "trap", "function", "filter", "workflow", "begin", "process", "end",
    "class", "enum", "using", "param", "data", "dynamicparam", "configuration",
})  # fmt: skip
_PS_KEYWORDS_SIMPLE = frozenset({"return", "exit", "throw", "break", "continue"})
_PS_KEYWORDS = _PS_KEYWORDS_BLOCK | _PS_KEYWORDS_SIMPLE
_PS_ASSIGN = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "??="})
_PS_REDIRECT = re.compile(r"(?:[1-6*])?>>?(?:&[12])?")
_PS_WORD_END = frozenset(" \t\r\n|;&(){}")
_PS_DOTNET_DESTROY = re.compile(r"(?:\.|::)(?:Delete|Kill|Drop|Truncate)\w*\s*\(", re.I)
_PS_DOTNET_WRITE = re.compile(
    r"(?:\.|::)(?:Write\w*|Create\w*|Copy\w*|Move\w*|Save\w*|Start|Stop|Execute\w*|Invoke\w*"
    r"|Send\w*|Upload\w*|Commit)\s*\(",
    re.I,
)


@dataclass
class _PTok:
    kind: str  # word | str | var | group | block | hash | op | nl
    text: str
    start: int
    end: int
    inner: tuple[int, int] | None = None  # the inside of ( ), $( ), { }, @{ }
    subs: list[tuple[int, int]] = field(default_factory=list)  # $( ) inside strings/words


class _PsLexer:
    """Splits PowerShell into tokens; groups and blocks stay single tokens."""

    def __init__(self, s: str, start: int, end: int, lines: Lines | None):
        self.s = s[:end]
        self.i = start
        self.lines = lines
        self.toks: list[_PTok] = []
        self.broken = False

    def run(self) -> list[_PTok]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\f\v":
                self.i += 1
            elif s.startswith("`\n", self.i):
                self.i += 2
            elif c == "\n":
                self._push("nl", self.i + 1)
            elif s.startswith("<#", self.i):
                self._block_comment()
            elif c == "#":
                self._comment()
            else:
                self._token(c)
        return self.toks

    def _push(self, kind: str, end: int, start: int | None = None, **extra: Any) -> _PTok:
        start = self.i if start is None else start
        end = min(end, len(self.s))
        tok = _PTok(kind, self.s[start:end], start, end, **extra)
        self.toks.append(tok)
        if self.lines is not None and kind != "nl":
            self.lines.code_lines.add(self.lines.index(start))
        self.i = end
        return tok

    def _comment(self) -> None:
        end = self.s.find("\n", self.i)
        end = len(self.s) if end < 0 else end
        if self.lines is not None:
            self.lines.add_comment(self.i, self.s[self.i + 1 : end])
        self.i = end

    def _block_comment(self) -> None:
        end = self.s.find("#>", self.i + 2)
        if end < 0:
            self.broken = True
            end = len(self.s) - 2
        body = self.s[self.i + 2 : end]
        if self.lines is not None:
            pos = self.i + 2
            for part in body.split("\n"):
                self.lines.add_comment(pos, part)
                pos += len(part) + 1
        self.i = end + 2

    def _token(self, c: str) -> None:
        s, i = self.s, self.i
        if _here_start(s, i):
            self._push("str", self._here_string(i))
        elif c in "'\"":
            subs: list[tuple[int, int]] = []
            self._push("str", self._string(i, subs), subs=subs)
        elif c == "$" and s.startswith("$(", i):
            end = self._group(i + 1)
            self._push("group", end, inner=(i + 2, end - 1))
        elif c == "@" and s.startswith(("@(", "@{"), i):
            end = self._group(i + 1)
            self._push("hash" if s[i + 1] == "{" else "group", end, inner=(i + 2, end - 1))
        elif c == "(":
            end = self._group(i)
            self._push("group", end, inner=(i + 1, end - 1))
        elif c == "{":
            end = self._group(i)
            self._push("block", end, inner=(i + 1, end - 1))
        elif c in ")}":
            self.broken = True
            self.i += 1
        else:
            self._operator_or_word(c)

    def _operator_or_word(self, c: str) -> None:
        s, i = self.s, self.i
        redirect = _PS_REDIRECT.match(s, i)
        if redirect:
            self._push("op", redirect.end())
            return
        for op in ("&&", "||", "??=", "+=", "-=", "*=", "/=", "%=", "|", ";", "&", "="):
            if s.startswith(op, i):
                self._push("op", i + len(op))
                return
        subs: list[tuple[int, int]] = []
        end = self._word(i, subs)
        self._push("var" if c == "$" else "word", end, subs=subs)

    def _word(self, i: int, subs: list[tuple[int, int]]) -> int:
        s = self.s
        var = s[i] == "$"
        start = i
        while i < len(s):
            c = s[i]
            if c in _PS_WORD_END and not (c == "(" and i > start):
                break
            if c == "(" and s[start:i].lower() in _PS_KEYWORDS:
                break
            if var and c == "=":
                break
            if c == "`":
                i += 2
            elif c in "'\"":
                i = self._string(i, subs)
            elif c == "(":
                end = self._group(i, soft=True)
                if end > i + 1:
                    subs.append((i + 1, end - 1))
                i = end
            elif c == "[":
                i = self._group(i, soft=True)
            elif c == "$" and s.startswith("$(", i):
                end = self._group(i + 1)
                subs.append((i + 2, end - 1))
                i = end
            else:
                i += 1
        return max(i, start + 1)

    def _string(self, i: int, subs: list[tuple[int, int]]) -> int:
        s, quote = self.s, self.s[i]
        j = i + 1
        while j < len(s):
            c = s[j]
            if c == quote:
                if s.startswith(quote * 2, j):
                    j += 2
                    continue
                return j + 1
            if quote == '"' and c == "`":
                j += 2
            elif quote == '"' and s.startswith("$(", j):
                end = self._group(j + 1)
                subs.append((j + 2, end - 1))
                j = end
            else:
                j += 1
        self.broken = True
        return len(s)

    def _here_string(self, i: int) -> int:
        quote = self.s[i + 1]
        match = re.compile(rf"\n[ \t]*{re.escape(quote)}@").search(self.s, i + 2)
        if match is None:
            self.broken = True
            return len(self.s)
        return match.end()

    def _group(self, i: int, soft: bool = False) -> int:
        """Past the bracket at i and its match, skipping strings and comments.

        ``soft``: an unmatched bracket inside a word is a plain character.
        """
        s = self.s
        depth, j = 1, i + 1
        while j < len(s):
            c = s[j]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth == 0:
                    return j + 1
            elif _here_start(s, j):
                j = self._here_string(j)
                continue
            elif c in "'\"":
                j = self._string(j, [])
                continue
            elif c == "`":
                j += 2
                continue
            elif c == "#" and (s[j - 1] in " \t\n;{(" or s.startswith("<#", j - 1)):
                nl = s.find("\n", j)
                j = len(s) if nl < 0 else nl
                continue
            elif c == "\n" and soft:
                return i + 1
            j += 1
        if soft:
            return i + 1
        self.broken = True
        return len(s)


def _here_start(s: str, i: int) -> bool:
    """@" or @' followed by the end of the line opens a here-string."""
    return s.startswith(('@"', "@'"), i) and s[i + 2 :].lstrip(" \t")[:1] in ("\n", "")


def _ps_unquote(tok: _PTok) -> str:
    """A PowerShell argument's value: quotes and backtick escapes removed."""
    text = tok.text
    if tok.kind == "str":
        if text[:2] in ('@"', "@'"):
            body = text[2:]
            body = body[body.find("\n") + 1 :] if "\n" in body else body
            return body[: body.rfind("\n")] if "\n" in body else body.rstrip("'\"@")
        if text[:1] == "'":
            return text[1:-1].replace("''", "'") if text.endswith("'") else text[1:]
        body = text[1:-1] if text.endswith('"') and len(text) > 1 else text[1:]
        return re.sub(r"`(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)
    if tok.kind == "word":
        return re.sub(r"`(.)", r"\1", text).replace('"', "").replace("'", "")
    return text


def classify_powershell(
    code: str,
    *,
    line: int = 1,
    placeholders: Iterable[str] = (),
    rules: CommandRules | None = None,
) -> list[Statement]:
    """One classified Statement per PowerShell command; [] for comments only."""
    if not isinstance(code, str):
        return []
    try:
        code = code.replace("\r\n", "\n").replace("\r", "\n")
        judge = Judge(rules_or_default(rules), placeholder_names(placeholders), classify_bash)
        return _PsBlock(code, line, judge).statements()
    except Exception:  # never raise: a block we cannot read counts as write
        return fallback_statement(
            code, line, "opsdoc could not read this PowerShell, counts as write"
        )


class _PsBlock:
    """One PowerShell code block, statement by statement."""

    def __init__(self, code: str, line: int, judge: Judge):
        self.code = code
        self.lines = Lines(code, line)
        self.judge = judge
        self.recs: list[Record] = []
        self.parsed = True

    def statements(self) -> list[Statement]:
        lexer = _PsLexer(self.code, 0, len(self.code), self.lines)
        toks = lexer.run()
        self.parsed = not lexer.broken
        self._run(toks, nested=False, depth=0)
        return to_statements(self.recs, self.code, self.lines)

    def _run(self, toks: Sequence[_PTok], nested: bool, depth: int) -> None:
        if depth > MAX_DEPTH:
            return
        for statement in _ps_split(toks):
            self._statement(statement, nested, depth)

    def _inner(self, tok: _PTok, nested: bool, depth: int) -> None:
        """Commands inside groups, blocks and strings of a token."""
        spans = list(tok.subs)
        if tok.inner is not None:
            spans.append(tok.inner)
        for start, end in spans:
            lexer = _PsLexer(self.code, start, end, None)
            inner = lexer.run()
            if tok.kind == "hash":
                for t in inner:
                    self._inner(t, True, depth + 1)
            else:
                self._run(inner, nested=True, depth=depth + 1)

    def _emit(self, toks: Sequence[_PTok], verdict: Verdict, label_from: int) -> None:
        self.recs.append(Record(toks[0].start, toks[-1].end, verdict, self.parsed, label_from))

    def _statement(self, toks: list[_PTok], nested: bool, depth: int) -> None:
        head = toks[0]
        word = head.text.lower() if head.kind == "word" else ""
        if word in _PS_KEYWORDS_BLOCK:
            if word != "param":
                for tok in toks[1:]:
                    self._inner(tok, True, depth)
            return
        if word in _PS_KEYWORDS_SIMPLE:
            for tok in toks[1:]:
                self._inner(tok, True, depth)
            if not nested:
                self._emit(
                    toks,
                    Verdict("read", f"{head.text} only ends or leaves a block", "keyword"),
                    head.start,
                )
            return
        assign = _ps_assignment(toks)
        if assign is not None:
            self._assignment(toks, assign, nested, depth)
            return
        for element in _ps_pipeline(toks):
            self._element(element, element, nested, depth, toks[0].start)

    def _assignment(self, toks: list[_PTok], at: int, nested: bool, depth: int) -> None:
        rhs = toks[at + 1 :]
        if rhs and _ps_is_command(rhs):
            elements = _ps_pipeline(rhs)
            self._element(
                toks[: at + 1] + elements[0],
                elements[0],
                nested,
                depth,
                toks[0].start,
                assignment=True,
            )
            for element in elements[1:]:
                self._element(element, element, nested, depth, toks[0].start)
            return
        for tok in rhs:
            self._inner(tok, True, depth)
        if not nested:
            target = toks[0].text
            verdict = _ps_expression(self.code, rhs) or assignment_verdict(target)
            self._emit(toks, verdict, toks[0].start)

    def _element(
        self,
        span: list[_PTok],
        toks: list[_PTok],
        nested: bool,
        depth: int,
        label_from: int,
        assignment: bool = False,
    ) -> None:
        if not toks:
            return
        for tok in toks:
            self._inner(tok, True, depth)
        if _ps_is_command(toks):
            verdict = self._command(toks)
        elif nested and not assignment:
            return
        else:
            verdict = _ps_expression(self.code, toks) or Verdict(
                "read", "an expression only computes a value", "expression"
            )
        self._emit(span, verdict, label_from)

    def _command(self, toks: list[_PTok]) -> Verdict:
        args: list[_PTok] = []
        redirect: Verdict | None = None
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok.kind == "op" and _PS_REDIRECT.fullmatch(tok.text):
                if tok.text.endswith(("&1", "&2")):
                    i += 1
                    continue
                target = toks[i + 1] if i + 1 < len(toks) else None
                if target is not None:
                    redirect = redirect or redirect_verdict(">", _ps_unquote(target))
                i += 2
                continue
            args.append(tok)
            i += 1
        if args and args[0].kind == "op" and args[0].text == "&":
            args = args[1:]
        if not args:
            return unknown_verdict("&")
        return redirected(self._invoke(args), redirect)

    def _invoke(self, args: list[_PTok]) -> Verdict:
        head = args[0]
        name = _ps_unquote(head)
        if head.kind in ("var", "group") or not name:
            return unknown_verdict(head.text)
        if name == "." and len(args) > 1:
            return Verdict(
                "write",
                f"dot-sourcing {_ps_unquote(args[1])} runs a script "
                "opsdoc cannot see, counts as write",
                "unknown",
            )
        argv = [name, *(_ps_unquote(t) for t in args[1:])]
        verdict = self._cmdlet(argv)
        return verdict if verdict is not None else self.judge.argv(argv)

    def _cmdlet(self, argv: list[str]) -> Verdict | None:
        rules = self.judge.rules
        name = rules.aliases.get(argv[0].lower(), argv[0])
        lower = name.lower()
        rule = rules.cmdlets.get(lower)
        if rule is not None:
            verdict = self.judge.known(rule, [name, *argv[1:]])
        else:
            verb = lower.split("-", 1)[0] if "-" in lower else ""
            safety = rules.verbs.get(verb)
            if safety is None:
                return None
            verdict = Verdict(safety, f"{name} {PHRASE[safety]} ({name.split('-')[0]}- verb)", name)
        if any(a.lower() in ("-whatif", "-whatif:$true") for a in argv[1:]):
            return Verdict("read", f"{name} -WhatIf only shows what would happen", name)
        return verdict


def _ps_split(toks: Sequence[_PTok]) -> list[list[_PTok]]:
    """Statements: split on newlines, ; && ||, except where a pipeline continues."""
    out: list[list[_PTok]] = []
    current: list[_PTok] = []
    for i, tok in enumerate(toks):
        if tok.kind == "nl":
            prev = current[-1] if current else None
            nxt = next((t for t in toks[i + 1 :] if t.kind != "nl"), None)
            if (prev is not None and prev.kind == "op" and prev.text == "|") or (
                current and nxt is not None and nxt.kind == "op" and nxt.text == "|"
            ):
                continue
        if tok.kind == "nl" or (tok.kind == "op" and tok.text in (";", "&&", "||")):
            if current:
                out.append(current)
            current = []
            continue
        if tok.kind == "op" and tok.text == "&" and current:
            continue  # a trailing & runs in the background
        current.append(tok)
    if current:
        out.append(current)
    return out


def _ps_pipeline(toks: Sequence[_PTok]) -> list[list[_PTok]]:
    out: list[list[_PTok]] = [[]]
    for tok in toks:
        if tok.kind == "op" and tok.text == "|":
            out.append([])
        else:
            out[-1].append(tok)
    return [e for e in out if e]


def _ps_assignment(toks: Sequence[_PTok]) -> int | None:
    """Index of the = in ``$x = ...`` / ``[int]$x = ...``, or None."""
    i = 0
    if toks[0].kind == "word" and toks[0].text.startswith("[") and len(toks) > 1:
        i = 1
    if toks[i].kind != "var" or i + 1 >= len(toks):
        return None
    op = toks[i + 1]
    return i + 1 if op.kind == "op" and op.text in _PS_ASSIGN else None


def _ps_is_command(toks: Sequence[_PTok]) -> bool:
    head = toks[0]
    if head.kind == "op":
        return head.text == "&" and len(toks) > 1
    if head.kind != "word":
        return False
    first = head.text[:1]
    return (
        not (first.isdigit() or first in "-[$@'\"+!,.")
        or head.text == "."
        or (first == "." and len(head.text) > 1 and head.text[1] in "\\/.")
    )


def _ps_expression(code: str, toks: Sequence[_PTok]) -> Verdict | None:
    """.NET calls in an expression that change things ([IO.File]::Delete(...))."""
    text = " ".join(t.text for t in toks if t.kind != "str")
    if _PS_DOTNET_DESTROY.search(text):
        return Verdict("destructive", "a .NET method call that deletes or kills", "expression")
    if _PS_DOTNET_WRITE.search(text):
        return Verdict("write", "a .NET method call that writes or starts something", "expression")
    return None
