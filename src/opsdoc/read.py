"""The read pipeline every command starts with: load, parse, classify.

Commands ask for runbooks here and get a :class:`Runbook`, or the
:class:`OpsdocError` that explains why a file could not be read; a command
reading a directory reports a bad file and goes on with the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import Path

from opsdoc.classify import classify_step
from opsdoc.classify.command_rules import RulesError
from opsdoc.classify.sql import SqlRulesError
from opsdoc.errors import OpsdocError
from opsdoc.load import DEFAULT_MAX_BYTES, load_file
from opsdoc.model import Runbook
from opsdoc.parse import parse_runbook


def read_document(
    path: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    classify: bool = True,
    command_rules: Sequence[Path] = (),
    sql_rules: Sequence[Path] = (),
) -> tuple[Runbook, str]:
    """A runbook and the text it was parsed from (decoded, repaired).

    ``opsdoc show`` renders a section whole from that text's blocks; reading
    it once keeps the two from disagreeing about a file that changed.

    ``command_rules`` and ``sql_rules`` are a team's own rule files (from
    opsdoc.toml) added to the packaged ones.
    """
    source = load_file(path, max_bytes=max_bytes)
    hook = None
    if classify:
        hook = partial(
            classify_step, rule_files=tuple(command_rules), sql_rule_files=tuple(sql_rules)
        )
    try:
        return parse_runbook(source, hook), source.text
    except (RulesError, SqlRulesError) as exc:  # a team rules file that does not load
        raise OpsdocError(str(exc), hint="fix the rules file named in opsdoc.toml") from exc


def read_runbook(
    path: str | Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    classify: bool = True,
    command_rules: Sequence[Path] = (),
    sql_rules: Sequence[Path] = (),
) -> Runbook:
    """One runbook file, fully read; raises OpsdocError when it cannot be.

    ``command_rules`` and ``sql_rules`` are a team's own rule files (from
    opsdoc.toml) added to the packaged ones.
    """
    return read_document(
        path,
        max_bytes=max_bytes,
        classify=classify,
        command_rules=command_rules,
        sql_rules=sql_rules,
    )[0]
