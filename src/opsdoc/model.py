"""The runbook model: plain dataclasses that every stage passes along.

The model imports nothing else from opsdoc, so any stage (parse, classify,
index, execute, server) can depend on it without cycles. Everything here
serializes to JSON through :func:`to_dict`; the JSON shape is documented in
``docs/model.md`` and is a public contract of ``opsdoc show --json``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Safety = Literal["read", "write", "destructive"]
Phase = Literal["diagnose", "act", "verify"]
Kind = Literal["scenario", "procedure", "check", "checklist", "reference", "container"]

SAFETY_ORDER: tuple[Safety, ...] = ("read", "write", "destructive")
PHASES: tuple[Phase, ...] = ("diagnose", "act", "verify")
KINDS: tuple[Kind, ...] = ("scenario", "procedure", "check", "checklist", "reference", "container")

# Languages opsdoc can execute, by the canonical name used everywhere else.
RUNNABLE_LANGS = ("bash", "sql", "python", "powershell")


def max_safety(*levels: Safety) -> Safety:
    """The most dangerous of the given levels (``read`` when none are given)."""
    best = 0
    for level in levels:
        best = max(best, SAFETY_ORDER.index(level))
    return SAFETY_ORDER[best]


@dataclass
class Param:
    """An input a step needs before it can run."""

    name: str
    secret: bool = False
    # angle: <placeholder>; env: $VAR read but never set; table: a documented
    # variable in a table of the section; attr: named in a fence attribute.
    source: str = "angle"
    default: str | None = None


@dataclass
class Statement:
    """One statement of a step (an SQL statement, a shell command), classified."""

    text: str
    safety: Safety
    reason: str
    line: int
    label: str | None = None  # the statement's leading comment, if any
    kind: str = ""  # what was recognized: "DeleteStmt", "kubectl delete", ...
    transactional: bool = True  # False for CREATE INDEX CONCURRENTLY, VACUUM, ...
    parsed: bool = True  # False when the real parser could not read it


@dataclass
class Step:
    """An executable code block: the unit that ``opsdoc run`` runs."""

    phase: Phase
    lang: str
    code: str
    line: int
    executable: bool = True
    safety: Safety = "write"
    option: str | None = None
    group: str | None = None
    title: str | None = None
    params: list[Param] = field(default_factory=list)
    expect: list[str] = field(default_factory=list)
    statements: list[Statement] = field(default_factory=list)
    safety_reasons: list[str] = field(default_factory=list)
    name: str | None = None
    target: str | None = None
    timeout: float | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    # The text around the block (label, list item, preceding paragraph):
    # classify reads warnings from it, lint reads explanations from it.
    prose: str = ""
    # Lines of a prompt block that are not commands: the output the runbook
    # shows. Kept (never dropped), shown, never asserted: real output varies.
    output: list[str] = field(default_factory=list)
    # The file line of each line of ``code`` when they are not consecutive from
    # ``line`` (a prompt block's output lines are left out of the code).
    code_lines: list[int] = field(default_factory=list)


@dataclass
class Snippet:
    """A code block that is not run: other languages, comments only, samples."""

    lang: str | None
    code: str
    line: int
    # snippet | symptom (an error sample) | comments (only comments) |
    # source (a change to make in a source file) | drill (a drill fence)
    role: str = "snippet"
    reason: str = ""
    option: str | None = None
    group: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    name: str | None = None  # the cell name Runme gives it (None: Runme ignores it too)


@dataclass
class QuickAction:
    """A row of a quick-reference table pairing an action with a command."""

    name: str
    command: str | None = None
    expect: str | None = None


@dataclass
class Section:
    """A unit a user works with: a scenario, procedure, check, checklist or reference."""

    id: str
    title: str
    kind: Kind
    level: int
    line: int
    end_line: int
    symptoms: list[str] = field(default_factory=list)
    # Exact strings worth matching on: error codes, quoted messages, samples.
    signals: list[str] = field(default_factory=list)
    severity: str | None = None
    steps: list[Step] = field(default_factory=list)
    snippets: list[Snippet] = field(default_factory=list)
    params: list[Param] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    quick_actions: list[QuickAction] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    # Every heading anchor that falls inside this section (its own first).
    anchors: list[str] = field(default_factory=list)
    # True when the section comes from a bold label rather than a heading.
    from_label: bool = False
    # The prose of the section, markup removed, for search and lint.
    text: str = ""

    def walk(self) -> list[Section]:
        """This section and all its descendants, in document order."""
        out = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


@dataclass
class Link:
    """A link in the runbook, kept so lint can check anchors."""

    target: str
    line: int
    text: str = ""


@dataclass
class Diagnostic:
    """Something the reader should know about how a file was read."""

    level: Literal["info", "warning", "error"]
    message: str
    line: int | None = None


@dataclass
class Runbook:
    path: str
    title: str
    metadata: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    encoding: str = "utf-8"
    sha256: str = ""
    links: list[Link] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    code_blocks: int = 0  # fenced and indented blocks found by the Markdown parser

    def walk(self) -> list[Section]:
        """Every section of the runbook, depth first, in document order."""
        out: list[Section] = []
        for section in self.sections:
            out.extend(section.walk())
        return out

    def cells(self) -> list[tuple[Section, Step | Snippet]]:
        """Every named code block (a Runme cell) with its section, in file order."""
        found = [
            (section, item)
            for section in self.walk()
            for item in [*section.steps, *section.snippets]
            if item.name is not None
        ]
        return sorted(found, key=lambda pair: pair[1].line)

    def cell(self, name: str) -> tuple[Section, Step | Snippet] | None:
        """The cell of this name, as ``run NAME`` and ``print NAME`` look it up."""
        return next(((s, item) for s, item in self.cells() if item.name == name), None)

    def find(self, anchor: str) -> Section | None:
        """The section with this id, or the one whose heading anchors include it."""
        anchor = anchor.lstrip("#")
        sections = self.walk()
        for section in sections:
            if section.id == anchor:
                return section
        for section in sections:
            if anchor in section.anchors:
                return section
        return None


def to_dict(obj: Any) -> Any:
    """JSON-ready dict of any model object."""
    return asdict(obj)
