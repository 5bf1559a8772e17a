"""Function calls a statement makes without writing a function name.

A cast to a user-defined type runs its input function, a cast function or a
domain's CHECK; a user-defined operator is a function; a TABLESAMPLE method
is a handler function. Any of them may write, so a read statement that uses
one that opsdoc does not know is write, as an unknown function is.
"""

from __future__ import annotations

import re
from typing import Any

from opsdoc.model import Safety

__all__ = ["SQL_TEXT_FUNCTIONS", "hidden_call", "sql_text_argument"]

Found = tuple[Safety, str] | None

# Types PostgreSQL ships whose names pglast leaves unqualified (int, varchar
# and the other SQL-standard spellings come back as pg_catalog.x).
_TYPE_NAMES = """
    text date json jsonb jsonpath uuid bytea name oid regclass regproc regprocedure
    regtype regoper regoperator regnamespace regrole regconfig regdictionary
    regcollation inet cidr macaddr macaddr8 money xml tsvector tsquery pg_lsn xid
    xid8 cid tid point line lseg box path polygon circle int4range int8range numrange
    tsrange tstzrange daterange int4multirange int8multirange nummultirange
    tsmultirange tstzmultirange datemultirange timestamptz timetz record bpchar
    int2 int4 int8 float4 float8 bool char varchar numeric timestamp time interval
    bit varbit txid_snapshot pg_snapshot refcursor aclitem int2vector oidvector
"""
_BUILTIN_TYPES = frozenset(_TYPE_NAMES.split())
_OPERATOR_NAMES = """
    = <> != < > <= >= + - * / % ^ || ~ ~* !~ !~* ~~ ~~* !~~ !~~* @> <@ && ? ?| ?&
    -> ->> #> #>> #- @@ @? @@@ << >> <<= >>= & | # <-> |/ ||/ @ ## &< &> <<| |>>
    &<| |&> <^ >^ ?# ?- ?-| ?|| ~= <% %> <<% %>> <<<-> <->> ^@ !!
"""
_BUILTIN_OPERATORS = frozenset(_OPERATOR_NAMES.split())
# Built-in functions that run SQL given to them as text: name -> (argument, arity).
SQL_TEXT_FUNCTIONS = {
    "query_to_xml": (0, 0),
    "query_to_xmlschema": (0, 0),
    "query_to_xml_and_xmlschema": (0, 0),
    "ts_stat": (0, 0),
    "ts_rewrite": (1, 2),  # only the two-argument form runs a query
}
_SAMPLE_METHODS = frozenset({"system", "bernoulli", "system_rows", "system_time"})
_OPERATOR_CHARS = re.compile(r"[~!@#^&|`?+\-*/%<>=]+$")


def _names(items: Any) -> list[str]:
    return [
        str(item.get("String", {}).get("sval", ""))
        for item in items or ()
        if isinstance(item, dict)
    ]


def _builtin(names: list[str], known: frozenset[str]) -> bool:
    """A pg_catalog name, or an unqualified one PostgreSQL ships."""
    if len(names) > 1:
        return names[-2].lower() == "pg_catalog"
    return bool(names) and names[0].lower() in known


def _cast(body: dict[str, Any]) -> Found:
    type_name = body.get("typeName") or {}
    names = _names(type_name.get("names"))
    if not names or _builtin(names, _BUILTIN_TYPES):
        return None
    shown = ".".join(names)
    return "write", f"casts to type {shown}, whose cast or domain check may call any function"


def _operator(body: dict[str, Any]) -> Found:
    names = _names(body.get("name"))
    if not names or not _OPERATOR_CHARS.match(names[-1]) or _builtin(names, _BUILTIN_OPERATORS):
        return None
    shown = ".".join(names)
    return "write", f"uses operator {shown}, which may call any function"


def _sample(body: dict[str, Any]) -> Found:
    names = _names(body.get("method"))
    if _builtin(names, _SAMPLE_METHODS):
        return None
    shown = ".".join(names)
    return "write", f"TABLESAMPLE {shown} calls a sampling function opsdoc does not know"


def sql_text_argument(name: str, args: list[Any]) -> tuple[bool, str | None]:
    """Whether ``name(args)`` runs SQL text, and that text when it is a plain literal."""
    index, arity = SQL_TEXT_FUNCTIONS.get(name, (-1, 0))
    if index < 0 or (arity and len(args) != arity) or len(args) <= index:
        return False, None
    const = args[index].get("A_Const", {}) if isinstance(args[index], dict) else {}
    sval = const.get("sval")
    return True, (str(sval.get("sval", "")) if isinstance(sval, dict) else None)


def hidden_call(kind: str, body: dict[str, Any]) -> Found:
    """What a TypeCast, operator expression or TABLESAMPLE node adds to a read statement."""
    if kind == "TypeCast":
        return _cast(body)
    if kind == "A_Expr":
        return _operator(body)
    if kind == "RangeTableSample":
        return _sample(body)
    return None
