"""The Typer app and the one place where errors become messages and exit codes.

No command prints a traceback: an :class:`OpsdocError` becomes ``error:
file:line: what (what to do)``, a usage mistake gets click's usage text,
Ctrl-C exits 130, and anything unexpected is reported in one line with a
pointer to ``OPSDOC_DEBUG=1`` for the traceback.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from opsdoc.cli.help import OpsdocTyper
from opsdoc.errors import EXIT_INTERRUPTED, OpsdocError

app = OpsdocTyper(
    name="opsdoc",
    help="Turn the Markdown runbooks a team already has into incident tooling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(wanted: bool) -> None:
    """``opsdoc --version``: the installed distribution's version, from its metadata."""
    if not wanted:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("opsdoc")
    except PackageNotFoundError:  # run from a source tree that was never installed
        number = "(not installed: no version metadata)"
    print(f"opsdoc {number}")
    raise typer.Exit(0)


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Turn the Markdown runbooks a team already has into incident tooling."""
    # Present so Typer keeps `opsdoc COMMAND` a group even when only the one
    # command being run has been imported.


# Each command lives in its own module; only the one being run is imported,
# so `opsdoc find` does not pay for psycopg and pglast at start-up.
COMMANDS = {
    "list": "read_cmds",
    "show": "read_cmds",
    "run": "run_cmd",
    "print": "cells_cmd",
    "demo": "demo_cmd",
    "journal": "journal_cmds",
    "find": "find_cmd",
    "lint": "lint_cmd",
    "drill": "drill_cmd",
    "serve": "serve_cmd",
}


def _register(argv: list[str] | None = None) -> None:
    import importlib

    args = sys.argv[1:] if argv is None else argv
    wanted = next((a for a in args if not a.startswith("-")), None)
    if wanted is None and "--version" in args:
        return  # nothing to import for the version
    modules = [COMMANDS[wanted]] if wanted in COMMANDS else sorted(set(COMMANDS.values()))
    for module in modules:
        importlib.import_module(f"opsdoc.cli.{module}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``opsdoc`` script; returns the process exit code.

    Commands end with ``raise typer.Exit(code)``; Typer itself reports usage
    mistakes (exit 2). Only Typer's public API is used, so this holds whether
    Typer bundles click or depends on it.
    """
    _register(argv)
    try:
        app(args=argv, prog_name="opsdoc")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except OpsdocError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `opsdoc list | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # the last line of defence, by design
        if os.environ.get("OPSDOC_DEBUG"):
            raise
        print(
            f"opsdoc: internal error: {type(exc).__name__}: {exc} "
            "(run again with OPSDOC_DEBUG=1 for a traceback, and please report it)",
            file=sys.stderr,
        )
        return 70
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
