"""Safety of the SQL in a runbook: split a block, parse each statement, classify it.

PostgreSQL's own parser (pglast) decides what a statement is; a small lexer
of our own splits the block first, because pglast's scanner split silently
drops statements that do not start with a keyword and raises on an
unterminated quote, and a runbook block may hold psql meta-commands, SQLite
or typos. Nothing here raises: what cannot be parsed is guessed from its
first word and marked ``parsed=False``.

The tree is read from pglast's JSON output rather than ``pglast.parse_sql``:
building Python nodes recurses in C and crashes the process on a deeply
nested expression, while the JSON path stops with a clean "stack depth
limit exceeded" error.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pglast import parser as pg

from opsdoc.classify import sql_session
from opsdoc.classify.psql_meta import meta_verdict
from opsdoc.classify.sql_calls import hidden_call, sql_text_argument
from opsdoc.model import SAFETY_ORDER, Safety, Statement

__all__ = [
    "SqlRules",
    "SqlRulesError",
    "classify_sql",
    "is_sql_read_only",
    "load_sql_rules",
    "sql_tokens",
]

LEVELS: tuple[Safety, ...] = SAFETY_ORDER


# --------------------------------------------------------------------------
# Function knowledge (rules/sql.toml)
# --------------------------------------------------------------------------


class SqlRulesError(ValueError):
    """A rules file that cannot be used; the message names the file."""


@dataclass(frozen=True, eq=False)
class SqlRules:
    """What opsdoc knows about SQL functions. Hashed by identity, so it can key a cache."""

    functions: Mapping[str, Safety]
    prefixes: tuple[tuple[str, Safety], ...]  # longest first
    why: Mapping[str, str]
    sources: tuple[str, ...] = ()

    def lookup(self, name: str) -> tuple[Safety | None, str | None]:
        """Level of a bare lower-case name and the rule key that matched it."""
        if name in self.functions:
            return self.functions[name], name
        for prefix, level in self.prefixes:
            if name.startswith(prefix):
                return level, prefix
        return None, None

    def function_safety(self, parts: Sequence[str]) -> tuple[Safety | None, str | None]:
        """Level of a possibly qualified function name; ``None`` when unknown.

        ``pg_catalog.x`` is ``x``. Any other schema matches only an exact
        qualified entry: ``public.count`` may be anything, so it is unknown,
        unless its bare name is destructive (a wrapper keeps the danger).
        """
        names = [part.lower() for part in parts if part]
        if not names:
            return None, None
        if len(names) > 1 and names[-2] == "pg_catalog":
            names = names[-1:]
        if len(names) == 1:
            return self.lookup(names[0])
        full = ".".join(names)
        if full in self.functions:
            return self.functions[full], full
        level, key = self.lookup(names[-1])
        if level == "destructive":
            return level, key
        return None, None


def _rules_text_default() -> tuple[str, str]:
    source = resources.files("opsdoc.classify").joinpath("rules", "sql.toml")
    return str(source), source.read_text(encoding="utf-8")


def _read_rules_file(name: str, text: str) -> dict[str, Any]:
    """Parse and check one rules file, so a team's typo fails loudly and early."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SqlRulesError(f"{name}: not valid TOML: {exc}") from exc
    for key, table in data.items():
        if key not in (*LEVELS, "why"):
            raise SqlRulesError(
                f"{name}: unknown table [{key}]; expected read, write, destructive or why"
            )
        if not isinstance(table, dict):
            raise SqlRulesError(f"{name}: [{key}] must be a table")
        if key == "why":
            if not all(isinstance(v, str) for v in table.values()):
                raise SqlRulesError(f"{name}: [why] values must be strings")
            continue
        for list_key, names in table.items():
            if list_key not in ("functions", "prefixes"):
                raise SqlRulesError(
                    f"{name}: [{key}] has {list_key!r}; expected functions or prefixes"
                )
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise SqlRulesError(f"{name}: [{key}].{list_key} must be a list of strings")
    return data


def _merge_rules(files: Sequence[tuple[str, str]]) -> SqlRules:
    """Later files win: a name listed again moves to the later file's level."""
    functions: dict[str, Safety] = {}
    prefixes: dict[str, Safety] = {}
    why: dict[str, str] = {}
    for name, text in files:
        data = _read_rules_file(name, text)
        for level in LEVELS:
            table = data.get(level, {})
            for fn in table.get("functions", []):
                functions[fn.strip().lower()] = level
            for prefix in table.get("prefixes", []):
                prefixes[prefix.strip().lower()] = level
        why.update({k.lower(): v for k, v in data.get("why", {}).items()})
    ordered = tuple(sorted(prefixes.items(), key=lambda item: -len(item[0])))
    return SqlRules(functions, ordered, why, tuple(name for name, _ in files))


@lru_cache(maxsize=1)
def _default_rules() -> SqlRules:
    return _merge_rules([_rules_text_default()])


