"""Rules on SQL steps, read from the statements the classifier already made.

The classifier has split each block with pglast, with placeholders swapped
for neutral identifiers first, so a statement marked ``parsed=False`` is one
PostgreSQL would reject even once its placeholders are filled.
"""

from __future__ import annotations

import re

from opsdoc.lint.doc import Doc, comment_lines, short
from opsdoc.model import Section, Statement, Step

_PARSE_ERROR = re.compile(r"did not parse as PostgreSQL \((.*)\); (?:guessed|counts)")
# A comment that doubts the object is a materialized view at all.
_MATVIEW_DOUBT = re.compile(
    r"\b(only )?if\b[^.]*\b(it'?s|it is|this is|is)\b[^.]*\bmateriali[sz]ed\b"
    r"|\bif materiali[sz]ed\b|\bnot sure\b[^.]*\bmateriali[sz]ed\b",
    re.IGNORECASE,
)
# First words of a comment that promise the statement only looks.
_LOOK_WORDS = {
    "check",
    "checks",
    "view",
    "find",
    "list",
    "show",
    "count",
    "inspect",
    "look",
    "see",
    "verify",
    "confirm",
    "identify",
    "query",
    "monitor",
}
_REFRESH_TARGET = re.compile(
    r"REFRESH\s+MATERIALIZED\s+VIEW\s+(?:CONCURRENTLY\s+)?([\w.\"]+)", re.IGNORECASE
)


def check(doc: Doc) -> None:
    for section, step in doc.steps():
        if step.lang != "sql":
            continue
        broken = [s for s in step.statements if not s.parsed and s.kind != "psql-meta"]
        if broken:
            _syntax(doc, section, broken[0], len(broken) - 1)
        for statement in step.statements:
            if statement.kind == "psql-meta":
                _psql_meta(doc, section, statement)
            elif statement.label and statement.safety != "read":
                _mismatched_comment(doc, section, statement)
        _not_transactional(doc, section, step)
        _mismatched_refresh(doc, section, step)


def _psql_meta(doc: Doc, section: Section, statement: Statement) -> None:
    command = statement.text.split()[0] if statement.text.split() else statement.text
    doc.add(
        "psql-meta",
        statement.line,
        section,
        f"{command} is a psql meta-command, not SQL: it runs only through psql, so "
        "write the catalog query it stands for (\\du: SELECT rolname FROM pg_roles) "
        "or run `psql -c` in a shell step",
    )


def _syntax(doc: Doc, section: Section, statement: Statement, more: int) -> None:
    """The first statement of a block that does not parse; a block of psql
    transcript or another dialect would otherwise give one finding per line."""
    match = _PARSE_ERROR.search(statement.reason)
    error = match.group(1) if match else "the parser rejects it"
    others = f" ({more} more statement{'s' if more > 1 else ''} of this block too)" if more else ""
    doc.add(
        "sql-syntax",
        statement.line,
        section,
        f"`{short(statement.text, 50)}` does not parse as PostgreSQL ({error}){others}: fix "
        "it, or give the fence its real language (```mysql, ```text) if it is not PostgreSQL",
    )


def _mismatched_comment(doc: Doc, section: Section, statement: Statement) -> None:
    words = re.findall(r"[a-z]+", (statement.label or "").lower())
    if not words or words[0] not in _LOOK_WORDS:
        return
    if any(w in words for w in ("fix", "reset", "update", "delete", "refresh", "and", "then")):
        return  # "check and fix ...": the comment owns up to the change
    doc.add(
        "mismatched-comment",
        statement.line,
        section,
        f"the comment says '{short(statement.label or '', 40)}' but the statement "
        f"{statement.reason}: reword the comment, or split the look from the change",
    )


def _not_transactional(doc: Doc, section: Section, step: Step) -> None:
    apart = [s for s in step.statements if not s.transactional and s.kind != "psql-meta"]
    writes = [
        s
        for s in step.statements
        if s.transactional and s.safety != "read" and s.kind not in ("psql-meta", "TransactionStmt")
    ]
    if not apart or not writes:
        return
    first = apart[0]
    write = writes[0]
    doc.add(
        "not-transactional",
        first.line,
        section,
        f"`{short(first.text, 40)}` cannot run in a transaction, but the same block writes "
        f"(`{short(write.text, 30)}`, line {write.line}): a failure would leave it half "
        "applied; put the non-transactional statement in a step of its own",
    )


def _mismatched_refresh(doc: Doc, section: Section, step: Step) -> None:
    refreshes = [s for s in step.statements if s.kind == "RefreshMatViewStmt"]
    if not refreshes:
        return
    doubts = [
        (n, text) for n, text in comment_lines("sql", step.code) if _MATVIEW_DOUBT.search(text)
    ]
    if not doubts:
        return
    statement = refreshes[0]
    target = _REFRESH_TARGET.search(statement.text)
    name = target.group(1) if target else "the view"
    doc.add(
        "mismatched-refresh",
        statement.line,
        section,
        f"the step refreshes {name} as a materialized view while its comment says "
        f"'{short(doubts[0][1], 40)}': check SELECT 1 FROM pg_matviews WHERE matviewname = "
        f"'{name.split('.')[-1].strip(chr(34))}' and keep the step only if it is one "
        "(REFRESH fails on a plain view)",
    )
