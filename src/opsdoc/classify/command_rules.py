"""What opsdoc knows about commands: the rules of ``rules/commands.toml``.

That ``kubectl get`` reads and ``kubectl delete`` destroys is data, not code,
so a team can extend it with a file of its own. This module is the data model
of those files and their loader: it reads, merges and checks them, and names
the file and key of any mistake. Judging a command against them is
:mod:`opsdoc.classify.commands`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from opsdoc.model import SAFETY_ORDER, Safety

__all__ = [
    "CommandRule",
    "CommandRules",
    "FlagRule",
    "Rule",
    "RulesError",
    "Wrapper",
    "load_command_rules",
    "rules_or_default",
]

_SYSTEM_BIN = re.compile(r"^/(usr/(local/)?)?s?bin/|^/opt/homebrew/bin/")


class RulesError(ValueError):
    """A command rules file that cannot be used; the message names file and key."""


@dataclass(frozen=True)
class FlagRule:
    """An option that changes a command's class (``curl -X DELETE``, ``sed -i``)."""

    names: tuple[str, ...]
    safety: Safety
    values: tuple[str, ...] = ()  # only when the option's value matches one of these
    values_not: tuple[str, ...] = ()  # only when its value matches none of these
    set: bool = False  # replaces the class instead of raising it (``wget -O-``)
    writes_file: bool = False  # only when its value is a real file, not /dev/null
    kind: str | None = None  # "curl {value}"
    reason: str | None = None


@dataclass(frozen=True)
class Rule:
    """What a command, or one of its subcommands, does."""

    words: tuple[str, ...] = ()  # subcommand pattern ("rollout status"), () for the command
    safety: Safety = "write"
    bare: Safety | None = None  # class when no positional word follows the pattern
    reason: str | None = None
    kind: str | None = None
    flags: tuple[FlagRule, ...] = ()
    sql: tuple[str, ...] = ()  # options whose value is SQL (psql -c)
    shell: tuple[str, ...] = ()  # options whose value is a shell script (bash -c)
    run: str | int | None = None  # "--": the words after -- are a command; N: after N words
    run_shell: bool = False  # that command is one shell string (ssh host 'cmd')
    exec_flags: tuple[str, ...] = ()  # find -exec CMD ;
    writes_files: bool = False  # positional words are files it writes (tee)
    writes_after: int | None = None  # positional words after the first N are files it writes
    program: str | None = None  # "awk" or "sed": its program may run commands or write files
    value_options: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CommandRule:
    """A command known to the rules: its default and its subcommands."""

    name: str
    default: Rule
    subcommands: tuple[Rule, ...] = ()
    alias: tuple[str, ...] = ()  # read as these words instead (docker-compose)
    value_options: frozenset[str] = frozenset()
    single_dash_long: bool = False  # -delete is one option, not -d -e -l ...
    ignore_case: bool = False  # PowerShell parameters


@dataclass(frozen=True)
class Wrapper:
    """A command that runs the command after it (sudo, timeout 5, xargs)."""

    name: str
    value_options: frozenset[str] = frozenset()
    skip: int = 0  # positional words before the command (timeout's duration)
    shell: bool = False  # the rest is one shell string (watch)
    assignments: bool = False  # VAR=value words before the command (env)
    alone: Safety = "read"
    read_flags: frozenset[str] = frozenset()  # command -v only looks a name up


@dataclass(frozen=True)
class CommandRules:
    """Everything opsdoc knows about commands, bash and PowerShell."""

    commands: Mapping[str, CommandRule] = field(default_factory=dict)
    patterns: tuple[CommandRule, ...] = ()  # names with glob characters
    wrappers: Mapping[str, Wrapper] = field(default_factory=dict)
    verbs: Mapping[str, Safety] = field(default_factory=dict)  # PowerShell, lower-case
    cmdlets: Mapping[str, CommandRule] = field(default_factory=dict)  # lower-case keys
    aliases: Mapping[str, str] = field(default_factory=dict)  # PowerShell, lower-case

    def command(self, name: str) -> CommandRule | None:
        """The rule for a command name as written (path, ``.exe`` and globs allowed)."""
        for candidate in _name_candidates(name):
            rule = self.commands.get(candidate)
            if rule is not None:
                return rule
        for candidate in _name_candidates(name):
            for rule in self.patterns:
                if fnmatchcase(candidate, rule.name):
                    return rule
        return None


def _norm_name(name: str) -> str:
    """Command names compare with / for \\ and without ./ before a directory."""
    name = name.replace("\\", "/")
    while name.startswith("./") and "/" in name[2:]:
        name = name[2:]
    return name


def _name_candidates(name: str) -> list[str]:
    name = _norm_name(name)
    out = [name]
    if name.lower().endswith(".exe"):
        out.append(name[:-4])
    if _SYSTEM_BIN.match(name):
        out.append(name.rsplit("/", 1)[-1])
    return out