def load_sql_rules(extra: Sequence[Path | str] = ()) -> SqlRules:
    """The packaged function rules, with each extra TOML file merged over them in order.

    The default (no extra files) is loaded once and cached; extra files are
    read on every call, so pass the result around rather than reloading.
    Raises :class:`SqlRulesError` on an unreadable or malformed extra file.
    """
    if not extra:
        return _default_rules()
    files = [_rules_text_default()]
    for path in extra:
        try:
            files.append((str(path), Path(path).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise SqlRulesError(f"{path}: cannot read rules file: {exc}") from exc
    return _merge_rules(files)


# --------------------------------------------------------------------------
# Placeholders and psql variables: a same-length parse copy
# --------------------------------------------------------------------------

# Placeholders nobody declared, tried only when the first parse fails.
_LOOSE_PLACEHOLDER = re.compile(
    r"<[^\W\d][\w.-]*>|\$\{[^\W\d]\w*\}|\{\{ ?[^\W\d][\w.-]* ?\}\}|\$[^\W\d]\w*(?![\w$])"
)


def _neutral(token: str) -> str:
    """An identifier exactly as long as ``token``, so no position moves."""
    return "_" + re.sub(r"\W", "_", token[1:])


def _is_var_colon(s: str, i: int) -> bool:
    """A colon that starts a psql variable: not part of ``::`` nor of ``a[1:n]``."""
    before = s[i - 1] if i > 0 else " "
    return before not in ":]_" and not before.isalnum()


def _swap_psql_vars(copy: str) -> str:
    """``:name``, ``:'name'``, ``:"name"`` outside quotes become same-length SQL."""
    if ":" not in copy:
        return copy
    out: list[str] = []
    last, colon = 0, -1
    for kind, start, end in _tokens(copy):
        if colon >= 0 and start == colon + 1 and kind in ("word", "string", "quoted"):
            token = copy[start:end]
            swapped = "_" + token if kind == "word" else token[0] + "_" + token[1:]
            out += [copy[last:colon], swapped]
            last = end
        colon = -1
        if kind == "other" and copy[end - 1] == ":" and _is_var_colon(copy, end - 1):
            colon = end - 1
    out.append(copy[last:])
    return "".join(out)


def _parse_copy(code: str, placeholders: Sequence[str]) -> str:
    """The block with placeholders and psql variables swapped for neutral SQL of equal length."""
    copy = code
    for name in placeholders:
        token = f"<{name}>"
        if token in copy:
            copy = copy.replace(token, _neutral(token))
    return _swap_psql_vars(copy)


def _loosen(text: str) -> str:
    return _LOOSE_PLACEHOLDER.sub(lambda m: _neutral(m.group()), text)


# --------------------------------------------------------------------------
# Splitting
# --------------------------------------------------------------------------

# Identifiers and dollar-quote tags follow PostgreSQL's scanner (scan.l): any
# non-ASCII character is a letter, and a number never runs into a "$tag$".
_TOKEN = re.compile(
    r"""
      (?P<ws>[ \t\r\f\v]+)
    | (?P<nl>\n)
    | (?P<line_comment>--[^\n]*)
    | (?P<block_comment>/\*)
    | (?P<estring>[eE]'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'?)
    | (?P<string>'[^']*(?:''[^']*)*'?)
    | (?P<quoted>"[^"]*(?:""[^"]*)*"?)
    | (?P<dollar>\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$)
    | (?P<word>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*|[0-9]\w*)
    | (?P<semi>;)
    | (?P<meta>\\)
    | (?P<other>[^\s'"$;\\/\-\w\x80-\U0010ffff]+|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_BLOCK_MARK = re.compile(r"/\*|\*/")
_ROUTINE = re.compile(r"create (or replace )?(function|procedure)\b")


def _block_comment_end(s: str, pos: int) -> int:
    """End of the (nestable) /* */ comment opening at ``pos``; end of text if unclosed."""
    depth = 0
    while (m := _BLOCK_MARK.search(s, pos)) is not None:
        depth += 1 if m.group() == "/*" else -1
        pos = m.end()
        if depth == 0:
            return pos
    return len(s)


def _next_token(s: str, pos: int) -> tuple[str, int]:
    """Kind and end of the token at ``pos``; unclosed quotes and comments run to the end."""
    m = _TOKEN.match(s, pos)
    if m is None:  # pragma: no cover - the last alternative matches any character
        return "other", pos + 1
    kind, end = m.lastgroup or "other", m.end()
    if kind == "block_comment":
        end = _block_comment_end(s, pos)
    elif kind == "dollar":
        close = s.find(m.group(), end)
        end = len(s) if close < 0 else close + len(m.group())
    return kind, end


def _tokens(s: str) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of every lexical token; never fails."""
    pos = 0
    while pos < len(s):
        kind, end = _next_token(s, pos)
        yield kind, pos, end
        pos = end


def sql_tokens(text: str) -> Iterator[tuple[str, int, int]]:
    """``(kind, start, end)`` of every lexical token of ``text``, in order; never fails.

    Kinds: ``ws``, ``nl``, ``line_comment``, ``block_comment``, ``string``
    ('...'), ``estring`` (E'...'), ``quoted`` ("..."), ``dollar`` (a whole
    $tag$...$tag$ body), ``word``, ``semi``, ``meta`` (a backslash) and
    ``other``. Unclosed quotes and comments run to the end of the text.
    Used by the SQL executor to bind placeholders outside comments.
    """
    return _tokens(text)


@dataclass
class _Piece:
    """A statement or psql meta-command found in a block, by position."""

    start: int
    end: int
    label: str | None
    meta: bool = False
    words: list[str] = field(default_factory=list)  # first few words, lower-case
    depth: int = 0  # BEGIN ... END nesting inside CREATE FUNCTION ... BEGIN ATOMIC

    def note_word(self, word: str) -> None:
        """Track words so a BEGIN ATOMIC body's semicolons do not end the statement."""
        word = word.lower()
        if len(self.words) < 4:
            self.words.append(word)
        if not _ROUTINE.match(" ".join(self.words) + " "):
            return
        if word == "begin" or (word == "case" and self.depth > 0):
            self.depth += 1
        elif word == "end" and self.depth > 0:
            self.depth -= 1


def _label(lines: list[str]) -> str | None:
    text = " ".join(part for line in lines if (part := line.lstrip("-").strip()))
    return text or None


@dataclass
class _Splitter:
    """Walks the tokens of a block and cuts it into statements and meta-commands."""

    copy: str
    original: str
    pieces: list[_Piece] = field(default_factory=list)
    current: _Piece | None = None
    comments: list[str] = field(default_factory=list)  # own-line -- comments pending
    gap: bool = False  # a blank line since the last pending comment
    line_has_code: bool = False
    line_empty: bool = True

    def run(self) -> list[_Piece]:
        pos = 0
        while pos < len(self.copy):
            kind, end = _next_token(self.copy, pos)
            if kind == "meta":
                end = self.meta(pos)
            else:
                self.feed(kind, pos, end)
            pos = end
        self.close()
        return self.pieces

    def feed(self, kind: str, start: int, end: int) -> None:
        if kind == "ws":
            return
        if kind == "nl":
            if self.line_empty and self.current is None:
                self.gap = True
            self.line_has_code, self.line_empty = False, True
            return
        self.line_empty = False
        if kind == "line_comment":
            if self.current is None and not self.line_has_code:
                if self.gap:
                    self.comments, self.gap = [], False
                self.comments.append(self.original[start + 2 : end])
            return
        if kind == "block_comment":
            return
        self.line_has_code = True
        if kind == "semi" and (self.current is None or self.current.depth == 0):
            self.close()
        else:
            self.code(kind, start, end)

    def code(self, kind: str, start: int, end: int) -> None:
        if self.current is None:
            self.current = _Piece(start, end, _label(self.comments))
            self.comments, self.gap = [], False
        self.current.end = end
        if kind == "word":
            self.current.note_word(self.copy[start:end])

    def meta(self, start: int) -> int:
        """A backslash outside quotes: psql reads the rest of the line as a meta-command.

        It ends the statement being written, as ``\\g`` does; returns where
        lexing resumes (the end of the line), so a quote in the meta line
        cannot swallow the SQL after it.
        """
        self.close()
        eol = self.copy.find("\n", start)
        eol = len(self.copy) if eol < 0 else eol
        end = start + len(self.copy[start:eol].rstrip())
        self.pieces.append(_Piece(start, end, _label(self.comments), meta=True))
        self.comments, self.gap = [], False
        self.line_has_code, self.line_empty = True, False
        return eol

    def close(self) -> None:
        if self.current is not None:
            self.pieces.append(self.current)
        self.current = None


def _split(copy: str, original: str) -> list[_Piece]:
    """Statements and meta-commands of a block, in order."""
    return _Splitter(copy, original).run()


def _words(text: str) -> list[str]:
    """The upper-case words of a statement outside quotes and comments."""
    return [text[s:e].upper() for kind, s, e in _tokens(text) if kind == "word"]


# --------------------------------------------------------------------------
# Classifying a parse tree (pglast JSON)
# --------------------------------------------------------------------------


@dataclass
class _Verdict:
    safety: Safety
    reason: str
    transactional: bool = True


def _worst(verdicts: Iterable[_Verdict]) -> _Verdict:
    """The most dangerous verdict; the first one wins a tie, so the statement's own reason leads."""
    best: _Verdict | None = None
    for verdict in verdicts:
        if best is None or LEVELS.index(verdict.safety) > LEVELS.index(best.safety):
            best = verdict
    return best or _Verdict("read", "")


# Statements whose class needs nothing but their node name.
_SIMPLE: dict[str, tuple[Safety, str]] = {
    "VariableShowStmt": ("read", "SHOW only reads a setting"),
    "VariableSetStmt": ("read", "SET changes only this session"),  # see sql_session
    "ConstraintsSetStmt": ("read", "SET CONSTRAINTS changes only this transaction"),
    "ListenStmt": ("write", "LISTEN subscribes this session past the end of the transaction"),
    "UnlistenStmt": ("read", "UNLISTEN only unsubscribes this session"),
    "PrepareStmt": ("write", "PREPARE defines a statement that a later EXECUTE runs"),
    "DeallocateStmt": ("read", "DEALLOCATE only forgets a prepared statement"),
    "FetchStmt": ("read", "FETCH reads rows from a cursor"),
    "ClosePortalStmt": ("read", "CLOSE only closes a cursor"),
    "DeclareCursorStmt": ("read", "DECLARE opens a cursor on a query"),
    "InsertStmt": ("write", "INSERT adds rows"),
    "UpdateStmt": ("write", "UPDATE changes rows"),
    "DeleteStmt": ("destructive", "DELETE removes rows"),
    "TruncateStmt": ("destructive", "TRUNCATE removes every row of the table"),
    "DropRoleStmt": ("destructive", "DROP ROLE removes a role"),
    "DropdbStmt": ("destructive", "DROP DATABASE removes a database and all its data"),
    "DropOwnedStmt": ("destructive", "DROP OWNED removes every object a role owns"),
    "DropTableSpaceStmt": ("destructive", "DROP TABLESPACE removes a tablespace"),
    "DropSubscriptionStmt": ("destructive", "DROP SUBSCRIPTION removes a subscription"),
    "LockStmt": ("write", "LOCK takes a table lock that blocks other sessions"),
    "NotifyStmt": ("write", "NOTIFY sends a message to other sessions"),
    "CheckPointStmt": ("write", "CHECKPOINT forces a checkpoint on the server"),
    "ExecuteStmt": ("write", "EXECUTE runs a prepared statement opsdoc cannot see"),
    "LoadStmt": ("write", "LOAD loads a shared library into the server"),
    "AlterSystemStmt": ("write", "ALTER SYSTEM changes the server configuration"),
    "CreatedbStmt": ("write", "CREATE DATABASE creates a database"),
    "CreateTableSpaceStmt": ("write", "CREATE TABLESPACE creates a tablespace"),
    "CreateSubscriptionStmt": ("write", "CREATE SUBSCRIPTION starts logical replication"),
    "AlterSubscriptionStmt": ("write", "ALTER SUBSCRIPTION changes logical replication"),
    "CreateStmt": ("write", "CREATE TABLE creates a table"),
    "CreateTableAsStmt": ("write", "CREATE ... AS creates a relation from a query"),
    "IndexStmt": ("write", "CREATE INDEX builds an index"),
    "ClusterStmt": ("write", "CLUSTER rewrites a table in index order"),
    "ReindexStmt": ("write", "REINDEX rebuilds indexes"),
    "RefreshMatViewStmt": ("write", "REFRESH MATERIALIZED VIEW recomputes the view"),
    "GrantRoleStmt": ("write", "GRANT/REVOKE changes role membership"),
    "RenameStmt": ("write", "RENAME renames an object"),
    "CommentStmt": ("write", "COMMENT ON changes an object's comment"),
    "ViewStmt": ("write", "CREATE VIEW defines a view"),
    "CreateFunctionStmt": ("write", "CREATE FUNCTION/PROCEDURE defines a routine"),
    "RuleStmt": ("write", "CREATE RULE rewrites queries on a table"),
    "CreateTrigStmt": ("write", "CREATE TRIGGER adds a trigger"),
    "CreateSeqStmt": ("write", "CREATE SEQUENCE creates a sequence"),
    "AlterSeqStmt": ("write", "ALTER SEQUENCE changes a sequence"),
    "AlterEnumStmt": ("write", "ALTER TYPE changes an enum type"),
    "CreateEnumStmt": ("write", "CREATE TYPE creates an enum type"),
    "CompositeTypeStmt": ("write", "CREATE TYPE creates a composite type"),
    "DefineStmt": ("write", "CREATE defines an object"),
    "CreateRoleStmt": ("write", "CREATE ROLE creates a role"),
    "AlterRoleStmt": ("write", "ALTER ROLE changes a role"),
    "AlterRoleSetStmt": ("write", "ALTER ROLE ... SET changes a role's settings"),
    "AlterDatabaseSetStmt": ("write", "ALTER DATABASE ... SET changes a database's settings"),
    "AlterOwnerStmt": ("write", "ALTER ... OWNER TO changes an object's owner"),
    "AlterObjectSchemaStmt": ("write", "ALTER ... SET SCHEMA moves an object"),
    "ReassignOwnedStmt": ("write", "REASSIGN OWNED changes the owner of many objects"),
    "AlterDefaultPrivilegesStmt": ("write", "ALTER DEFAULT PRIVILEGES changes future grants"),
}

# Statements PostgreSQL refuses inside a transaction block, whatever their options.
_NON_TRANSACTIONAL = {
    "CreatedbStmt",
    "DropdbStmt",
    "AlterSystemStmt",
    "CreateTableSpaceStmt",
    "DropTableSpaceStmt",
    "CreateSubscriptionStmt",
    "DropSubscriptionStmt",
    "AlterSubscriptionStmt",
}

# Statements that define code without running it: their bodies are not walked.
_DEFINITIONS = {
    "CreateFunctionStmt",
    "ViewStmt",
    "RuleStmt",
    "CreateTrigStmt",
    "CreatePolicyStmt",
    "AlterPolicyStmt",
    "CreateDomainStmt",
    "AlterDomainStmt",
    "CreateStmt",
    "IndexStmt",
    "CreateStatsStmt",
    "ExplainStmt",
}

_NESTED_DML = {"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"}


def _words_of_kind(kind: str) -> str:
    """'AlterEnumStmt' -> 'ALTER ENUM', for statements without a written reason."""
    return " ".join(re.findall(r"[A-Z][a-z]*", kind.removesuffix("Stmt"))).upper()


def _is_true(arg: Any) -> bool:
    """The value of a DefElem argument: ``ANALYZE`` alone is true, ``ANALYZE off`` false."""
    if not isinstance(arg, dict):
        return True
    if "Boolean" in arg:
        return bool(arg["Boolean"].get("boolval", False))
    if "Integer" in arg:
        return bool(arg["Integer"].get("ival", 0))
    if "String" in arg:
        return arg["String"].get("sval", "").lower() not in ("false", "off", "0", "no")
    return True


def _has_option(options: Any, name: str) -> bool:
    for option in options or ():
        elem = option.get("DefElem", {}) if isinstance(option, dict) else {}
        if elem.get("defname") == name and _is_true(elem.get("arg")):
            return True
    return False


def _object_type(body: dict[str, Any], key: str) -> str:
    """'OBJECT_MATVIEW' -> 'materialized view'."""
    raw = str(body.get(key, "OBJECT_OBJECT")).removeprefix("OBJECT_").lower()
    return {"matview": "materialized view"}.get(raw, raw.replace("_", " "))


def _select(body: dict[str, Any]) -> _Verdict | None:
    if body.get("intoClause"):
        return _Verdict("write", "SELECT INTO creates a table")
    if body.get("lockingClause"):
        return _Verdict("write", "SELECT ... FOR UPDATE/SHARE locks rows")
    return None


def _drop(body: dict[str, Any]) -> _Verdict:
    what = _object_type(body, "removeType")
    data = " and its data" if what in ("table", "materialized view", "foreign table") else ""
    cascade = (
        " (CASCADE also drops what depends on it)"
        if "CASCADE" in str(body.get("behavior", ""))
        else ""
    )
    return _Verdict(
        "destructive",
        f"DROP {what.upper()} removes a {what}{data}{cascade}",
        transactional=not body.get("concurrent", False),
    )


def _alter_table(body: dict[str, Any]) -> _Verdict:
    what = _object_type(body, "objtype")
    verdict = _Verdict("write", f"ALTER {what.upper()} changes a {what}")
    for item in body.get("cmds", ()):
        cmd = item.get("AlterTableCmd", {})
        subtype = cmd.get("subtype")
        if subtype == "AT_DropColumn":
            return _Verdict(
                "destructive", "ALTER TABLE ... DROP COLUMN removes a column and its data"
            )
        if subtype == "AT_DropConstraint":
            verdict = _Verdict(
                "destructive", "ALTER TABLE ... DROP CONSTRAINT removes a constraint"
            )
        partition = (
            cmd.get("def", {}).get("PartitionCmd", {}) if isinstance(cmd.get("def"), dict) else {}
        )
        if subtype == "AT_DetachPartition" and partition.get("concurrent"):
            verdict.transactional = False
    return verdict


def _copy(body: dict[str, Any]) -> _Verdict:
    if body.get("is_program"):
        return _Verdict("destructive", "COPY ... PROGRAM runs a shell command on the server")
    if body.get("is_from"):
        return _Verdict("write", "COPY FROM loads rows into a table")
    if body.get("filename"):
        return _Verdict("write", "COPY TO a server file acts outside the database")
    return _Verdict("read", "COPY TO STDOUT only reads")


def _vacuum(body: dict[str, Any]) -> _Verdict:
    if not body.get("is_vacuumcmd"):
        return _Verdict("write", "ANALYZE updates planner statistics")
    if _has_option(body.get("options"), "full"):
        return _Verdict("write", "VACUUM FULL rewrites tables under an exclusive lock", False)
    return _Verdict("write", "VACUUM cleans up table storage", False)


def _reindex(body: dict[str, Any]) -> _Verdict:
    whole = body.get("kind") in (
        "REINDEX_OBJECT_SCHEMA",
        "REINDEX_OBJECT_SYSTEM",
        "REINDEX_OBJECT_DATABASE",
    )
    concurrent = _has_option(body.get("params"), "concurrently")
    return _Verdict("write", "REINDEX rebuilds indexes", not (whole or concurrent))


def _transaction(body: dict[str, Any]) -> _Verdict:
    kind = body.get("kind", "")
    if kind in ("TRANS_STMT_COMMIT_PREPARED", "TRANS_STMT_ROLLBACK_PREPARED"):
        return _Verdict("write", "COMMIT/ROLLBACK PREPARED finishes a prepared transaction", False)
    if kind == "TRANS_STMT_PREPARE":
        return _Verdict("write", "PREPARE TRANSACTION keeps a transaction open past the session")
    lifted = sql_session.transaction_verdict(body)
    if lifted is not None:
        return _Verdict(*lifted)
    return _Verdict("read", "transaction control changes no data by itself")


def _merge(body: dict[str, Any]) -> _Verdict:
    for clause in body.get("mergeWhenClauses", ()):
        if clause.get("MergeWhenClause", {}).get("commandType") == "CMD_DELETE":
            return _Verdict("destructive", "MERGE ... THEN DELETE removes rows")
    return _Verdict("write", "MERGE inserts or updates rows")


def _statement(kind: str, body: dict[str, Any], rules: SqlRules) -> _Verdict:
    """The class of a statement node, before looking at what it calls."""
    if kind == "SelectStmt":
        return _select(body) or _Verdict("read", "SELECT only reads")
    special = {
        "DropStmt": _drop,
        "AlterTableStmt": _alter_table,
        "CopyStmt": _copy,
        "VacuumStmt": _vacuum,
        "ReindexStmt": _reindex,
        "TransactionStmt": _transaction,
        "MergeStmt": _merge,
    }.get(kind)
    if special is not None:
        return special(body)
    if kind == "GrantStmt":
        verb = "GRANT" if body.get("is_grant") else "REVOKE"
        return _Verdict("write", f"{verb} changes privileges")
    if kind == "DoStmt":
        return _do_block(body, rules)
    if kind == "CallStmt":
        return _call(body, rules)
    if kind == "DiscardStmt":
        if body.get("target") == "DISCARD_ALL":
            return _Verdict("write", "DISCARD ALL resets every setting, READ ONLY included", False)
        return _Verdict("read", "DISCARD resets only this session")
    session = _session(kind, body)
    if session is not None:
        return session
    if kind in _SIMPLE:
        safety, reason = _SIMPLE[kind]
        verdict = _Verdict(safety, reason, kind not in _NON_TRANSACTIONAL)
    elif kind.startswith("Drop"):
        verdict = _Verdict("destructive", f"{_words_of_kind(kind)} removes objects")
    else:
        verdict = _Verdict("write", f"{_words_of_kind(kind)} changes the database")
    if kind in ("IndexStmt", "RefreshMatViewStmt") and body.get("concurrent"):
        verdict.transactional = False
    if kind == "ClusterStmt" and not body.get("relation"):
        verdict.transactional = False
    if kind == "AlterDatabaseStmt" and _has_option(body.get("options"), "tablespace"):
        verdict.transactional = False
    return verdict


def _session(kind: str, body: dict[str, Any]) -> _Verdict | None:
    """Statements that change how later ones are lexed, run or resolved (sql_session)."""
    found: tuple[Safety, str] | None = None
    if kind == "VariableSetStmt":
        found = sql_session.set_verdict(body)
    elif kind == "AlterRoleSetStmt":
        found = sql_session.alter_set_verdict(body, "ROLE")
    elif kind == "AlterDatabaseSetStmt":
        found = sql_session.alter_set_verdict(body, "DATABASE")
    elif kind == "AlterSystemStmt":
        found = sql_session.alter_set_verdict(body, "SYSTEM")
    elif kind == "UpdateStmt":
        found = sql_session.settings_update_verdict(body)
    elif kind == "DeclareCursorStmt" and int(body.get("options", 0)) & _CURSOR_OPT_HOLD:
        found = ("write", "DECLARE ... WITH HOLD keeps a cursor open past the transaction")
    return _Verdict(*found) if found is not None else None


_CURSOR_OPT_HOLD = 0x20  # PostgreSQL's CURSOR_OPT_HOLD bit in DeclareCursorStmt.options


def _nodes(body: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node below ``body``, depth first; definitions are yielded but not entered."""
    stack: list[Any] = [body]
    while stack:
        value = stack.pop()
        if type(value) is list:
            stack.extend(reversed(value))
            continue
        below: list[Any] = []
        for key, sub in value.items():
            kind = type(sub)
            if kind is dict:
                if key[0].isupper():
                    yield key, sub
                    if key in _DEFINITIONS:
                        continue
                below.append(sub)
            elif kind is list:
                below.append(sub)
        stack.extend(reversed(below))


def _function_name(body: dict[str, Any]) -> list[str]:
    """['pg_catalog', 'count'] from a FuncCall node."""
    return [
        part.get("String", {}).get("sval", "")
        for part in body.get("funcname", ())
        if isinstance(part, dict)
    ]


def _function(body: dict[str, Any], rules: SqlRules) -> _Verdict:
    parts = _function_name(body)
    shown = ".".join(parts)
    level, key = rules.function_safety(parts)
    if level == "read" and key == "set_config":
        found = sql_session.set_config_verdict(body.get("args") or ())
        if found is not None:
            return _Verdict(*found)
    if len(parts) == 1 or parts[-2].lower() == "pg_catalog":
        runs, text = sql_text_argument(parts[-1].lower(), list(body.get("args") or ()))
        if runs:
            return _sql_text(shown, text, rules)
    if level is None:
        return _Verdict("write", f"calls {shown}(), an unknown function that may write")
    if level == "read":
        return _Verdict("read", f"calls {shown}(), which only reads")
    why = rules.why.get(parts[-1].lower()) or rules.why.get(key or "")
    return _Verdict(level, f"calls {shown}, which {why or f'is listed as {level}'}")


def _sql_text(shown: str, text: str | None, rules: SqlRules) -> _Verdict:
    """query_to_xml('...') and the like run their text: classify it as the server will."""
    if text is None:
        return _Verdict("write", f"calls {shown}() with SQL text opsdoc cannot see")
    inner = _worst(
        _Verdict(s.safety, s.reason) for s in _classify_cached(text, (), rules) if s.text
    )
    if not inner.reason:
        return _Verdict("read", f"calls {shown}() on no statement")
    if inner.reason.startswith("calls "):
        return _Verdict(inner.safety, f"{inner.reason} (in SQL text run by {shown}())")
    return _Verdict(inner.safety, f"runs SQL text through {shown}(): {inner.reason}")


def _call(body: dict[str, Any], rules: SqlRules) -> _Verdict:
    """CALL is as safe as the procedure it names, when the rules know it."""
    call = body.get("funccall")
    if not isinstance(call, dict) or rules.function_safety(_function_name(call))[0] is None:
        return _Verdict("write", "CALL runs a procedure that may change anything")
    return _function(call, rules)


def _nested(kind: str, body: dict[str, Any], rules: SqlRules) -> _Verdict | None:
    """What a node inside a statement adds to its class."""
    if kind == "FuncCall":
        return _function(body, rules)
    if kind in _NESTED_DML:
        inner = _statement(kind, body, rules)
        return _Verdict(inner.safety, f"{inner.reason} (in a nested statement)")
    if kind == "SelectStmt":
        return _select(body)
    hidden = hidden_call(kind, body)
    return _Verdict(*hidden) if hidden is not None else None


def _explain(body: dict[str, Any], rules: SqlRules) -> _Verdict:
    query = body.get("query")
    if not (_has_option(body.get("options"), "analyze") and isinstance(query, dict) and query):
        return _Verdict("read", "EXPLAIN without ANALYZE only plans the statement")
    kind, inner_body = next(iter(query.items()))
    inner = _classify_node(kind, inner_body, rules)
    return _Verdict(
        inner.safety, f"EXPLAIN ANALYZE runs its statement: {inner.reason}", inner.transactional
    )


def _classify_node(kind: str, body: dict[str, Any], rules: SqlRules) -> _Verdict:
    """A statement's class: its own, raised by every function and nested statement in it."""
    if kind == "ExplainStmt":
        return _explain(body, rules)
    own = _statement(kind, body, rules)
    if kind in _DEFINITIONS:
        return own
    found = (_nested(k, b, rules) for k, b in _nodes(body))
    worst = _worst([own, *(v for v in found if v is not None)])
    return _Verdict(worst.safety, worst.reason, own.transactional)


# --------------------------------------------------------------------------
# Statements that do not parse, and psql meta-commands
# --------------------------------------------------------------------------

_READ_FIRST = {"SELECT", "WITH", "SHOW", "EXPLAIN", "VALUES", "TABLE"}
_DESTRUCTIVE_WORDS = {"DELETE", "DROP", "TRUNCATE"}
_WRITE_WORDS = {"INSERT", "UPDATE", "MERGE", "INTO", "COPY", "CREATE", "ALTER", "GRANT", "LOCK"}


def _danger_in_words(words: Sequence[str], rules: SqlRules) -> tuple[Safety, str] | None:
    """The worst keyword or listed function among the words of unparsed code, if any."""
    unique = dict.fromkeys(words)
    worst: tuple[Safety, str] | None = None
    for word in unique:
        if word in _DESTRUCTIVE_WORDS:
            return "destructive", f"contains {word}"
        level, _ = rules.lookup(word.lower())
        if level == "destructive":
            return level, f"calls {word.lower()}"
        if worst is None and (level == "write" or word in _WRITE_WORDS):
            worst = "write", f"contains {word}" if level is None else f"calls {word.lower()}"
    return worst


_LEXING_WORDS = (
    "names a setting that changes how PostgreSQL reads string literals; opsdoc will not run it"
)


def _do_block(body: dict[str, Any], rules: SqlRules) -> _Verdict:
    """DO runs code opsdoc does not parse; its words can still show it is destructive."""
    code = " ".join(
        str(arg.get("DefElem", {}).get("arg", {}).get("String", {}).get("sval", ""))
        for arg in body.get("args", ())
        if isinstance(arg, dict)
    )
    words = _words(code)
    if sql_session.mentions_lexing(code):
        return _Verdict("destructive", "DO runs a code block that " + _LEXING_WORDS)
    danger = _danger_in_words(words, rules)
    if danger is not None and danger[0] == "destructive":
        return _Verdict("destructive", f"DO runs a code block that {danger[1]}")
    return _Verdict("write", "DO runs an anonymous code block that may change anything")


def _guess(text: str, error: str, rules: SqlRules) -> Statement:
    """An unparsed statement, classed by its first word and made no safer by the rest."""
    words = _words(text)
    first = words[0] if words else ""
    if first in _DESTRUCTIVE_WORDS:
        safety: Safety = "destructive"
    elif first in _READ_FIRST:
        safety = "read"
    else:
        safety = "write"
    how = f"guessed {safety} from its first word {first}" if first else f"counts as {safety}"
    danger = _danger_in_words(words[1:], rules)
    if danger is not None and LEVELS.index(danger[0]) > LEVELS.index(safety):
        safety, how = danger[0], f"guessed {danger[0]}: it {danger[1]}"
    if sql_session.mentions_lexing(text):
        safety, how = "destructive", f"guessed destructive: it {_LEXING_WORDS}"
    transactional = not (
        "CONCURRENTLY" in words
        or first == "VACUUM"
        or (first in ("CREATE", "DROP") and words[1:2] in (["DATABASE"], ["TABLESPACE"]))
        or words[:2] == ["ALTER", "SYSTEM"]
    )
    reason = f"did not parse as PostgreSQL ({error}); {how}"
    return Statement(text, safety, reason, 1, kind="", transactional=transactional, parsed=False)


def _meta_verdict(text: str) -> _Verdict:
    """The class of a psql meta-command line; the allowlist lives in psql_meta."""
    return _Verdict(*meta_verdict(text))


# --------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------


def _one_line(message: str, limit: int = 160) -> str:
    """A message fit for a reason: its first line, cut short."""
    line = (message.splitlines() or [""])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _parse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The statement nodes of ``text``; raises ValueError with a one-line message."""
    if "\x00" in text:
        raise ValueError("contains a NUL character")
    try:
        tree = json.loads(pg.parse_sql_json(text))
    except pg.ParseError as exc:
        raise ValueError(_one_line(str(exc.args[0] if exc.args else exc))) from exc
    except (RecursionError, UnicodeError, ValueError) as exc:
        raise ValueError(_one_line(f"{type(exc).__name__}: {exc}")) from exc
    nodes = [next(iter(item["stmt"].items())) for item in tree.get("stmts", ()) if item.get("stmt")]
    if not nodes:
        raise ValueError("no statement found")
    return nodes


def _classify_text(text: str, copy: str, rules: SqlRules) -> Statement:
    """One statement of a block (position 1-relative, fixed by the caller)."""
    try:
        nodes = _parse(copy)
    except ValueError as first_error:
        loose = _loosen(copy)
        if loose == copy:
            return _guess(text, str(first_error), rules)
        try:
            nodes = _parse(loose)
        except ValueError:
            return _guess(text, str(first_error), rules)
    verdicts = [_classify_node(kind, body, rules) for kind, body in nodes]
    worst = _worst(verdicts)
    transactional = all(v.transactional for v in verdicts)
    return Statement(
        text, worst.safety, worst.reason, 1, kind=nodes[0][0], transactional=transactional
    )


def _classify_piece(piece: _Piece, code: str, copy: str, rules: SqlRules) -> Statement:
    end = piece.start + len(code[piece.start : piece.end].rstrip())  # an unclosed quote's tail
    text = code[piece.start : end]
    if piece.meta:
        verdict = _meta_verdict(text)
        statement = Statement(text, verdict.safety, verdict.reason, 1, kind="psql-meta")
    else:
        statement = _classify_text(text, copy[piece.start : end], rules)
    statement.label = piece.label
    return statement


@lru_cache(maxsize=512)
def _classify_cached(
    code: str, placeholders: tuple[str, ...], rules: SqlRules
) -> tuple[Statement, ...]:
    try:
        copy = _parse_copy(code, placeholders)
        found: list[Statement] = []
        line, seen = 1, 0
        for piece in _split(copy, code):
            line += code.count("\n", seen, piece.start)
            seen = piece.start
            found.append(replace(_classify_piece(piece, code, copy, rules), line=line))
        return tuple(found)
    except Exception as exc:  # the promise is: never raise on any input
        reason = f"could not be read ({_one_line(f'{type(exc).__name__}: {exc}')}); counts as write"
        return (Statement(code.strip(), "write", reason, 1, parsed=False),)


def classify_sql(
    code: str,
    *,
    line: int = 1,
    placeholders: Iterable[str] = (),
    rules: SqlRules | None = None,
) -> list[Statement]:
    """Split one SQL code block into classified statements, in order.

    ``line`` is the file line of the block's first line; ``placeholders`` are
    names written ``<name>`` in the code. ``rules`` defaults to the packaged
    function rules (see :func:`load_sql_rules`). Never raises.
    """
    try:
        names = tuple(sorted({str(name) for name in placeholders if name}))
        found = _classify_cached(str(code), names, rules or load_sql_rules())
    except Exception as exc:  # e.g. a broken packaged rules file: still never raise
        reason = f"could not be read ({_one_line(f'{type(exc).__name__}: {exc}')}); counts as write"
        found = (Statement(str(code).strip(), "write", reason, 1, parsed=False),)
    return [replace(statement, line=statement.line + line - 1) for statement in found]


def is_sql_read_only(
    code: str, *, placeholders: Iterable[str] = (), rules: SqlRules | None = None
) -> bool:
    """True when every statement of ``code`` only reads (vacuously true for no statements)."""
    statements = classify_sql(code, placeholders=placeholders, rules=rules)
    return all(statement.safety == "read" for statement in statements)
