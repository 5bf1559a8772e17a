"""Issue 11, cases 11-13: secrets cut by caps, DSN passwords, terminal escapes.

Each attack is a runbook in tmp_path run with ``opsdoc run --yes`` and no --allow.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import run_opsdoc
from opsdoc.config import dsn_password

TOKEN = "tok" + "Q7x9Lm2Vb8Rn4Kp6" * 7  # 115 characters, longer than a table cell


def book(tmp_path: Path, lang: str, code: str) -> str:
    path = tmp_path / "attack.md"
    path.write_text(f"# Runbook\n\n## Attack\n\n```{lang}\n{code}\n```\n", encoding="utf-8")
    return f"{path}#attack"


def everything(tmp_path: Path, target: str, *flags: str) -> str:
    """stdout, --json, journal show and export of one run, and the journal's bytes."""
    journal = tmp_path / "j.sqlite3"
    base = ("run", target, "--yes", "--journal", str(journal), *flags)
    text = run_opsdoc(*base)
    as_json = run_opsdoc(*base, "--json")
    run_id = json.loads(as_json.stdout.splitlines()[0])["run_id"]
    show = run_opsdoc("journal", "show", run_id, "--journal", str(journal))
    export = run_opsdoc("journal", "export", run_id, "--journal", str(journal))
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("j.sqlite3*"))
    out = [text.stdout, text.stderr, as_json.stdout, show.stdout, export.stdout]
    return "\n".join(out) + raw.decode("utf-8", "replace")


def test_a_long_secret_cell_is_masked_before_it_is_cut(tmp_path, fresh_db) -> None:
    target = book(tmp_path, "sql", "SELECT <api_token>::text AS v;")
    seen = everything(tmp_path, target, "--target", fresh_db, "--param", f"api_token={TOKEN}")
    assert "***" in seen
    assert TOKEN[:20] not in seen


def test_the_capture_cap_does_not_keep_half_a_token(tmp_path) -> None:
    # 63,990 x's, a blank, then a GitHub token built at run time: the 64 KB cap
    # falls inside the token, and its first half matches no pattern any more.
    code = "head -c 63990 /dev/zero | tr '\\0' x\necho \" ghp_$(printf 'a1B2c3D4e5%.0s' 1 2 3 4)\""
    seen = everything(tmp_path, book(tmp_path, "bash", code))
    assert "ghp_a1B2" not in seen


def test_dsn_passwords_are_masked_in_the_run_line(tmp_path) -> None:
    target = book(tmp_path, "sql", "SELECT 1;")
    for dsn in (
        "postgresql://u@[::1]:5999/db?password=s3cretpwd&sslmode=disable",
        "host=::1 port=5999 password='s3c retpwd' dbname=x",
        "postgresql://u:s3cretpwd@[::1]:5999/db",
    ):
        seen = everything(tmp_path, target, "--target", dsn)
        assert "s3cretpwd" not in seen and "retpwd" not in seen, dsn


def test_escape_sequences_are_shown_not_obeyed(tmp_path) -> None:
    seen = everything(tmp_path, book(tmp_path, "bash", r"printf 'ok\033[2A\033[2Kgone\n'"))
    text = seen.split("SQLite format")[0]  # the journal file keeps raw text; check the screens
    assert "\x1b" not in text
    assert "\\x1b[2A" in text


def test_secret_params_come_from_a_file_or_stdin_and_the_command_line_warns(tmp_path) -> None:
    target = book(tmp_path, "bash", "echo len ${#API_TOKEN}")
    journal = str(tmp_path / "j.sqlite3")
    loud = run_opsdoc("run", target, "--yes", "--journal", journal, "-p", f"API_TOKEN={TOKEN}")
    assert "visible to other users" in loud.stderr
    quiet = run_opsdoc(
        "run",
        target,
        "--yes",
        "--journal",
        journal,
        "--param-file",
        "-",
        input=f"API_TOKEN={TOKEN}\n",
    )
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "visible to other users" not in quiet.stderr
    assert f"len {len(TOKEN)}" in quiet.stdout


@pytest.mark.parametrize(
    ("dsn", "password"),
    [
        ("postgresql://u:pw-one@[::1]:5432/db", "pw-one"),
        ("postgresql://u@h/db?sslmode=disable&password=pw-two", "pw-two"),
        ("host=h password='a b\\' c' user=u", "a b' c"),
        ("host=h password=pw-three user=u", "pw-three"),
    ],
)
def test_every_dsn_form_yields_its_password_to_mask(dsn: str, password: str) -> None:
    assert dsn_password(dsn) == password


def test_a_runbook_cannot_paint_the_terminal_with_its_title_or_code(tmp_path: Path) -> None:
    book = tmp_path / "b.md"
    book.write_text(
        "# B\n\n## Look \x1b[2J\n\n```bash\necho ok # \x1b[1A\x1b[2K\n```\n", encoding="utf-8"
    )
    result = run_opsdoc("run", f"{book}#look-2j", "--yes", "--journal", str(tmp_path / "j.db"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "\x1b" not in result.stdout and "\\x1b" in result.stdout
