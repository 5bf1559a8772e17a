"""Runbooks and sections, shown as their authors wrote them, steps as cards."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from opsdoc.mask import SHAPES
from opsdoc.model import Section, Step
from opsdoc.server import html
from opsdoc.server.library import Document, NotFound

router = APIRouter()


def _step(number: int, step: Step) -> dict[str, Any]:
    return {
        "number": number,
        "name": step.name,
        "title": step.title,
        "phase": step.phase,
        "lang": step.lang,
        "safety": step.safety,
        "reasons": list(step.safety_reasons),
        "option": step.option,
        "params": [{"name": p.name, "secret": p.secret} for p in step.params],
        "line": step.line,
        "code": SHAPES.mask(step.code),
    }


def _section(section: Section) -> dict[str, Any]:
    steps = [s for s in section.steps if s.executable]
    return {
        "id": section.id,
        "title": section.title,
        "kind": section.kind,
        "line": section.line,
        "end_line": section.end_line,
        "symptoms": [SHAPES.mask(s) for s in section.symptoms],
        "steps": [_step(n, s) for n, s in enumerate(steps, 1)],
    }


def _find(doc: Document, section_id: str) -> Section:
    for section in doc.runbook.walk():
        if section.id == section_id:
            return section
    raise NotFound(f"no section {section_id!r} in {doc.ref}", hint=f"see /runbooks/{doc.ref}")


@router.get("/api/runbooks")
def api_runbooks(request: Request) -> list[dict[str, Any]]:
    """Every runbook served."""
    return [{"ref": ref} for ref in request.app.state.library.files()]


@router.get("/runbooks", response_class=HTMLResponse)
def runbooks_page(request: Request) -> HTMLResponse:
    refs = list(request.app.state.library.files())
    return request.app.state.templates.TemplateResponse(request, "runbooks.html", {"refs": refs})


@router.get("/api/runbooks/{ref:path}")
def api_runbook(request: Request, ref: str, section: str | None = None) -> dict[str, Any]:
    """A runbook's sections (or one section, ``?section=ID``) with their steps."""
    doc = request.app.state.library.document(ref)
    if section:
        return {"ref": ref, "section": _section(_find(doc, section))}
    return {
        "ref": ref,
        "title": doc.runbook.title,
        "sections": [_section(s) for s in doc.runbook.walk()],
    }


@router.get("/runbooks/{ref:path}", response_class=HTMLResponse)
def runbook_page(request: Request, ref: str, section: str | None = None) -> HTMLResponse:
    doc = request.app.state.library.document(ref)
    context: dict[str, Any] = {"ref": ref, "title": doc.runbook.title}
    if section:
        found = _find(doc, section)
        context["section"] = _section(found)
        context["body"] = Markup(html.lines(doc.text, found.line, found.end_line))
    else:
        context["sections"] = [_section(s) for s in doc.runbook.walk()]
        context["body"] = Markup(html.markdown(doc.text))
    return request.app.state.templates.TemplateResponse(request, "runbook.html", context)
