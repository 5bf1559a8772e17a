"""One log line cleaned: its prefix and noise stripped, its volatile parts generalized.

Timestamps, levels, pids, request ids, addresses and numbers differ between
two occurrences of the same event; stripping or replacing them with
placeholders is what lets one line match another (:func:`normalize_line`)
and leaves the words worth searching for. :func:`analyze_line` reads a
line's :mod:`.signals` first, so the codes among them stay as written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opsdoc.search.text.patterns import (
    ADDR_HEX_RE,
    ANSI_RE,
    CTRL_RE,
    DIGIT_RE,
    DUR_RE,
    EMAIL_RE,
    ESCAPED_NL_RE,
    FILELINE_RE,
    FRACTION_RE,
    HEX0X_RE,
    HEX_RE,
    HYPHEN_TOKEN_RE,
    IP_RE,
    KEY_ONLY_RE,
    LEAD_RE,
    NOISE_KV_RE,
    NUM_RE,
    PATH_NUM_RE,
    PCT_RE,
    PORT_RE,
    PREFIX_RE,
    QUOTED_KEY_RE,
    REPEAT_RE,
    REQID_RE,
    SENTINEL_RE,
    SIZE_RE,
    SPACE_RE,
    TS_INLINE_RE,
    UUID_RE,
    WINPATH_RE,
    Lazy,
)
from opsdoc.search.text.signals import find_signals
from opsdoc.search.text.words import ERROR_LEVELS

_K8S_ALPHABET = frozenset("bcdfghjklmnpqrstvwxz2456789")


def pod_sub(match: re.Match[str]) -> str:
    """``label-worker-5c7d9-q8vzt`` → ``label-worker``: drop replica set and pod hashes."""
    token = match.group(0)
    parts = token.split("-")

    def rs_hash(s: str) -> bool:
        return 5 <= len(s) <= 10 and set(s) <= _K8S_ALPHABET and any(c.isdigit() for c in s)

    last = parts[-1]
    pod_suffix = len(last) == 5 and set(last) <= _K8S_ALPHABET
    if pod_suffix and len(parts) >= 3 and rs_hash(parts[-2]):
        return "-".join(parts[:-2])
    if (pod_suffix and any(c.isdigit() for c in last)) or (len(last) > 5 and rs_hash(last)):
        return "-".join(parts[:-1])
    return token


def _ip_sub(match: re.Match[str]) -> str:
    text = match.group(0)
    # An IPv6 address has hex letters or '::'; plain 12:34:56 is a time or a counter.
    ipv6 = ":" in text and "." not in text
    if ipv6 and "::" not in text and not any(c in "abcdefABCDEF" for c in text):
        return text
    return "<ip>"


_GENERALIZE: list[tuple[Lazy, Any]] = [
    (UUID_RE, "<uuid>"),
    (EMAIL_RE, "<email>"),
    (TS_INLINE_RE, "<ts>"),
    (IP_RE, _ip_sub),
    (ADDR_HEX_RE, "<hex>"),
    (HEX0X_RE, lambda m: m.group(0) if len(m.group(0)) <= 12 else "<hex>"),
    (REQID_RE, "<id>"),
    (HYPHEN_TOKEN_RE, pod_sub),
    (HEX_RE, "<hex>"),
    (FILELINE_RE, lambda m: m.group(1) or ""),
    (PORT_RE, ":<port>"),
    (REPEAT_RE, ""),
    (DUR_RE, "<dur>"),
    (SIZE_RE, "<size>"),
    (PCT_RE, "<num>%"),
    (FRACTION_RE, "<num>/<num>"),
    (PATH_NUM_RE, "<num>"),
    (NUM_RE, "<num>"),
]


def _generalize(text: str, protect: list[tuple[int, int]]) -> str:
    """Replace volatile parts with placeholders, leaving the protected spans as written."""
    kept: list[str] = []
    if protect:
        pieces: list[str] = []
        last = 0
        for start, end in _merge(protect)[:255]:
            pieces.append(text[last:start])
            pieces.append("\ue000" + chr(0xE100 + len(kept)))
            kept.append(text[start:end])
            last = end
        pieces.append(text[last:])
        text = "".join(pieces)
    if DIGIT_RE.search(text):
        for pattern, replacement in _GENERALIZE:
            text = pattern.sub(replacement, text)
    elif "@" in text:  # every other volatile shape has a digit in it
        text = EMAIL_RE.sub("<email>", text)
    if kept:
        text = SENTINEL_RE.sub(lambda m: kept[ord(m.group(1)) - 0xE100], text)
    return SPACE_RE.sub(" ", text).strip()


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


@dataclass
class AnalyzedLine:
    cleaned: str  # with placeholders
    signals: list[str]


def _strip_prefix(line: str) -> tuple[str, str | None, bool]:
    """The line without its leading timestamp, level, pid and thread; the level; core?"""
    pos = 0
    level: str | None = None
    core = False
    prog: str | None = None
    for _ in range(10):
        m = PREFIX_RE.match(line, pos)
        if not m or m.end() == pos:
            break
        found = next(
            (
                m.group(g)
                for g in ("klog", "blevel", "kvlevel", "ulevel", "pglevel", "clevel", "rlevel")
                if m.group(g)
            ),
            None,
        )
        if found:
            level = found.lower()
            token = line[m.start(0) : m.end(0)].rstrip(" \t,|>»-")
            core = level in ERROR_LEVELS and token.endswith(":")
        elif m.group("prog"):
            prog = m.group("prog")
        pos = m.end()
    rest = line[pos:]
    if prog:
        rest = f"{rest} ({prog})"
    return rest, level, core


def _preclean(line: str) -> tuple[str, bool]:
    """A line as signals are read from it: prefix, ids and noise keys gone."""
    if not line.isprintable():
        line = CTRL_RE.sub("", line)
    rest, _level, core = _strip_prefix(line)
    lead = LEAD_RE.match(rest)
    if lead and lead.end():
        rest = rest[lead.end() :]
    stripped = rest.strip()
    if stripped.startswith("{") and stripped.endswith("}") and len(stripped) < 20_000:
        converted = _json_line(stripped)
        if converted is not None:
            rest, core = converted
    if "\\" in rest and not WINPATH_RE.search(rest):
        rest = ESCAPED_NL_RE.sub(" ", rest)
    if '"' in rest:
        rest = QUOTED_KEY_RE.sub(lambda m: m.group(1) + "=", rest)
    if "=" in rest:
        rest = NOISE_KV_RE.sub("", rest)
        rest = KEY_ONLY_RE.sub("", rest)
    return rest.strip(), core


def flatten(obj: Any, key: str = "", depth: int = 0) -> Iterator[tuple[str, Any]]:
    """Leaf values of nested dicts and lists with their nearest key, at most 500."""
    count = 0
    stack: list[tuple[str, Any, int]] = [(key, obj, depth)]
    while stack and count < 500:
        k, value, d = stack.pop(0)
        if isinstance(value, dict) and d < 8:
            stack[:0] = [(str(sub), v, d + 1) for sub, v in value.items()]
        elif isinstance(value, list) and d < 8:
            stack[:0] = [(k, v, d + 1) for v in value]
        elif not isinstance(value, (dict, list)):
            count += 1
            yield k, value


def _json_line(text: str) -> tuple[str, bool] | None:
    """A JSON log line as ``msg="..." key=value`` text; core when its level is an error."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    level = ""
    first: list[str] = []
    rest: list[str] = []
    for key, value in flatten(data):
        low = key.lower()
        if low in ("level", "lvl", "severity", "loglevel", "log.level"):
            level = str(value).lower()
            continue
        if isinstance(value, bool) or value is None or value == "":
            continue
        shown = json.dumps(value) if isinstance(value, str) and " " in value else str(value)
        if low in ("msg", "message", "error", "err", "exception", "reason", "event"):
            first.append(shown if " " in str(value) else str(value))
        else:
            rest.append(f"{key}={shown}")
    return " ".join(first + rest), level in ERROR_LEVELS and bool(first)


def analyze_line(raw: str) -> AnalyzedLine:
    text, core = _preclean(raw)
    found, protect = find_signals(text, core)
    cleaned = _generalize(text, protect)
    signals = [s for _, s in found if 2 <= len(s) <= 160]
    return AnalyzedLine(cleaned, signals)


def normalize_line(line: str) -> str:
    """One log line with its noise generalized.

    The leading timestamp, level, pid and thread are stripped; ids, addresses,
    times, durations, sizes and bare numbers inside the line become
    placeholders (``<uuid>``, ``<hex>``, ``<ip>``, ``<ts>``, ``<id>``,
    ``<dur>``, ``<size>``, ``<num>``, ``<email>``, ``<port>``); pod names lose
    their hash suffixes; HTTP statuses, SQLSTATEs, exit codes and ``0x`` codes
    stay as written. Two occurrences of the same event normalize alike.
    """
    return analyze_line(ANSI_RE.sub("", line)).cleaned
