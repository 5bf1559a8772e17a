"""A team's command rules file extends and overrides the packaged rules, or fails naming itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsdoc.classify.command_rules import RulesError, load_command_rules
from opsdoc.classify.shell import classify_shell


def test_team_rules_file_marks_a_local_script_read(tmp_path: Path) -> None:
    team = tmp_path / "team-rules.toml"
    team.write_text(
        '[commands]\n"./scripts/watch-logs.sh" = { safety = "read", reason = "only tails logs" }\n'
    )
    rules = load_command_rules([team])
    code = "./scripts/watch-logs.sh payments\nscripts/watch-logs.sh auth\n"
    assert [s.safety for s in classify_shell(code, rules=rules)] == ["read", "read"]
    assert classify_shell(code, rules=rules)[0].reason == "./scripts/watch-logs.sh only tails logs"
    # The default rules are untouched.
    assert [s.safety for s in classify_shell(code)] == ["write", "write"]


def test_team_rules_extend_and_override_known_commands(tmp_path: Path) -> None:
    team = tmp_path / "team.toml"
    team.write_text(
        "[commands.opsctl]\n"
        'safety = "write"\n'
        'subcommands = { "status" = "read", "purge *" = "destructive" }\n'
        "[commands.kubectl.subcommands]\n"
        'logs = "write"\n'
        "[[commands.curl.flags]]\n"
        'names = ["--unix-socket"]\n'
        'safety = "write"\n'
    )
    rules = load_command_rules([team])
    code = "opsctl status\nopsctl purge queue\nkubectl logs api\nkubectl get pods\n"
    assert [s.safety for s in classify_shell(code, rules=rules)] == [
        "read",
        "destructive",
        "write",
        "read",
    ]
    statement = classify_shell("curl --unix-socket /run/d.sock http://x/", rules=rules)[0]
    assert statement.safety == "write"


def test_team_override_without_reason_drops_the_old_reason(tmp_path: Path) -> None:
    team = tmp_path / "team.toml"
    team.write_text('[commands.curl]\nsafety = "write"\n')
    statement = classify_shell("curl https://x.test", rules=load_command_rules([team]))[0]
    assert statement.safety == "write"
    assert "only reads" not in statement.reason


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[commands\n", "not valid TOML"),
        ('[commands]\nfoo = "harmless"\n', "safety must be read, write or destructive"),
        ('[commands.foo]\nsafty = "read"\n', "unknown key(s) safty"),
        ('[commands.foo]\nflags = [{ safety = "read" }]\n', "names is required"),
    ],
)
def test_bad_team_rules_file_names_itself(tmp_path: Path, text: str, message: str) -> None:
    team = tmp_path / "bad.toml"
    team.write_text(text)
    with pytest.raises(RulesError) as info:
        load_command_rules([team])
    assert str(team) in str(info.value)
    assert message in str(info.value)


def test_missing_team_rules_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        load_command_rules([tmp_path / "nope.toml"])


def test_default_rules_are_cached() -> None:
    assert load_command_rules() is load_command_rules()
