"""The search index stays in step with the files, and with itself under concurrency."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

from conftest import CORPUS, ROOT, SEEDS, run_opsdoc
from opsdoc.search.index.fields import parse_for_index
from opsdoc.search.index.store import Index


def copy_runbooks(tmp_path):
    root = tmp_path / "runbooks"
    root.mkdir()
    for path in sorted(SEEDS.glob("*.txt")):
        shutil.copy(path, root / (path.stem + ".md"))
    for path in sorted(CORPUS.glob("*.md"))[:20]:
        shutil.copy(path, root / path.name)
    return root


def sections_by_file(index_path) -> dict[str, int]:
    with sqlite3.connect(index_path) as db:
        rows = db.execute("SELECT path, count(*) FROM sections GROUP BY path").fetchall()
        fts = db.execute("SELECT count(*) FROM fts").fetchone()[0]
        total = db.execute("SELECT count(*) FROM sections").fetchone()[0]
    assert fts == total  # no orphan or missing search rows
    return {os.path.basename(p): n for p, n in rows}


def test_only_changed_files_are_read_again(tmp_path) -> None:
    root = copy_runbooks(tmp_path)
    index = Index(tmp_path / "idx.sqlite3")
    first = index.update([root], parse=parse_for_index)
    assert first.read == first.files == 25
    again = index.update([root], parse=parse_for_index)
    assert (again.read, again.unchanged) == (0, 25)
    changed = root / "004_95e26377be71e20e.md"
    changed.write_text(
        changed.read_text() + "\n## Cache stampede\n\n**Symptoms**: thundering herd\n"
    )
    third = index.update([root], parse=parse_for_index)
    assert (third.read, third.unchanged) == (1, 24)
    titles = [s["title"] for s in index.sections_of(str(changed.resolve()))]
    assert "Cache stampede" in titles
    touched = root / "000_5f92c922ed36c991.md"
    os.utime(touched, (time.time() + 5, time.time() + 5))  # same content, new mtime
    fourth = index.update([root], parse=parse_for_index)
    assert fourth.read == 0
    index.close()


def test_a_deleted_file_leaves_the_index(tmp_path) -> None:
    root = copy_runbooks(tmp_path)
    index_path = tmp_path / "idx.sqlite3"
    found = run_opsdoc(
        "find",
        "--in",
        str(root),
        "--index",
        str(index_path),
        "--json",
        "Simplicity API returned 500",
    )
    assert found.returncode == 0, found.stderr
    assert "003_5a19d28ffda2e27a.md" in found.stdout
    (root / "003_5a19d28ffda2e27a.md").unlink()
    again = run_opsdoc(
        "find",
        "--in",
        str(root),
        "--index",
        str(index_path),
        "--json",
        "Simplicity API returned 500",
    )
    assert "003_5a19d28ffda2e27a.md" not in again.stdout
    assert "003_5a19d28ffda2e27a.md" not in sections_by_file(index_path)


def test_two_processes_indexing_at_once_leave_a_consistent_index(tmp_path) -> None:
    root = copy_runbooks(tmp_path)
    index_path = tmp_path / "idx.sqlite3"
    command = [
        sys.executable,
        "-m",
        "opsdoc",
        "find",
        "--in",
        str(root),
        "--index",
        str(index_path),
        "--json",
        "duplicate key value violates unique constraint",
    ]
    procs = [
        subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    counts = sections_by_file(index_path)
    assert len(counts) == 25
    alone = Index(tmp_path / "alone.sqlite3")
    alone.update([root], parse=parse_for_index)
    alone.close()
    assert counts == sections_by_file(tmp_path / "alone.sqlite3")


def test_find_never_echoes_a_pasted_token(tmp_path) -> None:
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"
    result = run_opsdoc(
        "find",
        "--in",
        str(SEEDS),
        "--index",
        str(tmp_path / "idx.sqlite3"),
        f'curl -H "Authorization: Bearer {token}" returned 401 Unauthorized',
    )
    assert result.returncode == 0, result.stderr
    assert token not in result.stdout + result.stderr


def test_a_hit_says_which_of_the_query_words_it_holds_by_field(tmp_path) -> None:
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    (runbooks / "queue.md").write_text(
        "# Queue\n\n## Workers crashing under load\n\n"
        "The queue backs up when workers crash.\n\n```bash\nkubectl get pods -n queue\n```\n"
    )
    index = ["--in", str(runbooks), "--index", str(tmp_path / "idx.sqlite3")]
    result = run_opsdoc("find", *index, "--json", "worker crashes, queue backing up")
    assert result.returncode == 0, result.stderr
    why = json.loads(result.stdout)[0]["why"]
    assert any(w.startswith("title: workers, crashing") for w in why), why
    assert any(w.startswith("body: ") and "crash" in w and "queue" in w for w in why), why
    assert any(w.startswith("code: queue") for w in why), why
    assert any(w.startswith("context: queue") for w in why), why
