"""Generated read statements full of string-literal and comment tricks, run on pgserver.

Each example is a text an attacker could put in a runbook: literals of every
kind (plain, E'', dollar-quoted, with backslashes and doubled quotes),
comments, and a payload that deletes the canary table hidden inside or
between them, sometimes after a SET that changes how literals are read.
opsdoc classifies it and runs it with every confirmation declined, the way
``--yes`` without ``--allow`` does. Whatever the text, the canary keeps its
rows, the session keeps its lexing, and nothing but a read statement runs.
"""

from __future__ import annotations

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opsdoc.classify.sql import classify_sql
from opsdoc.execute.sql import run_sql
from opsdoc.model import Step
from test_execute_sql import Recorder

PAYLOADS = [
    "; DELETE FROM canary; ",
    "; COMMIT; DELETE FROM canary; -- ",
    "'; DELETE FROM canary; -- ",
    "\\'; DELETE FROM canary; -- ",
    "\\\\'; DELETE FROM canary; -- ",
    "$$; DELETE FROM canary; $$",
    "*/ DELETE FROM canary; /* ",
    "\n; DELETE FROM canary;\n",
    "'' ; SET TRANSACTION READ WRITE; DELETE FROM canary; --",
]
PREFIXES = [
    "",
    "SET standard_conforming_strings = off;\n",
    "SET backslash_quote = on;\n",
    "SET client_encoding = 'SJIS';\n",
    "SET escape_string_warning = off;\n",
    "BEGIN;\n",
    "SET TRANSACTION READ WRITE;\n",
]
CHARS = st.sampled_from([*"ab ;'\\-/*$\n\t0", "''", "--", "/*", "*/", "$$", "$q$", "\\'"])
body = st.lists(st.one_of(CHARS, st.sampled_from(PAYLOADS)), max_size=8).map("".join)


@st.composite
def pieces(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["plain", "e", "dollar", "line", "block", "bare"]))
    text = draw(body)
    if kind == "plain":
        return "'" + text + "'"
    if kind == "e":
        return "E'" + text + "'"
    if kind == "dollar":
        tag = draw(st.sampled_from(["", "q", "x1"]))
        return f"${tag}$" + text + f"${tag}$"
    if kind == "line":
        return "-- " + text + "\n"
    if kind == "block":
        return "/* " + text + " */"
    return text


@st.composite
def statements(draw: st.DrawFn) -> str:
    parts = draw(st.lists(pieces(), min_size=1, max_size=4))
    prefix = draw(st.sampled_from(PREFIXES))
    return prefix + "SELECT " + " , ".join(parts) + " AS x;"


def canary(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return int(conn.execute("SELECT count(*) FROM canary").fetchone()[0])


@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=statements())
def test_no_trick_lets_a_write_or_a_second_statement_through(fresh_db: str, text: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS canary (id int)")
        if not conn.execute("SELECT 1 FROM canary LIMIT 1").fetchone():
            conn.execute("INSERT INTO canary SELECT generate_series(1, 3)")
    classified = classify_sql(text)
    the_step = Step(phase="diagnose", lang="sql", code=text, line=1, statements=classified)
    outcome = run_sql(the_step, dsn=fresh_db, values={}, hooks=Recorder(False))
    assert canary(fresh_db) == 3, text
    for result in outcome.statements:
        if result.status in ("ok", "committed"):
            assert result.safety == "read", (text, result)
