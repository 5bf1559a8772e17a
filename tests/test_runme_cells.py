"""A Runme user's cells by name: the names Runme gives, and `run`, `print`, `list --cells`.

Runme's own expected names for every file of ../shared/corpus/runme are in
its EXPECTED.json (cell_names); these tests hold opsdoc to them.
"""

from __future__ import annotations

import json

import pytest

from conftest import SHARED, run_opsdoc
from opsdoc.cli.app import main
from opsdoc.model import Snippet, Step
from opsdoc.parse import parse_text
from opsdoc.read import read_runbook

RUNME = SHARED / "corpus" / "runme"
EXPECTED = json.loads((RUNME / "EXPECTED.json").read_text())["cell_names"]
FILES = sorted(name for name in EXPECTED if not name.startswith("_"))


@pytest.mark.parametrize("name", FILES)
def test_every_cell_has_the_name_runme_gives_it(name: str) -> None:
    book = read_runbook(RUNME / name)
    assert [item.name for _, item in book.cells()] == EXPECTED[name]


def test_run_dry_run_plans_exactly_the_named_cell(capsys: pytest.CaptureFixture[str]) -> None:
    planned = refused = 0
    for name in FILES:
        path = RUNME / name
        for _, item in read_runbook(path).cells():
            if not item.name:
                continue  # "" cannot be written after a '#'
            code = main(["run", f"{path}#{item.name}", "--dry-run", "--json"])
            out, err = capsys.readouterr()
            if isinstance(item, Step) and item.executable:
                assert code == 0, (name, item.name, err)
                steps = json.loads(out)["steps"]
                assert [(s["name"], s["line"]) for s in steps] == [(item.name, item.line)]
                planned += 1
            else:
                assert code == 2 and f"cell {item.name} is not run" in err, (name, item.name)
                refused += 1
    assert planned > 150 and refused > 0


