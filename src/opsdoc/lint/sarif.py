"""``--format sarif``: SARIF 2.1.0 that GitHub code scanning accepts.

GitHub reads ``runs[].tool.driver`` (name and ``rules[]``), and for each
result ``ruleId``, ``level``, ``message.text`` and one physical location with
a repository-relative ``uri`` and ``region.startLine``. A fingerprint that
leaves out the line keeps an alert the same alert when lines move above it.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from opsdoc.lint.doc import Finding
from opsdoc.lint.rules import RULES

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _version() -> str:
    try:
        return metadata.version("opsdoc")
    except metadata.PackageNotFoundError:
        return "0"


def artifact_uri(path: str, root: Path | None = None) -> str:
    """A path relative to ``root`` (the current folder) with forward slashes, or a
    file URI when the file lies outside it."""
    base = (root or Path.cwd()).resolve()
    full = Path(path).resolve()
    try:
        return full.relative_to(base).as_posix()
    except ValueError:
        return full.as_uri() if os.path.isabs(path) or ".." in Path(path).parts else path


def to_sarif(findings: list[Finding], severity: dict[str, str]) -> dict[str, Any]:
    """The SARIF log of one lint run; ``severity`` is each rule's effective level."""
    rule_ids = list(RULES)
    rules = [
        {
            "id": rule.id,
            "name": "".join(part.title() for part in rule.id.split("-")),
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary} {rule.help}"},
            "help": {"text": f"{rule.help} See docs/lint.md#{rule.id}."},
            "defaultConfiguration": {"level": severity.get(rule.id, rule.severity)},
        }
        for rule in RULES.values()
    ]
    results = []
    for finding in findings:
        uri = artifact_uri(finding.file)
        digest = hashlib.sha256(
            f"{finding.rule}\0{uri}\0{finding.section}\0{finding.message}".encode()
        ).hexdigest()[:32]
        results.append(
            {
                "ruleId": finding.rule,
                "ruleIndex": rule_ids.index(finding.rule),
                "level": finding.severity,
                "message": {"text": finding.message},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": {"uri": uri},
                            "region": {"startLine": finding.line},
                        }
                    }
                ],
                "partialFingerprints": {"opsdocFinding/v1": digest},
            }
        )
    return {
        "version": "2.1.0",
        "$schema": SCHEMA,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "opsdoc",
                        "version": _version(),
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
