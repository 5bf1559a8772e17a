"""Rules on the shape of a runbook: empty blocks, scenarios without a symptom or
a verification, destructive steps nobody warns about, dead anchors, open fences.
"""

from __future__ import annotations

import difflib
import re
from urllib.parse import unquote

from opsdoc.lint.doc import Doc, comment_lines, short
from opsdoc.model import Section, Step
from opsdoc.parse.fences import PROMPT_LANGS
from opsdoc.parse.words import github_slug, is_problem_title

# Words that tell a reader a step is dangerous (prose, a label, a comment, or the
# paragraph right after the block).
WARNING_WORDS = re.compile(
    r"⚠|\b(danger|dangerous|caution|careful|warning|emergency only|destructive|irreversible|"
    r"cannot be undone|can't be undone|data loss|permanently|use sparingly|backup|back up|"
    r"snapshot|be sure|make sure|at your own risk|last resort|not recoverable|undesired|"
    r"unintended|instability|only if|if (?:it is |it's )?safe|"
    # ...or says what happens next, which is what a reader needs before a delete
    r"recreat\w*|re-creat\w*|automatically (?:be )?(?:re)?(?:start|creat)\w*)\b",
    re.IGNORECASE,
)
_VERIFY_WORDS = re.compile(r"\b(verify|verif\w+|confirm|check|ensure|validate)\b", re.IGNORECASE)
_HTML_ID = re.compile(r"""<[a-zA-Z][^>]*\s(?:id|name)\s*=\s*["']?([^"'\s>]+)""")
_ALERT_NAME = re.compile(r"`?[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+`?")
_MORE_PROBLEM = re.compile(
    r"\b(doesn'?t|don'?t|won'?t|isn'?t|aren'?t|unauthenticated|unauthori[sz]ed|forbidden|"
    r"hangs?|panics?|evicted|restarts?|restarting|crashloop\w*)\b",
    re.IGNORECASE,
)
# "# sysctl -w ..." in a console block: maybe a root prompt rather than a comment.
_ROOT_PROMPT = re.compile(r"^\s*#\s+[a-z/.][\w./-]*(\s|$)")
_FENCE_LINE = re.compile(r"^\s*(`{3,}|~{3,})\s*$")
_UNCLOSED = re.compile(r"code fence opened at line (\d+) is never closed")


def check(doc: Doc) -> None:
    for section in doc.runbook.walk():
        for snippet in section.snippets:
            if snippet.role == "comments":
                doc.add(
                    "empty-step", snippet.line, section, _empty_message(snippet.lang, snippet.code)
                )
        if section.kind == "scenario":
            _scenario(doc, section)
        for index, step in enumerate(section.steps):
            if step.safety == "destructive":
                _destructive(doc, section, index, step)
    _anchors(doc)
    for diagnostic in doc.runbook.diagnostics:
        match = _UNCLOSED.search(diagnostic.message)
        if match:
            line = int(match.group(1))
            doc.add(
                "unclosed-fence",
                line,
                doc_section_at(doc, line),
                "the code fence opened here is never closed, so the rest of the file "
                "reads as code: close it with a matching ``` line",
            )


def _empty_message(lang: str | None, code: str) -> str:
    if (lang or "").lower() in PROMPT_LANGS and all(
        _ROOT_PROMPT.match(line) for line in code.splitlines() if line.strip()
    ):
        return (
            f"this ```{lang} block holds only `#` lines, which opsdoc reads as comments, so "
            "it runs nothing: if they are root prompts, write them as `$ sudo command`, "
            "or make them prose"
        )
    return (
        f"this ```{lang} block holds only comments, so there is nothing to run: write the "
        "command it describes, or make the comments prose"
    )


def doc_section_at(doc: Doc, line: int) -> Section | None:
    """The innermost section whose lines hold ``line``."""
    found = None
    for section in doc.runbook.walk():
        if section.line <= line <= section.end_line:
            found = section
    return found


