"""`opsdoc list` and `opsdoc show` as a user runs them, on the project's examples."""

from __future__ import annotations

import json

from conftest import EXAMPLES, SEEDS, run_opsdoc


def test_list_examples_as_json() -> None:
    result = run_opsdoc("list", "--json", str(EXAMPLES))
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    ids = {(r["file"].split("/")[-1], r["id"]): r for r in rows}
    stalled = ids[("label-worker.md", "scenario-label-worker-stalled")]
    assert stalled["kind"] == "scenario"
    assert stalled["steps"] == {"diagnose": 2, "act": 1, "verify": 1}
    assert ids[("deploy-and-rollback.md", "pre-deploy-checklist")]["kind"] == "checklist"
    assert {r["kind"] for r in rows} >= {"scenario", "procedure", "check", "checklist", "reference"}


def test_list_text_names_every_section() -> None:
    result = run_opsdoc("list", str(EXAMPLES / "payments-and-refunds.md"))
    assert result.returncode == 0
    for anchor in ("#1-refunds-stuck-in-pending", "#3-merchant-charged-twice-for-one-label"):
        assert anchor in result.stdout


def test_show_renders_numbered_steps_with_phase_and_safety() -> None:
    result = run_opsdoc(
        "show", str(EXAMPLES / "payments-and-refunds.md") + "#1-refunds-stuck-in-pending"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "1. diagnose · sql · read" in out
    assert "3. act · sql · destructive · option B" in out
    assert "Symptoms:" in out and "refunds_carrier_ref_unique" in out
    assert "Merchant charged twice" not in out  # only the section asked for


def test_show_json_of_one_section_and_by_a_sub_heading_anchor() -> None:
    target = str(SEEDS / "003_5a19d28ffda2e27a.txt") + "#step-3-reset-locked-jobs-in-queue"
    result = run_opsdoc("show", "--json", target)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    (section,) = data["sections"]
    assert section["id"] == "1-scenario-worker-death-heartbeat-failure"
    assert set(data) >= {"path", "title", "metadata", "sections"}
    step = section["steps"][3]
    assert set(step) >= {
        "phase",
        "lang",
        "executable",
        "safety",
        "option",
        "group",
        "title",
        "code",
        "params",
        "expect",
    }
    assert [s["kind"] for s in step["statements"]] == ["SelectStmt", "UpdateStmt", "SelectStmt"]


def test_usage_errors_exit_2_without_traceback() -> None:
    for args in (["list"], ["show"], ["frobnicate"], ["list", "--max-size", "lots", "."]):
        result = run_opsdoc(*args)
        assert result.returncode == 2, args
        assert "Traceback" not in result.stderr


def test_help_lists_the_commands() -> None:
    result = run_opsdoc("--help")
    assert result.returncode == 0
    assert "list" in result.stdout and "show" in result.stdout
