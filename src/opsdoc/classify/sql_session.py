"""Session settings and transaction control that undo a read step's guarantees.

A read step is safe because PostgreSQL runs it READ ONLY, as the role opsdoc
connected with, and lexes it exactly as opsdoc's parser did. A ``SET`` can
break each of these: ``standard_conforming_strings`` changes how a string
literal ends (so one "statement" hides a second), ``transaction_read_only``
lifts READ ONLY, ``role``/``search_path`` change who runs what and which
function a name means. These helpers work on pglast JSON nodes and return
``(safety, reason)`` or ``None`` when the node is harmless; classify/sql.py
raises a statement's class with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opsdoc.model import Safety

__all__ = [
    "LEXING_SETTINGS",
    "alter_set_verdict",
    "is_lexing_change",
    "mentions_lexing",
    "set_config_verdict",
    "set_verdict",
    "settings_update_verdict",
    "transaction_verdict",
]

Found = tuple[Safety, str] | None

# Settings that change where a string literal ends.
LEXING_SETTINGS = frozenset({"standard_conforming_strings", "backslash_quote"})
_READ_ONLY_SETTINGS = frozenset({"transaction_read_only", "default_transaction_read_only"})
# Settings that change who runs a statement, or what its names and bytes mean.
_WRITE_SETTINGS = {
    "role": "changes the role statements run as",
    "session_authorization": "changes the role statements run as",
    "search_path": "changes which function or table a name resolves to",
    "client_encoding": "changes how the server decodes the text opsdoc sends",
    "session_replication_role": "changes whether triggers and rules fire",
}


_LEXING_MARK = "opsdoc will not run it: changing "
_LEXING_WORDS = "how PostgreSQL reads string literals"


def is_lexing_change(reason: str) -> bool:
    """Whether a statement's reason says it changes string lexing, so no --allow may run it."""
    return _LEXING_WORDS in reason and "will not run it" in reason


def _lexing(name: str) -> tuple[Safety, str]:
    return (
        "destructive",
        f"{_LEXING_MARK}{name} changes {_LEXING_WORDS}, "
        "so text opsdoc read as one string could run as another statement",
    )


def _lifts(what: str) -> tuple[Safety, str]:
    return "write", f"{what} lifts READ ONLY, so what follows could write"


def _truth(node: Any) -> bool | None:
    """The boolean an A_Const (or string) spells; ``None`` when it is not a plain constant."""
    if isinstance(node, str):
        text = node.strip().lower()
    elif isinstance(node, dict) and "A_Const" in node:
        const = node["A_Const"]
        if "ival" in const:
            return bool(const["ival"].get("ival", 0))
        if "boolval" in const:
            return bool(const["boolval"].get("boolval", False))
        text = str(const.get("sval", {}).get("sval", "")).strip().lower()
    else:
        return None
    if text in ("on", "true", "yes", "1", "t", "y"):
        return True
    if text in ("off", "false", "no", "0", "f", "n"):
        return False
    return None


def _setting(name: str, value_true: bool | None, what: str) -> Found:
    """The class of changing one named setting, whatever statement or function does it."""
    name = name.strip().lower()
    if name in LEXING_SETTINGS:
        return _lexing(name)
    if name in _READ_ONLY_SETTINGS and value_true is not True:
        return _lifts(what)
    if name in _WRITE_SETTINGS:
        return "write", f"{what} {_WRITE_SETTINGS[name]}"
    return None


def _read_write_option(options: Any) -> bool:
    """True when a list of DefElem options says READ WRITE (transaction_read_only false)."""
    for option in options or ():
        elem = option.get("DefElem", {}) if isinstance(option, dict) else {}
        if elem.get("defname") == "transaction_read_only" and _truth(elem.get("arg")) is not True:
            return True
    return False


def set_verdict(body: dict[str, Any], what: str = "") -> Found:
    """SET, SET LOCAL, RESET, SET TRANSACTION and SET SESSION CHARACTERISTICS."""
    kind = body.get("kind", "")
    name = str(body.get("name", ""))
    if kind == "VAR_RESET_ALL":
        return "write", "RESET ALL resets every setting, READ ONLY and the role included"
    if kind == "VAR_SET_MULTI":
        if _read_write_option(body.get("args")):
            return _lifts(f"SET {name} READ WRITE")
        return None
    if kind == "VAR_SET_VALUE":
        args = body.get("args") or [None]
        value = _truth(args[0]) if len(args) == 1 else None
    else:  # SET ... TO DEFAULT, RESET name, SET ... FROM CURRENT
        value = None
    label = what or ("RESET" if kind == "VAR_RESET" else "SET") + f" {name}"
    return _setting(name, value, label)


def alter_set_verdict(body: dict[str, Any], target: str) -> Found:
    """ALTER ROLE/DATABASE ... SET: only the lexing settings need more than write."""
    setstmt = body.get("setstmt")
    if not isinstance(setstmt, dict):
        return None
    if setstmt.get("kind") == "VAR_RESET_ALL":
        return None
    found = set_verdict(setstmt, f"ALTER {target} ... SET {setstmt.get('name', '')}")
    if found is not None and found[0] == "destructive":
        return found
    return None


def transaction_verdict(body: dict[str, Any]) -> Found:
    """BEGIN/START TRANSACTION READ WRITE; plain transaction control is left to the caller."""
    if _read_write_option(body.get("options")):
        word = "START TRANSACTION" if body.get("kind") == "TRANS_STMT_START" else "BEGIN"
        return _lifts(f"{word} READ WRITE")
    return None


def _literal(node: Any) -> str | None:
    if isinstance(node, dict) and "A_Const" in node:
        sval = node["A_Const"].get("sval")
        if isinstance(sval, dict):
            return str(sval.get("sval", ""))
    return None


def set_config_verdict(args: Sequence[Any]) -> Found:
    """set_config(name, value, is_local) is a SET; a computed name may change anything."""
    name = _literal(args[0]) if args else None
    if name is None:
        return "write", "calls set_config() with a computed name, which may change any setting"
    value = _literal(args[1]) if len(args) > 1 else None
    return _setting(name, _truth(value) if value is not None else None, f"set_config('{name}')")


def settings_update_verdict(body: dict[str, Any]) -> Found:
    """UPDATE pg_settings is SET under another name."""
    relation = body.get("relation") or {}
    if str(relation.get("relname", "")).lower() != "pg_settings":
        return None
    if str(relation.get("schemaname", "pg_catalog")).lower() != "pg_catalog":
        return None
    return _lexing("settings through pg_settings")


def mentions_lexing(code: str) -> bool:
    """Whether code opsdoc cannot parse (a DO body, a guess) names a lexing setting anywhere.

    Anywhere, strings included: a body can build ``EXECUTE 'SET ...'`` from one.
    """
    lowered = code.lower()
    return any(name in lowered for name in LEXING_SETTINGS)
