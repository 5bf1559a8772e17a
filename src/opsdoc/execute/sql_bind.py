"""Binding ``<placeholders>`` as query parameters, never splicing them into SQL.

A value a person types reaches PostgreSQL as a bound parameter of type
*unknown*, so it can never end a literal or start a statement. Where a value
cannot be bound (a table name, a DDL statement), binding refuses with a
message that names the placeholder and says what to write instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opsdoc.classify.sql import sql_tokens
from opsdoc.execute.sql_nodes import char_offset, node_const, node_names, parse_nodes, walk_nodes
from opsdoc.parse.params import PLACEHOLDER

__all__ = [
    "COMMENTS",
    "PlaceholderError",
    "bind_meta",
    "bind_placeholders",
    "like_escape",
    "like_literal_starts",
]


class PlaceholderError(ValueError):
    """A placeholder that cannot be bound as a value; the message says why and what to do."""

    def __init__(self, message: str, name: str | None = None) -> None:
        super().__init__(message)
        self.name = name


_CODE = frozenset({"ws", "nl", "word", "other", "semi", "meta"})
_LITERALS = frozenset({"string", "estring", "dollar"})
COMMENTS = frozenset({"line_comment", "block_comment"})
# Statements PostgreSQL plans with parameters; any other takes no bound value.
_PARAM_KINDS = frozenset(
    {
        "SelectStmt",
        "InsertStmt",
        "UpdateStmt",
        "DeleteStmt",
        "MergeStmt",
        "ExplainStmt",
        "CreateTableAsStmt",
        "DeclareCursorStmt",
        "CallStmt",
    }
)
_NOT_A_NAME = "opsdoc binds values, it does not splice names into SQL"
# Inside a literal any <name> of the values counts, even right after a letter ('v<n>').
_IN_LITERAL = re.compile(r"<([A-Za-z][A-Za-z0-9_.\-]*)>")


@dataclass
class _Slot:
    """A stretch of the statement that becomes one ``$n``."""

    start: int
    end: int
    name: str  # the (first) placeholder in it, for messages
    value: str
    literal: bool  # a whole string literal, rather than a bare <name>
    original: str  # the text it replaces (a literal keeps its quotes)
    cast: str | None = None  # a typed literal (interval '<n> minutes'): the type
    text: str = ""  # a literal's text with its placeholders still in it


_E_ESCAPE = re.compile(
    r"\\(?:([0-7]{1,3})|x([0-9A-Fa-f]{1,2})|u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))|''",
    re.DOTALL,
)
_E_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _decode_e(body: str) -> str:
    """The text of an E'...' literal's body, escapes resolved as PostgreSQL does."""

    def one(m: re.Match[str]) -> str:
        if m.group() == "''":
            return "'"
        octal, hex2, u4, u8, char = m.groups()
        for digits, base in ((octal, 8), (hex2, 16), (u4, 16), (u8, 16)):
            if digits:
                return chr(int(digits, base))
        return _E_SIMPLE.get(char, char)

    return _E_ESCAPE.sub(one, body)


def _literal_text(kind: str, token: str) -> str | None:
    """The value a string literal token stands for; None when it is not closed."""
    if kind == "string":
        if re.fullmatch(r"'(?:[^']|'')*'", token, re.DOTALL) is None:
            return None
        return token[1:-1].replace("''", "'")
    if kind == "estring":
        if re.fullmatch(r"[eE]'(?:[^'\\]|\\.|'')*'", token, re.DOTALL) is None:
            return None
        return _decode_e(token[2:-1])
    tag = token[: token.index("$", 1) + 1]
    if len(token) < 2 * len(tag) or not token.endswith(tag):
        return None
    return token[len(tag) : -len(tag)]


def _names_in(sql: str, start: int, end: int, values: dict[str, str]) -> list[re.Match[str]]:
    return [m for m in PLACEHOLDER.finditer(sql, start, end) if m.group(1) in values]


def _find_slots(sql: str, values: dict[str, str]) -> list[_Slot]:
    """Every bare placeholder and every string literal holding one, in order."""
    slots: list[_Slot] = []
    run: int | None = None  # start of the current stretch of code

    def code(start: int, end: int) -> None:
        for m in _names_in(sql, start, end, values):
            name = m.group(1)
            slots.append(_Slot(m.start(), m.end(), name, values[name], False, m.group()))

    for kind, start, end in sql_tokens(sql):
        if kind in _CODE:
            run = start if run is None else run
            continue
        if run is not None:
            code(run, start)
            run = None
        if kind in COMMENTS:
            continue
        pattern = PLACEHOLDER if kind == "quoted" else _IN_LITERAL
        found = [m for m in pattern.finditer(sql, start, end) if m.group(1) in values]
        if not found:
            continue
        name = found[0].group(1)
        if kind == "quoted":
            raise PlaceholderError(
                f'placeholder <{name}> is inside a quoted name ("..."); {_NOT_A_NAME}: '
                "write the name into the runbook",
                name,
            )
        token = sql[start:end]
        text = _literal_text(kind, token)
        if text is None:
            continue  # an unclosed quote: PostgreSQL will say so
        if kind == "string" and re.search(r"(?:\b[bBxXnN]|[uU]&)$", sql[:start]):
            raise PlaceholderError(
                f"placeholder <{name}> is inside a prefixed literal (U&'', B'', X'' or N''), "
                "which cannot be bound; write it as a plain '...' literal",
                name,
            )
        value = _IN_LITERAL.sub(lambda m: values.get(m.group(1), m.group()), text)
        slots.append(_Slot(start, end, name, value, True, token, text=text))
    if run is not None:
        code(run, len(sql))
    return slots


