"""``opsdoc serve``: the team's web UI and API on the runbooks and journal the CLI uses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from opsdoc.cli.app import app
from opsdoc.server.settings import DEFAULT_HOST, DEFAULT_PORT, ServerSettings


@app.command("serve")
def serve_cmd(
    roots: Annotated[
        list[Path], typer.Option("--in", metavar="PATH", help="Runbooks to serve (repeatable).")
    ] = [],  # noqa: B006
    journal: Annotated[
        str | None,
        typer.Option(
            "--journal", metavar="FILE|DSN", help="The journal to show (default: the CLI's)."
        ),
    ] = None,
    index: Annotated[
        Path | None, typer.Option("--index", metavar="FILE", help="Index file (default: cached).")
    ] = None,
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on (loopback only).")
    ] = DEFAULT_HOST,
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", min=0, max=65535, help="Port to listen on.")
    ] = DEFAULT_PORT,
) -> None:
    """Serve search, runbooks and the journal over HTTP, with a JSON API under /api/."""
    import uvicorn

    from opsdoc.server import create_app

    settings = ServerSettings(
        roots=list(roots) or [Path.cwd()], index=index, journal=journal, host=host, port=port
    )
    settings.check()
    print(f"opsdoc serve: http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