def _scenario(doc: Doc, section: Section) -> None:
    """A title that says what goes wrong ("Webhook not triggering") or names an
    alert (``KubeletTooManyPods``) is a symptom already; a scenario with no step
    is prose, and a symptom list would not make it more useful."""
    title = section.title.strip()
    says_problem = (
        is_problem_title(title) or _ALERT_NAME.fullmatch(title) or _MORE_PROBLEM.search(title)
    )
    if section.steps and not section.symptoms and not section.signals and not says_problem:
        doc.add(
            "no-symptom",
            section.line,
            section,
            f"scenario '{short(section.title, 50)}' names no symptom, and its title does not "
            "say what goes wrong: add a **Symptoms:** list (error lines, alerts, what users "
            "see) so `opsdoc find` can match it",
        )
    acts = [s for s in section.steps if s.phase == "act"]
    if not acts or any(s.phase == "verify" for s in section.steps):
        return
    if any(s.expect or _verifies_itself(s) for s in acts):
        return
    doc.add(
        "no-verify",
        section.line,
        section,
        f"scenario '{short(section.title, 50)}' has fix steps but no verification: add a "
        "step under a **Verify** label that shows the fix worked",
    )


def _verifies_itself(step: Step) -> bool:
    """A block that writes and then reads back, with a comment saying it verifies."""
    seen_change = False
    for statement in step.statements:
        if statement.safety != "read":
            seen_change = True
        elif seen_change and statement.label and _VERIFY_WORDS.search(statement.label):
            return True
    return False


def _destructive(doc: Doc, section: Section, index: int, step: Step) -> None:
    comments = comment_lines(step.lang, doc.block_text(step))
    texts = [step.prose, step.title or "", *(text for _, text in comments)]
    texts.append(_text_after(doc, step))
    if any(WARNING_WORDS.search(text) for text in texts if text):
        return
    later = section.steps[index + 1 :]
    if step.expect or any(s.phase == "verify" for s in later) or _verifies_itself(step):
        return
    worst = next((s for s in step.statements if s.safety == "destructive"), None)
    line = worst.line if worst else step.line
    what = f"`{short(worst.text, 40)}`: {worst.reason}" if worst else "this step"
    doc.add(
        "destructive-unguarded",
        line,
        section,
        f"destructive step with no warning and no verification after it ({what}): say what "
        "it destroys and how to back out, and add a verify step after it",
    )


def _text_after(doc: Doc, step: Step, limit: int = 15) -> str:
    """The prose right after a step's block, where authors often put the warning
    ("terminating can lead to undesired results"), up to the next block or heading."""
    number = step.line + doc.block_text(step).count("\n") + 1  # the closing fence
    out = []
    for after in range(number + 1, min(len(doc.lines), number + limit) + 1):
        text = doc.line(after)
        if _FENCE_LINE.match(text) or text.lstrip().startswith("#"):
            break
        out.append(text)
    return "\n".join(out)


def _anchors(doc: Doc) -> None:
    runbook = doc.runbook
    known: set[str] = {github_slug(runbook.title)}
    for section in runbook.walk():
        known.add(section.id)
        known.update(section.anchors)
    for text in doc.lines:
        if "id" in text or "name" in text:
            known.update(m.group(1) for m in _HTML_ID.finditer(text))
    folded = {a.lower() for a in known}
    for link in runbook.links:
        if not link.target.startswith("#") or len(link.target) < 2:
            continue
        anchor = unquote(link.target[1:])
        if anchor in known or anchor.lower() in folded:
            continue
        line = _link_line(doc, link.line, link.target)
        close = difflib.get_close_matches(anchor, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean #{close[0]}?" if close else "point it at an existing heading"
        doc.add(
            "broken-anchor",
            line,
            doc_section_at(doc, line),
            f"link to {link.target} goes nowhere: no heading makes that anchor ({hint})",
        )


def _link_line(doc: Doc, start: int, target: str) -> int:
    """The line of a paragraph that actually holds the link."""
    for number in range(start, min(len(doc.lines), start + 200) + 1):
        if f"({target}" in doc.line(number) or f"]: {target}" in doc.line(number):
            return number
    return start
