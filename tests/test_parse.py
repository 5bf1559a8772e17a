"""Recognition conventions, each on a small runbook written for the test."""

from __future__ import annotations

from opsdoc.classify import classify_step
from opsdoc.model import Runbook
from opsdoc.parse import parse_text


def parse(text: str) -> Runbook:
    return parse_text(text, "test.md", classify_step)


def test_runme_attributes_in_both_forms_override_heuristics() -> None:
    book = parse(
        "# R\n\n## Queue stuck\n\n**Symptoms**: jobs pile up\n\n"
        '```sql {"name":"peek","phase":"verify","expect":"0 rows"}\nSELECT 1;\n```\n\n'
        "```bash { name=wipe safety=destructive timeout=30s option=B interactive=false }\n"
        "echo hi\n```\n"
    )
    peek, wipe = book.sections[0].steps
    assert (peek.name, peek.phase, peek.expect, peek.title) == (
        "peek",
        "verify",
        ["0 rows"],
        "peek",
    )
    assert (wipe.name, wipe.safety, wipe.timeout, wipe.option) == ("wipe", "destructive", 30, "B")
    assert wipe.attrs["interactive"] == "false"  # kept as Runme reads it


def test_executable_false_keeps_a_block_as_snippet() -> None:
    book = parse("# R\n\n## Deploy\n\n```bash {executable=false}\nmake deploy\n```\n")
    section = book.sections[0]
    assert section.steps == [] and section.snippets[0].reason == "marked not executable"


def test_console_transcript_runs_only_its_commands() -> None:
    book = parse(
        "# R\n\n## Pods\n\n```console\n$ kubectl get pods \\\n    -n web\n"
        "NAME  READY\nweb-1 1/1\n$ kubectl top pods\n```\n"
    )
    step = book.sections[0].steps[0]
    assert step.code == "kubectl get pods \\\n    -n web\nkubectl top pods\n"
    assert step.safety == "read" and step.phase == "diagnose"


def test_anchors_follow_github_including_duplicates_and_emoji() -> None:
    book = parse("# R\n\n## 🔥 Fix it\n\ntext\n\n## Fix it\n\ntext\n\n## Fix it\n\ntext\n")
    assert [s.id for s in book.sections] == ["-fix-it", "fix-it", "fix-it-1"]


def test_front_matter_is_metadata_and_lines_still_match() -> None:
    book = parse(
        "---\ntitle: Disk full\nowner: storage\n---\n\n## Clean up\n\n```bash\ndf -h\n```\n"
    )
    assert book.metadata == {"title": "Disk full", "owner": "storage"}
    assert book.title == "Disk full"
    assert book.sections[0].steps[0].line == 9


def test_indented_block_is_kept_as_a_snippet() -> None:
    book = parse("# R\n\n## Notes\n\nAn example:\n\n    some output\n    more output\n")
    snippet = book.sections[0].snippets[0]
    assert snippet.lang is None and snippet.code == "some output\nmore output\n"


def test_alert_runbook_is_one_scenario_with_its_parts() -> None:
    book = parse(
        "# DiskFillingUp\n\n## Meaning\n\nThe disk will be full within 4 hours.\n\n"
        "## Impact\n\nWrites fail.\n\n## Diagnosis\n\n```bash\ndf -h /var\n```\n\n"
        "## Mitigation\n\n```bash\nrm -rf /var/tmp/cache\n```\n"
    )
    (section,) = book.sections
    assert section.kind == "scenario" and section.id == "diskfillingup"
    assert section.symptoms == ["The disk will be full within 4 hours."]
    assert [(s.phase, s.safety) for s in section.steps] == [
        ("diagnose", "read"),
        ("act", "destructive"),
    ]
    assert "mitigation" in section.anchors


def test_plain_labels_in_a_row_are_options_numbered_ones_are_not() -> None:
    book = parse(
        "# R\n\n## Restart\n\n**Kubernetes:**\n\n```bash\nkubectl rollout restart deploy/web\n```\n\n"
        "**Systemd:**\n\n```bash\nsystemctl restart web\n```\n\n## Rotate\n\n"
        "**1. Make a key**:\n\n```bash\nopenssl rand -hex 16\n```\n\n"
        "**2. Store it**:\n\n```bash\nvault kv put secret/web key=x\n```\n"
    )
    restart, rotate = book.sections
    assert [s.option for s in restart.steps] == ["Kubernetes", "Systemd"]
    assert [s.option for s in rotate.steps] == [None, None]
    assert [s.title for s in rotate.steps] == ["1. Make a key", "2. Store it"]


def test_quoted_failure_message_starts_a_scenario() -> None:
    book = parse(
        "# R\n\n## Gate\n\nRun the gate before deploying.\n\n```bash\n./gate\n```\n\n"
        '### Troubleshooting\n\n**"Health failed: Connection refused"**\n\n- Check the API is up\n'
    )
    gate = book.sections[0]
    (child,) = gate.children
    assert child.kind == "scenario" and child.from_label
    assert child.symptoms == ["Health failed: Connection refused"]
    assert child.id == "health-failed-connection-refused"


