"""The vocabulary runbook authors use for structure, kept in one place.

Recognition reads headings and bold labels the way an on-call reader does:
"Symptoms", "Diagnosis", "Option B", "Step 3: Verify ...". The word lists
here are the whole of that knowledge, so they can be read and extended
without touching the walk in ``recognize``.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer

# Roles a heading or label gives to what follows it.
SYMPTOM, CAUSE, DIAGNOSE, ACT, VERIFY, EXPECT, NOTE = (
    "symptom",
    "cause",
    "diagnose",
    "act",
    "verify",
    "expect",
    "note",
)

_ROLE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        SYMPTOM,
        re.compile(
            r"^(symptoms?|triggers?|signs?|what you('ll| will)? see|observed( behaviou?r)?|"
            r"error messages?|errors? seen|alert|alerts fired|meaning|problem|problem statement|"
            r"symptom\b.*|how to (recogni[sz]e|detect|identify) it)$"
        ),
    ),
    (
        CAUSE,
        re.compile(
            r"^((common|possible|likely|probable|root) )?causes?$|^root cause( analysis)?$|"
            r"^possible (issues?|problems?)$|"
            r"^why( does)? (this|it) happens?$"
        ),
    ),
    (
        VERIFY,
        re.compile(
            r"^(verification|verify\b.*|validation|validate\b.*|confirm\b.*|"
            r"post[- ].*verification|check (that|it) (worked|is fixed)|"
            r"testing the fix|how to verify)$"
        ),
    ),
    (
        DIAGNOSE,
        re.compile(
            r"^(diagnosis|diagnostics?( steps)?|diagnose\b.*|investigation|investigate\b.*|"
            r"troubleshooting\b.*|triage|debug(ging)?\b.*|check\b.*|checking\b.*|inspect\b.*|"
            r"identify\b.*|how to (check|investigate|debug)|analysis|detection)$"
        ),
    ),
    (
        ACT,
        re.compile(
            r"^(solutions?|fix(es)?|fix steps|the fix|resolution( steps)?|resolve|remediation|"
            r"mitigation|immediate mitigation|workarounds?|recovery( steps)?|how to fix|"
            r"steps|actions?|procedure|rotation steps|rollback|prevention|long[- ]term fix|"
            r"follow[- ]up|mitigations?)$"
        ),
    ),
    (EXPECT, re.compile(r"^(expected( output| result| outcome)?|should (see|contain|return))$")),
    (
        NOTE,
        re.compile(
            r"^(impact|summary|description|overview|details|notes?|context|background|"
            r"references?|see also|related( links| runbooks| docs)?|links|dashboards?|"
            r"additional (information|resources|notes)|more information)$"
        ),
    ),
]

_STEP_HEADING = re.compile(r"^step\s*\d+[a-z]?\s*[:.)\-–—]\s*(.*)$")
_OPTION_LABEL = re.compile(r"^option\s+([a-z0-9]{1,3})\b\s*[:.)\-–—]?\s*(.*)$", re.IGNORECASE)
_NUMBERED = re.compile(r"^\d+[a-z]?\s*[.)]\s+")

# Verbs read at the start of a step title: "Verify the API answers" verifies,
# "Check out the tag and confirm ..." does not.
_VERIFY_WORDS = re.compile(
    r"^(verify|verif\w+|confirm\w*|validat\w+|ensure|make sure|check that)\b"
)
_DIAGNOSE_WORDS = re.compile(
    r"^(check|checks|checking|view|inspect|investigate|identify|find|look|see|review|"
    r"examine|diagnos\w*|query|list|show|monitor|watch|determine|get|count|measure|"
    r"detect|explore|understand)\b(?! out\b)"
)

PROBLEM_WORDS = re.compile(
    r"\b(not|no|fail\w*|errors?|issues?|problems?|stuck|down|broken|slow\w*|high|denial|"
    r"denied|violations?|compromised?|filling|full|blocking|blocked|timeouts?|timed out|"
    r"crash\w*|missing|unavailable|leak\w*|outages?|anomal\w+|lag\w*|can'?t|cannot|unable|"
    r"invalid|exceeded|unhealthy|degraded|refused|rejected|expired|corrupt\w*|"
    r"unreachable|hung|hang\w*|spike\w*|overload\w*|saturat\w+|pending|oom|"
    r"conflicts?|mismatch\w*|wrong|lost|loss|incorrect|unexpected|bloat\w*|throttl\w+)\b"
)
REFERENCE_WORDS = re.compile(
    r"\b(contacts?|escalation|escalations|reference|resources|links|table of contents|"
    r"contents|glossary|overview|about|faq|see also|related|appendix|support|owners?|"
    r"introduction|background|further reading|references|notes|index|changelog)\b"
)
CHECK_CONTAINER_WORDS = re.compile(
    r"\b(monitoring|queries|health|checks|metrics|dashboards?|observability|snippets|"
    r"status checks|useful queries)\b"
)
PROCEDURE_CONTAINER_WORDS = re.compile(
    r"\b(procedures?|deployments?|deploy|operations|tasks|how[- ]tos?|playbooks?|runbooks?)\b"
)
# Plural titles that announce a collection of independent units.
COLLECTION_WORDS = re.compile(
    r"\b(checks|queries|procedures|tasks|issues|problems|scenarios|snippets|commands|"
    r"playbooks|runbooks|alerts|errors|failures|incidents|operations|recipes|how-?tos|faqs)$"
)
SCENARIO_CONTAINER_WORDS = re.compile(
    r"\b(issues|problems|troubleshooting|incidents|errors|failures|alerts|scenarios|"
    r"known issues|common issues|faq)\b"
)

_EMOJI_CATEGORIES = ("So", "Sk", "Cn", "Co", "Cs")


@lru_cache(maxsize=4096)
def clean_title(title: str) -> str:
    """A heading as a reader says it: no emoji, no leading number, no quotes."""
    out = (
        title
        if title.isascii()
        else "".join(
            ch
            for ch in title
            if unicodedata.category(ch) not in _EMOJI_CATEGORIES and ch not in "\u200d\ufe0f"
        )
    )
    out = out.strip()
    out = _NUMBERED.sub("", out)
    out = re.sub(r"^scenario\s*:\s*", "", out, flags=re.IGNORECASE)
    out = out.strip().strip("\"'“”‘’`").strip()
    return out


_ROLE_CHARS = 2000


@lru_cache(maxsize=4096)
def words_key(title: str) -> str:
    """Lowercased, cleaned, trailing colon and parentheses dropped: what role tests read."""
    # A heading longer than this is prose set as a heading; its start says
    # what role it plays, and reading all of it costs a regex pass per test.
    key = clean_title(title[:_ROLE_CHARS]).lower()
    key = re.sub(r"\s*\([^)]*\)\s*", " ", key)
    key = key.strip().rstrip(":").strip()
    return re.sub(r"\s+", " ", key)


@lru_cache(maxsize=4096)
def role_of(title: str) -> str | None:
    """The role a heading or label gives its content, or None for a plain title."""
    key = words_key(title)
    if not key:
        return None
    if _STEP_HEADING.match(key):
        return None
    for role, pattern in _ROLE_PATTERNS:
        if pattern.match(key):
            return role
    return None


def step_heading(title: str) -> bool:
    """'Step 3: Reset locked jobs' and the like."""
    return bool(_STEP_HEADING.match(words_key(title)))


def option_label(label: str) -> tuple[str, str] | None:
    """('B', 'Delete Batch') from 'Option B: Delete Batch'."""
    match = _OPTION_LABEL.match(clean_title(label).rstrip(":").strip())
    if not match:
        return None
    return match.group(1).upper(), match.group(2).strip()


def numbered(label: str) -> bool:
    return bool(_NUMBERED.match(label.strip()))


def phase_from_words(title: str) -> str | None:
    """The phase a step title implies by its verb, if it implies one."""
    key = words_key(title)
    key = _STEP_HEADING.sub(r"\1", key)
    if _VERIFY_WORDS.search(key):
        return VERIFY
    if _DIAGNOSE_WORDS.search(key):
        return DIAGNOSE
    return None


def says_verify(text: str) -> bool:
    return bool(_VERIFY_WORDS.search(words_key(text)))


def names_collection(title: str) -> bool:
    """'Health checks', 'Common Operations': a heading over independent units."""
    return bool(COLLECTION_WORDS.search(words_key(title)))


def is_problem_title(title: str) -> bool:
    return bool(PROBLEM_WORDS.search(words_key(title)))


def is_scenario_title(title: str) -> bool:
    return bool(re.match(r"^\W*(\d+[.)]\s*)?scenario\s*:", title.strip(), re.IGNORECASE))


def plain_role_word(title: str) -> bool:
    """A heading that is only a role word ("Solution") names no step group."""
    key = words_key(title)
    if key.startswith(
        (
            "symptom",
            "check",
            "verify",
            "confirm",
            "validate",
            "investigate",
            "diagnose",
            "identify",
            "inspect",
        )
    ):
        return key in ("symptom", "symptoms", "check", "verify", "verification")
    return role_of(title) is not None


# --- GitHub anchors ---------------------------------------------------------


class _SlugTable(dict):
    """What each character becomes in an anchor, worked out once per character
    so that `str.translate` does the per-character loop in C."""

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        if ch == " ":
            kept: str | None = "-"
        elif ch in "-_" or unicodedata.category(ch)[0] in "LNM":
            kept = ch
        else:
            kept = None
        self[code] = kept
        return kept


_SLUG_TABLE = _SlugTable()


def github_slug(text: str) -> str:
    """The anchor GitHub gives a heading with this text (before de-duplication)."""
    return text.lower().translate(_SLUG_TABLE)


class Slugger:
    """Unique anchors the way GitHub suffixes repeated headings: x, x-1, x-2."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def slug(self, text: str) -> str:
        base = github_slug(text)
        slug = base
        while slug in self.seen:
            self.seen[base] += 1
            slug = f"{base}-{self.seen[base]}"
        self.seen[slug] = 0
        if base not in self.seen:
            self.seen[base] = 0
        return slug


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A word's Snowball (Porter 2) English stem: "queries" and "query" meet, so do
    "crashing" and "crash". Titles, rows and thesaurus words are compared by it;
    words repeat, so each is stemmed once per process."""
    return _STEMMER.stemWord(word.lower())


_STEMMER = Stemmer.Stemmer("english")
