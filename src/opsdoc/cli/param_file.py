"""``--param-file FILE`` (or ``-`` for stdin): params that ``ps`` does not show.

A ``--param DB_PASSWORD=...`` sits in the process list for every user on the
machine to read; a file or stdin does not.
"""

from __future__ import annotations

import sys
from pathlib import Path

from opsdoc.cli import render
from opsdoc.errors import OpsdocError
from opsdoc.mask import is_secret_name


def read_param_file(source: str) -> dict[str, str]:
    """``NAME=VALUE`` lines (blank lines and ``#`` comments skipped)."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise OpsdocError(f"cannot read --param-file: {exc.strerror or exc}", path=source) from None
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, eq, value = line.partition("=")
        if not eq or not name.strip():
            raise OpsdocError(f"--param-file line {number} is not NAME=VALUE", path=source)
        out[name.strip().strip("<>")] = value
    return out


def warn_secret_args(given: dict[str, str]) -> None:
    """Say so on stderr when a secret-named param came on the command line."""
    for name in given:
        if is_secret_name(name):
            render.errors.print(
                f"warning: --param {name} is visible to other users in `ps`; "
                "pass it with --param-file FILE or --param-file - (stdin)",
                markup=False,
            )
