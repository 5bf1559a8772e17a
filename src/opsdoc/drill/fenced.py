"""Running a drill's own fences: setup that injects a fault, checks that judge the result.

SQL setup runs as one script in autocommit, the way ``psql -f`` would.
SQL checks (``before`` and ``check``) run in a READ ONLY transaction that
is rolled back, so judging the sandbox never changes it; one passes when
it runs without error and the first column of every row it returns is
true (``SELECT count(*) = 0 AS no_stuck_jobs FROM ...``). A bash fence
passes when it exits 0; it runs like a runbook step (its own process
group, a timeout, stdin closed), with the drill's environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg

from opsdoc.drill.spec import Fence
from opsdoc.execute import Confirmation
from opsdoc.execute.process import run_process
from opsdoc.mask import Masker
from opsdoc.model import Step

FENCE_TIMEOUT = 300.0
MAX_CHECK_ROWS = 1000
SHOWN_ROWS = 3


@dataclass
class FenceOutcome:
    ok: bool
    message: str = ""  # one line: what went wrong, or what a check saw
    output: str = ""  # a bash fence's output


class _Collect:
    """Executor hooks for a drill fence: keep the output, grant any confirmation."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def output(self, text: str, stream: Literal["stdout", "stderr"]) -> None:
        self.parts.append(text)

    def confirm(self, request: Confirmation) -> bool:
        return True


def run_fence(
    fence: Fence, *, dsn: str, env: Mapping[str, str], cwd: Path, masker: Masker
) -> FenceOutcome:
    """Run one setup, before or check fence against the drill's sandbox."""
    if fence.lang == "bash":
        return _bash(fence, env, cwd, masker)
    if fence.kind == "setup":
        return _sql_setup(fence, dsn, masker)
    return _sql_check(fence, dsn, masker)


def _bash(fence: Fence, env: Mapping[str, str], cwd: Path, masker: Masker) -> FenceOutcome:
    step = Step(phase="act", lang="bash", code=fence.code, line=fence.line + 1)
    hooks = _Collect()
    outcome = run_process(
        step, values={}, hooks=hooks, timeout=FENCE_TIMEOUT, cwd=cwd, env=dict(env)
    )
    output = masker.mask("".join(hooks.parts) or outcome.output)
    if outcome.status == "ok":
        return FenceOutcome(True, output=output)
    last = tail(output)
    message = outcome.error or f"ended {outcome.status}"
    return FenceOutcome(False, message + (f"; output: {last}" if last else ""), output)


def _sql_setup(fence: Fence, dsn: str, masker: Masker) -> FenceOutcome:
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(fence.code)  # type: ignore[arg-type]  # the author's script, as written
    except psycopg.Error as exc:
        return FenceOutcome(False, "PostgreSQL: " + masker.mask(_one_line(exc)))
    return FenceOutcome(True)


def _sql_check(fence: Fence, dsn: str, masker: Masker) -> FenceOutcome:
    seen: list[str] = []
    try:
        with psycopg.connect(dsn) as conn:
            conn.read_only = True
            try:
                cursor = conn.execute(fence.code)  # type: ignore[arg-type]
                number = 0
                while True:
                    if cursor.description is not None:
                        number += 1
                        verdict = _judge(number, cursor)
                        seen.append(verdict[1])
                        if not verdict[0]:
                            return FenceOutcome(False, masker.mask(verdict[1]))
                    if not cursor.nextset():
                        break
            finally:
                conn.rollback()
    except psycopg.Error as exc:
        return FenceOutcome(False, "PostgreSQL: " + masker.mask(_one_line(exc)))
    if not seen:
        return FenceOutcome(
            False, "returned no rows to judge: a SQL check must SELECT something that is true"
        )
    return FenceOutcome(True, masker.mask("; ".join(seen)))


def _judge(number: int, cursor: Any) -> tuple[bool, str]:
    """Whether every row's first column is true, and what was returned, in one line."""
    columns = [d.name for d in cursor.description]
    rows = cursor.fetchmany(MAX_CHECK_ROWS)
    label = f"result {number}" if number > 1 else "result"
    if not rows:
        return False, f"{label} has no rows (a check must return rows whose first column is true)"
    bad = [row for row in rows if row[0] is not True]
    shown = bad or rows
    text = ", ".join(_row(columns, row) for row in shown[:SHOWN_ROWS])
    if len(shown) > SHOWN_ROWS:
        text += f", … ({len(shown)} rows)"
    if bad:
        return False, f"{label} not true in every row: {text}"
    return True, text


def _row(columns: list[str], row: tuple[Any, ...]) -> str:
    cells = [f"{name}={_cell(value)}" for name, value in zip(columns, row, strict=False)]
    return cells[0] if len(cells) == 1 else "(" + ", ".join(cells) + ")"


def _cell(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return " ".join(text.splitlines()[:1]) if text else type(exc).__name__


def tail(output: str, lines: int = 3, width: int = 300) -> str:
    kept = [line.strip() for line in output.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-width:]
