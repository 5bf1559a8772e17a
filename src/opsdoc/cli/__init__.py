"""The ``opsdoc`` command line: Typer commands that only call down the stack."""

from opsdoc.cli.app import main

__all__ = ["main", "run"]


def run() -> None:
    """Console-script entry: exit with the code ``main`` returns."""
    import sys

    sys.exit(main())
