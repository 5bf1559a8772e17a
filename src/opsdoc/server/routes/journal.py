"""The journal: runs, one run's timeline, its export as Markdown or JSON."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from opsdoc.journal import Journal, export_data, timeline
from opsdoc.journal.encode import remask

router = APIRouter()


def _journal(request: Request) -> Journal:
    return Journal(request.app.state.settings.journal)


@router.get("/api/runs")
def api_runs(request: Request, limit: int = 50) -> list[dict[str, Any]]:
    """The latest runs, newest first."""
    with _journal(request) as book:
        return [dataclasses.asdict(r) for r in book.runs(max(1, min(limit, 500)))]


@router.get("/runs", response_class=HTMLResponse)
def runs_page(request: Request) -> HTMLResponse:
    with _journal(request) as book:
        runs = book.runs(100)
    return request.app.state.templates.TemplateResponse(request, "runs.html", {"runs": runs})


@router.get("/api/runs/{run_id}")
def api_run(request: Request, run_id: str) -> dict[str, Any]:
    """One run: its summary and every event (secrets masked)."""
    with _journal(request) as book:
        events = remask(book.events(run_id))
        return export_data(events, book.head(run_id))


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> HTMLResponse:
    with _journal(request) as book:
        events = remask(book.events(run_id))
        data = export_data(events, book.head(run_id))
    entries = list(timeline(events))
    return request.app.state.templates.TemplateResponse(
        request, "run.html", {"run": data["run"], "entries": entries}
    )


@router.get("/runs/{run_id}/export.md", response_class=PlainTextResponse)
def export_md(request: Request, run_id: str) -> PlainTextResponse:
    with _journal(request) as book:
        text = book.export(run_id, "md")
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


@router.get("/runs/{run_id}/export.json")
def export_json(request: Request, run_id: str) -> Any:
    with _journal(request) as book:
        return json.loads(book.export(run_id, "json"))
