"""Running a Runme user's file: `--all`, the cwd chain, and a run's shared environment.

Expected results are Runme's own (../shared/corpus/runme/EXPECTED.json).
Shell steps run in real bash; the attacker tests plant real programs.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from conftest import SHARED, run_opsdoc

RUNME = SHARED / "corpus" / "runme"
EXPECTED = json.loads((RUNME / "EXPECTED.json").read_text())


def events(*args: str, journal: Path, cwd: Path | None = None) -> list[dict]:
    result = run_opsdoc("run", *args, "--json", "--journal", str(journal), cwd=cwd)
    assert result.returncode in (0, 1, 3), result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def stdout_of(found: list[dict]) -> str:
    return "".join(
        e["text"] for e in found if e["type"] == "output" and e.get("stream") == "stdout"
    )


def test_run_all_gives_runmes_output_in_order_and_skips_excluded_cells(tmp_path: Path) -> None:
    want = EXPECTED["txtar__runall_basic__README.md"]
    found = events(
        str(RUNME / "txtar__runall_basic__README.md"),
        "--all",
        "--yes",
        "--allow",
        "write",
        journal=tmp_path / "j.sqlite3",
    )
    ran = [e["title"] for e in found if e["type"] == "step_planned"]
    assert ran == want["cells_run_in_order"]
    lines = stdout_of(found).splitlines()
    assert lines == want["stdout_lines_in_order"]
    assert not any(text in stdout_of(found) for text in want["not_in_stdout"])
    finished = [e for e in found if e["type"] == "run_finished"]
    assert finished[-1]["status"] == "ok"


def test_a_variable_a_cell_exports_is_no_missing_param_for_the_next(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ENV"}
    result = run_opsdoc(
        "run",
        str(RUNME / "txtar__runall_basic__README.md"),
        "--all",
        "--dry-run",
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["missing_params"] == []


def test_category_filters_and_the_journal_keeps_it_for_a_resume(tmp_path: Path) -> None:
    path = str(RUNME / "txtar__runall_basic__README.md")
    plan = json.loads(
        run_opsdoc("run", path, "--all", "--category", "bar", "--dry-run", "--json").stdout
    )
    assert plan["section"] == ":all:bar"
    assert [s["name"] for s in plan["steps"]] == ["print-bar"]  # "excluded" is bar too
    wrong = run_opsdoc("run", f"{path}#set-env", "--all")
    assert wrong.returncode == 2 and "--all runs a whole file" in wrong.stderr


def test_skip_prompts_cell_runs_every_command_line(tmp_path: Path) -> None:
    want = EXPECTED["txtar__runall_basic__SKIP.md"]
    found = events(
        str(RUNME / "txtar__runall_basic__SKIP.md#foo-command"),
        "--yes",
        "--allow",
        "write",
        journal=tmp_path / "j.sqlite3",
    )
    assert stdout_of(found) == want["stdout"]


def test_cwd_chains_the_file_folder_front_matter_and_cell(tmp_path: Path) -> None:
    for name in (
        "examples__frontmatter__cwd__ABSOLUTE.md",
        "examples__frontmatter__cwd__RELATIVE.md",
    ):
        for cell, where in EXPECTED[name]["pwd_by_cell"].items():
            folder = str(RUNME)
            expected = os.path.normpath(where.replace("<file folder>", folder))
            found = events(f"{RUNME / name}#{cell}", "--yes", journal=tmp_path / "j.sqlite3")
            printed = stdout_of(found).strip()
            assert os.path.realpath(printed) == os.path.realpath(expected), (name, cell)


def write_runbook(tmp_path: Path, *blocks: str) -> Path:
    path = tmp_path / "r.md"
    body = "\n\n".join(f"```bash\n{b}\n```" for b in blocks)
    path.write_text(f"# R\n\n## Go\n\n{body}\n")
    return path


def test_exports_reach_later_steps_secrets_masked_names_only_in_the_journal(
    tmp_path: Path,
) -> None:
    book = write_runbook(
        tmp_path,
        'export GREETING="hello there"\nexport API_TOKEN=tok-7d1f9a22b4\nexport GONE=1',
        "unset GONE",
        'echo "g=$GREETING t=$API_TOKEN gone=${GONE:-none}"',
    )
    journal = tmp_path / "j.sqlite3"
    found = events(f"{book}#go", "--yes", journal=journal)
    assert "g=hello there t=*** gone=none" in stdout_of(found)
    carried = [e for e in found if e["type"] == "env_carried"]
    assert carried[0]["exported"] == ["API_TOKEN", "GONE", "GREETING"]
    assert carried[1]["unset"] == ["GONE"]
    shown = run_opsdoc("journal", "show", "--journal", str(journal), "--json", "last")
    dump = shown.stdout if shown.returncode == 0 else journal.read_bytes().decode("latin-1")
    assert "tok-7d1f9a22b4" not in dump and "tok-7d1f9a22b4" not in json.dumps(found)


def test_no_step_can_choose_what_a_later_step_runs(tmp_path: Path) -> None:
    """An attacker's read step points PATH at its own `ls` and preloads a library; a
    write step exports a function named like a command. The last (read) step must
    run the real ls: none of them is carried."""
    evil = tmp_path / "evil"
    evil.mkdir()
    marker = tmp_path / "pwned"
    fake = evil / "ls"
    fake.write_text(f"#!/bin/sh\ntouch {marker}\n")
    fake.chmod(0o755)
    book = write_runbook(
        tmp_path,
        f'export PATH="{evil}:$PATH"\nexport LD_PRELOAD=/nonexistent/x.so',
        f"ls() {{ touch {marker}; }}\nexport -f ls",
        f"ls {tmp_path}",
    )
    found = events(f"{book}#go", "--yes", "--allow", "write", journal=tmp_path / "j.sqlite3")
    safeties = [e["safety"] for e in found if e["type"] == "step_planned"]
    assert safeties == ["read", "write", "read"]
    assert not marker.exists()
    refused = [n for e in found if e["type"] == "env_carried" for n in e["refused"]]
    assert {"PATH", "LD_PRELOAD"} <= set(refused)
    assert any(name.startswith("BASH_FUNC_ls") for name in refused)
    assert "evil" in stdout_of(found)  # the real ls listed the folder


def test_front_matter_shell_runs_under_that_shell_or_says_it_is_missing(tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    for name, shell in (("BASH", "bash"), ("ZSH", "zsh"), ("KSH", "ksh")):
        found = events(
            f"{RUNME / f'examples__frontmatter__shells__{name}.md'}#echo-0",
            "--yes",
            journal=journal,
        )
        finished = next(e for e in found if e["type"] == "step_finished")
        if shutil.which(shell):
            assert finished["status"] == "ok", finished
        else:
            assert finished["status"] == "failed"
            assert finished["error"].startswith(f"{shell} is not installed; the runbook asks")


def test_a_cells_interpreter_picks_the_program_within_its_language(tmp_path: Path) -> None:
    book = tmp_path / "r.md"
    book.write_text(
        '# R\n\n## Go\n\n```sh {"interpreter":"sh","name":"posix"}\necho "shell=$(basename "$(readlink /proc/$$/exe)")"\n```\n\n'
        '```python {"interpreter":"python3","name":"py"}\nprint("from python")\n```\n\n'
        '```sh {"interpreter":"cat","name":"cat"}\nhello\n```\n'
    )
    found = events(f"{book}#go", "--yes", "--allow", "write", journal=tmp_path / "j.sqlite3")
    out = stdout_of(found)
    posix = os.path.basename(os.path.realpath(shutil.which("sh") or "sh"))
    assert f"shell={posix}" in out and "from python" in out and "hello" not in out
    errors = [e["error"] for e in found if e["type"] == "step_finished" and e["error"]]
    assert errors == [
        "the interpreter 'cat' is not a shell; opsdoc runs this step only with "
        "one it can classify for (e.g. bash, sh, zsh)"
    ]


def test_heredoc_and_prompt_line_cells_run_every_command_line(tmp_path: Path) -> None:
    for name in ("txtar__flags_fmt__LCID-all.md", "txtar__flags_fmt__LCID-none.md"):
        work = tmp_path / name
        work.mkdir()
        shutil.copy(RUNME / name, work / name)
        found = events(
            str(work / name), "--all", "--yes", "--allow", "write", journal=tmp_path / "j"
        )
        heredoc = (work / "heredoc").read_text().splitlines()
        assert heredoc[:2] == ["TEST=123", "HELLO=WORLD"], name
        assert "line1\nline2\nline3\n" in stdout_of(found), name


def test_continued_prompt_lines_reach_the_program_whole(tmp_path: Path) -> None:
    """services.md: `$ grpcurl \\` and its continuation lines, one cell after another,
    with the addresses an earlier cell exported. A stand-in grpcurl records its args."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "grpcurl.log"
    fake = bin_dir / "grpcurl"
    fake.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> {log}\necho '{{}}'\n")
    fake.chmod(0o755)
    name = "examples__grpc-samples__services.md"
    shutil.copy(RUNME / name, tmp_path / name)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    result = run_opsdoc(
        "run",
        str(tmp_path / name),
        "--all",
        "--yes",
        "--allow",
        "write",
        "--journal",
        str(tmp_path / "j"),
        env=env,
    )
    calls = log.read_text().splitlines()
    tls = (
        "-cacert /tmp/runme/tls/cert.pem -cert /tmp/runme/tls/cert.pem -key /tmp/runme/tls/key.pem"
    )
    assert calls[0] == f"{tls} 127.0.0.1:9999 list runme.project.v1.ProjectService", result.stdout
    assert calls[1].endswith("127.0.0.1:9999 runme.project.v1.ProjectService/Load")
    assert calls[3] == f"{tls} 127.0.0.1:9999 list runme.runner.v1.RunnerService"
    assert calls[4] == f"{tls} 127.0.0.1:9999 runme.runner.v1.RunnerService/ListSessions"


def test_an_interactive_cell_runs_on_a_terminal_of_its_rows_and_reads_no_input(
    tmp_path: Path,
) -> None:
    book = tmp_path / "r.md"
    book.write_text(
        '# R\n\n## Go\n\n```sh {"interactive":"true","terminalRows":"7","name":"tty"}\n'
        '[ -t 0 ] && [ -t 1 ] && echo "on a terminal"\nstty size\n'
        'read -r answer; echo "read: [${answer}] $?"\n'
        'echo "to stderr, same stream" >&2\nexport DB_PASSWORD=pw-31f8c0d2\n'
        'echo "pw=$DB_PASSWORD"\n```\n\n'
        '```sh {"name":"plain"}\n[ -t 1 ] || echo "no terminal here"\n```\n'
    )
    found = events(f"{book}#go", "--yes", journal=tmp_path / "j.sqlite3")
    out = stdout_of(found)
    assert "on a terminal\n7 120\nread: [] 1\nto stderr, same stream\n" in out
    assert "no terminal here" in out and "\r" not in out
    assert "pw-31f8c0d2" not in json.dumps(found)
    assert all(e["status"] == "ok" for e in found if e["type"] == "step_finished")
