"""Classify: how dangerous each step is, statement by statement.

Each language has its own classifier (``sql`` with pglast, ``shell`` with
bashlex and the rules of known CLIs); this module picks one for a step and
folds the statements' classes into the step's. The parser calls
:func:`classify_step` through its step hook, so parsing never imports this.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from opsdoc.model import Statement, Step, max_safety


def classify_step(step: Step, *, rule_files: Sequence[Path] = ()) -> None:
    """Fill in a step's statements, safety and the reasons for it."""
    names = [p.name for p in step.params if p.source == "angle"]
    step.statements = classify_code(
        step.lang, step.code, line=step.line, placeholders=names, rule_files=rule_files
    )
    if not step.statements:
        step.safety = "write"
        step.safety_reasons = ["nothing recognizable to classify; counts as write"]
        return
    step.safety = max_safety(*(s.safety for s in step.statements))
    reasons: list[str] = []
    for statement in step.statements:
        if statement.safety == step.safety and statement.reason not in reasons:
            reasons.append(statement.reason)
    step.safety_reasons = reasons[:5]


def classify_code(
    lang: str,
    code: str,
    *,
    line: int = 1,
    placeholders: Sequence[str] = (),
    rule_files: Sequence[Path] = (),
) -> list[Statement]:
    """Statements of a block in one of the runnable languages."""
    if lang == "sql":
        from opsdoc.classify.sql import classify_sql

        return classify_sql(code, line=line, placeholders=placeholders)
    if lang in ("bash", "powershell"):
        from opsdoc.classify import shell

        rules = shell.load_command_rules(tuple(rule_files)) if rule_files else None
        fn = shell.classify_shell if lang == "bash" else shell.classify_powershell
        return fn(code, line=line, placeholders=placeholders, rules=rules)
    return [
        Statement(
            code.strip(),
            "write",
            f"{lang} code can do anything; it counts as write",
            line,
            kind=lang,
        )
    ]
