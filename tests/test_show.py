"""`opsdoc show` prints a section whole: prose, tables, lists and steps in place.

The on-call reader needs the contacts, the escalation path and the web
console's click-path as much as the commands. Output here is piped (the
harness never gives opsdoc a terminal), so nothing may be wrapped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import CORPUS, SEEDS, run_opsdoc

SEED_003 = SEEDS / "003_5a19d28ffda2e27a.txt"
SEED_004 = SEEDS / "004_95e26377be71e20e.txt"


def show(*args: str) -> str:
    result = run_opsdoc("show", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def table_rows(path: Path, heading: str) -> list[list[str]]:
    """The cells of the first table under ``heading``, read from the file itself."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.lstrip("# ").strip() == heading)
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not re.fullmatch(r"[|\-: ]+", line):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_seed_004_contacts_table_and_escalation_path_are_shown() -> None:
    out = show(f"{SEED_004}#emergency-contacts")
    rows = table_rows(SEED_004, "Emergency Contacts")
    assert len(rows) >= 3
    printed = [line for line in out.splitlines() if "|" in line]
    for row in rows:  # header and every contact, one table row per printed line
        assert any(all(cell in line for cell in row) for line in printed), row
    out = show(f"{SEED_004}#escalation-path")
    levels = re.findall(r"Level \d+", out)
    assert levels == [f"Level {n}" for n in range(1, len(levels) + 1)] and len(levels) >= 3
    assert "on-call engineer" in out


def test_seed_003_web_ui_steps_stand_between_the_commands() -> None:
    out = show(str(SEED_003))
    lines = out.splitlines()
    ui = next(i for i, line in enumerate(lines) if line.startswith("Railway Web UI:"))
    # the web console's numbered click-path follows its label...
    assert lines[ui + 1].startswith("1. ") and "Railway dashboard" in lines[ui + 1]
    assert "Restart" in lines[ui + 2] and lines[ui + 3].startswith("3. ")
    # ...between the CLI option (step 2) and the PowerShell option (step 3)
    before = "\n".join(lines[:ui])
    after = "\n".join(lines[ui:])
    assert "2. act · bash · write · option Railway CLI" in before
    assert "3. act · powershell" in after


def test_piped_output_is_not_wrapped(tmp_path: Path) -> None:
    long = "word " * 80
    book = tmp_path / "long.md"
    book.write_text(
        f"# Book\n\n## Thing broke\n\n{long.strip()}\n\n| a | b |\n|---|---|\n| {long} | x |\n\n"
        f"```bash\necho {long.strip()}\n```\n",
        encoding="utf-8",
    )
    out = show(str(book))
    assert any(line.strip() == long.strip() for line in out.splitlines())
    assert any(long.strip() in line and line.rstrip().endswith("| x") for line in out.splitlines())
    assert any(line.endswith(f"echo {long.strip()}") for line in out.splitlines())


def test_show_keeps_document_order_quotes_links_and_lists(tmp_path: Path) -> None:
    book = tmp_path / "order.md"
    book.write_text(
        "# Book\n\n## Queue stuck\n\nFirst look at [the dashboard](https://dash.example/q).\n\n"
        "> [!WARNING]\n> Draining drops in-flight jobs.\n\n"
        "```bash\nls /var/spool\n```\n\n- check the worker\n  - and its logs\n\n"
        "```yaml\nkey: value\n```\n\nThen tell the team.\n",
        encoding="utf-8",
    )
    out = show(str(book))
    order = [
        "First look at the dashboard (https://dash.example/q).",
        "│ WARNING: Draining drops in-flight jobs.",
        "1. ",
        "ls /var/spool",
        "• check the worker",
        "• and its logs",
        "not run · yaml",
        "key: value",
        "Then tell the team.",
    ]
    at = [out.find(piece) for piece in order]
    assert -1 not in at, [p for p, i in zip(order, at, strict=True) if i == -1]
    assert at == sorted(at), out


def test_steps_only_is_the_old_summary_view() -> None:
    out = show("--steps-only", f"{SEED_004}#emergency-contacts")
    assert "admin@example.com" not in out  # the table is prose, not shown here
    assert "Emergency Contacts" in out


@pytest.mark.parametrize(
    "path",
    [*sorted(SEEDS.glob("*.txt")), *sorted(CORPUS.glob("*.md"))],
    ids=lambda p: p.name[:40],
)
def test_every_step_is_shown_once_with_its_number(path: Path) -> None:
    data = json.loads(run_opsdoc("show", "--json", str(path)).stdout)
    out = show(str(path))
    heads = re.findall(r"^ *(\d+)\. (?:diagnose|act|verify) · ", out, flags=re.MULTILINE)

    def walk(sections: list[dict]) -> list[int]:
        counts = []
        for s in sections:
            counts.extend(range(1, len(s["steps"]) + 1))
            counts.extend(walk(s["children"]))
        return counts

    assert sorted(int(n) for n in heads) == sorted(walk(data["sections"]))


def test_a_prompt_block_numbers_its_commands_with_their_file_lines(tmp_path: Path) -> None:
    book = tmp_path / "transcript.md"
    book.write_text(
        "# Disk\n\n## Disk full\n\nCheck it:\n\n"  # lines 1-6
        "```console\n"  # 7
        "$ df -h /data\n"  # 8
        "Filesystem  Size  Used\n"  # 9: output
        "/dev/sdb1   100G  100G\n"  # 10: output
        "$ du -sh /data/* \\\n"  # 11
        "    | sort -h\n"  # 12: continuation
        "4.0K /data/tmp\n"  # 13: output
        "```\n"
    )
    out = show(str(book))
    numbered = {
        m.group(2).strip(): int(m.group(1)) for m in re.finditer(r"^\s+(\d+)  (.*)$", out, re.M)
    }
    assert numbered["df -h /data"] == 8
    assert numbered["du -sh /data/* \\"] == 11
    assert numbered["| sort -h"] == 12
    steps = json.loads(show("--json", str(book)))["sections"][0]
    step = (steps["steps"] or steps["children"][0]["steps"])[0]
    assert step["code_lines"] == [8, 11, 12]
    assert [s["line"] for s in step["statements"]] == [8, 11, 12]  # df, du, sort: file lines
    assert step["output"] == ["Filesystem  Size  Used", "/dev/sdb1   100G  100G", "4.0K /data/tmp"]
