"""``opsdoc run --resume RUN``: what the earlier run finished, matched to today's runbook.

A resume must never do twice what was done once, nor skip what never ran.
So steps are matched by the hash of their code, not by their number (a step
inserted above would shift every number); statements an interrupted step had
already committed are skipped; the runbook is the absolute path the run
recorded, and a masked value (``***``) in the journal is never fed back in.
Where the match cannot be made with certainty, the resume is refused with
what to do instead.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from opsdoc.errors import OpsdocError
from opsdoc.execute.plan import PlannedStep
from opsdoc.journal import Event
from opsdoc.mask import MASK
from opsdoc.model import Step


def code_hash(step: Step) -> str:
    """The identity of a step across edits of the runbook around it."""
    return hashlib.sha256(step.code.encode()).hexdigest()[:12]


@dataclass
class ResumeState:
    """What the journal says about the run being resumed."""

    run_id: str
    runbook: str  # absolute path in journals written since resume checks it
    section: str
    content_hash: str
    params: dict[str, str] = field(default_factory=dict)  # only values recorded unmasked
    masked: list[str] = field(default_factory=list)  # params recorded as ***: give them again
    target_arg: str | None = None
    options: list[str] = field(default_factory=list)
    # The run's selection (--step, a cell by name, --only, --from): a resume keeps it.
    steps: list[int] = field(default_factory=list)
    only: str | None = None
    start: int | None = None
    finished: list[tuple[int, str]] = field(default_factory=list)  # (number, code hash), ok
    # step number -> (code hash, 1-based statements it committed before it stopped)
    committed: dict[int, tuple[str, set[int]]] = field(default_factory=dict)
    uncertain: list[tuple[int, str]] = field(default_factory=list)  # cut off after a commit


def load_state(events: list[Event]) -> ResumeState:
    """Read the earlier run's start, options and per-step results."""
    started = next((e for e in events if e.type == "run_started"), None)
    if started is None:
        raise OpsdocError("this run has no start in the journal; it cannot be resumed")
    data = started.data
    options = next((e.data for e in events if e.type == "run_options"), {})
    params: dict[str, str] = {}
    masked: list[str] = []
    for name, value in (data.get("params") or {}).items():
        if isinstance(value, str) and MASK in value:
            masked.append(name)  # the journal kept *** for it; the value is gone for good
        else:
            params[name] = str(value)
    state = ResumeState(
        run_id=started.run_id,
        runbook=str(data["runbook"]),
        section=str(data["section"]),
        content_hash=str(data.get("content_hash") or ""),
        params=params,
        masked=masked,
        target_arg=options.get("target_arg"),
        options=list(options.get("options") or []),
        steps=[int(n) for n in options.get("steps") or []],
        only=options.get("only"),
        start=options.get("start"),
    )
    _read_steps(events, state)
    return state


def _read_steps(events: list[Event], state: ResumeState) -> None:
    planned: dict[int, str] = {}
    committed: dict[int, set[int]] = {}
    confirmed_commit: set[int] = set()
    ended: dict[int, tuple[str, str]] = {}
    for event in events:
        number, d = event.step, event.data
        if not number:
            continue
        if event.type == "step_planned":
            planned[number] = hashlib.sha256(str(d.get("code", "")).encode()).hexdigest()[:12]
            committed.pop(number, None)
            confirmed_commit.discard(number)
            ended.pop(number, None)
        elif (event.type == "statement" and d.get("status") == "committed") or (
            event.type == "statement_skipped"  # committed by a run this one resumed
        ):
            committed.setdefault(number, set()).add(int(d.get("index", 0)))
        elif event.type == "step_skipped" and d.get("finished") and d.get("code_hash"):
            ended[number] = ("ok", str(d["code_hash"]))  # finished in a run this one resumed
        elif event.type == "step_confirmed" and d.get("kind") in ("commit", "autocommit"):
            confirmed_commit.add(number)
        elif event.type == "step_finished":
            ended[number] = (str(d.get("status")), str(d.get("code_hash") or planned.get(number)))
    for number, (status, digest) in sorted(ended.items()):
        if status == "ok":
            state.finished.append((number, digest))
        elif committed.get(number):
            state.committed[number] = (digest, committed[number])
    for number, digest in planned.items():
        if number not in ended and number in confirmed_commit:
            state.uncertain.append((number, digest))  # killed: no record of what committed


def runbook_path(state: ResumeState) -> Path:
    """The file the run used; refuse when it is not there to be read."""
    path = Path(state.runbook)
    if not path.is_absolute():
        # Journals from before absolute paths: the run's folder is unknown.
        raise OpsdocError(
            f"run {state.run_id} recorded its runbook as the relative path {state.runbook}; "
            "opsdoc cannot tell which file that was",
            hint=f"run it again with FILE#{state.section} and --from N instead of --resume",
        )
    if not path.is_file():
        raise OpsdocError(
            f"the runbook of run {state.run_id} is no longer at {path}",
            hint=f"restore it, or start a new run with FILE#{state.section} and --from N",
        )
    return path


