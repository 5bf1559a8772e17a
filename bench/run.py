"""Run overhead: opsdoc's runner per step against the same work done directly.

- shell: N steps of ``true`` through the runner (plan, policy, executor,
  journal, masking) against N ``bash -c true``;
- SQL: N steps of ``SELECT 1`` through the runner (one connection per step,
  READ ONLY transaction) against N ``SELECT 1`` on one psycopg connection,
  and against N fresh connections (what a step really pays);
- the journal, SQLite and PostgreSQL: output events appended per second
  (batched, one transaction per batch) and other events (one commit each).

Uses an embedded PostgreSQL from pgserver in a temporary folder.
Run: ``.venv/bin/python bench/run.py [--steps 200]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from opsdoc import lab
from opsdoc.config import Target
from opsdoc.execute.plan import Plan, select_steps
from opsdoc.execute.runner import Policy, Runner, RunSettings
from opsdoc.journal import Journal, RunLog
from opsdoc.mask import Masker
from opsdoc.read import read_runbook


class QuietUI:
    def event(self, event: Any) -> None:
        pass

    def output(self, text: str, stream: str) -> None:
        pass

    def choose(self, planned: Any, options: list[str]) -> str:
        return "run"

    def confirm(self, request: Any) -> bool:
        return True

    def keep_going(self, reason: str) -> bool:
        return False


def new_run(store: Journal, masker: Masker, runbook: str, section: str, digest: str) -> RunLog:
    return store.start_run(
        runbook=runbook,
        section=section,
        content_hash=digest,
        user="bench",
        host="bench",
        target=None,
        git_commit=None,
        params={},
        argv=[],
        masker=masker,
    )


def runbook(folder: Path, lang: str, code: str, steps: int) -> Path:
    body = "".join(
        f"### Step {n}: Check\n\n```{lang}\n{code}\n```\n\n" for n in range(1, steps + 1)
    )
    path = folder / f"{lang}.md"
    path.write_text(f"# Bench\n\n## Many\n\n{body}")
    return path


def through_runner(path: Path, journal: Journal, target: Target | None) -> float:
    book = read_runbook(path)
    section = book.find("many")
    assert section is not None
    plan = Plan(book, section, select_steps(section))
    masker = Masker()
    runlog = new_run(journal, masker, str(path), "many", book.sha256)
    settings = RunSettings(
        policy=Policy(interactive=False, yes=True), target=target, user="bench", cwd=path.parent
    )
    start = time.perf_counter()
    code = Runner(plan, settings, runlog, masker, QuietUI()).run()
    elapsed = time.perf_counter() - start
    assert code == 0, f"bench run failed with exit {code}"
    return elapsed


def appends(name: str, store: Journal, events: int) -> None:
    """Events per second into one run: output chunks (batched), then events committed one by one."""
    masker = Masker(["not-a-real-secret"])
    runlog = new_run(store, masker, "bench.md", "x", "")
    start = time.perf_counter()
    for i in range(events):
        runlog.event("output", step=i % 10, text=f"line {i} of output with not-a-real-secret\n")
    runlog.flush()
    elapsed = time.perf_counter() - start
    label = f"journal {name}: output events appended (batched)"
    print(f"{label:<52} {events / elapsed:8.0f} /s")
    single = max(200, events // 50)
    start = time.perf_counter()
    for i in range(single):
        runlog.event("step_started", step=i)
    elapsed = time.perf_counter() - start
    label = f"journal {name}: other events (one commit each)"
    print(f"{label:<52} {single / elapsed:8.0f} /s")


def line(label: str, total: float, steps: int) -> float:
    per = total / steps * 1000
    print(f"{label:<46} {per:8.2f} ms/step")
    return per


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args()
    n = args.steps
    with tempfile.TemporaryDirectory(prefix="opsdoc-bench-") as tmp:
        folder = Path(tmp)
        journal = Journal(folder / "journal.sqlite3")
        server = lab.start(folder / "pg")
        dsn = lab.fresh_database(server, "bench", [])
        target = Target("bench", dsn)

        print(f"{n} steps each")
        start = time.perf_counter()
        for _ in range(n):
            subprocess.run(["bash", "-c", "true"], check=True)
        direct_sh = line("shell: bash -c true", time.perf_counter() - start, n)
        ours_sh = line(
            "shell: opsdoc runner",
            through_runner(runbook(folder, "bash", "true", n), journal, None),
            n,
        )
        print(f"{'  overhead per shell step':<46} {ours_sh - direct_sh:8.2f} ms")

        with psycopg.connect(dsn) as conn:
            start = time.perf_counter()
            for _ in range(n):
                conn.execute("SELECT 1").fetchall()
            direct_sql = line("sql: SELECT 1 on one connection", time.perf_counter() - start, n)
        start = time.perf_counter()
        for _ in range(n):
            with psycopg.connect(dsn) as conn:
                conn.execute("SELECT 1").fetchall()
        fresh_sql = line("sql: SELECT 1 on a new connection each", time.perf_counter() - start, n)
        ours_sql = line(
            "sql: opsdoc runner",
            through_runner(runbook(folder, "sql", "SELECT 1;", n), journal, target),
            n,
        )
        print(f"{'  overhead per SQL step vs one connection':<46} {ours_sql - direct_sql:8.2f} ms")
        print(f"{'  overhead per SQL step vs a new connection':<46} {ours_sql - fresh_sql:8.2f} ms")

        pg_journal = Journal(lab.fresh_database(server, "journal", []))
        for name, store in (("sqlite", journal), ("postgresql", pg_journal)):
            appends(name, store, n * 50)
        pg_journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
