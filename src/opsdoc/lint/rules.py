"""The lint rules: one id, a default severity and a line of help for each.

Kept in one table so the text output, ``--format sarif`` (whose ``rules[]``
GitHub code scanning shows) and ``docs/lint.md`` all describe the same set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "note"]
SEVERITIES: tuple[Severity, ...] = ("note", "warning", "error")  # weakest first
FAIL_ON = ("error", "warning", "note", "never")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str  # what the rule finds, one line
    help: str  # what to do about it


_RULES = [
    Rule(
        "sql-syntax",
        "error",
        "An SQL statement that PostgreSQL's parser rejects, placeholders filled first.",
        "Fix the statement, or give the fence its real language (```mysql) so opsdoc "
        "does not try to run it.",
    ),
    Rule(
        "shell-syntax",
        "error",
        "A shell step that `bash -n` rejects, placeholders filled first.",
        "Fix the command, or mark console output as ```console / ```text.",
    ),
    Rule(
        "shellcheck",
        "warning",
        "A ShellCheck finding in a shell step (noise for runbooks is excluded).",
        "Follow the ShellCheck wiki page named in the message, or add a "
        "`# shellcheck disable=SCnnnn` comment to the block.",
    ),
    Rule(
        "psql-meta",
        "warning",
        "A psql meta-command (`\\du`) in an SQL block: it runs only through psql.",
        "Write the catalog query instead, or run psql from a shell step.",
    ),
    Rule(
        "not-transactional",
        "warning",
        "A block mixing statements that cannot run in a transaction with writes.",
        "Put the VACUUM / CREATE INDEX CONCURRENTLY / REFRESH ... CONCURRENTLY in a step "
        "of its own.",
    ),
    Rule(
        "mismatched-refresh",
        "warning",
        "A REFRESH MATERIALIZED VIEW whose own comments doubt the view is materialized.",
        "Check pg_matviews and keep either the step or the doubt, not both.",
    ),
    Rule(
        "mismatched-comment",
        "warning",
        "An SQL statement whose comment says it only looks, while it changes data.",
        "Reword the comment, or split the read from the write.",
    ),
    Rule(
        "empty-step",
        "warning",
        "A code block in a runnable language that holds only comments.",
        "Write the command it describes, or turn the comments into prose.",
    ),
    Rule(
        "unexplained-param",
        "warning",
        "A <placeholder> whose meaning the runbook never gives.",
        "Explain it in the text, add a row to a Parameters table, or show an example value.",
    ),
    Rule(
        "destructive-unguarded",
        "warning",
        "A destructive step with no warning in its text and no verification after it.",
        "Say what it destroys and add a verify step after it.",
    ),
    Rule(
        "no-verify",
        "warning",
        "A scenario with fix steps and no verification step.",
        "Add a step under a Verify heading or label that shows the fix worked.",
    ),
    Rule(
        "no-symptom",
        "note",
        "A scenario that names no symptom, error line or alert.",
        "Add a Symptoms list so `opsdoc find` can match what the on-call sees.",
    ),
    Rule(
        "broken-anchor",
        "error",
        "A link to #anchor that no heading of the file produces.",
        "Point the link at an existing heading's anchor.",
    ),
    Rule(
        "stale",
        "warning",
        "A Last updated / Next review date older than the allowed age.",
        "Review the runbook and update the date.",
    ),
    Rule(
        "hardcoded-secret",
        "error",
        "A literal token, key or password in a step.",
        "Use $VARIABLE or <placeholder> and keep the value in a secret store; rotate it.",
    ),
    Rule(
        "unclosed-fence",
        "warning",
        "A code fence that is never closed, so the rest of the file reads as code.",
        "Close the fence.",
    ),
]

RULES: dict[str, Rule] = {rule.id: rule for rule in _RULES}


def at_least(severity: str, threshold: str) -> bool:
    """Whether ``severity`` is at or above ``threshold`` (``never`` is never reached)."""
    if threshold == "never":
        return False
    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)  # type: ignore[arg-type]
