"""unexplained-param: a <placeholder> the on-call engineer cannot fill at 3 a.m.

A placeholder counts as explained when the runbook gives its meaning in any
of the ways authors do: a row of a Parameters table, a default, a mention of
its name in the text or in a comment of its block, an example line that
repeats the command with a real value, or prose that holds every word of its
name (``<lot-id>`` under "the lot's id"). opsdoc.toml ``[params]``
explains it too. Only ``<angle>`` placeholders are checked: ``$VARIABLES``
are the environment's business.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from opsdoc.lint.doc import Doc, comment_lines
from opsdoc.model import Step
from opsdoc.parse.words import stem

# Words that say nothing of what goes in a placeholder: <vm-name> is explained by
# prose about "the VM"; <lot-id> needs the prose to say what a lot is.
_GENERIC = {"the", "and", "for", "new", "old", "your", "my", "this", "that", "value", "some"}
_GENERIC |= {"name", "id", "ids", "number", "num", "string", "str", "val"}


def check(doc: Doc, known: Collection[str] = ()) -> None:
    runbook = doc.runbook
    sections = runbook.walk()
    documented = {p.name.lower() for s in sections for p in s.params if p.source == "table"}
    documented |= {p.name.lower() for s in sections for p in s.params if p.default is not None}
    documented |= {name.lower() for name in known}
    all_prose = "\n".join([runbook.title, *(f"{s.title}\n{s.text}" for s in sections)])
    words = _stems(all_prose)
    for section in sections:
        reported: set[str] = set()
        for step in section.steps:
            for param in step.params:
                name = param.name
                if param.source != "angle" or name in reported or name.lower() in documented:
                    continue
                if _mentioned(name, all_prose) or _in_comments(name, step):
                    continue
                if _example(name, step.code) or _words_given(name, words | _stems(step.prose)):
                    continue
                reported.add(name)
                line = _first_use(doc, step, name)
                doc.add(
                    "unexplained-param",
                    line,
                    section,
                    f"placeholder <{name}> is never explained: say in the text what goes "
                    "there, add it to a Parameters table (| Parameter | Meaning |), or show "
                    "an example line with a real value",
                )


def _mentioned(name: str, text: str) -> bool:
    """The name itself in prose: ``<name>``, or the bare name as a word when it is
    long enough not to be any word (``id`` in "tenant ID" explains nothing)."""
    if f"<{name.lower()}>" in text.lower():
        return True
    if len(name) < 5:
        return False
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE) is not None


def _in_comments(name: str, step: Step) -> bool:
    return any(_mentioned(name, text) for _, text in comment_lines(step.lang, step.code))


def _example(name: str, code: str) -> bool:
    """Another line of the block that is this one with a real value in its place."""
    token = f"<{name}>"
    for line in code.splitlines():
        if token not in line:
            continue
        parts = [re.escape(part) for part in line.strip().split(token)]
        pattern = re.compile(r"([^\s<>]+)".join(parts))
        for other in code.splitlines():
            match = pattern.fullmatch(other.strip())
            if match and other.strip() != line.strip():
                return True
    return False


def _stems(text: str) -> set[str]:
    return {stem(w) for w in re.findall(r"[a-z0-9]+", text.lower())}


def _name_words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    words = re.findall(r"[a-z0-9]+", spaced.lower())
    return [stem(w) for w in words if len(w) >= 2 and w not in _GENERIC]


def _words_given(name: str, stems: set[str]) -> bool:
    words = _name_words(name)
    return bool(words) and all(w in stems for w in words)


def _first_use(doc: Doc, step: Step, name: str) -> int:
    for number, line in enumerate(step.code.splitlines(), 1):
        if f"<{name}>" in line:
            return doc.file_line(step, number)
    return step.line
