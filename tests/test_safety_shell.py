"""Issue 11 cases 6-9, run as an attacker would: a runbook, `opsdoc run --yes`, no --allow.

A read step must not act (awk system(), a command inside $((…)), uniq IN OUT),
and a parameter's value must not change what the step's code means
(arithmetic, trap/eval text, a leading '-', word splitting of $VAR).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_opsdoc


def book(tmp_path: Path, code: str) -> str:
    path = tmp_path / "attack.md"
    path.write_text(f"# Runbook\n\n## Attack\n\n```bash\n{code}\n```\n", encoding="utf-8")
    return f"{path}#attack"


def attack(tmp_path: Path, code: str, *params: str, env: dict[str, str] | None = None) -> str:
    args = [a for p in params for a in ("--param", p)]
    done = run_opsdoc("run", book(tmp_path, code), "--yes", *args, cwd=tmp_path, env=env)
    return done.stdout + done.stderr


@pytest.mark.parametrize(
    "code",
    [
        "awk 'BEGIN{system(\"touch {F}\")}'",
        'awk \'BEGIN{print "x" > "{F}"}\'',
        'awk \'BEGIN{print "x" | "tee {F}"}\'',
        "echo $(( $(touch {F}; echo 1) + 1 ))",
        "printf 'a\\n' > /dev/null; uniq /dev/null {F}",
        "sed -n 'w {F}' /dev/null",
    ],
)
def test_a_read_step_that_acts_is_not_run_without_allow(tmp_path: Path, code: str) -> None:
    canary = tmp_path / "canary"
    attack(tmp_path, code.replace("{F}", str(canary)))
    assert not canary.exists()


@pytest.mark.parametrize(
    "code",
    [
        'trap "echo <v>" EXIT',
        'eval "echo <v>"',
        "bash -c 'echo <v>'",
        'a=(1 2); echo "${a[<v>]}"',
        's=abc; echo "${s:<v>}"',
        "declare -i n=<v>; echo $n",
        "echo $(( <v> + 1 ))",
        "let x=<v>",
    ],
)
def test_a_value_that_would_be_parsed_again_is_refused(tmp_path: Path, code: str) -> None:
    canary = tmp_path / "canary"
    out = attack(tmp_path, code, f"v=a[$(touch {canary})]")
    assert not canary.exists()
    assert "<v>" in out or "(pass --allow" in out


def test_a_value_starting_with_dash_is_refused_not_taken_as_an_option(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    out = attack(tmp_path, "sort <v>", f"v=-o{canary}")
    assert not canary.exists()
    assert "starts with '-'" in out


def test_a_plain_value_still_runs(tmp_path: Path) -> None:
    out = attack(tmp_path, "echo start-<v>-end; echo $(( <n> + 1 ))", "v=ok", "n=41")
    assert "start-ok-end" in out and "42" in out


def test_an_env_param_is_not_word_split(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "argv"
    fake = bindir / "curl"  # a read command, so the step runs
    fake.write_text(f'#!/bin/bash\nprintf "%s\\n" "$@" > {record}\n', encoding="utf-8")
    fake.chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin"}
    attack(tmp_path, "curl -s $URL/<id>", "URL=x -X DELETE http://h", "id=1", env=env)
    argv = record.read_text(encoding="utf-8").splitlines()
    assert argv == ["-s", "x -X DELETE http://h/1"]
