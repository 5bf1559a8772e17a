"""Shared test helpers: where ../shared is, and running the real CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pg import fresh_db, pg_server  # noqa: F401  (embedded PostgreSQL fixtures)

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("OPSDOC_SHARED", ROOT.parent / "shared"))
SEEDS = SHARED / "seeds"
SPEC = SHARED / "spec" / "seed-runbooks.yaml"
CORPUS = SHARED / "corpus" / "public"
EXAMPLES = ROOT / "examples"


def run_opsdoc(
    *args: str,
    cwd: Path | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the installed CLI the way a user does: a real process, real exit code.

    `input` is written to the process's stdin; without it stdin is /dev/null.
    """
    full_env = {**os.environ, "COLUMNS": "160", "NO_COLOR": "1", **(env or {})}
    stdin = {} if input is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(
        [sys.executable, "-m", "opsdoc", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
        env=full_env,
        input=input,
        **stdin,
    )


@pytest.fixture(scope="session", autouse=True)
def _shared_is_there() -> None:
    if not SEEDS.is_dir():
        pytest.exit(f"../shared is missing (looked for {SEEDS}); clone beside it", returncode=2)


@pytest.fixture(autouse=True)
def _own_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Give each test, and the CLIs it starts, user data and cache dirs of its own.

    The journal (``<user data dir>/opsdoc/journal.sqlite3``) and its key, the lab's
    PostgreSQL and find's index cache default to the user's platformdirs
    folders. A test that does not name its own would otherwise write to the
    real user's journal and share it with every other test, and with the
    other workers when the suite runs in parallel (pytest -n).
    """
    base = tmp_path_factory.mktemp("xdg")
    for var, sub in (
        ("XDG_DATA_HOME", "data"),
        ("XDG_CACHE_HOME", "cache"),
        ("XDG_CONFIG_HOME", "config"),  # the journal's key
    ):
        monkeypatch.setenv(var, str(base / sub))
    monkeypatch.delenv("OPSDOC_JOURNAL", raising=False)
    monkeypatch.delenv("OPSDOC_JOURNAL_KEY_FILE", raising=False)


@pytest.fixture(scope="session", autouse=True)
def _ctrl_c_is_deliverable() -> None:
    """Give SIGINT its default meaning in this process and the CLIs it starts.

    A shell that starts pytest in the background (``pytest &`` in a script)
    leaves SIGINT ignored, and children inherit that; the Ctrl-C tests would
    then test nothing. A handler here resets children to the default.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
