"""Sections from heading nodes: which headings are units, parts or containers,
and what kind each unit is once its blocks are read."""

from __future__ import annotations

from opsdoc.model import Section
from opsdoc.parse import words
from opsdoc.parse.recognize import Ctx, Document, UnitBuilder
from opsdoc.parse.tree import Node, part_anchors, split_mode, stands_alone


def build_section(node: Node, doc: Document, parent: Section | None = None) -> Section:
    """A section from a heading node, with its parts folded in or children built."""
    mode = split_mode(node)
    section = Section(
        id=node.anchor,
        title=node.title,
        kind="container" if mode == "container" else "reference",
        level=node.level,
        line=node.line,
        end_line=node.end,
        from_label=node.from_label,
    )
    builder = UnitBuilder(section, doc)
    if node.from_label:
        builder.add_symptom(node.title)
    # A section titled by a role ("## Symptoms" standing alone) reads its own
    # content in that role.
    own_role = words.role_of(node.title)
    builder.visit_blocks(node.blocks, Ctx(role=own_role if own_role != words.NOTE else None))
    if mode == "parts":
        section.anchors = part_anchors(node)
        for child in node.real_children():
            if not stands_alone(child):
                builder.visit_part(child, Ctx())
        for child in _units_inside(node):
            section.children.append(build_section(child, doc, section))
    else:
        section.anchors = [node.anchor]
        for child in node.children:
            section.children.append(build_section(child, doc, section))
    section.text = "\n".join(t for t in builder.text if t)
    if mode != "container":
        finish_unit(section, builder, parent)
    return section


def _units_inside(node: Node) -> list[Node]:
    """Units anywhere among a unit's parts (bold-label sections, sub-headings
    that stand alone), in document order."""
    out: list[Node] = []
    for child in node.children:
        if child.from_label or stands_alone(child):
            out.append(child)
        else:
            out.extend(_units_inside(child))
    return out


def finish_unit(section: Section, builder: UnitBuilder, parent: Section | None) -> None:
    """Decide the kind, then the phase of steps the runbook left unstated."""
    parent_title = words.words_key(parent.title) if parent is not None else ""
    steps = section.steps
    all_read = bool(steps) and all(s.safety == "read" for s in steps)
    stated_work = any(id(s) in builder.explicit and s.phase != "diagnose" for s in steps)
    title = section.title
    if section.from_label or words.is_scenario_title(title) or section.symptoms:
        kind = "scenario"
    elif section.items and not steps:
        kind = "checklist"
    elif (
        parent_title
        and words.CHECK_CONTAINER_WORDS.search(parent_title)
        and (all_read or not steps)
    ):
        kind = "check"
    elif parent_title and words.PROCEDURE_CONTAINER_WORDS.search(parent_title) and steps:
        kind = "procedure"
    elif words.is_problem_title(title) and not words.REFERENCE_WORDS.search(words.words_key(title)):
        kind = "scenario"
    elif all_read and not stated_work:
        kind = "check"
    elif steps:
        kind = "procedure"
    elif section.signals or (parent_title and words.SCENARIO_CONTAINER_WORDS.search(parent_title)):
        kind = "scenario"
    else:
        kind = "reference"
    section.kind = kind  # type: ignore[assignment]
    for step in steps:
        if id(step) not in builder.explicit:
            step.phase = "diagnose" if kind == "check" or step.safety == "read" else "act"
