"""Units of a runbook (DESIGN.md): a heading that names a topic is its own section.

A heading that only names a part (Symptom, Diagnosis, Solution, Step N)
stays in its scenario and keeps its anchor there; a question, a numbered
case, a check's status line and an error-named heading are units even when
they sit under a part; a top heading's own text is a unit; a title given
only in front matter names the runbook and fills a template heading.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import CORPUS, run_opsdoc

BOOK = """\
# Payments

Payments take card money in and pay refunds out; page #payments-oncall when it breaks.

## Checkout errors

### Symptoms

- customers see a spinner

### Diagnosis

Look at the gateway log first.

#### Unknown Content Type

The gateway answers 415 when the client sends form data.

```bash
grep 415 /var/log/gateway.log
```

### Gateway modes

Two modes exist.

### Solution

Restart the gateway.

## Troubleshooting

### Why do refunds take a day?

The bank batches them.

### 2.2) If you see `FailedScheduling` on the payout job

Add a node.

### √ data plane proxies are ready

All proxies answer.
"""


def sections(path: Path) -> list[dict[str, Any]]:
    result = run_opsdoc("show", "--json", str(path))
    assert result.returncode == 0, result.stderr
    out = []

    def walk(items: list[dict[str, Any]]) -> None:
        for s in items:
            out.append(s)
            walk(s["children"])

    walk(json.loads(result.stdout)["sections"])
    return out


def test_topics_are_units_and_parts_stay_in_their_scenario(tmp_path: Path) -> None:
    book = tmp_path / "payments.md"
    book.write_text(BOOK, encoding="utf-8")
    by_id = {s["id"]: s for s in sections(book)}
    # the top heading's own text is a unit
    assert by_id["payments"]["kind"] != "container"
    assert "payments-oncall" in by_id["payments"]["text"]
    # parts stay in the scenario, addressable by anchor
    scenario = by_id["checkout-errors"]
    assert {"symptoms", "diagnosis", "solution"} <= set(scenario["anchors"])
    assert "customers see a spinner" in scenario["symptoms"]
    # an error-named heading under Diagnosis is a unit of its own, with its step
    error = by_id["unknown-content-type"]
    assert [s["code"] for s in error["steps"]] == ["grep 415 /var/log/gateway.log\n"]
    assert not scenario["steps"] and "unknown-content-type" not in scenario["anchors"]
    # a question, a numbered case and a check line are units; a plain noun phrase is a part
    assert "why-do-refunds-take-a-day" in by_id
    assert "22-if-you-see-failedscheduling-on-the-payout-job" in by_id
    assert "-data-plane-proxies-are-ready" in by_id or "data-plane-proxies-are-ready" in by_id
    assert "gateway-modes" not in by_id and "gateway-modes" in scenario["anchors"]


def test_show_and_run_address_a_part_through_its_scenario(tmp_path: Path) -> None:
    book = tmp_path / "payments.md"
    book.write_text(BOOK, encoding="utf-8")
    part = run_opsdoc("show", f"{book}#diagnosis")
    assert part.returncode == 0, part.stderr
    assert "Checkout errors" in part.stdout and "Look at the gateway log first." in part.stdout
    unit = run_opsdoc("show", f"{book}#unknown-content-type")
    assert "415" in unit.stdout and "Restart the gateway" not in unit.stdout


def test_front_matter_titles_name_the_runbook(tmp_path: Path) -> None:
    toml = tmp_path / "t.md"
    toml.write_text('+++\ntitle = "Disk full"\n+++\n\nThe disk fills.\n', encoding="utf-8")
    js = tmp_path / "j.md"
    js.write_text('{\n  "title": "Queue stuck"\n}\n\nJobs wait.\n', encoding="utf-8")
    erb = tmp_path / "e.html.md.erb"
    erb.write_text(
        "---\ntitle: Certificates expire\n---\n\n# <%= current_page.data.title %>\n\n"
        "Renew them.\n\n## Renew\n\n```bash\ncertbot renew\n```\n",
        encoding="utf-8",
    )
    for path, title in ((toml, "Disk full"), (js, "Queue stuck"), (erb, "Certificates expire")):
        data = json.loads(run_opsdoc("show", "--json", str(path)).stdout)
        assert data["title"] == title, path.name
        assert "<%" not in json.dumps(data["sections"])


def test_a_public_erb_page_is_titled_from_its_front_matter() -> None:
    path = CORPUS / "ministryofjustice__cloud-platform__source__external-dns-error.html.md.erb.md"
    data = json.loads(run_opsdoc("show", "--json", str(path)).stdout)
    front = path.read_text(encoding="utf-8").split("\n---\n", 1)[0]
    title = next(
        line.split(":", 1)[1].strip() for line in front.splitlines() if line.startswith("title:")
    )
    assert data["title"] == title
    assert all("current_page" not in s["title"] for s in sections(path))
