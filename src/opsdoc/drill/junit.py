"""JUnit XML for drill results, the report format every CI system can show.

One ``<testsuite>`` per drill file, one ``<testcase>`` per drill; a failed
drill carries a ``<failure>`` whose type is the phase that failed.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from opsdoc.drill.spec import DrillResult


def junit_xml(results: list[DrillResult], *, name: str = "opsdoc drill") -> str:
    """The results as a JUnit XML document."""
    root = ET.Element("testsuites", name=name)
    files: dict[str, list[DrillResult]] = {}
    for result in results:
        files.setdefault(result.drill.file, []).append(result)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    for file, group in files.items():
        suite = ET.SubElement(
            root,
            "testsuite",
            name=file,
            tests=str(len(group)),
            failures=str(sum(not r.passed for r in group)),
            errors="0",
            skipped="0",
            time=_seconds(sum(r.duration for r in group)),
            timestamp=stamp,
        )
        for result in group:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=file,
                name=result.drill.name,
                time=_seconds(result.duration),
                file=file,
                line=str(result.drill.line),
            )
            if result.failure is not None:
                failure = result.failure
                node = ET.SubElement(
                    case, "failure", message=failure.message[:500], type=failure.phase
                )
                node.text = describe(result)
    root.set("tests", str(len(results)))
    root.set("failures", str(sum(not r.passed for r in results)))
    root.set("errors", "0")
    root.set("time", _seconds(sum(r.duration for r in results)))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(results: list[DrillResult], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(results), encoding="utf-8")


def describe(result: DrillResult) -> str:
    """Where a drill failed and why, in one line: ``check (file:40): ...``."""
    failure = result.failure
    if failure is None:
        return ""
    if failure.line is not None:
        where = f"{failure.phase} ({result.drill.file}:{failure.line})"
    elif failure.step is not None:
        where = f"run step {failure.step} of {result.drill.runbook.name}#{result.drill.section}"
    else:
        where = failure.phase
    return f"{where}: {failure.message}"


def _seconds(value: float) -> str:
    return f"{value:.3f}"
