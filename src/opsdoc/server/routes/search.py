"""Search: paste a line, a log or a symptom; the sections that answer it, with why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from opsdoc.mask import SHAPES
from opsdoc.search import Hit

router = APIRouter()


def _hits(request: Request, q: str, limit: int) -> list[dict[str, Any]]:
    library = request.app.state.library
    hits: list[Hit] = library.search(q, limit=limit) if q.strip() else []
    return [
        {
            "ref": library.ref_of(hit.file),
            "id": hit.id,
            "title": hit.title,
            "kind": hit.kind,
            "score": round(hit.score, 3),
            "why": [SHAPES.mask(reason) for reason in hit.why],  # a pasted token stays hidden
            "line": hit.line,
        }
        for hit in hits
    ]


@router.get("/api/search")
def api_search(request: Request, q: str = "", limit: int = 10) -> dict[str, Any]:
    """The best sections for a pasted error line, log or symptom."""
    return {"query": SHAPES.mask(q), "hits": _hits(request, q, max(1, min(limit, 50)))}


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, q: str = "") -> HTMLResponse:
    hits = _hits(request, q, 10)
    return request.app.state.templates.TemplateResponse(
        request, "search.html", {"q": SHAPES.mask(q), "hits": hits, "searched": bool(q.strip())}
    )
