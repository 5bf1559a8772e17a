"""What every `opsdoc find` does before it searches: check the index is fresh, import little.

A cold `find` on a big corpus is mostly start-up: the freshness check walks
and stats every file, and each module imported is paid for on every search.
These tests pin what that path does, not how long it takes (bench/find.py
times it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ROOT, run_opsdoc
from opsdoc.load import iter_runbook_files, runbook_file_stats
from opsdoc.search.index.fields import parse_for_index
from opsdoc.search.index.store import Index

RUNBOOK = "# {title}\n\n## {title} scenario\n\n**Symptoms**: {symptom}\n\n```bash\nuptime\n```\n"


def write(path, title: str, symptom: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(RUNBOOK.format(title=title, symptom=symptom))


def titles(index: Index, path) -> list[str]:
    return [s["title"] for s in index.sections_of(str(path))]


def test_the_walk_and_the_freshness_check_see_the_same_files(tmp_path) -> None:
    root = tmp_path / "docs"
    write(root / "b.md", "B", "b")
    write(root / "a" / "z.MD", "Z", "z")
    write(root / "a" / "deeper" / "y.markdown", "Y", "y")
    write(root / "c.md", "C", "c")
    (root / "notes.txt").write_text("# A runbook kept as text\n")
    (root / "todo.txt").write_text("just a list, no heading\n")
    (root / ".md").write_text("# a hidden file, not a runbook\n")
    write(root / "node_modules" / "pkg.md", "Skipped", "s")
    write(root / ".hidden" / "h.md", "Skipped", "s")
    write(root / "drills" / "d.md", "Skipped", "s")
    single = tmp_path / "single.md"
    write(single, "Single", "s")

    walked = list(iter_runbook_files([root, single]))
    expected = ["a/deeper/y.markdown", "a/z.MD", "b.md", "c.md", "notes.txt"]
    assert walked == [str(root / name) for name in expected] + [str(single)]

    stats = runbook_file_stats([root, single, tmp_path / "gone.md"])
    assert sorted(stats) == sorted([*walked, str(tmp_path / "gone.md")])
    assert stats[str(tmp_path / "gone.md")] is None
    info = os.stat(single)
    assert stats[str(single)] == (info.st_size, info.st_mtime)


def test_new_changed_and_removed_files_are_seen(tmp_path) -> None:
    root = tmp_path / "docs"
    kept, edited, removed = root / "kept.md", root / "team" / "edited.md", root / "removed.md"
    write(kept, "Kept", "disk full")
    write(edited, "Edited", "queue stuck")
    write(removed, "Removed", "cert expired")
    index = Index(tmp_path / "idx.sqlite3")
    assert index.update([root], parse=parse_for_index).read == 3

    added = root / "team" / "added.md"
    write(added, "Added", "dns fails")
    removed.unlink()
    before = os.stat(edited)
    write(edited, "Redone", "queue stuck")  # same size, new text
    assert os.stat(edited).st_size == before.st_size
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    stats = index.update([root], parse=parse_for_index)

    assert (stats.files, stats.read, stats.unchanged, stats.removed) == (3, 2, 1, 1)
    assert titles(index, edited) == ["Redone scenario"]
    assert titles(index, added) == ["Added scenario"]
    assert titles(index, removed) == []
    assert titles(index, kept) == ["Kept scenario"]
    assert index.update([root], parse=parse_for_index).read == 0
    index.close()


def test_find_imports_only_what_it_needs(tmp_path) -> None:
    """No Markdown parser, classifier, runner or alert reader when the index is up to date."""
    root = tmp_path / "docs"
    write(root / "db.md", "Database", "duplicate key value violates unique constraint")
    index = str(tmp_path / "idx.sqlite3")
    first = run_opsdoc("find", "--in", str(root), "--index", index, "duplicate key")
    assert first.returncode == 0, first.stderr
    script = (
        "import json, sys\n"
        "from opsdoc.cli import main\n"
        f"code = main(['find', '--in', {str(root)!r}, '--index', {index!r}, 'duplicate key'])\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert result.returncode == 0, result.stderr
    code, modules = json.loads(result.stdout.splitlines()[-1])
    assert code == 0
    unwanted = {
        "markdown_it",
        "opsdoc.parse.runbook",
        "opsdoc.parse.recognize",
        "opsdoc.classify",
        "opsdoc.execute",
        "opsdoc.drill",
        "opsdoc.lint",
        "opsdoc.search.alerts",
        "opsdoc.cli.run_cmd",
        "psycopg",
        "pglast",
        "bashlex",
        "pygments",
        "rich.progress",
        "rich.table",
    }
    assert unwanted.isdisjoint(modules), sorted(unwanted & set(modules))


def test_bytes_that_are_not_utf8_get_a_one_line_error_or_are_searched(tmp_path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "disk.md").write_text("# Disk\n\n## Disk full\n\nNo space left on device.\n")
    index = ["--in", str(runbooks), "--index", str(tmp_path / "idx.sqlite3")]
    binary = tmp_path / "alert.json"
    binary.write_bytes(b'{"alerts": "\xff\xfe"}')

    result = run_opsdoc("find", *index, "--alert", str(binary))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {binary}")
    assert "not UTF-8" in result.stderr and "Traceback" not in result.stderr

    # A pasted log with a stray byte is still a query: the byte is replaced.
    found = subprocess.run(
        [sys.executable, "-m", "opsdoc", "find", *index, "--json", "-"],
        input=b"no space left \xff on device\n",
        capture_output=True,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)[0]["title"] == "Disk full"
