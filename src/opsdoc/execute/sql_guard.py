"""What keeps PostgreSQL running exactly what opsdoc classified, and nothing else.

Classification is static (pglast reads the text), so it only holds if the
server reads the same text the same way and cannot be talked out of READ
ONLY. This module holds the executor's side of that bargain:

* every session is pinned to the lexing pglast assumes
  (``standard_conforming_strings = on``, ``backslash_quote =
  safe_encoding``, UTF8) and a statement that would change it never runs;
* opsdoc writes every ``BEGIN`` itself from the parsed options of the
  runbook's, so the runbook's own text never opens a transaction;
* before a read transaction is committed (to keep a ``SET``), the server is
  asked whether it is still READ ONLY;
* a read statement's function and operator names are looked up on the
  target: one defined there outside ``pg_catalog`` and outside any extension
  may do anything, so it is treated as a write, asked for before it runs;
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from opsdoc.classify.sql_session import is_lexing_change
from opsdoc.execute.sql_nodes import node_const, node_names, walk_nodes

__all__ = [
    "FIRST_USER_OID",
    "LEXING_PINS",
    "lexing_refusal",
    "own_begin",
    "pin_session",
    "still_read_only",
    "undone_by_rollback_note",
    "user_defined_calls",
]

FIRST_USER_OID = 16384  # FirstNormalObjectId: objects below it came with PostgreSQL
# What pglast assumes about the text; set on every connection before anything runs.
LEXING_PINS = (
    ("standard_conforming_strings", "on"),
    ("backslash_quote", "safe_encoding"),
    ("client_encoding", "UTF8"),
)
_PINNED = frozenset(name for name, _ in LEXING_PINS)
_ISOLATION = {
    "serializable": "SERIALIZABLE",
    "repeatable read": "REPEATABLE READ",
    "read committed": "READ COMMITTED",
    "read uncommitted": "READ UNCOMMITTED",
}


def pin_session(conn: psycopg.Connection[Any], idle_limit: float | None) -> None:
    """Fix the session's lexing, and how long it may sit idle inside a transaction.

    ``idle_limit`` (seconds) becomes ``idle_in_transaction_session_timeout``:
    a commit prompt left unanswered ends with the server rolling back and
    closing the session, even if opsdoc itself is stopped or frozen.
    """
    for name, value in LEXING_PINS:
        conn.execute(f"SET {name} = '{value}'")
    if idle_limit is not None and idle_limit > 0:
        conn.execute(f"SET idle_in_transaction_session_timeout = {max(1, int(idle_limit * 1000))}")


def lexing_refusal(reason: str, node: str, body: dict[str, Any]) -> str | None:
    """Why a statement may never run, whatever is allowed; None when it may."""
    if is_lexing_change(reason):
        return reason
    if node == "VariableSetStmt" and str(body.get("name", "")).lower() in _PINNED:
        name = body.get("name")
        return (
            f"opsdoc will not run it: {name} is pinned for the session, because it changes "
            "how PostgreSQL reads the text opsdoc classified"
        )
    return None


def own_begin(body: dict[str, Any] | None, read_only: bool) -> str:
    """The BEGIN opsdoc sends for a runbook's ``BEGIN``/``START TRANSACTION``.

    Only the isolation level and DEFERRABLE are taken from the runbook, from
    its parse tree; READ ONLY or not is opsdoc's decision.
    """
    parts = ["BEGIN"]
    deferrable = False
    for option in (body or {}).get("options") or ():
        elem = option.get("DefElem", {}) if isinstance(option, dict) else {}
        value = node_const(elem.get("arg"))
        if elem.get("defname") == "transaction_isolation" and isinstance(value, str):
            level = _ISOLATION.get(value.lower())
            if level:
                parts.append(f"ISOLATION LEVEL {level}")
        elif elem.get("defname") == "transaction_deferrable":
            deferrable = value in (1, True, "true", "on")
    parts.append("READ ONLY" if read_only else "READ WRITE")
    if deferrable:
        parts.append("DEFERRABLE")
    return " ".join(parts)


def still_read_only(conn: psycopg.Connection[Any]) -> bool:
    """Whether the open transaction is still READ ONLY, by the server's own account."""
    row = conn.execute("SELECT current_setting('transaction_read_only')").fetchone()
    return bool(row) and row[0] == "on"


# ---- functions and operators defined on the target ------------------------------


def called_names(tree: Any) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(schema or "", name) of every function and operator a statement names."""
    functions: set[tuple[str, str]] = set()
    operators: set[tuple[str, str]] = set()
    for kind, body in walk_nodes(tree):
        if kind == "FuncCall":
            names = node_names(body.get("funcname"))
            if names:
                functions.add(("" if len(names) == 1 else names[-2], names[-1]))
        elif kind == "A_Expr":
            names = node_names(body.get("name"))
            if names:
                operators.add(("" if len(names) == 1 else names[-2], names[-1]))
    return functions, operators


_USER_DEFINED = """
SELECT n.nspname || '.' || o.name || coalesce('(' || o.args || ')', '')
FROM (
    SELECT p.oid, p.pronamespace AS ns, p.proname AS name,
           pg_get_function_identity_arguments(p.oid) AS args, 'pg_proc'::regclass AS cls
    FROM pg_proc p WHERE p.proname = ANY(%(fnames)s)
    UNION ALL
    SELECT o.oid, o.oprnamespace, o.oprname, NULL, 'pg_operator'::regclass
    FROM pg_operator o WHERE o.oprname = ANY(%(onames)s)
) o
JOIN pg_namespace n ON n.oid = o.ns
WHERE o.oid >= %(first)s
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = o.cls AND d.objid = o.oid AND d.deptype = 'e')
  AND (n.nspname = ANY(current_schemas(true)) OR n.nspname = ANY(%(schemas)s)
       OR n.nspname LIKE 'pg_temp%%')
ORDER BY 1
"""


def user_defined_calls(conn: psycopg.Connection[Any], tree: Any) -> list[str]:
    """Functions and operators the statement may reach that were defined on the target.

    A name counts when any object of that name defined outside PostgreSQL and
    its extensions sits where the name could resolve (the search path, the
    schema written, a temp schema): which overload the server picks depends
    on argument types opsdoc does not know, so any such candidate is enough.
    """
    functions, operators = called_names(tree)
    if not functions and not operators:
        return []
    schemas = sorted({schema for schema, _ in functions | operators if schema})
    params = {
        "fnames": sorted({name for _, name in functions}),
        "onames": sorted({name for _, name in operators}),
        "first": FIRST_USER_OID,
        "schemas": schemas,
    }
    with conn.cursor() as cur:
        cur.execute(_USER_DEFINED, params)
        return [str(row[0]) for row in cur.fetchall()]


# ---- what a rollback does not undo ------------------------------------------------


def undone_by_rollback_note(reasons: Iterable[str]) -> str:
    """`` (but ...)`` naming effects no rollback undoes, or "" when there are none."""
    kept = [r for r in dict.fromkeys(reasons) if "no rollback undoes" in r]
    if not kept:
        return ""
    return "; but a rollback does not undo everything that ran: " + "; ".join(kept)
