"""The reading side as a new user meets it: README commands, list, help, version, demo.

Every test drives the real CLI in a subprocess (``run_opsdoc``); output is
piped, so nothing may be wrapped, padded or cut.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import tempfile
from importlib.metadata import version
from pathlib import Path

import pytest

from conftest import EXAMPLES, ROOT, run_opsdoc

README = ROOT / "README.md"
HEADER = re.compile(r"^  ID +KIND +D/A/V +TITLE$")
# Commands the README shows that need a database or a terminal: their paths and
# section ids are checked here; demo --keep has a test of its own below.
NEEDS_DATABASE = {"run", "demo", "drill"}


def readme_commands() -> list[tuple[int, str]]:
    """``$ opsdoc ...`` lines of the README's console blocks, with their line numbers."""
    found, in_console = [], False
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith("```"):
            in_console = line.strip() == "```console"
        elif in_console and line.startswith("$ opsdoc "):
            found.append((number, line[2:]))
    return found


def split_command(line: str) -> tuple[list[str], str | None, int]:
    """Words after ``opsdoc``, the ``> file`` it writes, the exit code it documents."""
    parts = re.split(r"\s+#\s", line, maxsplit=1)
    command, comment = parts[0], parts[1] if len(parts) > 1 else ""
    words = shlex.split(command)[1:]
    output = None
    if ">" in words:
        at = words.index(">")
        output, words = words[at + 1], words[:at]
    documented = re.search(r"\bexit (\d+)\b", comment)
    return words, output, int(documented.group(1)) if documented else 0


def test_readme_commands_run_as_documented(tmp_path: Path) -> None:
    commands = readme_commands()
    assert len(commands) >= 10, "the README's console examples were not found"
    env = {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),  # find's index
        "OPSDOC_JOURNAL": str(tmp_path / "journal.sqlite3"),
    }
    for number, line in commands:
        words, output, code = split_command(line)
        where = f"README.md:{number}: {line}"
        for before, word in zip(["", *words], words, strict=False):  # named files exist
            name = word.split("#")[0]
            written = before == "--junit" or name.startswith(("-", "$"))
            if not written and ("/" in name or name.endswith((".md", ".json"))):
                assert (ROOT / name).exists(), f"{where}: {name} does not exist"
        if words[0] in NEEDS_DATABASE:
            target = next((w for w in words[1:] if "#" in w), None)
            if words[0] == "run" and target:
                shown = run_opsdoc("show", target, cwd=ROOT)
                assert shown.returncode == 0, f"{where}: {shown.stderr}"
            continue
        result = run_opsdoc(*words, cwd=ROOT, env=env)
        assert result.returncode == code, f"{where}: exit {result.returncode}\n{result.stderr}"
        assert "Traceback" not in result.stderr, where
        if output:
            (tmp_path / output).write_text(result.stdout, encoding="utf-8")
            if output.endswith((".sarif", ".json")):
                json.loads(result.stdout)


def write_long_book(folder: Path) -> Path:
    heading = (
        "Payment webhook consumer stops acknowledging events after the upstream "
        "provider rotates its signing certificate during a maintenance window"
    )
    book = folder / "long.md"
    book.write_text(
        f"# Payments\n\n## {heading}\n\n```sql\nSELECT 1;\n```\n\n"
        f"### Another rather long sub-heading that also names a topic of its own, for the id\n\n"
        "```bash\necho ok\n```\n\n## Short one\n\ntext\n",
        encoding="utf-8",
    )
    return book


def listed_ids(out: str) -> list[str]:
    return [line.split()[0][1:] for line in out.splitlines() if line.startswith("  #")]


def test_list_prints_ids_whole_and_show_accepts_each(tmp_path: Path) -> None:
    book = write_long_book(tmp_path)
    result = run_opsdoc("list", str(book))
    assert result.returncode == 0, result.stderr
    ids = listed_ids(result.stdout)
    rows = json.loads(run_opsdoc("list", "--json", str(book)).stdout)
    assert ids == [r["id"] for r in rows]  # one line per section, nothing cut or wrapped
    assert any(len(i) > 100 for i in ids)
    assert "…" not in result.stdout
    for row in rows:  # the title is on the section's line, whole
        line = next(x for x in result.stdout.splitlines() if x.startswith(f"  #{row['id']} "))
        assert line.endswith(row["title"])
    for section in ids:
        shown = run_opsdoc("show", f"{book}#{section}")
        assert shown.returncode == 0, f"#{section}: {shown.stderr}"


