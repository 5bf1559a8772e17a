"""``create_app(settings)``: the FastAPI application of ``opsdoc serve``.

One :class:`~opsdoc.server.library.Library` (the served runbooks and their
index) and the journal the CLI writes; routes in :mod:`opsdoc.server.routes`
render pages and their JSON twins from the same data.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from opsdoc.errors import OpsdocError
from opsdoc.server.library import Library, NotFound
from opsdoc.server.settings import ServerSettings

HERE = Path(__file__).parent


def create_app(settings: ServerSettings) -> FastAPI:
    from opsdoc.server.routes import journal, runbooks, search

    app = FastAPI(title="opsdoc", summary="Runbooks as incident tooling", docs_url="/api/docs")
    app.state.settings = settings
    app.state.library = Library(settings.roots, settings.index)
    app.state.templates = Jinja2Templates(directory=HERE / "templates")  # autoescaped
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (search, runbooks, journal):
        app.include_router(module.router)

    @app.exception_handler(OpsdocError)
    async def opsdoc_error(request: Request, exc: OpsdocError) -> HTMLResponse | JSONResponse:
        status = 404 if isinstance(exc, NotFound) or exc.message.startswith("no run") else 400
        body = {"error": exc.message, "hint": exc.hint}
        if request.url.path.startswith("/api/"):
            return JSONResponse(body, status_code=status)
        page = request.app.state.templates.TemplateResponse(
            request, "error.html", {**body, "status": status}, status_code=status
        )
        return page

    @app.middleware("http")
    async def headers(request: Request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        # Nothing on a page runs but what the server sent: no inline script, no framing.
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    return app