def match_steps(
    state: ResumeState, planned: list[PlannedStep], content_hash: str
) -> tuple[dict[int, str], dict[int, set[int]], list[str]]:
    """Steps to skip, statements to skip (by step number), and notes saying why.

    A finished step is skipped only where its code is found exactly once as
    many times as it finished; an edited or repeated one makes the match
    ambiguous, and the resume is refused.
    """
    hashes = {p.number: code_hash(p.step) for p in planned}
    where = {p.number: p for p in planned}
    changed = bool(state.content_hash) and content_hash != state.content_hash
    notes: list[str] = []
    if changed:
        notes.append(
            f"the runbook changed since run {state.run_id}; steps are matched by their code"
        )
    for number, digest in state.uncertain:
        found = [n for n, h in hashes.items() if h == digest]
        line = f", line {where[found[0]].step.line}" if len(found) == 1 else ""
        raise OpsdocError(
            f"step {number}{line} of run {state.run_id} was cut off after a commit was "
            "confirmed; the journal cannot say whether it committed",
            hint="check the target by hand, then run FILE#SECTION with --from the next step",
        )
    if not changed:  # the same file: the numbers still mean the same steps
        skip = {n: h for n, h in state.finished if hashes.get(n) == h}
        partial = {n: set(idx) for n, (h, idx) in state.committed.items() if hashes.get(n) == h}
        return skip, partial, notes
    return _by_code(state, hashes), _partial_by_code(state, hashes), notes + _moved(state, hashes)


_CHOOSE = "run FILE#SECTION with --step/--from to choose the steps yourself"


def _by_code(state: ResumeState, hashes: dict[int, str]) -> dict[int, str]:
    """Finished steps found again by their code, each exactly as often as it finished."""
    done = Counter(digest for _, digest in state.finished)
    present = Counter(hashes.values())
    skip: dict[int, str] = {}
    for digest, times in done.items():
        number = next(n for n, h in state.finished if h == digest)
        if present[digest] == 0:
            raise OpsdocError(
                f"step {number} of run {state.run_id} finished, but no step in the runbook has "
                "its code any more (edited or removed); opsdoc cannot tell what is left to do",
                hint=_CHOOSE,
            )
        if present[digest] != times:
            raise OpsdocError(
                f"step {number} of run {state.run_id} finished {times} time(s) and its code is in "
                f"the runbook {present[digest]} time(s); which ones ran is ambiguous",
                hint=_CHOOSE,
            )
        skip.update({n: h for n, h in hashes.items() if h == digest})
    return skip


def _partial_by_code(state: ResumeState, hashes: dict[int, str]) -> dict[int, set[int]]:
    partial: dict[int, set[int]] = {}
    for number, (digest, indexes) in state.committed.items():
        found = [n for n, h in hashes.items() if h == digest]
        if len(found) != 1:
            raise OpsdocError(
                f"step {number} of run {state.run_id} committed statement(s) "
                f"{', '.join(map(str, sorted(indexes)))} before it stopped, and its code is in "
                f"the runbook {len(found)} time(s); opsdoc will not guess which",
                hint=_CHOOSE,
            )
        partial[found[0]] = set(indexes)
    return partial


def _moved(state: ResumeState, hashes: dict[int, str]) -> list[str]:
    notes = []
    for number, digest in state.finished:
        now = [n for n, h in hashes.items() if h == digest]
        if now and now[0] != number:
            notes.append(f"step {number} of run {state.run_id} is step {now[0]} now")
    return notes


def without_committed(
    step: Step, indexes: set[int], statements: list[Any]
) -> tuple[Step, list[int]]:
    """The step minus the statements already committed (and their BEGIN/COMMIT),
    and the original 1-based numbers of the statements kept."""
    drop = _drop(statements, indexes)
    kept = [i for i in range(1, len(statements) + 1) if i not in drop]
    return replace(step, statements=[statements[i - 1] for i in kept]), kept


def _drop(statements: list[Any], indexes: set[int]) -> set[int]:
    """Committed statements, and a runbook's BEGIN whose transaction committed."""
    drop = set(indexes)
    opened: int | None = None
    for i, st in enumerate(statements, 1):
        word = str(getattr(st, "text", "")).lstrip().split(None, 1)
        head = word[0].rstrip(";").upper() if word else ""
        if head in ("BEGIN", "START"):
            opened = i
        elif head in ("COMMIT", "END") and opened is not None:
            if i in indexes:
                drop.update(range(opened, i + 1))
            opened = None
    return drop


def ask_again(
    state: ResumeState, given: dict[str, str], config: dict[str, str], interactive: bool
) -> None:
    """A value the journal masked must come from the person again, never from the mask."""
    from opsdoc.execute.plan import env_name

    for name in state.masked:
        if name in given or name in config:
            continue
        if name in os.environ or env_name(name) in os.environ or interactive:
            continue  # found in the environment, or the prompt will ask for it
        raise OpsdocError(
            f"run {state.run_id} journaled the value of {name} masked (***); "
            "opsdoc never reuses a masked value",
            hint=f"give it again: --param {name}=VALUE",
        )
