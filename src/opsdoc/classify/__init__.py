"""Classify: how dangerous each step is, statement by statement.

Each language has its own classifier (``sql`` with pglast, ``shell`` with
bashlex, ``powershell`` with a scanner, both judging commands by the rules of
known CLIs); this module picks one for a step and folds the statements'
classes into the step's. The parser calls :func:`classify_step` through its
step hook, so parsing never imports this.

A team's rule files come in two shapes, one per kind of rule: command rules
(``rule_files``, like ``rules/commands.toml``) and SQL function rules
(``sql_rule_files``, like ``rules/sql.toml``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from opsdoc.model import Statement, Step, max_safety


def classify_step(
    step: Step, *, rule_files: Sequence[Path] = (), sql_rule_files: Sequence[Path] = ()
) -> None:
    """Fill in a step's statements, safety and the reasons for it."""
    names = [p.name for p in step.params if p.source == "angle"]
    step.statements = classify_code(
        step.lang,
        step.code,
        line=step.line,
        placeholders=names,
        rule_files=rule_files,
        sql_rule_files=sql_rule_files,
    )
    if step.code_lines:  # a prompt block: its code lines are not consecutive in the file
        step.statements = [_at_file_line(s, step) for s in step.statements]
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


def _at_file_line(statement: Statement, step: Step) -> Statement:
    offset = statement.line - step.line
    if 0 <= offset < len(step.code_lines):
        return replace(statement, line=step.code_lines[offset])
    return statement


def classify_code(
    lang: str,
    code: str,
    *,
    line: int = 1,
    placeholders: Sequence[str] = (),
    rule_files: Sequence[Path] = (),
    sql_rule_files: Sequence[Path] = (),
) -> list[Statement]:
    """Statements of a block in one of the runnable languages.

    ``rule_files`` are a team's command rules (bash and PowerShell),
    ``sql_rule_files`` its SQL function rules; a bad file raises the loader's
    error (``RulesError``, ``SqlRulesError``) naming it.
    """
    if lang == "sql":
        from opsdoc.classify.sql import classify_sql, load_sql_rules

        sql_rules = load_sql_rules(tuple(sql_rule_files)) if sql_rule_files else None
        return classify_sql(code, line=line, placeholders=placeholders, rules=sql_rules)
    if lang in ("bash", "powershell"):
        from opsdoc.classify.command_rules import load_command_rules
        from opsdoc.classify.powershell import classify_powershell
        from opsdoc.classify.shell import classify_shell

        rules = load_command_rules(tuple(rule_files)) if rule_files else None
        fn = classify_shell if lang == "bash" else classify_powershell
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