_RULE_KEYS = {
    "safety",
    "bare",
    "reason",
    "kind",
    "flags",
    "sql",
    "shell",
    "run",
    "run_shell",
    "exec_flags",
    "writes_files",
    "writes_after",
    "program",
    "value_options",
}
_COMMAND_KEYS = _RULE_KEYS | {"subcommands", "alias", "single_dash_long"}
_FLAG_KEYS = {"names", "safety", "values", "values_not", "set", "writes_file", "kind", "reason"}
_WRAPPER_KEYS = {"value_options", "skip", "shell", "assignments", "alone", "read_flags"}
_TOP_KEYS = {"commands", "wrappers", "powershell"}
_PS_KEYS = {"verbs", "cmdlets", "aliases"}


def load_command_rules(extra: Sequence[Path] = ()) -> CommandRules:
    """The packaged command rules, merged with a team's files of the same shape.

    A team file overrides what it names (a command's ``safety``, a subcommand)
    and adds to lists (``flags``, ``value_options``). Raises :class:`RulesError`
    naming the file when one cannot be read or uses an unknown key or class.
    """
    if not extra:
        return _default_rules()
    raw = _packaged_raw()
    for path in extra:
        team = _normalize(_read_toml(Path(path)))
        try:
            _compile(team)
        except RulesError as exc:
            raise RulesError(f"{path}: {exc}") from None
        raw = _merge(raw, team)
    return _compile(raw)


@lru_cache(maxsize=1)
def _default_rules() -> CommandRules:
    return _compile(_packaged_raw())


@lru_cache(maxsize=1)
def _packaged_raw() -> dict[str, Any]:
    """The packaged rules as data; merging copies, so the cached dict stays intact."""
    text = resources.files("opsdoc.classify").joinpath("rules/commands.toml").read_text("utf-8")
    return _normalize(tomllib.loads(text))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesError(f"{path}: cannot read rules file ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: not valid TOML: {exc}") from None


def _normalize(raw: dict[str, Any]) -> dict[str, Any]:
    """Expand ``name = "read"`` shorthands so files merge key by key."""
    out = dict(raw)
    commands = out.get("commands")
    if isinstance(commands, dict):
        out["commands"] = {k: _normalize_command(v) for k, v in commands.items()}
    ps = out.get("powershell")
    if isinstance(ps, dict) and isinstance(ps.get("cmdlets"), dict):
        ps = dict(ps)
        ps["cmdlets"] = {k: _normalize_command(v) for k, v in ps["cmdlets"].items()}
        out["powershell"] = ps
    return out


