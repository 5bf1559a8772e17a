"""The docs say what the runner journals: every event kind is in docs/journal.md's table."""

from __future__ import annotations

import re

from conftest import ROOT
from opsdoc import events


def test_every_event_kind_is_documented_and_nothing_else_is() -> None:
    text = (ROOT / "docs" / "journal.md").read_text(encoding="utf-8")
    table = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    written_by_others = {"run_started", "run_options"}  # the session writes these two
    assert set(events.KINDS) | written_by_others == table


def test_an_event_survives_the_journal_encoding_and_an_unknown_one_is_kept() -> None:
    event = events.StepConfirmed(step=3, kind="commit", safety="write", by="bob", how="approval")
    type, step, data = events.encode(event)
    assert (type, step) == ("step_confirmed", 3) and "needs" not in data
    assert events.decode(type, step, data) == event
    later = events.decode("step_confirmed", 3, {**data, "ticket": "INC-7"})
    assert later.extra == {"ticket": "INC-7"} and events.encode(later)[2]["ticket"] == "INC-7"
    unknown = events.decode("made_up", None, {"x": 1})
    assert isinstance(unknown, events.Unknown) and events.encode(unknown) == (
        "made_up",
        None,
        {"x": 1},
    )