def _neutral(token: str) -> str:
    """An identifier exactly as long as ``token``, so no position moves."""
    return "_" + re.sub(r"\W", "_", token[1:])


def _render(sql: str, slots: list[_Slot], bound: Iterable[int] | None = None) -> str:
    """``sql`` with slots made ``$n`` (only those in ``bound``; the others neutral)."""
    keep = set(range(len(slots))) if bound is None else set(bound)
    out: list[str] = []
    last = 0
    for k, slot in enumerate(slots):
        out.append(sql[last : slot.start])
        last = slot.end
        if k not in keep:
            out.append(slot.original if slot.literal else _neutral(slot.original))
            continue
        param = f"${k + 1}"
        if slot.cast is not None:
            param = f"CAST({param} AS {slot.cast})"
        if slot.start > 0 and (sql[slot.start - 1].isalnum() or sql[slot.start - 1] in "_$"):
            param = " " + param
        if slot.end < len(sql) and (sql[slot.end].isalnum() or sql[slot.end] in "_$"):
            param += " "
        out.append(param)
    out.append(sql[last:])
    return "".join(out)


def _mark_typed_literals(sql: str, neutral: str, tree: Any, slots: list[_Slot]) -> None:
    """``interval '<n> minutes'`` cannot be ``interval $1``: it becomes ``CAST($1 AS interval)``."""
    by_start = {slot.start: slot for slot in slots if slot.literal}
    for kind, body in walk_nodes(tree):
        if kind != "TypeCast" or body.get("location", -1) != -1:
            continue
        const = body.get("arg", {}).get("A_Const")
        type_at = body.get("typeName", {}).get("location", -1)
        if not isinstance(const, dict) or type_at < 0:
            continue
        literal_at = char_offset(neutral, const.get("location", -1))
        slot = by_start.get(literal_at)
        type_at = char_offset(neutral, type_at)
        if slot is None or type_at >= literal_at:
            continue
        cast = sql[type_at:literal_at].strip()
        if not re.fullmatch(r"[\w.\"]+(?:\s*\([\d,\s]*\))?(?:\s+[\w.\"]+)*", cast) or len(cast) < 2:
            raise PlaceholderError(
                f"placeholder <{slot.name}> is in a literal written {cast}'...', which cannot "
                "be bound; write it as '...'::type instead",
                slot.name,
            )
        slot.start, slot.cast, slot.original = type_at, cast, sql[type_at : slot.end]


def _param_refs(tree: Any) -> list[int]:
    return sorted(body.get("number", 0) for kind, body in walk_nodes(tree) if kind == "ParamRef")


def _constant_sort(tree: Any) -> int | None:
    """The number of a parameter used as an ORDER BY or GROUP BY item (a name was meant)."""
    for kind, body in walk_nodes(tree):
        items: list[Any] = []
        if kind == "SortBy":
            items = [body.get("node")]
        elif kind == "SelectStmt":
            items = list(body.get("groupClause", ()))
        for item in items:
            if isinstance(item, dict) and "ParamRef" in item:
                return int(item["ParamRef"].get("number", 0))
    return None


def _not_bindable(slot: _Slot, where: str) -> PlaceholderError:
    if slot.literal:
        return PlaceholderError(
            f"placeholder <{slot.name}> is in a string literal that PostgreSQL does not accept "
            f"as a bound value {where}; {_NOT_A_NAME}",
            slot.name,
        )
    return PlaceholderError(
        f"placeholder <{slot.name}> stands where PostgreSQL expects a name (a table, column "
        f"or other identifier) {where}, not a value; {_NOT_A_NAME}: write the name into the "
        "runbook",
        slot.name,
    )


def _check_bound(sql: str, slots: list[_Slot], nodes: list[tuple[str, dict[str, Any]]]) -> None:
    """Raise unless every slot became a parameter PostgreSQL can take as a value."""
    kind = nodes[0][0]
    if len(nodes) > 1:
        raise PlaceholderError(
            f"placeholder <{slots[0].name}> is in a text of {len(nodes)} statements; "
            "values can be bound only one statement at a time",
            slots[0].name,
        )
    if kind not in _PARAM_KINDS:
        words = " ".join(re.findall(r"[A-Z][a-z]*", kind.removesuffix("Stmt"))).upper()
        raise PlaceholderError(
            f"placeholder <{slots[0].name}> is in a {words or kind} statement, and PostgreSQL "
            "takes bound values only in SELECT, INSERT, UPDATE, DELETE, MERGE, CALL and "
            f"EXPLAIN; {_NOT_A_NAME}",
            slots[0].name,
        )
    bound = parse_nodes(_render(sql, slots))
    if bound is not None and _param_refs(bound) == list(range(1, len(slots) + 1)):
        number = _constant_sort(bound)
        if number is not None:
            raise _not_bindable(slots[number - 1], "(in ORDER BY or GROUP BY)")
        return
    for k, slot in enumerate(slots):
        alone = parse_nodes(_render(sql, slots, bound=[k]))
        if alone is None or _param_refs(alone) != [k + 1]:
            raise _not_bindable(slot, "there")
    raise _not_bindable(slots[0], "there")  # pragma: no cover - each alone was fine