def _normalize_command(value: Any) -> Any:
    if isinstance(value, str):
        return {"safety": value}
    if isinstance(value, dict) and isinstance(value.get("subcommands"), dict):
        value = dict(value)
        value["subcommands"] = {
            k: ({"safety": v} if isinstance(v, str) else v) for k, v in value["subcommands"].items()
        }
    return value


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key, lists concatenate, anything else is replaced.

    A new class without a reason drops the old reason, which described the old class.
    """
    out = dict(base)
    if "safety" in extra and "reason" not in extra:
        out.pop("reason", None)
    for key, value in extra.items():
        old = out.get(key)
        if isinstance(value, dict) and isinstance(old, dict):
            out[key] = _merge(old, value)
        elif isinstance(value, list) and isinstance(old, list):
            out[key] = old + value
        else:
            out[key] = value
    return out


def _compile(raw: dict[str, Any]) -> CommandRules:
    _check_keys(raw, _TOP_KEYS, "top level")
    commands: dict[str, CommandRule] = {}
    patterns: list[CommandRule] = []
    for name, value in _table(raw, "commands", "commands").items():
        rule = _compile_command(name, value, f"commands.{name}")
        if any(ch in name for ch in "*?["):
            patterns.append(rule)
        else:
            commands[_norm_name(name)] = rule
    wrappers = {
        name: _compile_wrapper(name, value, f"wrappers.{name}")
        for name, value in _table(raw, "wrappers", "wrappers").items()
    }
    ps = _table(raw, "powershell", "powershell")
    _check_keys(ps, _PS_KEYS, "powershell")
    verbs = {
        verb.lower(): _safety(value, f"powershell.verbs.{verb}")
        for verb, value in _table(ps, "verbs", "powershell.verbs").items()
    }
    cmdlets = {
        name.lower(): _compile_command(name, value, f"powershell.cmdlets.{name}", ignore_case=True)
        for name, value in _table(ps, "cmdlets", "powershell.cmdlets").items()
    }
    aliases = {
        alias.lower(): str(target)
        for alias, target in _table(ps, "aliases", "powershell.aliases").items()
    }
    return CommandRules(commands, tuple(patterns), wrappers, verbs, cmdlets, aliases)


def _table(raw: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise RulesError(f"{where}: expected a table")
    return value


def _check_keys(raw: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise RulesError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _safety(value: Any, where: str) -> Safety:
    if value not in SAFETY_ORDER:
        raise RulesError(f"{where}: safety must be read, write or destructive, not {value!r}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{where}: expected a list of strings")
    return tuple(value)


def _compile_command(name: str, raw: Any, where: str, *, ignore_case: bool = False) -> CommandRule:
    raw = _normalize_command(raw)
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: expected a class or a table")
    _check_keys(raw, _COMMAND_KEYS, where)
    default = _compile_rule((), raw, where, ignore_case)
    subs = tuple(
        _compile_rule(
            tuple(pattern.lower().split()), value, f"{where}.subcommands.{pattern}", ignore_case
        )
        for pattern, value in _table(raw, "subcommands", where).items()
    )
    alias = tuple(str(raw["alias"]).split()) if raw.get("alias") else ()
    return CommandRule(
        name=name,
        default=default,
        subcommands=subs,
        alias=alias,
        value_options=default.value_options,
        single_dash_long=bool(raw.get("single_dash_long", ignore_case)),
        ignore_case=ignore_case,
    )


def _compile_rule(words: tuple[str, ...], raw: Any, where: str, ignore_case: bool) -> Rule:
    if isinstance(raw, str):
        raw = {"safety": raw}
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: expected a class or a table")
    allowed = _RULE_KEYS if words else _COMMAND_KEYS
    _check_keys(raw, allowed, where)
    flags = raw.get("flags", [])
    if not isinstance(flags, list):
        raise RulesError(f"{where}.flags: expected an array of tables")
    compiled = tuple(
        _compile_flag(f, f"{where}.flags[{i}]", ignore_case) for i, f in enumerate(flags)
    )
    sql = _opt_names(raw.get("sql", []), f"{where}.sql", ignore_case)
    shell = _opt_names(raw.get("shell", []), f"{where}.shell", ignore_case)
    value_options = set(
        _opt_names(raw.get("value_options", []), f"{where}.value_options", ignore_case)
    )
    value_options |= set(sql) | set(shell)
    for flag in compiled:
        if flag.values or flag.values_not or flag.writes_file:
            value_options |= {n for n in flag.names if not any(c in n for c in "*?[")}
    run = raw.get("run")
    if run is not None and not (run == "--" or (isinstance(run, int) and run >= 0)):
        raise RulesError(f'{where}.run: expected "--" or a number of words')
    bare = raw.get("bare")
    return Rule(
        words=words,
        safety=_safety(raw.get("safety", "write"), f"{where}.safety"),
        bare=_safety(bare, f"{where}.bare") if bare is not None else None,
        reason=raw.get("reason"),
        kind=raw.get("kind"),
        flags=compiled,
        sql=sql,
        shell=shell,
        run=run,
        run_shell=bool(raw.get("run_shell", False)),
        exec_flags=_strings(raw.get("exec_flags", []), f"{where}.exec_flags"),
        writes_files=bool(raw.get("writes_files", False)),
        writes_after=_count(raw.get("writes_after"), f"{where}.writes_after"),
        program=_program(raw.get("program"), f"{where}.program"),
        value_options=frozenset(value_options),
    )


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RulesError(f"{where}: expected a number of positional words")
    return value


def _program(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if value not in ("awk", "sed"):
        raise RulesError(f'{where}: expected "awk" or "sed"')
    return str(value)


def _opt_names(value: Any, where: str, ignore_case: bool) -> tuple[str, ...]:
    names = _strings(value, where)
    return tuple(n.lower() for n in names) if ignore_case else names


def _compile_flag(raw: Any, where: str, ignore_case: bool) -> FlagRule:
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: expected a table")
    _check_keys(raw, _FLAG_KEYS, where)
    if "names" not in raw:
        raise RulesError(f"{where}: names is required")
    return FlagRule(
        names=_opt_names(raw["names"], f"{where}.names", ignore_case),
        safety=_safety(raw.get("safety", "write"), f"{where}.safety"),
        values=_strings(raw.get("values", []), f"{where}.values"),
        values_not=_strings(raw.get("values_not", []), f"{where}.values_not"),
        set=bool(raw.get("set", False)),
        writes_file=bool(raw.get("writes_file", False)),
        kind=raw.get("kind"),
        reason=raw.get("reason"),
    )


def _compile_wrapper(name: str, raw: Any, where: str) -> Wrapper:
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: expected a table")
    _check_keys(raw, _WRAPPER_KEYS, where)
    return Wrapper(
        name=name,
        value_options=frozenset(_strings(raw.get("value_options", []), f"{where}.value_options")),
        skip=int(raw.get("skip", 0)),
        shell=bool(raw.get("shell", False)),
        assignments=bool(raw.get("assignments", False)),
        alone=_safety(raw.get("alone", "read"), f"{where}.alone"),
        read_flags=frozenset(_strings(raw.get("read_flags", []), f"{where}.read_flags")),
    )


def rules_or_default(rules: CommandRules | None) -> CommandRules:
    """``rules``, else the packaged rules, else none: classifying never raises."""
    if rules is not None:
        return rules
    try:
        return _default_rules()
    except Exception:  # a broken install must not make classification raise
        return CommandRules()
