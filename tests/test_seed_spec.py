"""The acceptance spec: ../shared/spec/seed-runbooks.yaml against `opsdoc show --json`.

One test per spec section, so a failure names its section. The seeds are
read from ../shared, never copied into the project.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
import yaml

from conftest import SEEDS, SPEC, run_opsdoc

SPEC_DATA: dict[str, Any] = (
    yaml.safe_load(SPEC.read_text(encoding="utf-8")) if SPEC.exists() else {}
)


def norm_title(title: str) -> str:
    """Titles as the spec compares them: no numbering, "Scenario:", emoji or quotes."""
    text = "".join(ch for ch in title if unicodedata.category(ch) not in ("So", "Sk", "Cn"))
    text = text.replace("\ufe0f", "").replace("\u200d", "").strip()
    text = re.sub(r"^\d+[.)]\s*", "", text)
    text = re.sub(r"^scenario\s*:\s*", "", text, flags=re.IGNORECASE)
    return text.strip().strip("\"'“”").strip().lower()


_SHOWN: dict[str, dict[str, Any]] = {}


def shown(name: str) -> dict[str, Any]:
    if name not in _SHOWN:
        result = run_opsdoc("show", "--json", str(SEEDS / name))
        assert result.returncode == 0, result.stderr
        _SHOWN[name] = json.loads(result.stdout)
    return _SHOWN[name]


def units(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Sections a user works with, in document order: containers left out."""
    return [s for s in walk_all(data) if s["kind"] != "container"]


def find_section(name: str, title: str) -> dict[str, Any]:
    matches = [s for s in units(shown(name)) if norm_title(s["title"]) == norm_title(title)]
    assert matches, f"no section titled {title!r}; have {[s['title'] for s in units(shown(name))]}"
    return matches[0]


FILES = sorted(SPEC_DATA)
SECTION_CASES = [
    pytest.param(name, index, id=f"{name[:3]}:{spec['title']}")
    for name in FILES
    for index, spec in enumerate(SPEC_DATA[name]["sections"])
]


@pytest.mark.parametrize("name", FILES, ids=[n[:3] for n in FILES])
def test_runbook_title_metadata_and_section_order(name: str) -> None:
    spec = SPEC_DATA[name]
    data = shown(name)
    assert norm_title(data["title"]) == norm_title(spec["title"])
    assert "ð" not in data["title"]
    for key, value in (spec.get("metadata") or {}).items():
        assert data["metadata"].get(key) == value, key
    ours = [norm_title(s["title"]) for s in units(data)]
    theirs = [norm_title(s["title"]) for s in spec["sections"]]
    assert ours == theirs


@pytest.mark.parametrize(("name", "index"), SECTION_CASES)
def test_section(name: str, index: int) -> None:
    spec = SPEC_DATA[name]["sections"][index]
    section = find_section(name, spec["title"])
    assert section["kind"] == spec["kind"]
    if "severity" in spec:
        assert section["severity"] == spec["severity"]
    extracted = "\n".join(section["symptoms"] + section["signals"]).lower()
    for symptom in spec.get("symptoms", []):
        assert symptom.lower() in extracted, f"symptom {symptom!r} not in {extracted!r}"
    if "items" in spec:
        assert len(section["items"]) == spec["items"]
    if "steps" in spec:
        check_steps(section["steps"], spec["steps"])
    for param in spec.get("params", []):
        have = {p["name"]: p for p in section["params"]}
        assert param["name"] in have, f"param {param['name']} missing; have {list(have)}"
        assert have[param["name"]]["secret"] is param["secret"], param["name"]
    if "quick_actions" in spec:
        check_quick_actions(section["quick_actions"], spec["quick_actions"])


def check_steps(steps: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> None:
    described = [(s["phase"], s["lang"], s["safety"], s["option"]) for s in steps]
    assert len(steps) == len(wanted), f"steps: {described}"
    offers_options = any("option" in w for w in wanted)
    for number, (step, want) in enumerate(zip(steps, wanted, strict=True), 1):
        where = f"step {number}: {described[number - 1]}"
        assert step["executable"] is True
        assert step["phase"] == want["phase"], where
        assert step["lang"] == want["lang"], where
        if "safety" in want:
            if want["safety"] == "write+":
                assert step["safety"] in ("write", "destructive"), where
            else:
                assert step["safety"] == want["safety"], where
        if "option" in want:
            assert option_matches(step["option"], str(want["option"])), where
        elif offers_options:
            assert step["option"] is None, where
        if "group" in want:
            assert step["group"] == want["group"], where
        for expect in want.get("expect", []):
            assert expect in step["expect"], f"{where}: expect {expect!r} in {step['expect']}"


def option_matches(ours: str | None, theirs: str) -> bool:
    if ours is None:
        return False
    return ours.lower() == theirs.lower() or ours.lower().startswith(theirs.lower())


def check_quick_actions(actions: list[dict[str, Any]], wanted: list[dict[str, Any]]) -> None:
    by_name = {a["name"]: a for a in actions}
    for want in wanted:
        assert want["name"] in by_name, f"quick action {want['name']!r} missing"
        have = by_name[want["name"]]
        for key in ("command", "expect"):
            if key in want:
                assert have[key] == want[key], f"{want['name']}: {key}"


@pytest.mark.parametrize("name", FILES, ids=[n[:3] for n in FILES])
def test_every_code_block_lands_once(name: str) -> None:
    data = shown(name)
    landed = sum(len(s["steps"]) + len(s["snippets"]) for s in walk_all(data))
    assert landed == data["code_blocks"] > 0


def walk_all(data: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def visit(section: dict[str, Any]) -> None:
        out.append(section)
        for child in section["children"]:
            visit(child)

    for section in data["sections"]:
        visit(section)
    return out