def test_a_cell_named_by_its_author_wins_over_a_section_of_that_id() -> None:
    result = run_opsdoc("run", str(RUNME / "CONTRIBUTING.md#build"), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    (step,) = json.loads(result.stdout)["steps"]
    assert step["name"] == "build" and "make build" in step["code"]


def test_a_name_not_found_lists_the_near_ones() -> None:
    result = run_opsdoc("run", str(RUNME / "examples__README.md#echo-helo"), "--dry-run")
    assert result.returncode == 2
    assert "no section or cell named echo-helo" in result.stderr
    assert "did you mean echo-hello" in result.stderr


def test_a_cell_opsdoc_does_not_run_says_why_and_how_to_see_it() -> None:
    result = run_opsdoc("run", str(RUNME / "examples__README.md#hello-js"), "--dry-run")
    assert result.returncode == 2
    assert "cell hello-js is not run: js language is not run" in result.stderr
    assert "opsdoc print" in result.stderr


def test_list_cells_gives_runmes_names_in_text_and_json() -> None:
    path = str(RUNME / "examples__README.md")
    rows = json.loads(run_opsdoc("list", "--cells", "--json", path).stdout)
    assert [r["name"] for r in rows] == EXPECTED["examples__README.md"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["echo"]["named"] and not by_name["echo-hello"]["named"]
    assert by_name["hello-js"]["runs"] is False and by_name["echo-ok"]["safety"] == "read"
    text = run_opsdoc("list", "--cells", path).stdout.splitlines()
    assert text[1].split() == ["name", "step", "named", "first", "command"]
    assert any(line.split()[:2] == ["echo-hello-2", "diagnose"] for line in text)


def test_print_shows_a_cells_code_and_with_raw_its_fences() -> None:
    path = str(RUNME / "examples__README.md")
    plain = run_opsdoc("print", f"{path}#echo-hello-2")
    assert plain.returncode == 0 and plain.stdout == 'echo "Hello, runme! Again!"\n'
    raw = run_opsdoc("print", f"{path}#echo-hello-2", "--raw").stdout.splitlines()
    assert raw[0].startswith("```sh {") and raw[1:] == ['echo "Hello, runme! Again!"', "```"]
    data = json.loads(run_opsdoc("print", f"{path}#hello-js", "--json").stdout)
    assert data["name"] == "hello-js" and "console.log" in data["code"]


def test_repeated_and_generated_names_follow_runme() -> None:
    book = parse_text(
        "# R\n\n```sh {name=dup}\necho a\n```\n\n```sh {name=dup}\necho b\n```\n\n"
        "```sh\n# a comment first\nexport GOPATH=$HOME/go\n```\n\n"
        "```sh\n$ kubectl get pods -n web\n```\n\n```sh\nkubectl get nodes\n```\n"
    )
    names = [item.name for _, item in book.cells()]
    assert names == ["dup", "dup-2", "export-gopath", "kubectl-get", "kubectl-get-2"]


def test_a_bare_fence_keeps_its_attributes() -> None:
    book = parse_text('# R\n\n``` {"name":"say-hello"}\necho "Hello world"\n```\n')
    (snippet,) = book.sections[0].snippets
    assert snippet.attrs == {"name": "say-hello"} and snippet.name == "say-hello"


def test_ignored_cells_are_kept_as_snippets_and_get_no_name() -> None:
    book = parse_text(
        "# R\n\n```sh {ignore=true}\nrm -rf /tmp/x\n```\n\n"
        '```sh {"transform":"false"}\necho no\n```\n\n```mermaid\ngraph TD\n```\n\n'
        "```sh\necho yes\n```\n"
    )
    section = book.sections[0]
    assert [s.code for s in section.steps] == ["echo yes\n"]
    kept = [s for s in section.snippets if isinstance(s, Snippet)]
    assert len(kept) == 3 and all(s.name is None for s in kept)
    assert [item.name for _, item in book.cells()] == ["echo-yes"]


def test_runme_values_stay_strings_and_opsdocs_own_keys_are_typed() -> None:
    book = parse_text(
        "# R\n\n```sh { name=a interactive=false timeout=30 terminalRows=20 }\necho a\n```\n\n"
        '```sh {"name":"b","interactive":false,"excludeFromRunAll":true,"timeout":5}\n'
        "echo b\n```\n"
    )
    a, b = book.sections[0].steps
    assert a.attrs == {"name": "a", "interactive": "false", "timeout": 30, "terminalRows": "20"}
    assert (b.attrs["interactive"], b.attrs["excludeFromRunAll"], b.timeout) == (
        "false",
        "true",
        5,
    )


def test_a_dry_run_names_what_a_run_would_need_instead_of_stopping() -> None:
    path = str(RUNME / "dagger__BUILD.md#direnv-allow")
    data = json.loads(run_opsdoc("run", path, "--dry-run", "--json").stdout)
    assert data["missing_params"] == ["TARGET_PLATFORM"] and len(data["steps"]) == 1
    text = run_opsdoc("run", path, "--dry-run")
    assert text.returncode == 0 and "a run needs --param for: TARGET_PLATFORM" in text.stdout
    real = run_opsdoc("run", path, "--yes")
    assert real.returncode == 2 and "missing parameters: TARGET_PLATFORM" in real.stderr


def test_a_resume_of_a_one_cell_run_runs_that_cell_only(tmp_path) -> None:
    book = tmp_path / "r.md"
    book.write_text(
        '# R\n\n## Go\n\n```sh {"name":"warn"}\necho warn-ran\n```\n\n'
        '```sh {"name":"fail"}\necho fail-ran; false\n```\n'
    )
    journal = str(tmp_path / "j.sqlite3")
    first = run_opsdoc("run", f"{book}#fail", "--yes", "--journal", journal)
    assert first.returncode == 1 and "warn-ran" not in first.stdout
    runs = json.loads(run_opsdoc("journal", "list", "--journal", journal, "--json").stdout)
    again = run_opsdoc("run", "--resume", runs[0]["id"], "--yes", "--journal", journal)
    assert "fail-ran" in again.stdout and "warn-ran" not in again.stdout


def test_shown_and_printed_cells_mask_secrets_but_not_references(tmp_path) -> None:
    book = tmp_path / "s.md"
    book.write_text(
        "# S\n\n## Keys\n\n```sh\nexport API_TOKEN=s3cr3tvalue123\n"
        'echo "token=$API_TOKEN"\nNEW_SECRET=$(openssl rand -base64 32)\n```\n'
    )
    for args in (("list", "--cells"), ("list", "--cells", "--json"), ("show",)):
        out = run_opsdoc(*args, str(book)).stdout
        assert "s3cr3tvalue123" not in out and "API_TOKEN=***" in out, args
    printed = run_opsdoc("print", f"{book}#export-apitoken").stdout
    assert printed.splitlines() == [
        "export API_TOKEN=***",
        'echo "token=$API_TOKEN"',
        "NEW_SECRET=$(openssl rand -base64 32)",
    ]


def test_an_ignored_cell_named_by_its_author_says_why_it_does_not_run(tmp_path) -> None:
    book = tmp_path / "i.md"
    book.write_text("# R\n\n```sh {name=skipme ignore=true}\necho x\n```\n")
    result = run_opsdoc("run", f"{book}#skipme", "--dry-run")
    assert result.returncode == 2 and "cell skipme is not run: ignore=true" in result.stderr


def test_a_plan_says_which_cell_a_missing_interpreter_would_fail(tmp_path) -> None:
    book = tmp_path / "k.md"
    book.write_text("---\nshell: no-such-shell-xyz\n---\n\n# K\n\n```sh\necho hi\n```\n")
    data = json.loads(run_opsdoc("run", f"{book}#echo-hi", "--dry-run", "--json").stdout)
    assert "is not a shell" in data["steps"][0]["problem"]
    text = run_opsdoc("run", f"{book}#echo-hi", "--dry-run").stdout
    assert "a run will fail here" in text


def test_an_unknown_category_lists_the_ones_there_are() -> None:
    path = str(RUNME / "txtar__runall_basic__README.md")
    result = run_opsdoc("run", path, "--all", "--category", "nosuch", "--dry-run")
    assert result.returncode == 2 and "categories here: bar, foo" in result.stderr
