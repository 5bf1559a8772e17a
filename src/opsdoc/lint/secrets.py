"""hardcoded-secret: a literal credential written into a step.

The masker already knows what secrets look like (``password=…``, bearer
tokens, DSN passwords, AWS and GitHub keys, …); this rule masks each line of
a step and looks at what was hidden. A reference (``$TOKEN``, ``<password>``,
``${{ secrets.X }}``, ``$(vault read …)``), a stand-in in capitals
(``USER_JWT``) or an obvious dummy (``changeme``, ``xxxx``, AWS's ``…EXAMPLE``)
is no secret. The finding shows the line masked, never the value.
"""

from __future__ import annotations

import difflib
import re

from opsdoc.lint.doc import Doc, short
from opsdoc.mask import MASK, Masker

_MASKER = Masker()
_REFERENCE = re.compile(r"^[$<%{@(`*\[]|\$\{|\$\(|\{\{|\*\*\*")
# Code that names where a secret comes from: env.JWT_SECRET, os.environ["X"], read_key().
_CODE = re.compile(r"^[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)+[\w.\[\]'\"()]*,?$|^[A-Za-z_][\w.]*\(")
_STAND_IN = re.compile(r"^[A-Z][A-Z0-9_]*$")
_DUMMY = re.compile(
    r"example|sample|dummy|changeme|change[-_]me|placeholder|redacted|your[-_ ]?|my[-_]?secret|"
    r"secret[-_]?here|token[-_]?here|xxx|\.\.\.|^(secret|password|passwd|token|pass|foo|bar|test)$",
    re.IGNORECASE,
)

_WORDS = re.compile(r"[a-z]+(?:[-_./][a-z]+)*")


def check(doc: Doc) -> None:
    for section, step in doc.steps():
        for number, line in enumerate(step.code.splitlines(), 1):
            masked = _MASKER.mask(line)
            if masked == line or not any(_literal(v) for v in _hidden(line, masked)):
                continue
            doc.add(
                "hardcoded-secret",
                doc.file_line(step, number),
                section,
                f"a literal secret is written into this step (`{short(masked, 70)}`): use a "
                "$VARIABLE or <placeholder> and keep the value in a secret store; rotate it "
                "if this file was ever shared",
            )


def _hidden(line: str, masked: str) -> list[str]:
    """The pieces of ``line`` that masking replaced."""
    matcher = difflib.SequenceMatcher(None, line, masked, autojunk=False)
    out = []
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op in ("replace", "delete") and MASK in masked[max(0, b1 - 3) : b2 + 3]:
            out.append(line[a1:a2])
    return out


def _literal(value: str) -> bool:
    """Whether a hidden value is a real credential rather than a reference, a
    stand-in, a dummy, a path or a name made of words (``cert-manager/webhook-ca``)."""
    value = value.strip().strip("\"'").strip()
    if len(value) < 6 or _REFERENCE.search(value) or _STAND_IN.match(value) or _CODE.match(value):
        return False
    if _DUMMY.search(value) or value.startswith(("/", "./", "~/")):
        return False
    if _WORDS.fullmatch(value):
        return len(value) >= 16 and not re.search(r"[-_./]", value)
    return True
