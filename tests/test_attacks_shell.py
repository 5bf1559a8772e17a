"""The shell read-escape corpus (tests/attacks/shell_reads.py), each run as `opsdoc run --yes`."""

from __future__ import annotations

from pathlib import Path

from attacks.shell_reads import CASES
from conftest import run_opsdoc


def test_no_shell_read_escape_acts(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    victim, canary = work / "V", work / "C"
    book = work / "attacks.md"
    sections = [f"## Case {name}\n\n```bash\n{code}\n```\n" for name, code in CASES]
    book.write_text("# Shell read escapes\n\n" + "\n".join(sections), encoding="utf-8")
    journal = str(tmp_path / "journal.sqlite3")
    broken: list[str] = []
    for name, _code in CASES:
        victim.write_text("keep\n", encoding="utf-8")
        result = run_opsdoc("run", f"{book}#case-{name}", "--yes", "--journal", journal, cwd=work)
        if result.returncode not in (0, 1, 3):
            broken.append(f"{name}: exit {result.returncode}: {result.stderr[-300:]}")
        if canary.exists() or canary.is_symlink():
            broken.append(f"{name}: created C")
            canary.unlink()
        if not victim.exists() or victim.read_text(encoding="utf-8") != "keep\n":
            broken.append(f"{name}: changed V")
    assert not broken, "\n".join(broken)
    assert len(CASES) >= 40
