"""Every line of a code block is kept: in the step's code, or as the output it shows.

A prompt block mixes `$ cmd` lines, their continuations and heredoc bodies
with the output the author pasted. A run must never go ahead with some of a
block's commands silently dropped, so for every fence of the seeds, the
public corpus and Runme's own files, each non-blank line is either in the
step's code (prompt removed) or in its shown `output`; a block that is not a
step is kept whole as a snippet. The fences are found here with
markdown-it-py directly, independently of opsdoc's own parse.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from conftest import CORPUS, SEEDS, SHARED, run_opsdoc

RUNME = SHARED / "corpus" / "runme"
FILES = [*sorted(SEEDS.glob("*.txt")), *sorted(CORPUS.glob("*.md")), *sorted(RUNME.glob("*.md"))]
PROMPT = re.compile(r"^\s*(?:\(\S+\)\s*)?(?:[\w.@-]+(?:[:~/][:~\w/.-]*)?)?[$%#]\s")


def fences(text: str) -> dict[int, str]:
    """Each fenced block's content by its first code line (1-based)."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    return {t.map[0] + 2: t.content for t in md.parse(text) if t.type == "fence" and t.map}


def walk(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for section in sections:
        out.append(section)
        out.extend(walk(section["children"]))
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name[:40]}")
def test_every_line_of_every_block_is_kept(path: Path) -> None:
    result = run_opsdoc("show", "--json", str(path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    steps = {s["line"]: s for sec in walk(data["sections"]) for s in sec["steps"]}
    snippets = {s["line"]: s for sec in walk(data["sections"]) for s in sec["snippets"]}
    text = path.read_bytes().decode("utf-8", errors="replace")
    lost = []
    for line, content in fences(text).items():
        if line in snippets:
            continue  # kept whole (the no-block-lost test checks its code)
        step = steps.get(line)
        if step is None:
            lost.append(f"line {line}: the whole block (neither a step nor a snippet)")
            continue
        code_lines = {row.strip() for row in step["code"].splitlines()}
        output = {row.strip() for row in step["output"]}
        for row in content.splitlines():
            stripped = row.strip()
            if not stripped:
                continue
            command = PROMPT.sub("", row, count=1).strip()
            if stripped in code_lines or command in code_lines or stripped in output:
                continue
            lost.append(f"line {line}: {row!r}")
    assert not lost, "\n".join(lost[:20])


def block_of(book: str) -> dict[str, Any]:
    data = json.loads(run_opsdoc("show", "--json", book).stdout)
    return walk(data["sections"])[0]["steps"][0]


@pytest.mark.parametrize(
    ("fence", "block", "code", "output"),
    [
        pytest.param(  # heredoc bodies and plain commands stay with their prompts
            "sh",
            "$ cat > f << 'EOF'\nline1\n$ not a prompt inside\nEOF\nexport BAR=1\necho $BAR\n"
            "$ cat f\nline1\n",
            "cat > f << 'EOF'\nline1\n$ not a prompt inside\nEOF\nexport BAR=1\necho $BAR\ncat f\n",
            ["line1"],
            id="heredoc-and-plain-commands",
        ),
        pytest.param(  # a console transcript keeps output apart and runs only commands
            "console",
            "$ kubectl get pods \\\n  -n web\nNAME   READY\nweb-1  1/1\n$ echo done\ndone\n",
            "kubectl get pods \\\n  -n web\necho done\n",
            ["NAME   READY", "web-1  1/1", "done"],
            id="console-transcript",
        ),
    ],
)
def test_a_prompt_block_keeps_commands_and_output_apart(
    tmp_path: Path, fence: str, block: str, code: str, output: list[str]
) -> None:
    book = tmp_path / "b.md"
    book.write_text(f"# T\n\n```{fence}\n{block}```\n", encoding="utf-8")
    step = block_of(str(book))
    assert step["code"] == code
    assert step["output"] == output
    out = run_opsdoc("show", str(book)).stdout
    assert "output shown in the runbook:" in out
    assert all(f"│ {row}" in out for row in output)
