"""Bad input gets one clear line and an exit code, never a traceback, and loses nothing."""

from __future__ import annotations

import json
import os

from conftest import SEEDS, run_opsdoc


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_binary_file_is_refused(tmp_path) -> None:
    path = tmp_path / "image.md"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    result = run_opsdoc("show", str(path))
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert str(path) in line and "binary" in line


def test_latin1_file_is_read_with_a_warning(tmp_path) -> None:
    path = tmp_path / "cafe.md"
    path.write_bytes(
        "# Café runbook\n\n## Réseau en panne\n\n```bash\necho déjà\n```\n".encode("latin-1")
    )
    result = run_opsdoc("show", "--json", str(path))
    assert result.returncode == 0
    line = one_line(result.stderr)
    assert "not valid UTF-8" in line and "read as Windows-1252" in line
    data = json.loads(result.stdout)
    assert data["title"] == "Café runbook"
    assert data["sections"][0]["title"] == "Réseau en panne"
    assert "déjà" in data["sections"][0]["steps"][0]["code"]


def test_mojibake_seed_is_repaired() -> None:
    result = run_opsdoc("show", "--json", str(SEEDS / "001_5f1dbc7020da4420.txt"))
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["title"] == "🚨 Production Runbook"
    assert "ð" not in result.stdout and "â†" not in result.stdout
    assert data["encoding"].startswith("utf-8")


def test_unterminated_fence_warns_and_keeps_the_code(tmp_path) -> None:
    path = tmp_path / "open.md"
    path.write_text("# Runbook\n\n## Restart\n\nRun this:\n\n```bash\nsystemctl restart app\n")
    result = run_opsdoc("show", "--json", str(path))
    assert result.returncode == 0
    line = one_line(result.stderr)
    assert f"{path}:7" in line and "never closed" in line
    data = json.loads(result.stdout)
    assert data["sections"][0]["steps"][0]["code"] == "systemctl restart app\n"


def test_empty_file(tmp_path) -> None:
    path = tmp_path / "empty.md"
    path.write_text("")
    result = run_opsdoc("show", "--json", str(path))
    assert result.returncode == 0
    assert "empty file" in one_line(result.stderr)
    data = json.loads(result.stdout)
    assert data["sections"] == [] and data["title"] == "empty"


def test_huge_file_is_refused_before_reading(tmp_path) -> None:
    path = tmp_path / "huge.md"
    with open(path, "wb") as handle:
        chunk = b"# heading\n\nsome text line\n" * 4096
        while handle.tell() < 50 * 1024 * 1024:
            handle.write(chunk)
    result = run_opsdoc("show", str(path))
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "over the 5.0 MB limit" in line and "--max-size" in line


def test_symlink_loop_in_a_directory(tmp_path) -> None:
    docs = tmp_path / "docs"
    (docs / "team").mkdir(parents=True)
    (docs / "team" / "runbook.md").write_text("# R\n\n## Disk full\n\n```bash\ndf -h\n```\n")
    os.symlink(docs, docs / "team" / "loop")  # a directory that contains itself
    os.symlink("self", docs / "self")  # a link to itself
    result = run_opsdoc("list", "--json", str(docs))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "symlink loop" in result.stderr
    rows = json.loads(result.stdout)
    assert [r["title"] for r in rows] == ["Disk full"]


def test_missing_file_and_unknown_section(tmp_path) -> None:
    result = run_opsdoc("show", str(tmp_path / "nope.md"))
    assert result.returncode == 2
    assert "no such file" in one_line(result.stderr)
    path = tmp_path / "r.md"
    path.write_text("# R\n\n## One\n\ntext\n")
    result = run_opsdoc("show", f"{path}#two")
    assert result.returncode == 2
    assert "no section #two" in one_line(result.stderr)


def test_directory_with_one_bad_file_still_lists_the_rest(tmp_path) -> None:
    (tmp_path / "good.md").write_text("# G\n\n## Queue stuck\n\n```sql\nSELECT 1;\n```\n")
    (tmp_path / "bad.md").write_bytes(b"\x00\x01\x02binary")
    result = run_opsdoc("list", "--json", str(tmp_path))
    assert result.returncode == 2
    assert "bad.md" in one_line(result.stderr)
    assert [r["title"] for r in json.loads(result.stdout)] == ["Queue stuck"]