def test_list_gives_each_file_its_header_and_keeps_json(tmp_path: Path) -> None:
    write_long_book(tmp_path)
    (tmp_path / "other.md").write_text("# Other\n\n## Disk full\n\n```bash\ndf -h\n```\n")
    out = run_opsdoc("list", str(tmp_path)).stdout
    blocks = out.strip().split("\n\n")
    assert len(blocks) == 2
    for block in blocks:
        first, header, *rows = block.splitlines()
        assert first.endswith(".md") and HEADER.match(header), block
        assert rows and all(r.startswith("  #") for r in rows)
    rows = json.loads(run_opsdoc("list", "--json", str(tmp_path)).stdout)
    assert {tuple(sorted(r)) for r in rows} == {
        ("depth", "file", "id", "kind", "line", "severity", "steps", "title")
    }


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "the folder is empty"),
        ({"logo.bin": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"}, "1 file skipped (binary)"),
        ({"notes.txt": b"just words\n", "a.pdf": b"%PDF-1.4\n"}, "2 files skipped ("),
    ],
    ids=["empty", "binary", "not-markdown"],
)
def test_a_folder_without_runbooks_says_what_it_holds(
    tmp_path: Path, content: dict[str, bytes] | None, said: str
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, data in (content or {}).items():
        (folder / name).write_bytes(data)
    index = str(tmp_path / "index.sqlite3")
    for args in (["list"], ["lint"], ["find", "disk full", "--index", index, "--in"]):
        result = run_opsdoc(*args, str(folder))
        assert result.returncode == 1, (args, result.stderr)
        assert f"no runbooks under {folder}: {said}" in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
        if args == ["lint"]:
            assert "no findings" not in result.stdout


def test_an_empty_folder_beside_runbooks_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "r.md").write_text("# R\n\n## Disk full\n\n```bash\ndf -h\n```\n")
    for command in ("list", "lint"):
        result = run_opsdoc(command, str(docs), str(tmp_path / "empty"))
        assert result.returncode == 0, result.stderr
        assert f"warning: no runbooks under {tmp_path / 'empty'}" in result.stderr


@pytest.mark.parametrize(
    ("size", "limit", "said", "hint"),
    [
        (300, "100", "300 bytes is over the 100-byte limit", "--max-size 300 "),
        (2500, "1KB", "2.4 KB is over the 1.0 KB limit", "--max-size 3KB "),
        (1500, "1400", "1.5 KB is over the 1.4 KB limit", "--max-size 2KB "),
        (1450, "1440", "1450 bytes is over the 1440-byte limit", "--max-size 2KB "),  # both 1.4 KB
    ],
)
def test_max_size_names_the_limit_in_a_readable_unit(
    tmp_path: Path, size: int, limit: str, said: str, hint: str
) -> None:
    book = tmp_path / "big.md"
    text = "# Big\n\n## Disk full\n\n"
    book.write_text(text + "x" * (size - len(text)), encoding="utf-8")
    assert book.stat().st_size == size
    result = run_opsdoc("show", "--max-size", limit, str(book))
    assert result.returncode == 2
    assert said in result.stderr and hint in result.stderr, result.stderr


def all_commands() -> list[list[str]]:
    from opsdoc.cli.app import COMMANDS

    subcommands = {"journal": ["list", "show", "export"]}
    out: list[list[str]] = [[]]
    for name in COMMANDS:
        out.append([name])
        out.extend([name, sub] for sub in subcommands.get(name, []))
    return out


@pytest.mark.parametrize("command", all_commands(), ids=lambda c: " ".join(c) or "opsdoc")
def test_help_names_values_in_words_not_python_types(command: list[str]) -> None:
    result = run_opsdoc(*command, "--help")
    assert result.returncode == 0, result.stderr
    usage = result.stdout.splitlines()[0]
    assert usage.startswith("Usage: opsdoc"), result.stdout
    assert not re.search(r"<[^>\s]+>", result.stdout), result.stdout
    assert not re.search(r"\b(list\[|str\b|int\b|Path\b|float\b|bool\b)", result.stdout)
    assert "{" not in usage, usage


