"""Exact signals in one cleaned line: names, codes, quoted strings, core phrases.

The ranking boosts a section that quotes a signal, so a wrong signal costs
more than a missing word: a signal is kept only when it looks like a name
(an exception class, a CamelCase alert, an errno), a code (SQLSTATE, HTTP
status, ``0x``) or the leading clause of an error message.
"""

from __future__ import annotations

import re

from opsdoc.search.text.patterns import (
    CAMEL_CANDIDATE_RE,
    CAMEL_PART_RE,
    CHAIN_RE,
    CLASS_RE,
    CORE_CUT_RE,
    CORE_PREFIX_RE,
    DIGIT_RE,
    ERRNO_RE,
    EXIT_RE,
    GENERIC_LEAD_RE,
    HEXCODE_RE,
    HTTP_RE,
    K8S_API_REASON_RE,
    KEY_AFTER_RE,
    LEAD_SQLSTATE_RE,
    NOISE_FIND_RE,
    QUOTED_RE,
    SCREAMING_RE,
    SNAKE_RE,
    SQLSTATE_RE,
    WORD_RE,
)
from opsdoc.search.text.words import (
    ERRNO_NAMES,
    HTTP_PHRASES,
    K8S_REASONS,
    NOISE_WORDS,
    SQLSTATE_CLASSES,
    STATE_WORDS,
    STOP_WORDS,
    TRIVIAL_QUOTED,
)

MAX_SIGNAL_CHARS = 120  # a longer quoted message gives its first clause instead
MAX_CORE_WORDS = 12
MAX_CHAIN_SEGMENTS = 8


def camel_parts(token: str) -> list[str]:
    return CAMEL_PART_RE.findall(token)


def is_camel_signal(token: str) -> bool:
    """A CamelCase name that reads as an alert, a reason or an error, not a product."""
    if token in K8S_REASONS:
        return True
    if not any(c.isupper() for c in token[1:]) or not any(c.islower() for c in token):
        return False
    parts = camel_parts(token)
    if len(parts) >= 3:
        return True
    return len(parts) == 2 and any(p.lower() in STATE_WORDS for p in parts)


def _is_sqlstate(code: str) -> bool:
    return len(code) == 5 and code[:2] in SQLSTATE_CLASSES and any(c.isdigit() for c in code)


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    return any(start <= pos < end for start, end in spans)


def _core_phrase(text: str, start: int, protect: list[tuple[int, int]]) -> str | None:
    """The leading clause of a message: cut at punctuation, quotes or the first id."""
    m = LEAD_SQLSTATE_RE.match(text, start)
    if m and _is_sqlstate(m.group(1)):
        start = m.end()
    for _ in range(4):
        m = GENERIC_LEAD_RE.match(text, start)
        if not m:
            break
        start = m.end()
    end = min(len(text), start + 400)
    for noise in NOISE_FIND_RE.finditer(text, start, end):
        if noise.group(0).strip() and not _inside(noise.start(), protect):
            end = noise.start()
            break
    # The first clause that says something: "sorry, too many clients" reads past
    # the comma, "duplicate key value violates unique constraint" stops at its quote.
    for cut in (*(m.start() for m in CORE_CUT_RE.finditer(text, start, end)), end):
        phrase = _clause(text[start:cut])
        if phrase:
            return phrase
    return None


def _clause(text: str) -> str | None:
    phrase = " ".join(text.split()[:MAX_CORE_WORDS]).strip(" .,;:!?-\"'`([{")
    content = [w for w in WORD_RE.findall(phrase.lower()) if w not in STOP_WORDS and w.isalpha()]
    return phrase if len(content) >= 2 else None


