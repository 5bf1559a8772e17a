"""``opsdoc lint``: static checks that keep runbooks runnable and honest.

Every file goes through the same read pipeline as ``run`` and ``show``; the
rules read the model it builds. Rules that need outside tools (``bash -n``,
ShellCheck) run once over all files at the end, which keeps a whole folder
fast. Then severities from opsdoc.toml apply, disabled rules and inline
suppressions drop findings, and every message is masked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from opsdoc.errors import OpsdocError
from opsdoc.lint import freshness, params, secrets, shell, sqlcheck, structure
from opsdoc.lint.doc import Doc, Finding
from opsdoc.lint.rules import FAIL_ON, RULES, SEVERITIES, at_least
from opsdoc.lint.suppress import find_suppressions
from opsdoc.load import DEFAULT_MAX_BYTES, iter_runbook_paths, load_file
from opsdoc.mask import Masker
from opsdoc.read import read_runbook

__all__ = [
    "RULES",
    "Finding",
    "LintOptions",
    "LintResult",
    "at_least",
    "lint_paths",
    "lint_runbook",
]

_MASKER = Masker()


@dataclass
class LintOptions:
    disable: set[str] = field(default_factory=set)
    severity: dict[str, str] = field(default_factory=dict)  # rule -> severity
    stale_days: int = 180
    fail_on: str = "error"
    known_params: set[str] = field(default_factory=set)  # opsdoc.toml [params]
    shellcheck: bool = True
    today: date = field(default_factory=date.today)
    max_bytes: int = DEFAULT_MAX_BYTES
    command_rules: Sequence[Path] = ()
    sql_rules: Sequence[Path] = ()

    def validate(self, where: str | None = None) -> None:
        """Unknown rule ids or severities are mistakes worth stopping for."""
        for rule in [*self.disable, *self.severity]:
            if rule not in RULES and rule != "all":
                known = ", ".join(RULES)
                raise OpsdocError(f"unknown lint rule {rule!r}", path=where, hint=f"rules: {known}")
        for rule, level in self.severity.items():
            if level not in SEVERITIES:
                raise OpsdocError(
                    f"severity {level!r} for {rule} is not one of error, warning, note",
                    path=where,
                )
        if self.fail_on not in FAIL_ON:
            raise OpsdocError(
                f"fail-on {self.fail_on!r} is not one of {', '.join(FAIL_ON)}", path=where
            )


@dataclass
class LintResult:
    findings: list[Finding] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unreadable: list[OpsdocError] = field(default_factory=list)

    def failed(self, fail_on: str) -> bool:
        return any(at_least(f.severity, fail_on) for f in self.findings)


def lint_paths(
    paths: Iterable[str | Path],
    options: LintOptions,
    *,
    warn: Callable[[str], None] = lambda message: None,
) -> LintResult:
    """Lint every runbook under ``paths``; unreadable files are collected, not raised."""
    result = LintResult()
    docs: list[Doc] = []
    for path in iter_runbook_paths([Path(p) for p in paths], on_warning=warn):
        try:
            docs.append(_read(path, options))
        except OpsdocError as exc:
            result.unreadable.append(exc)
            continue
        result.files.append(str(path))
    for doc in docs:
        _model_rules(doc, options)
    shell.check(docs, shellcheck=options.shellcheck, warn=warn)
    for doc in docs:
        result.findings.extend(_finish(doc, options))
    result.findings.sort(key=lambda f: (f.file, f.line, f.rule))
    return result


def lint_runbook(path: str | Path, options: LintOptions | None = None) -> list[Finding]:
    """The findings of one file (raises OpsdocError when it cannot be read)."""
    options = options or LintOptions()
    doc = _read(str(path), options)
    _model_rules(doc, options)
    shell.check([doc], shellcheck=options.shellcheck, warn=lambda message: None)
    return sorted(_finish(doc, options), key=lambda f: (f.line, f.rule))


def _read(path: str, options: LintOptions) -> Doc:
    runbook = read_runbook(
        path,
        max_bytes=options.max_bytes,
        command_rules=options.command_rules,
        sql_rules=options.sql_rules,
    )
    text = load_file(path, max_bytes=options.max_bytes).text
    return Doc(path=str(path), runbook=runbook, lines=text.split("\n"))


def _model_rules(doc: Doc, options: LintOptions) -> None:
    sqlcheck.check(doc)
    structure.check(doc)
    params.check(doc, options.known_params)
    secrets.check(doc)
    freshness.check(doc, options.stale_days, options.today)


def _finish(doc: Doc, options: LintOptions) -> list[Finding]:
    hidden = find_suppressions(doc.lines)
    out: list[Finding] = []
    seen: set[tuple[str, int, str]] = set()
    for finding in doc.findings:
        if finding.rule in options.disable or "all" in options.disable:
            continue
        if hidden.hides(finding.rule, finding.line):
            continue
        key = (finding.rule, finding.line, finding.message)
        if key in seen:
            continue
        seen.add(key)
        finding.severity = options.severity.get(finding.rule, RULES[finding.rule].severity)
        finding.message = _MASKER.mask(finding.message)
        out.append(finding)
    return out
