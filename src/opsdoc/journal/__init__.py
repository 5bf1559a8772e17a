"""The journal: every action of a run, appended as events, chained, never changed.

Events live in one SQLite file (WAL mode, so readers never block the writer

Events live in one SQLite file (WAL mode, so readers never block the writer
and two processes can append at once) in the user's data dir by default:
``platformdirs.user_data_dir("opsdoc")/journal.sqlite3``; or, for a team, in
a PostgreSQL database given as a ``postgresql://`` DSN (the same schema, in
a schema of its own named ``opsdoc``). The ``OPSDOC_JOURNAL`` environment
variable (a path or a DSN) overrides the default; ``--journal`` wins over
both, and ``journal`` in ``opsdoc.toml`` over the default.

Every event's data is masked with the run's :class:`~opsdoc.mask.Masker`
before it is written, and each string in it is capped at 64 KB. Each
event carries a MAC chained to the one before (:mod:`opsdoc.journal.chain`);
``opsdoc journal verify`` walks the chains.

The package, along the flow: :mod:`~opsdoc.journal.encode` (data to stored
text), :mod:`~opsdoc.journal.chain` (the MACs), :mod:`~opsdoc.journal.backends`
(SQLite, PostgreSQL), :mod:`~opsdoc.journal.store` (:class:`Journal`,
:class:`RunLog`), :mod:`~opsdoc.journal.timeline` and
:mod:`~opsdoc.journal.export` (reading a run back).
Event types the runner writes (``step`` is the step's 1-based number among
the section's executable steps, as ``opsdoc show`` numbers them; the fields
listed are the ones the export reads, others are kept as they are):

``run_started``
    runbook, section, content_hash, user, host, target, git_commit, params,
    argv, resumed_from, pid, opsdoc (version), uid, chain (the id of the
    key the run's chain is keyed with). ``runbook`` is an
    absolute path; ``user`` is the OS account of the real uid, and
    ``claimed_user`` what ``$USER``/``$LOGNAME`` said when that differs.
``run_resumed``
    resumed_from, notes (how the steps were matched to the changed runbook).
``statement_skipped``
    index, text, why: a resumed step's statement the earlier run committed.
``step_planned``
    phase, lang, safety, title, option, code (params resolved, secrets masked).
``step_confirmed``
    by (user name), via (``prompt`` | ``--yes`` | ``--allow write`` |
    ``--allow destructive``), kind (``run`` | ``commit`` | ``autocommit``),
    statement (its index, when one statement was confirmed).
``step_started``
    (nothing more).
``output``
    text, stream: a chunk of a step's output as it came, in whole lines; at
    most 64 KB of a step's output in all, the last chunk ``truncated``.
``statement``
    index, label, text, safety, status (``ok`` | ``committed`` |
    ``rolled_back`` | ``failed`` | ``refused`` | ``skipped``), rowcount,
    columns, rows (at most 20), error, sqlstate, duration (seconds).
``expectation``
    expected, held (bool), actual (optional).
``step_refused``
    why, flag (the flag that would have allowed it, e.g. ``--allow write``).
``step_skipped``
    why.
``step_finished``
    status, exit_code, rowcount, duration, error.
``run_interrupted``
    why (e.g. ``SIGINT``); the step it happened in as ``step``.
``run_finished``
    status (``ok`` | ``failed`` | ``refused`` | ``interrupted``), exit_code.
"""

from __future__ import annotations

from opsdoc.journal.backends import SCHEMA_VERSION, schema_sql
from opsdoc.journal.encode import MAX_EVENT_TEXT
from opsdoc.journal.export import clip, export_data, export_markdown
from opsdoc.journal.rows import Event, RunSummary
from opsdoc.journal.store import ENV_VAR, FILE_NAME, Journal, RunLog
from opsdoc.journal.timeline import Entry, timeline

__all__ = [
    "ENV_VAR",
    "FILE_NAME",
    "MAX_EVENT_TEXT",
    "SCHEMA_VERSION",
    "Entry",
    "Event",
    "Journal",
    "RunLog",
    "RunSummary",
    "clip",
    "export_data",
    "export_markdown",
    "schema_sql",
    "timeline",
]