_LIKE_KINDS = frozenset({"AEXPR_LIKE", "AEXPR_ILIKE"})


def like_literal_starts(tree: Any) -> dict[int, str]:
    """Byte offsets of string constants used as LIKE/ILIKE patterns -> their escape char."""
    out: dict[int, str] = {}
    for kind, body in walk_nodes(tree):
        if kind != "A_Expr" or body.get("kind") not in _LIKE_KINDS:
            continue
        rexpr = body.get("rexpr")
        escape = "\\"
        func = rexpr.get("FuncCall") if isinstance(rexpr, dict) else None
        if isinstance(func, dict) and node_names(func.get("funcname"))[-1:] == ["like_escape"]:
            args = func.get("args") or []
            given = node_const(args[1]) if len(args) > 1 else None
            if not isinstance(given, str) or len(given) > 1:
                continue  # a computed escape: nothing opsdoc can escape for
            escape = given
            rexpr = args[0]
        const = rexpr.get("A_Const") if isinstance(rexpr, dict) else None
        if isinstance(const, dict) and "sval" in const and escape:
            out[int(const.get("location", -1))] = escape
    return out


def like_escape(value: str, escape: str) -> str:
    """``value`` as a LIKE pattern that matches only itself."""
    return re.sub(f"[%_{re.escape(escape)}]", lambda m: escape + m.group(), value)


def _escape_like_patterns(
    neutral: str,
    nodes: list[tuple[str, dict[str, Any]]],
    slots: list[_Slot],
    values: dict[str, str],
) -> None:
    """``LIKE '%<email>%'``: the value's ``%`` and ``_`` are literal, not wildcards.

    The runbook's own wildcards around the placeholder stay wildcards; a
    person's value matches only itself, so ``%`` does not match every row.
    """
    tree = [{kind: body} for kind, body in nodes]
    patterns = {char_offset(neutral, at): esc for at, esc in like_literal_starts(tree).items()}
    for slot in slots:
        escape = patterns.get(slot.start)
        if not slot.literal or escape is None or slot.cast is not None:
            continue
        slot.value = _IN_LITERAL.sub(
            lambda m, e=escape: (
                like_escape(values[m.group(1)], e) if m.group(1) in values else m.group()
            ),
            slot.text,
        )


def bind_placeholders(sql: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """``sql`` with every ``<name>`` of ``values`` made a ``$n`` parameter, and the parameters.

    A bare ``<n>`` becomes ``$1`` with ``values["n"]``; a string literal
    holding placeholders (``'<lot-id>'``, ``'%<name>%'``, ``E'..<x>..'``,
    ``$$..<x>..$$``) becomes ``$1`` with the literal's text, placeholders
    filled in, as the value; a typed literal (``interval '<n> minutes'``)
    becomes ``CAST($1 AS interval)``. Comments are left alone. The result is
    for :class:`psycopg.RawCursor`: ``%`` needs no escaping. Values travel
    as type *unknown*, so PostgreSQL infers uuid, integer or text from the
    context. Raises :class:`PlaceholderError` (naming the placeholder) where
    a value cannot be bound: a name (``FROM <table>``), a quoted identifier,
    a statement that takes no parameters (DDL, SET, DO), an ORDER BY item.
    """
    slots = _find_slots(sql, values)
    if not slots:
        return sql, []
    code = "".join(sql[s:e] for kind, s, e in sql_tokens(sql) if kind in _CODE)
    if re.search(r"\$\d", code):
        raise PlaceholderError(
            f"the statement already uses $1-style parameters, so <{slots[0].name}> cannot be "
            "bound beside them",
            slots[0].name,
        )
    neutral = _render(sql, slots, bound=())
    nodes = parse_nodes(neutral)
    if nodes is not None:  # otherwise it is not PostgreSQL: the server will say why
        _mark_typed_literals(sql, neutral, nodes, slots)
        _check_bound(sql, slots, nodes)
        _escape_like_patterns(neutral, nodes, slots, values)
    return _render(sql, slots), [slot.value for slot in slots]


def bind_meta(text: str, values: dict[str, str]) -> str:
    """A psql meta-command with placeholders: only plain names may go in, never free text."""

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in values:
            return m.group()
        value = values[name]
        if not re.fullmatch(r"[A-Za-z_][\w.$]*", value):
            raise PlaceholderError(
                f"placeholder <{name}> is in a psql meta-command, where only a plain name "
                f"(letters, digits, _ . $) can go; {value!r} is not one",
                name,
            )
        return value

    return PLACEHOLDER.sub(one, text)