def find_signals(
    text: str, core_from_start: bool
) -> tuple[list[tuple[int, str]], list[tuple[int, int]]]:
    """Exact signals in a pre-cleaned line, with their positions; spans numbers keep."""
    found: list[tuple[int, str]] = []
    protect: list[tuple[int, int]] = []

    if DIGIT_RE.search(text):  # codes: SQLSTATE, HTTP status, exit code, 0x...
        _codes(text, core_from_start, found, protect)
    for m in CLASS_RE.finditer(text):
        found.append((m.start(), m.group(0)))
    if "server (" in text:
        for m in K8S_API_REASON_RE.finditer(text):
            found.append((m.start(1), m.group(1)))
    for m in CAMEL_CANDIDATE_RE.finditer(text):
        if is_camel_signal(m.group(0)):
            found.append((m.start(), m.group(0)))
    for m in ERRNO_RE.finditer(text):
        name = m.group(0)
        if name.startswith("SIG") or name in ERRNO_NAMES:
            found.append((m.start(), name))
    if "_" in text:
        for regex in (SNAKE_RE, SCREAMING_RE):
            for m in regex.finditer(text):
                name = m.group(0)
                after = text[m.end() : m.end() + 2]
                if after.startswith("=") or after.startswith('":'):
                    continue  # a key, not a value
                if sum(1 for part in name.split("_") if any(c.isalpha() for c in part)) >= 2:
                    found.append((m.start(), name))

    for m in QUOTED_RE.finditer(text):
        value = _quoted_signal(text, m, protect)
        if value:
            found.append((m.start(), value))

    starts = [0] if core_from_start else []
    starts += [m.end() for m in CORE_PREFIX_RE.finditer(text)]
    if starts:
        # An error chain ("failed calling webhook: ...: x509: certificate has
        # expired ...", "dial tcp ...: connect: connection refused"): its later
        # segments are the specific causes, so each is a core phrase too.
        chain = [m.end() for m in CHAIN_RE.finditer(text, starts[0])]
        starts += [c for c in chain[:MAX_CHAIN_SEGMENTS] if c not in starts]
    for start in starts:
        phrase = _core_phrase(text, start, protect)
        if phrase:
            found.append((start, phrase))
    found.sort(key=lambda item: item[0])
    return found, protect


def _codes(
    text: str,
    core_from_start: bool,
    found: list[tuple[int, str]],
    protect: list[tuple[int, int]],
) -> None:
    """SQLSTATEs, HTTP statuses and 0x codes as signals; exit codes only kept as written."""
    if core_from_start:
        m = LEAD_SQLSTATE_RE.match(text)
        if m and _is_sqlstate(m.group(1)):
            found.append((m.start(1), m.group(1)))
            protect.append(m.span(1))
    for m in SQLSTATE_RE.finditer(text):
        group = "a" if m.group("a") else "b"
        if _is_sqlstate(m.group(group)):
            found.append((m.start(group), m.group(group)))
            protect.append(m.span(group))
    for m in HTTP_RE.finditer(text):
        group = next(g for g in "abcde" if m.group(g))
        code = m.group(group)
        if group == "d" and m.group("phrase").lower() not in HTTP_PHRASES.get(code, "").split("|"):
            continue
        found.append((m.start(group), code))
        protect.append(m.span(group))
    for m in EXIT_RE.finditer(text):
        protect.append(m.span(1))
    for m in HEXCODE_RE.finditer(text):
        protect.append(m.span())
        if len(m.group(0)) >= 5:
            found.append((m.start(), m.group(0)))


def _quoted_signal(text: str, m: re.Match[str], protect: list[tuple[int, int]]) -> str | None:
    index = next(i for i in (1, 2, 3) if m.group(i) is not None)
    content = m.group(index)
    if index == 1:
        content = content.replace('\\"', '"').replace("\\\\", "\\")
    content = content.strip()
    if not any(c.isalpha() for c in content):
        return None
    key_like = re.fullmatch(r"[\w.@-]{1,40}", content) is not None
    if key_like and KEY_AFTER_RE.match(text, m.end()):
        return None  # a JSON or logfmt key
    before = text[max(0, m.start() - 2) : m.start()]
    if " " not in content and ("=" in before or before.endswith(": ") or before.endswith(":")):
        return None  # a one-word field value: names in it are caught by their shape
    low = content.lower()
    if low in STOP_WORDS or low in NOISE_WORDS or low in TRIVIAL_QUOTED or len(content) < 3:
        return None
    if re.fullmatch(r"v?\d+(?:[.\w-]*)", content):
        return None  # a version
    if len(content) <= MAX_SIGNAL_CHARS and not NOISE_FIND_RE.search(content):
        return content
    return _core_phrase(content, 0, [])
