"""``opsdoc lint``: static checks of runbooks, as text, JSON or SARIF.

Exit 0 when nothing reaches ``--fail-on``, 1 when something does or there
is no runbook to lint, 2 when a file could not be read or an argument or
opsdoc.toml is wrong.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from opsdoc.cli import render
from opsdoc.cli.app import app
from opsdoc.config import load_config
from opsdoc.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, OpsdocError
from opsdoc.lint import RULES, LintOptions, LintResult, at_least, lint_paths
from opsdoc.lint.sarif import to_sarif
from opsdoc.load import empty_folders, parse_size

FORMATS = ("text", "json", "sarif")
_STYLE = {"error": "bold red", "warning": "yellow", "note": "cyan"}


@app.command("lint")
def lint_cmd(
    paths: Annotated[
        list[Path], typer.Argument(metavar="PATH", help="Runbook files or directories.")
    ],
    output: Annotated[
        str,
        typer.Option("--format", metavar="FORMAT", help="text, json or sarif.", show_default=True),
    ] = "text",
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on", metavar="LEVEL", help="error, warning, note or never (default: error)."
        ),
    ] = None,
    disable: Annotated[
        list[str],
        typer.Option("--disable", metavar="RULE", help="Rule id to skip (repeatable, or a,b)."),
    ] = [],  # noqa: B006
    stale_days: Annotated[
        int | None,
        typer.Option("--stale-days", metavar="DAYS", help="Age that makes a date stale (180)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", metavar="FILE", help="opsdoc.toml to use.")
    ] = None,
    shellcheck: Annotated[
        bool, typer.Option("--shellcheck/--no-shellcheck", help="Run ShellCheck on shell steps.")
    ] = True,
    max_size: Annotated[
        str, typer.Option("--max-size", metavar="SIZE", help="Largest file to read.")
    ] = "5MB",
) -> None:
    """Check runbooks: SQL and shell that do not parse, unexplained placeholders,
    unguarded destructive steps, dead anchors, stale dates, secrets, and more."""
    if output not in FORMATS:
        raise OpsdocError(f"unknown format {output!r}", hint="use text, json or sarif")
    for path in paths:
        if not path.exists():
            raise OpsdocError("no such file or directory", path=str(path))
    cfg = load_config(config, near=paths[0] if paths else Path.cwd())
    where = str(cfg.path) if cfg.path else None
    options = LintOptions(
        disable={r.strip() for r in [*cfg.lint.disable, *_split(disable)] if r.strip()},
        severity=dict(cfg.lint.severity),
        stale_days=stale_days if stale_days is not None else (cfg.lint.stale_days or 180),
        fail_on=fail_on or cfg.lint.fail_on or "error",
        known_params=set(cfg.params),
        shellcheck=shellcheck,
        max_bytes=parse_size(max_size),
        command_rules=cfg.command_rules,
        sql_rules=cfg.sql_rules,
    )
    options.validate(where)

    result = lint_paths(paths, options, warn=_warn)
    for error in result.unreadable:
        print(f"error: {error}", file=sys.stderr)
    seen = [*result.files, *(e.path for e in result.unreadable if e.path)]
    for message in empty_folders(paths, seen):
        print(f"{'warning' if seen else 'error'}: {message}", file=sys.stderr)
    if output == "json":
        print(json.dumps([f.to_dict() for f in result.findings], indent=2, ensure_ascii=False))
    elif output == "sarif":
        levels = {rid: options.severity.get(rid, rule.severity) for rid, rule in RULES.items()}
        print(json.dumps(to_sarif(result.findings, levels), indent=2, ensure_ascii=False))
    elif result.files:
        _print(result, options.fail_on)
    if result.unreadable:
        raise typer.Exit(EXIT_BAD_INPUT)
    if not seen:  # a CI job that lints a folder of nothing should not pass
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(EXIT_FAILED if result.failed(options.fail_on) else EXIT_OK)


def _split(values: list[str]) -> list[str]:
    return [part for value in values for part in value.split(",")]


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _print(result: LintResult, fail_on: str) -> None:
    """``file:line  severity  rule  message``, a blank line between files, a summary."""
    console = render.console
    previous = None
    for finding in result.findings:
        if previous is not None and finding.file != previous:
            console.print()
        previous = finding.file
        line = Text(f"{finding.file}:{finding.line}", style="bold")
        line.append("  ")
        line.append(f"{finding.severity:<7}", style=_STYLE.get(finding.severity, ""))
        line.append(f"  {finding.rule:<21}  ", style="dim")
        line.append(finding.message)
        console.print(line, soft_wrap=True)
    files = len(result.files)
    if not result.findings:
        console.print(Text(f"no findings in {_plural(files, 'file')}"), soft_wrap=True)
        return
    counts = {level: 0 for level in ("error", "warning", "note")}
    for finding in result.findings:
        counts[finding.severity] += 1
    touched = len({f.file for f in result.findings})
    summary = (
        f"{_plural(len(result.findings), 'finding')} in {touched} of {_plural(files, 'file')}: "
        + ", ".join(_plural(n, level) for level, n in counts.items())
    )
    failing = sum(1 for f in result.findings if at_least(f.severity, fail_on))
    if failing:
        summary += f" ({failing} at or above --fail-on {fail_on})"
    console.print()
    console.print(Text(summary, style="bold"), soft_wrap=True)
