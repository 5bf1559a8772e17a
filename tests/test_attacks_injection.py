"""The 504 parameter-injection attempts (tests/attacks/injection.py), each run in real bash.

The executor is the one `opsdoc run` uses, called directly so that 504 runs
take seconds; a sample also goes through the CLI. A break names the place,
the value, and what happened.
"""

from __future__ import annotations

import os
from pathlib import Path

from attacks.injection import CASES, FAKES
from conftest import run_opsdoc
from opsdoc.execute.process import run_process
from opsdoc.model import Param, Step
from test_execute_sql import Recorder


def fakes(folder: Path) -> str:
    """A PATH whose curl and sort are the stand-ins, before the real ones."""
    folder.mkdir()
    for name, body in FAKES.items():
        path = folder / name
        path.write_text(body, encoding="utf-8")
        path.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"


def test_no_injected_value_changes_what_a_step_does(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": fakes(tmp_path / "bin")}
    work = tmp_path / "work"
    work.mkdir()
    canary = work / "C"
    broken: list[str] = []
    refused = 0
    for context, value in CASES:
        step = Step(phase="diagnose", lang="bash", code=context, line=1, params=[Param("v")])
        outcome = run_process(
            step, values={"v": value}, hooks=Recorder(False), timeout=20, cwd=work, env=env
        )
        if outcome.status == "failed" and outcome.exit_code is None:
            refused += 1
            if "Traceback" in (outcome.error or "") or not outcome.error:
                broken.append(f"{context!r} with {value!r}: no clear error")
        if canary.exists():
            broken.append(f"{context!r} with {value!r}: C was created ({outcome.status})")
            canary.unlink()
    assert not broken, f"{len(broken)} of {len(CASES)} broke:\n" + "\n".join(broken)
    assert len(CASES) == 504
    assert 0 < refused < len(CASES) // 2  # refusals are for the unsafe places, not everything


def test_a_sample_through_the_cli(tmp_path: Path) -> None:
    env = {"PATH": fakes(tmp_path / "bin")}
    book = tmp_path / "book.md"
    book.write_text(
        "# B\n\n## Sort\n\n```bash\nsort <v>\n```\n\n## Index\n\n```bash\n"
        'a=(x y); echo "${a[<v>]}"\n```\n',
        encoding="utf-8",
    )
    journal = str(tmp_path / "j.sqlite3")
    for section, value in (("sort", "-oC"), ("index", "a[$(touch C)]")):
        result = run_opsdoc(
            "run",
            f"{book}#{section}",
            "--yes",
            "-p",
            f"v={value}",
            "--journal",
            journal,
            cwd=tmp_path,
            env=env,
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "nothing was run" in result.stdout
        assert not (tmp_path / "C").exists()
