"""Recognition: a heading tree becomes sections with symptoms, steps and the rest.

The walk keeps a small context (role, step group, option, title) that
headings, bold labels and list items change as a reader's understanding
changes: under "**Diagnosis**:" a query is a diagnosis step, under
"**Option B: ...**" it is option B, under "### Step 4: Verify ..." it
verifies. Every code block met on the way becomes exactly one step or one
snippet, so nothing an author wrote is lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from opsdoc.mask import is_secret_name
from opsdoc.model import Param, QuickAction, Section, Snippet, Step
from opsdoc.parse import cells, cues, fences, words
from opsdoc.parse.blocks import Block, Inline
from opsdoc.parse.params import step_params
from opsdoc.parse.tree import Node, stands_alone

StepHook = Callable[[Step], None]

_EXPECT_LEAD = re.compile(
    r"^(expected( output| result| outcome| response)?|should (see|contain|return|print|show)|"
    r"you should see|output should (be|contain)|returns?)\s*:\s*(?P<value>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_CHECKBOX = re.compile(r"^\[([ xX])\]\s+(.*)$", re.DOTALL)
_WARNING = re.compile(
    r"⚠|\b(danger|dangerous|caution|careful|warning|emergency only|destructive|irreversible|"
    r"cannot be undone|can't be undone|data loss|permanently|use sparingly)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Ctx:
    role: str | None = None
    group: str | None = None
    option: str | None = None
    title: str | None = None
    phase_hint: str | None = None
    in_item: bool = False


@dataclass
class SeverityRow:
    issue: str
    severity: str


@dataclass
class Document:
    """What recognition shares across the sections of one runbook."""

    hook: StepHook | None = None
    severity_rows: list[SeverityRow] = field(default_factory=list)


class UnitBuilder:
    """Collects one section's content from its own blocks and its parts."""

    def __init__(self, section: Section, doc: Document) -> None:
        self.section = section
        self.hook = doc.hook
        self.explicit: set[int] = set()  # ids of steps whose phase the runbook stated
        self.text: list[str] = []
        self.prose: list[str] = []  # prose since the last code block, for the next step
        self.pending_title: str | None = None
        self.expect_next = False
        self.severity_rows = doc.severity_rows

    # -- nodes -------------------------------------------------------------

    def visit_part(self, node: Node, ctx: Ctx) -> None:
        title = node.title
        role = words.role_of(title)
        if words.step_heading(title):
            ctx = Ctx(
                group=words.clean_title(title),
                phase_hint=words.phase_from_words(title) or words.ACT,
            )
        elif role:
            plain = role == words.SYMPTOM or words.plain_role_word(title)
            group = ctx.group if plain else words.clean_title(title)
            ctx = Ctx(role=role, group=group)
            if role == words.SYMPTOM:
                _, colon, after = title.partition(":")
                if colon and after.strip():
                    self.add_symptom(after.strip())
        else:
            ctx = Ctx(role=ctx.role, group=words.clean_title(title))
        self.text.append(title)
        self.prose.clear()
        self.pending_title = None
        self.visit_blocks(node.blocks, ctx)
        for child in node.children:
            if child.from_label or stands_alone(child):
                continue  # built as a child section by the caller
            self.visit_part(child, ctx)

    # -- blocks ------------------------------------------------------------

    def visit_blocks(self, blocks: list[Block], ctx: Ctx) -> None:
        base = ctx
        options_here = cues.labels_are_options(blocks)
        for block in blocks:
            kind = block.type
            if kind == "paragraph" and block.inline is not None:
                ctx = self.paragraph(block.inline, ctx, base, options_here)
            elif kind == "list":
                for item in block.children:
                    self.list_item(item, ctx)
                self.pending_title = None
            elif kind in ("fence", "code"):
                self.code(block, ctx)
            elif kind == "table":
                self.table(block, ctx)
            elif kind == "quote":
                self.visit_blocks(block.children, ctx)
            elif kind == "html":
                self.text.append(block.code.strip())

    def paragraph(self, inline: Inline, ctx: Ctx, base: Ctx, options_here: bool) -> Ctx:
        label = cues.structural_label(inline)
        if label is not None:
            self.text.append(inline.text)
            self.pending_title = None
            self.expect_next = False
            role = words.role_of(label)
            if role == words.NOTE:
                role = None  # "**Note:**" is prose; it must not end a fix's role
            option = words.option_label(label)
            if role and (not ctx.in_item or role == words.VERIFY):
                ctx = Ctx(
                    role=role, group=base.group, phase_hint=base.phase_hint, in_item=ctx.in_item
                )
                if role == words.EXPECT:
                    self.expect_next = True
                self.role_content(inline, role, rest_only=True)
                return ctx
            if option:
                return replace(ctx, option=option[0], title=option[1] or None)
            if options_here and not words.numbered(label):
                return replace(ctx, option=cues.label_text(label), title=None)
            return replace(ctx, title=cues.label_text(label))
        text = inline.text
        self.text.append(text)
        expect = _EXPECT_LEAD.match(text)
        if expect:
            values = cues.expectations(expect.group("value"), inline.codes)
            if values:
                self.add_expect(values)
            else:
                self.expect_next = True
            return ctx
        self.expect_next = False
        self.role_content(inline, ctx.role)
        self.prose.append(text)
        last_line = text.split("\n")[-1]
        self.pending_title = last_line.rstrip(":").strip() if text.endswith(":") else None
        return ctx

    def role_content(self, inline: Inline, role: str | None, rest_only: bool = False) -> None:
        text = inline.rest if rest_only else inline.text
        text = text.lstrip(":").strip()
        if role == words.SYMPTOM:
            if text:
                self.add_symptom(text)
            codes = inline.codes
            self.section.signals.extend(c for c in codes if c not in self.section.signals)

    def list_item(self, item: Block, ctx: Ctx) -> None:
        first = next((b for b in item.children if b.type == "paragraph"), None)
        title = None
        if first is not None and first.inline is not None:
            box = _CHECKBOX.match(first.inline.text)
            if box:
                self.section.items.append(box.group(2).strip())
                self.text.append(first.inline.text)
                rest = [b for b in item.children if b is not first]
                self.visit_blocks(rest, replace(ctx, in_item=True))
                return
            label = first.inline.lead
            title = cues.label_text(label) if label else cues.first_sentence(first.inline.text)
            title = title.rstrip(":").strip()[:120] or None
        item_ctx = replace(ctx, title=title, in_item=True)
        if (
            ctx.role not in (words.SYMPTOM,)
            and title
            and words.says_verify(title)
            and (ctx.role in (words.ACT, None) or ctx.phase_hint)
        ):
            item_ctx = replace(item_ctx, role=words.VERIFY)
        self.pending_title = None
        self.visit_blocks(item.children, item_ctx)

    def table(self, block: Block, ctx: Ctx) -> None:
        if not block.rows:
            return
        header = [cell.text.strip().lower() for cell in block.rows[0]]
        body = block.rows[1:]
        for row in block.rows:
            self.text.append(" | ".join(cell.text for cell in row))
        signal_cols = [
            i
            for i, h in enumerate(header)
            if re.search(
                r"\b(error|errors|symptom|symptoms|indicator|message|signal|alert|code)\b", h
            )
        ]
        if ctx.role in (words.CAUSE, words.SYMPTOM) or signal_cols:
            for row in body:
                for i in signal_cols:
                    if i < len(row) and row[i].text.strip():
                        self.add_signal(row[i].text.strip())
        command = cues.column(header, r"^(commands?|cmd|run|shell|cli)\b|\bcommands?$")
        if command is not None:
            expect = cues.column(header, r"\b(expect\w*|outcome|result|output)\b")
            for row in body:
                if not row:
                    continue
                cmd_cell = row[command] if command < len(row) else None
                cmd = " ".join(cmd_cell.codes) if cmd_cell and cmd_cell.codes else None
                exp = row[expect].text.strip() if expect is not None and expect < len(row) else None
                self.section.quick_actions.append(
                    QuickAction(row[0].text.strip(), cmd, exp or None)
                )
        sev = cues.column(header, r"^(severity|priority|sev|level|impact)$")
        issue = cues.column(header, r"\b(issue|alert|scenario|problem|incident|symptom|name)\b")
        if sev is not None and issue is not None and sev != issue:
            for row in body:
                if max(sev, issue) < len(row):
                    level = row[sev].text.strip()
                    if re.fullmatch(r"(p|sev)\s*-?\d|critical|high|medium|low", level, re.I):
                        self.severity_rows.append(SeverityRow(row[issue].text.strip(), level))
        var = cues.column(
            header, r"\b(variable|variables|env|environment variable|parameter|param|placeholder)\b"
        )
        if var is not None:
            default = cues.column(header, r"\bdefault\b")
            for row in body:
                if var < len(row) and row[var].codes:
                    name = row[var].codes[0].strip().lstrip("$").strip("<>")
                    if re.fullmatch(r"[A-Za-z_][\w.-]*", name):
                        value = (
                            row[default].text.strip()
                            if default is not None and default < len(row)
                            else None
                        )
                        self.add_param(Param(name, is_secret_name(name), "table", value or None))

    def code(self, block: Block, ctx: Ctx) -> None:
        attrs = fences.parse_attrs(block.info)
        lang = fences.runnable_lang(block.lang)
        code = block.code
        snippet_role = None
        reason = ""
        if "drill" in attrs:
            snippet_role, reason = "drill", f"drill {attrs['drill']} block"
        elif lang is None:
            if self.expect_next and self.section.steps:
                self.add_expect([ln.strip() for ln in code.splitlines() if ln.strip()][:10])
                snippet_role, reason = "expect", "expected output of the step before"
            elif ctx.role == words.SYMPTOM:
                for line in code.splitlines():
                    if line.strip():
                        self.add_signal(line.strip())
                snippet_role, reason = "symptom", "error sample"
            else:
                snippet_role = "snippet"
                reason = f"{block.lang or 'no'} language is not run"
        elif attrs.get("executable") is False or fences.flag(attrs.get("excludeFromRunme")):
            snippet_role, reason = "snippet", "marked not executable"
        elif cells.ignored(block.lang, attrs):
            snippet_role, reason = "snippet", "ignore=true or transform=false, as Runme reads it"
        elif fences.only_comments(lang, code):
            snippet_role, reason = "comments", "holds only comments"
        elif lang == "bash" and fences.looks_like_log(code):
            snippet_role, reason = "output", "log output, not commands"
        elif lang == "python" and not cues.compiles(code):
            snippet_role, reason = (
                "source",
                "does not compile on its own: a change to make in a source file",
            )
        self.expect_next = False
        if snippet_role is not None:
            self.section.snippets.append(
                Snippet(
                    block.lang, code, block.line, snippet_role, reason, ctx.option, ctx.group, attrs
                )
            )
            return
        assert lang is not None
        self.add_step(block, lang, attrs, ctx)

    def add_step(self, block: Block, lang: str, attrs: dict, ctx: Ctx) -> None:
        code = block.code
        script, output, at = code, [], []
        transcript = (block.lang or "").lower() in fences.PROMPT_LANGS
        if lang == "bash" and (
            transcript or ("$ " in code and re.search(r"^\s*\$ ", code, re.MULTILINE))
        ):
            script, output, at = fences.split_transcript(code, transcript=transcript)
        phase = _phase(ctx, attrs)
        title = (
            attrs.get("name") or self.pending_title or ctx.title or cues.first_comment(lang, code)
        )
        prose = "\n".join(p for p in [ctx.title or "", *self.prose[-2:]] if p)
        step = Step(
            phase=phase or "act",
            lang=lang,
            code=script,
            line=block.line,
            option=str(attrs["option"]) if "option" in attrs else ctx.option,
            group=ctx.group,
            title=title,
            params=step_params(lang, script),
            target=str(attrs["target"]) if "target" in attrs else None,
            timeout=cues.seconds(attrs.get("timeout")),
            attrs=attrs,
            prose=prose,
            output=output,
            code_lines=[block.line + n for n in at] if at != list(range(len(at))) else [],
        )
        if "expect" in attrs:
            value = attrs["expect"]
            step.expect.extend(value if isinstance(value, list) else [str(value)])
        if self.hook is not None:
            self.hook(step)
        if attrs.get("safety") in ("read", "write", "destructive"):
            step.safety = attrs["safety"]
            step.safety_reasons.append("set by the fence attribute safety=")
        elif _WARNING.search(prose) and step.safety == "write":
            step.safety = "destructive"
            step.safety_reasons.append("the runbook warns about this step")
        if phase is not None:
            self.explicit.add(id(step))
        self.section.steps.append(step)
        for param in step.params:
            self.add_param(param)
        self.prose.clear()
        self.pending_title = None

    # -- accumulators ------------------------------------------------------

    def add_symptom(self, text: str) -> None:
        if text and text not in self.section.symptoms:
            self.section.symptoms.append(text)

    def add_signal(self, text: str) -> None:
        if text and text not in self.section.signals:
            self.section.signals.append(text)

    def add_expect(self, values: list[str]) -> None:
        if self.section.steps:
            step = self.section.steps[-1]
            step.expect.extend(v for v in values if v and v not in step.expect)

    def add_param(self, param: Param) -> None:
        for existing in self.section.params:
            if existing.name == param.name:
                if existing.default is None and param.default is not None:
                    existing.default = param.default
                return
        self.section.params.append(Param(param.name, param.secret, param.source, param.default))


def _phase(ctx: Ctx, attrs: dict) -> str | None:
    """A step's phase from its fence, its role or its group; None when nothing says."""
    value = attrs.get("phase")
    if value in ("diagnose", "act", "verify"):
        return value
    role = ctx.role
    if role in (words.SYMPTOM, words.DIAGNOSE, words.CAUSE):
        return "diagnose"
    if role == words.VERIFY:
        return "verify"
    if role == words.ACT:
        return "act"
    if ctx.phase_hint:
        return ctx.phase_hint
    if ctx.title and not ctx.option and words.says_verify(ctx.title):
        return "verify"
    return None