def test_help_of_list_and_run_reads_like_a_manual() -> None:
    assert "Usage: opsdoc list [OPTIONS] PATH..." in run_opsdoc("list", "--help").stdout
    text = run_opsdoc("run", "--help").stdout
    assert "[FILE#SECTION]" in text and "--target NAME|DSN" in text and "--step N" in text


def test_version_comes_from_the_package_metadata() -> None:
    result = run_opsdoc("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"opsdoc {version('opsdoc')}\n"
    assert re.fullmatch(r"opsdoc \d+\.\d+\.\d+\S*\n", result.stdout)


def test_find_and_list_give_a_section_the_same_kind(tmp_path: Path) -> None:
    book = EXAMPLES / "quick-reference.md"
    kinds = {r["id"]: r["kind"] for r in json.loads(run_opsdoc("list", "--json", str(book)).stdout)}
    index = str(tmp_path / "index.sqlite3")
    result = run_opsdoc("find", "--json", "--in", str(book), "--index", index, "API health")
    hits = json.loads(result.stdout)
    assert hits
    assert {h["id"]: h["kind"] for h in hits} == {h["id"]: kinds[h["id"]] for h in hits}


def test_demo_keep_leaves_a_server_to_run_against_and_stop(tmp_path: Path) -> None:
    home = Path(tempfile.mkdtemp(prefix="opsdoc-demo-"))  # short: a socket lives in it
    env = {"XDG_DATA_HOME": str(home), "OPSDOC_JOURNAL": str(tmp_path / "journal.sqlite3")}
    try:
        demo = run_opsdoc("demo", "--keep", cwd=ROOT, env=env, timeout=300)
        assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr
        out = demo.stdout
        target = re.search(r"^Target: (\S+)$", out, re.MULTILINE)
        assert target, out[-2000:]
        assert ":@" not in target.group(1) and "password" not in target.group(1)
        command = next(line.strip() for line in out.splitlines() if "opsdoc run " in line)
        words = shlex.split(command)
        assert words[0].startswith("PATH=") and words[1:3] == ["opsdoc", "run"]
        assert words[words.index("--target") + 1] == target.group(1)
        assert "opsdoc demo --stop" in out
        # the printed command works, after the demo's own process has ended
        path = f"{ROOT / 'examples' / 'lab' / 'bin'}{os.pathsep}{os.environ['PATH']}"
        again = run_opsdoc(
            *words[2:], "--yes", "--allow", "write", cwd=ROOT, env={**env, "PATH": path}
        )
        assert again.returncode == 0, again.stdout[-2000:] + again.stderr
        stop = run_opsdoc("demo", "--stop", env=env)
        assert stop.returncode == 0 and "Stopped" in stop.stdout, stop.stdout + stop.stderr
        assert not (home / "opsdoc" / "lab-postgres" / "postmaster.pid").exists()
        gone = run_opsdoc("demo", "--stop", env=env)
        assert gone.returncode == 0 and "nothing to stop" in gone.stdout
    finally:
        run_opsdoc("demo", "--stop", env=env)
        shutil.rmtree(home, ignore_errors=True)


def test_a_section_id_without_its_file_says_the_file_goes_first() -> None:
    for target in ("#scenario-label-worker-stalled", "scenario-label-worker-stalled"):
        for command in ("show", "run"):
            result = run_opsdoc(command, target, cwd=ROOT)
            assert result.returncode == 2, result.stderr
            assert "FILE#SECTION" in result.stderr and "Traceback" not in result.stderr
    missing = run_opsdoc("show", "examples/nope.md", cwd=ROOT)
    assert missing.returncode == 2 and "examples/nope.md: no such file" in missing.stderr


def test_find_without_in_says_which_folder_it_searches(tmp_path: Path) -> None:
    (tmp_path / "disk.md").write_text("# Disk\n\n## Disk full\n\nNo space left on device.\n")
    index = str(tmp_path / "idx.sqlite3")
    result = run_opsdoc("find", "--index", index, "no space left", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"searching runbooks under {tmp_path}" in result.stderr
    assert "disk-full" in result.stdout
