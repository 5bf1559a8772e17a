"""``opsdoc.toml``: where a team names its targets, defaults and rules.

Found upwards from the runbook (so a repository of runbooks carries its own)
or given with ``--config``. A target's DSN is usually a reference to an
environment variable (``dsn = "env:DATABASE_URL_PROD"``) so the file can be
committed; a literal DSN works too, and its password is a secret either way.

```toml
default_target = "staging"
journal = "~/.local/share/opsdoc/journal.sqlite3"

[targets.prod]
dsn = "env:DATABASE_URL_PROD"

[params]
WORKER_URL = "https://worker.internal"

[rules]
commands = ["ops/opsdoc-commands.toml"]
sql = ["ops/opsdoc-sql.toml"]

[lint]
disable = ["no-symptom"]
severity = { no-verify = "error" }
stale_days = 365
fail_on = "warning"
```
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from opsdoc.errors import OpsdocError

CONFIG_NAME = "opsdoc.toml"


@dataclass
class Target:
    """A database a run talks to, with its DSN resolved and its password known."""

    name: str
    dsn: str
    password: str | None = None
    # A role that cannot write: read steps use it, so PostgreSQL enforces READ ONLY
    # even against opsdoc's own mistakes.
    read_dsn: str | None = None

    def shown(self) -> str:
        """The DSN with its password masked, for messages and the journal."""
        from opsdoc.mask import shown_dsn  # patterns: ?password=, quoted key=value, [::1]

        return shown_dsn(self.dsn, self.password)

    def label(self) -> str:
        """How the journal names it: the configured name, or a literal DSN, masked."""
        return self.shown() if self.name == "dsn" else self.name


@dataclass
class LintConfig:
    """``[lint]``: what ``opsdoc lint`` checks and when it fails; rule ids are
    checked by lint itself, which knows them."""

    disable: list[str] = field(default_factory=list)
    severity: dict[str, str] = field(default_factory=dict)
    stale_days: int | None = None
    fail_on: str | None = None


@dataclass
class Config:
    path: Path | None = None
    targets: dict[str, str] = field(default_factory=dict)  # name -> DSN spec
    read_targets: dict[str, str] = field(default_factory=dict)  # name -> read_dsn spec
    default_target: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    journal: str | None = None
    command_rules: list[Path] = field(default_factory=list)
    sql_rules: list[Path] = field(default_factory=list)
    lint: LintConfig = field(default_factory=LintConfig)

    def target(self, name_or_dsn: str | None) -> Target | None:
        """The target a run uses: a configured name, a literal DSN, or the default."""
        wanted = name_or_dsn or self.default_target
        if not wanted:
            return None
        if wanted in self.targets:
            target = _resolve(wanted, self.targets[wanted], self.path)
            read_spec = self.read_targets.get(wanted)
            if read_spec:
                target.read_dsn = _resolve(f"{wanted}.read_dsn", read_spec, self.path).dsn
            return target
        if "://" in wanted or "=" in wanted:
            return _resolve("dsn", wanted, None)
        known = ", ".join(sorted(self.targets)) or "none configured"
        raise OpsdocError(
            f"unknown target {wanted!r}",
            hint=f"targets: {known}; or pass a DSN such as postgresql://user@host/db",
        )


def find_config(start: Path) -> Path | None:
    """The nearest opsdoc.toml at or above ``start``."""
    here = start.resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None = None, *, near: Path | None = None) -> Config:
    """The config at ``path``, or found upwards from ``near``, or an empty one."""
    if path is None and near is not None:
        path = find_config(near)
    if path is None:
        return Config()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OpsdocError("no such config file", path=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise OpsdocError(f"not valid TOML: {exc}", path=str(path)) from None
    return _parse(raw, path)


def _parse(raw: dict[str, Any], path: Path) -> Config:
    config = Config(path=path)
    for name, spec in (raw.get("targets") or {}).items():
        dsn = spec.get("dsn") if isinstance(spec, dict) else spec
        if not isinstance(dsn, str):
            raise OpsdocError(
                f"target {name!r} needs a dsn",
                path=str(path),
                hint='write [targets.NAME] dsn = "env:VAR" or a DSN',
            )
        config.targets[str(name)] = dsn
        read = spec.get("read_dsn") if isinstance(spec, dict) else None
        if read is not None and not isinstance(read, str):
            raise OpsdocError(
                f"target {name!r}: read_dsn must be a string",
                path=str(path),
                hint='write read_dsn = "env:VAR" or a DSN of a role that cannot write',
            )
        if read:
            config.read_targets[str(name)] = read
    config.default_target = raw.get("default_target")
    config.params = {str(k): str(v) for k, v in (raw.get("params") or {}).items()}
    journal = raw.get("journal")
    config.journal = os.path.expanduser(journal) if isinstance(journal, str) else None
    rules = raw.get("rules") or {}
    base = path.parent
    config.command_rules = [base / p for p in rules.get("commands", [])]
    config.sql_rules = [base / p for p in rules.get("sql", [])]
    config.lint = _lint_section(raw.get("lint") or {}, path)
    return config


def _lint_section(raw: Any, path: Path) -> LintConfig:
    def bad(what: str, hint: str) -> OpsdocError:
        return OpsdocError(f"[lint] {what}", path=str(path), hint=hint)

    if not isinstance(raw, dict):
        raise bad("must be a table", 'write [lint] with disable = ["rule-id"] and the like')
    lint = LintConfig()
    disable = raw.get("disable", [])
    if not isinstance(disable, list) or not all(isinstance(r, str) for r in disable):
        raise bad("disable must be a list of rule ids", 'write disable = ["no-symptom"]')
    lint.disable = list(disable)
    severity = raw.get("severity", {})
    if not isinstance(severity, dict) or not all(isinstance(v, str) for v in severity.values()):
        raise bad("severity must map rule ids to levels", 'write severity = { stale = "note" }')
    lint.severity = {str(k): v for k, v in severity.items()}
    stale = raw.get("stale_days")
    if stale is not None and (isinstance(stale, bool) or not isinstance(stale, int) or stale < 0):
        raise bad("stale_days must be a whole number of days", "write stale_days = 180")
    lint.stale_days = stale
    fail_on = raw.get("fail_on")
    if fail_on is not None and not isinstance(fail_on, str):
        raise bad("fail_on must be a string", 'write fail_on = "error"')
    lint.fail_on = fail_on
    return lint


def _resolve(name: str, spec: str, path: Path | None) -> Target:
    dsn = spec
    if spec.startswith("env:"):
        var = spec[4:]
        dsn = os.environ.get(var, "")
        if not dsn:
            raise OpsdocError(
                f"target {name!r} reads its DSN from ${var}, which is not set",
                path=str(path) if path else None,
                hint=f"export {var}=postgresql://... or pass --target with a DSN",
            )
    return Target(name=name, dsn=dsn, password=dsn_password(dsn))


def dsn_password(dsn: str) -> str | None:
    """The password in a URL or key=value DSN, so it can be masked everywhere.

    A URL's password is in its userinfo or its query (``?password=…``); a
    key=value DSN may quote it (``password='a b c'``, with ``\\'`` inside).
    """
    if "://" in dsn:
        try:
            parts = urlsplit(dsn)
            query = parse_qs(parts.query).get("password")
            return parts.password or (query[0] if query else None)
        except ValueError:
            return None
    match = _KV_PASSWORD.search(dsn)
    if match is None:
        return None
    value = match.group(1)
    if value.startswith("'"):
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


_KV_PASSWORD = re.compile(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']\S*)")
