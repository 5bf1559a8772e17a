"""``--help`` in words a user reads, not Python type names.

Typer labels every argument with its annotation (``paths... <list[Path]>``)
and every option without a metavar with its type (``--limit <int>``). A user
should see ``PATH...`` and ``--limit N``; options get their metavar where
they are declared, and this command class gives arguments theirs, in the
Arguments list and on the usage line alike.
"""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperCommand


def _argument_name(param: Any) -> str:
    """``PATH...`` for a list argument, ``TARGET`` for one value."""
    name = param.metavar or (param.name or "arg").upper()
    return f"{name}..." if param.nargs != 1 else name


class ReadableCommand(TyperCommand):
    """A Typer command whose help names arguments by metavar, with no type label."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        """Arguments, then options, as Typer lists them, less the type labels."""
        arguments, options = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append((_argument_name(param), record[1]))
            else:
                options.append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """``opsdoc list [OPTIONS] PATH...``: optional arguments in brackets."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                continue
            name = _argument_name(param)
            pieces.append(name if param.required else f"[{name}]")
        return pieces


class OpsdocTyper(typer.Typer):
    """A Typer app whose commands are :class:`ReadableCommand` unless told otherwise."""

    def command(self, name: str | None = None, *, cls: Any = None, **kwargs: Any) -> Any:
        return super().command(name, cls=cls or ReadableCommand, **kwargs)
