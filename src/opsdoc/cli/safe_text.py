"""Text from a step or the database, made safe to print on a terminal.

A step's output or a value in a row may hold escape sequences that move the
cursor and repaint the lines above (a commit prompt, a row count). Every such
character is shown as a visible escape (ESC as ``\\x1b``); ``\\n`` and ``\\t``
are kept, a CR before LF is dropped. The journal keeps the raw (masked) text.
"""

from __future__ import annotations

import re

# C0 controls but \t and \n, DEL, C1 controls, and bidi overrides (text that reads
# differently from how it runs).
_CONTROL = re.compile(r"\r\n|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _show(match: re.Match[str]) -> str:
    ch = match.group(0)
    if ch == "\r\n":
        return "\n"
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """``text`` with every control character but newline and tab shown as an escape."""
    return _CONTROL.sub(_show, text) if text else text