def test_a_warning_before_a_write_step_makes_it_destructive() -> None:
    book = parse(
        "# R\n\n## Reset\n\n⚠️ This cannot be undone.\n\n```sql\nUPDATE jobs SET state = 'new';\n```\n"
    )
    step = book.sections[0].steps[0]
    assert step.safety == "destructive"
    assert "the runbook warns about this step" in step.safety_reasons


def test_params_read_but_not_set_with_defaults_and_secrets() -> None:
    book = parse(
        "# R\n\n## Call\n\n```bash\nTOKEN=$(cat token)\necho '$NOT_A_PARAM'\n"
        'curl -H "Authorization: Bearer $TOKEN" "${API_URL:-http://localhost}/v1/<item-id>"\n'
        "node -e 'console.log(process.env.SIGNING_KEY)'\n```\n"
    )
    params = {p.name: p for p in book.sections[0].params}
    assert list(params) == ["item-id", "API_URL", "SIGNING_KEY"]
    assert params["API_URL"].default == "http://localhost" and not params["API_URL"].secret
    assert params["SIGNING_KEY"].secret and not params["item-id"].secret


def test_an_option_label_opens_its_option_even_with_a_sentence_after_it() -> None:
    book = parse(
        "# R\n\n## Fix\n\n**Option A: Cancel**\n```sql\nUPDATE t SET a = 1;\n```\n\n"
        "**Option B: One row only** (when one merchant asks). `<id>` is the row from\n"
        "the ticket.\n```sql\nUPDATE t SET a = 1 WHERE id = '<id>';\n```\n"
    )
    assert [(s.option, s.title) for s in book.sections[0].steps] == [
        ("A", "Cancel"),
        ("B", "One row only"),
    ]


def test_expected_alternatives_are_one_expectation() -> None:
    from opsdoc.execute.expect import holds

    book = parse(
        "# R\n\n## Check\n\n```sql\nSELECT status FROM v;\n```\n\n"
        "Expected: `status` is `approved` or `rejected`, and `lag` is set.\n"
    )
    expect = book.sections[0].steps[0].expect
    assert expect == ["status", "/approved|rejected/", "lag"]
    assert holds(expect[1], "status\nrejected") and not holds(expect[1], "status\npending")


def test_expected_output_takes_the_first_sentence() -> None:
    book = parse(
        "# R\n\n## Check\n\n```sql\nSELECT status FROM v;\n```\n\n"
        "Expected output: `status: ok` and `lag: 0`. If `status` is `down`, page the DBA.\n"
    )
    assert book.sections[0].steps[0].expect == ["status: ok", "lag: 0"]


def test_metadata_lines_anywhere() -> None:
    book = parse("# R\n\n## A\n\ntext\n\n---\n\n**Last Updated**: 2026-01-02\n**Owner**: Ops\n")
    assert book.metadata == {"last_updated": "2026-01-02", "owner": "Ops"}


def test_every_block_lands_exactly_once_in_nested_markup() -> None:
    text = (
        "Intro before any heading:\n\n```bash\nuptime\n```\n\n# T\n\n> ```sql\n> SELECT 1;\n> ```\n\n"
        "## A\n\n1. Item\n   - nested\n\n     ```bash\n     ls\n     ```\n\n"
        "| x | y |\n|---|---|\n| 1 | 2 |\n\n    indented\n\n~~~yaml\nk: v\n~~~\n"
    )
    book = parse(text)
    landed = sum(len(s.steps) + len(s.snippets) for s in book.walk())
    assert landed == book.code_blocks == 5


def test_title_with_mostly_part_headings_is_one_scenario() -> None:
    book = parse(
        "# Queue mapper errors\n\n## Symptoms\n\nYou see `mapper_parsing_exception` in logs.\n\n"
        "## Likely suspects\n\nA field changed type.\n\n## Resolution\n\n```bash\n./reindex.sh\n```\n"
    )
    (section,) = book.sections
    assert section.title == "Queue mapper errors" and section.kind == "scenario"
    assert "mapper_parsing_exception" in section.signals
    assert [s.phase for s in section.steps] == ["act"]


def test_file_without_a_title_whose_headings_are_parts_is_one_unit() -> None:
    book = parse_text(
        "## Symptoms\n\n* Error ratio above SLO\n\n## Troubleshooting\n\n```bash\nkubectl get pods\n```\n",
        "docs/sidekiq-error-rate.md",
        classify_step,
    )
    (section,) = book.sections
    assert book.title == section.title == "sidekiq-error-rate"
    assert section.symptoms == ["Error ratio above SLO"]
    assert [(s.phase, s.safety) for s in section.steps] == [("diagnose", "read")]


def test_log_output_under_a_shell_fence_is_not_a_step() -> None:
    book = parse(
        "# R\n\n## Pods pending\n\n```bash\n"
        "2024-04-05T23:56:53.363Z  ERROR  controller  could not schedule pod\n"
        "Warning   FailedScheduling   pod/web-1   0/3 nodes are available\n```\n\n"
        "```bash\nkubectl describe pod web-1\n```\n"
    )
    section = book.sections[0]
    assert [s.code.strip() for s in section.steps] == ["kubectl describe pod web-1"]
    assert [s.role for s in section.snippets] == ["output"]
