"""The public corpus: real runbooks by other authors must read without loss.

The count of code blocks comes from markdown-it-py itself, on the raw file,
independently of opsdoc's own parse.
"""

from __future__ import annotations

import json

import pytest
from markdown_it import MarkdownIt

from conftest import CORPUS, run_opsdoc

FILES = sorted(p for p in CORPUS.glob("*.md")) if CORPUS.is_dir() else []


def markdown_it_blocks(text: str) -> int:
    tokens = MarkdownIt("commonmark", {"html": True}).enable("table").parse(text)
    return sum(1 for t in tokens if t.type in ("fence", "code_block"))


def landed(data: dict) -> int:
    total = 0
    stack = list(data["sections"])
    while stack:
        section = stack.pop()
        total += len(section["steps"]) + len(section["snippets"])
        stack.extend(section["children"])
    return total


def test_corpus_is_there() -> None:
    assert len(FILES) >= 50


@pytest.mark.parametrize("path", FILES, ids=[p.name[:60] for p in FILES])
def test_show_reads_every_code_block(path) -> None:
    result = run_opsdoc("show", "--json", str(path))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    expected = markdown_it_blocks(path.read_text(encoding="utf-8", errors="replace"))
    assert landed(data) == expected
    assert data["title"]
