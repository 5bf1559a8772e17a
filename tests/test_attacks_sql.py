"""The SQL read-escape corpus (tests/attacks/sql_reads.py), each run as `opsdoc run --yes`.

After every attempt the database and the machine are checked for any trace:
rows, counters, sequences, slots, large objects, files, prepared
transactions, a killed session. A break names the attempt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from attacks.sql_reads import CASES, SETUP
from conftest import run_opsdoc

STATE = """
SELECT (SELECT count(*) FROM canary),
       (SELECT n FROM hits),
       (SELECT last_value FROM seq), (SELECT is_called FROM seq),
       (SELECT count(*) FROM pg_replication_slots),
       (SELECT count(*) FROM pg_largeobject_metadata),
       (SELECT count(*) FROM pg_prepared_xacts),
       (SELECT count(*) FROM pg_class WHERE relname = 'stolen'),
       (SELECT relispopulated FROM pg_class WHERE relname = 'mv'),
       obj_description('canary'::regclass, 'pg_class')
"""


def state(dsn: str) -> tuple[Any, ...]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(STATE).fetchone()
    assert row is not None
    return tuple(row)


def test_no_read_escape_changes_anything(tmp_path: Path, fresh_db: str) -> None:
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        for statement in SETUP:
            conn.execute(statement)
    canary_file = tmp_path / "canary-file"
    book = tmp_path / "attacks.md"
    sections = [
        f"## Case {name}\n\n```sql\n{code.format(canary_file=canary_file)}\n```\n"
        for name, code in CASES
    ]
    book.write_text("# Read escapes\n\n" + "\n".join(sections), encoding="utf-8")
    before = state(fresh_db)
    victim = psycopg.connect(fresh_db, autocommit=True, application_name="victim")
    journal = str(tmp_path / "journal.sqlite3")
    broken: list[str] = []
    codes: dict[int, int] = {}
    try:
        for name, _code in CASES:
            result = run_opsdoc(
                "run", f"{book}#case-{name}", "--yes", "--target", fresh_db, "--journal", journal
            )
            codes[result.returncode] = codes.get(result.returncode, 0) + 1
            if result.returncode not in (0, 1, 3):  # ok, failed, refused: never a crash
                broken.append(f"{name}: exit {result.returncode}: {result.stderr[-300:]}")
            after = state(fresh_db)
            if after != before:
                broken.append(f"{name}: {before} -> {after}")
                before = after
            if canary_file.exists():
                broken.append(f"{name}: wrote {canary_file}")
                canary_file.unlink()
            try:
                victim.execute("SELECT 1")
            except psycopg.Error:
                broken.append(f"{name}: killed another session")
                victim = psycopg.connect(fresh_db, autocommit=True, application_name="victim")
    finally:
        victim.close()
    assert not broken, "\n".join(broken)
    assert len(CASES) >= 88
    assert codes.get(3, 0) > len(CASES) // 2  # most are refused outright, not merely failing
