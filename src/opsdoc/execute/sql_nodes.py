"""PostgreSQL parse trees (pglast's JSON): parse a text, walk a tree, read its names.

What the SQL executor knows of a statement beyond its tokens comes from
PostgreSQL's own parser, through pglast: the binder checks where a
placeholder stands, the guard looks for calls, the runner for RETURNING.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pglast import parser as pg_parser

DML = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
TAGS = {"InsertStmt": "INSERT 0", "UpdateStmt": "UPDATE", "DeleteStmt": "DELETE"}
TAGS["MergeStmt"] = "MERGE"


def parse_nodes(sql: str) -> list[tuple[str, dict[str, Any]]] | None:
    """Top-level statement nodes of ``sql`` as pglast JSON; None when it does not parse."""
    if "\x00" in sql:
        return None
    try:
        tree = json.loads(pg_parser.parse_sql_json(sql))
    except Exception:
        return None
    nodes = [next(iter(item["stmt"].items())) for item in tree.get("stmts", ()) if item.get("stmt")]
    return nodes or None


def walk_nodes(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (node name, body) in ``value``: a JSON tree, or (name, body) pairs from _parse."""
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        value = [{kind: body} for kind, body in value]
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            for key, sub in item.items():
                if isinstance(sub, dict) and key[:1].isupper():
                    yield key, sub
                if isinstance(sub, dict | list):
                    stack.append(sub)


def char_offset(text: str, byte_offset: int) -> int:
    """pglast locations count UTF-8 bytes; Python counts characters."""
    return len(text.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def node_names(items: Any) -> list[str]:
    """The strings of a name list (``["pg_catalog", "upper"]``)."""
    out: list[str] = []
    for item in items or ():
        string = item.get("String") if isinstance(item, dict) else None
        if isinstance(string, dict):
            out.append(str(string.get("sval", "")))
    return out


def node_const(node: Any) -> Any:
    """The value of an A_Const node (a string, number or boolean); None otherwise."""
    const = node.get("A_Const") if isinstance(node, dict) else None
    if not isinstance(const, dict):
        return None
    for key in ("sval", "ival", "boolval"):
        inner = const.get(key)
        if isinstance(inner, dict):
            return next(iter(inner.values()), None)
    return None
