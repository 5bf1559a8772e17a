"""Safety of shell and PowerShell steps: one :class:`Statement` per simple command.

A runbook's shell block is classified command by command so that a step is
only as dangerous as its most dangerous command, and so the journal and the
UI can say *which* command made it so. What each CLI does (``kubectl get``
reads, ``kubectl delete`` destroys) lives in ``rules/commands.toml``, data a
team can extend with its own file; commands nobody knows count as write.

Bash goes through bashlex, the closest thing to bash's own grammar in
Python. bashlex rejects plenty of real shell (``[[ ]]``, ``case``, ``$(( ))``,
``time``), so a small quote-aware scanner of our own reads what it rejects,
one logical line at a time, and marks those statements ``parsed=False``.
PowerShell has no parser here: the same kind of scanner splits statements.
Nothing in this module raises on any input; unreadable code counts as write.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from opsdoc.model import SAFETY_ORDER, Safety, Statement, max_safety

__all__ = [
    "CommandRule",
    "CommandRules",
    "FlagRule",
    "Rule",
    "RulesError",
    "Wrapper",
    "classify_powershell",
    "classify_shell",
    "load_command_rules",
]

_PHRASE: dict[str, str] = {
    "read": "only reads",
    "write": "changes state",
    "destructive": "can destroy data",
}
_MAX_DEPTH = 8
_HELP_ARGS = frozenset({"--help", "--version"})
_SINKS = frozenset(
    {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "-", "$null", "&1", "&2", "nul"}
)
_SYSTEM_BIN = re.compile(r"^/(usr/(local/)?)?s?bin/|^/opt/homebrew/bin/")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^\]]*\])?\+?=")


class RulesError(ValueError):
    """A command rules file that cannot be used; the message names file and key."""


# --------------------------------------------------------------------------
# Rules: the data model of commands.toml
# --------------------------------------------------------------------------


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
        value_options=frozenset(value_options),
    )


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


def _rules_or_default(rules: CommandRules | None) -> CommandRules:
    if rules is not None:
        return rules
    try:
        return _default_rules()
    except Exception:  # a broken install must not make classification raise
        return CommandRules()


# --------------------------------------------------------------------------
# Judging one command line (argv) against the rules
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Verdict:
    safety: Safety
    reason: str
    kind: str


@dataclass(frozen=True)
class _Opt:
    name: str  # as matched (lower-case for PowerShell)
    value: str | None
    text: str  # the word as written


@dataclass
class _Args:
    opts: list[_Opt]
    positional: list[tuple[int, str]]  # (index in args, word)
    dashdash: int | None  # index of "--"


def _worse(a: _Verdict, b: _Verdict | None) -> _Verdict:
    """The more dangerous verdict; ``a`` on a tie."""
    if b is None or SAFETY_ORDER.index(b.safety) <= SAFETY_ORDER.index(a.safety):
        return a
    return b


def _short(text: str, limit: int = 60) -> str:
    """A word fit for a one-line reason."""
    text = " ".join(text.split()) or repr(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _unknown(name: str) -> _Verdict:
    return _Verdict("write", f"unknown command {_short(name)} counts as write", "unknown")


def _assignment(name: str = "") -> _Verdict:
    """Setting a variable only changes the session; the value never enters the reason."""
    name = name.split("=", 1)[0].strip()
    what = f"setting {name}" if name else "an assignment"
    return _Verdict("read", f"{what} only changes this session", "assignment")


def _parse_args(
    args: Sequence[str], value_options: frozenset[str], long_single: bool, ignore_case: bool
) -> _Args:
    """Split words into options (with values) and positional words."""
    out = _Args([], [], None)
    i = 0
    while i < len(args):
        word = args[i]
        i += 1
        if word == "--":
            out.dashdash = i - 1
            out.positional.extend((j, args[j]) for j in range(i, len(args)))
            break
        if len(word) < 2 or not word.startswith("-"):
            out.positional.append((i - 1, word))
        elif word.startswith("--") or long_single:
            i = _long_option(word, args, i, value_options, ignore_case, out.opts)
        else:
            i = _short_options(word, args, i, value_options, out.opts)
    return out


def _long_option(
    word: str,
    args: Sequence[str],
    i: int,
    value_options: frozenset[str],
    ignore_case: bool,
    opts: list[_Opt],
) -> int:
    name, eq, value = word.partition("=")
    if ignore_case and not eq:
        name, eq, value = word.partition(":")
    key = name.lower() if ignore_case else name
    if eq:
        opts.append(_Opt(key, value, word))
    elif key in value_options and i < len(args):
        opts.append(_Opt(key, args[i], word))
        return i + 1
    else:
        opts.append(_Opt(key, None, word))
    return i


def _short_options(
    word: str, args: Sequence[str], i: int, value_options: frozenset[str], opts: list[_Opt]
) -> int:
    for j in range(1, len(word)):
        key = "-" + word[j]
        if key in value_options:
            value = word[j + 1 :]
            if not value and i < len(args):
                value, i = args[i], i + 1
            opts.append(_Opt(key, value or None, word))
            return i
        opts.append(_Opt(key, None, word))
    return i


def _match_words(pattern: Sequence[str], words: Sequence[str]) -> int | None:
    """How many words a subcommand pattern consumes, or None; ``**`` skips any."""
    if not pattern:
        return 0
    head = pattern[0]
    if head == "**":
        for skip in range(len(words) + 1):
            rest = _match_words(pattern[1:], words[skip:])
            if rest is not None:
                return skip + rest
        return None
    if not words or not fnmatchcase(words[0].lower(), head):
        return None
    rest = _match_words(pattern[1:], words[1:])
    return None if rest is None else rest + 1


def _best_subcommand(subs: Sequence[Rule], words: Sequence[str]) -> tuple[Rule | None, int]:
    """The most specific matching subcommand: more words, more literals, more danger."""
    best: tuple[tuple[int, int, int], Rule, int] | None = None
    for rule in subs:
        used = _match_words(rule.words, words)
        if used is None:
            continue
        literal = sum(1 for w in rule.words if not any(c in w for c in "*?["))
        key = (len(rule.words) - rule.words.count("**"), literal, SAFETY_ORDER.index(rule.safety))
        if best is None or key > best[0]:
            best = (key, rule, used)
    return (best[1], best[2]) if best else (None, 0)


def _flag_match(flag: FlagRule, opt: _Opt) -> bool:
    if not any(fnmatchcase(opt.name, name) for name in flag.names):
        return False
    value = (opt.value or "").lower()
    if flag.values and (opt.value is None or not _any_glob(value, flag.values)):
        return False
    if flag.values_not and (opt.value is None or _any_glob(value, flag.values_not)):
        return False
    return not (flag.writes_file and opt.value is not None and _is_sink(opt.value))


def _any_glob(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(value, p.lower()) for p in patterns)


def _is_sink(target: str) -> bool:
    """Targets that receive output without writing a file."""
    t = target.strip().strip("'\"").lower()
    return t in _SINKS or t.startswith(("/dev/fd/", ">(", "<(")) or t == "$null"


class _Judge:
    """Classifies argv lists of simple commands against the rules."""

    def __init__(self, rules: CommandRules, placeholders: Sequence[str], depth: int = 0):
        self.rules = rules
        self.placeholders = placeholders
        self.depth = depth

    def child(self) -> _Judge:
        return _Judge(self.rules, self.placeholders, self.depth + 1)

    def argv(self, argv: Sequence[str]) -> _Verdict:
        """The class of one simple command, assignments already removed."""
        if argv and argv[0] == "$":  # a pasted prompt: "$ kubectl get pods"
            argv = argv[1:]
        if not argv:
            return _assignment()
        name = argv[0]
        if self.depth > _MAX_DEPTH:
            return _unknown(name)
        wrapper = self.rules.wrappers.get(name)
        if wrapper is not None:
            return self._unwrap(wrapper, argv)
        if name in ("export", "declare", "local", "readonly", "typeset"):
            return _assignment(argv[1] if len(argv) > 1 else "")
        if name in ("source", "."):
            target = _short(argv[1]) if len(argv) > 1 else "a file"
            return _Verdict(
                "write",
                f"{name} {target} runs a file opsdoc cannot see, counts as write",
                "unknown",
            )
        if name.startswith("(("):
            return _Verdict("read", "arithmetic only computes a value", "arithmetic")
        rule = self.rules.command(name)
        if rule is None:
            return _unknown(name)
        if rule.alias:
            return self.child().argv([*rule.alias, *argv[1:]])
        return self.known(rule, argv)

    def _unwrap(self, wrapper: Wrapper, argv: Sequence[str]) -> _Verdict:
        i, skipped = 1, 0
        while i < len(argv):
            word = argv[i]
            if word == "--":
                i += 1
                break
            if word.startswith("-") and len(word) > 1 and not skipped:
                if word in wrapper.read_flags:
                    return _Verdict(
                        "read", f"{wrapper.name} {word} only looks a name up", wrapper.name
                    )
                i += 2 if word in wrapper.value_options else 1
            elif wrapper.assignments and _ASSIGNMENT.match(word):
                i += 1
            elif skipped < wrapper.skip:
                skipped += 1
                i += 1
            else:
                break
        rest = list(argv[i:])
        if not rest:
            alone = wrapper.alone
            return _Verdict(
                alone, f"{wrapper.name} without a command {_PHRASE[alone]}", wrapper.name
            )
        if wrapper.shell:
            return self.shell_text(wrapper.name, [" ".join(rest)])
        return self.child().argv(rest)

    def known(self, rule: CommandRule, argv: Sequence[str]) -> _Verdict:
        """The class of a command the rules know."""
        args = list(argv[1:])
        display = argv[0] if any(c in rule.name for c in "*?[") else rule.name
        if len(args) == 1 and args[0] in _HELP_ARGS:
            return _Verdict("read", f"{display} {args[0]} only prints help", display)
        parsed = _parse_args(args, rule.value_options, rule.single_dash_long, rule.ignore_case)
        words = [w for _, w in parsed.positional]
        sub, used = _best_subcommand(rule.subcommands, words)
        r = sub or rule.default
        if sub is not None and sub.value_options - rule.value_options:
            parsed = _parse_args(
                args,
                rule.value_options | sub.value_options,
                rule.single_dash_long,
                rule.ignore_case,
            )
            words = [w for _, w in parsed.positional]
        kind = r.kind or " ".join([display, *words[:used]])
        verdict = _Verdict(r.safety, f"{kind} {r.reason or _PHRASE[r.safety]}", kind)
        if r.bare is not None and len(words) == used:
            verdict = _Verdict(r.bare, f"{kind} without arguments {_PHRASE[r.bare]}", kind)
        if r.writes_files:
            verdict = self._files(kind, words[used:])
        flags = rule.default.flags + (sub.flags if sub is not None else ())
        verdict = self._set_flags(flags, parsed.opts, kind, verdict)
        verdict = self._content(r, args, parsed, used, kind) or verdict
        for nested in _exec_commands(r.exec_flags, args):
            inner = self.child().argv(nested)
            verdict = _worse(verdict, _Verdict(inner.safety, f"{kind} runs {inner.reason}", kind))
        return self._raise_flags(flags, parsed.opts, kind, verdict)

    def _files(self, kind: str, files: Sequence[str]) -> _Verdict:
        real = [f for f in files if not _is_sink(f)]
        if real:
            return _Verdict("write", f"{kind} writes the file {real[0]}", kind)
        return _Verdict("read", f"{kind} writes no file", kind)

    def _set_flags(
        self, flags: Sequence[FlagRule], opts: Sequence[_Opt], kind: str, verdict: _Verdict
    ) -> _Verdict:
        for flag in flags:
            if not flag.set:
                continue
            for opt in opts:
                if _flag_match(flag, opt):
                    verdict = _flag_verdict(flag, opt, kind)
        return verdict

    def _raise_flags(
        self, flags: Sequence[FlagRule], opts: Sequence[_Opt], kind: str, verdict: _Verdict
    ) -> _Verdict:
        for flag in flags:
            if flag.set:
                continue
            for opt in opts:
                if _flag_match(flag, opt):
                    verdict = _worse(verdict, _flag_verdict(flag, opt, kind))
                    break
        return verdict

    def _content(
        self, r: Rule, args: Sequence[str], parsed: _Args, used: int, kind: str
    ) -> _Verdict | None:
        """Code a command carries: SQL (psql -c), a script (bash -c), a command (exec)."""
        sql = [o for o in parsed.opts if o.name in r.sql and o.value is not None]
        if sql:
            return self.sql_text(f"{kind} {sql[0].name}", [o.value or "" for o in sql])
        scripts = [o for o in parsed.opts if o.name in r.shell and o.value is not None]
        if scripts:
            return self.shell_text(f"{kind} {scripts[0].name}", [o.value or "" for o in scripts])
        nested = _nested_argv(r.run, args, parsed, used)
        if not nested:
            return None
        if r.run_shell:
            return self.shell_text(kind, [" ".join(nested)])
        inner = self.child().argv(nested)
        return _Verdict(inner.safety, f"{kind} runs {inner.reason}", kind)

    def sql_text(self, subject: str, texts: Sequence[str]) -> _Verdict:
        """The class of SQL embedded in a command: the worst of its statements."""
        worst: _Verdict | None = None
        for text in texts:
            for safety, reason in self._sql_parts(text):
                verdict = _Verdict(safety, f"{subject} runs SQL: {reason}", subject)
                worst = verdict if worst is None else _worse(worst, verdict)
        return worst or _Verdict("write", f"{subject} runs SQL opsdoc cannot read", subject)

    def _sql_parts(self, text: str) -> list[tuple[Safety, str]]:
        try:
            from opsdoc.classify.sql import classify_sql
        except ImportError:
            return [("write", "the SQL classifier is not available, counts as write")]
        try:
            statements = classify_sql(text, placeholders=self.placeholders)
        except Exception:
            statements = []
        if not statements:
            return [("write", "no statement opsdoc can read, counts as write")]
        return [(s.safety, s.reason) for s in statements]

    def shell_text(self, subject: str, scripts: Sequence[str]) -> _Verdict:
        """The class of a shell script carried as a string (bash -c, watch, ssh)."""
        worst: _Verdict | None = None
        for script in scripts:
            for st in _classify_bash(script, 1, self.placeholders, self.rules, self.depth + 1):
                verdict = _Verdict(st.safety, f"{subject} runs {st.reason}", subject)
                worst = verdict if worst is None else _worse(worst, verdict)
        return worst or _Verdict("read", f"{subject} runs nothing", subject)


def _flag_verdict(flag: FlagRule, opt: _Opt, kind: str) -> _Verdict:
    value = (opt.value or "").upper()
    flag_kind = flag.kind.replace("{value}", value) if flag.kind else None
    subject = flag_kind or f"{kind} {opt.text}"
    return _Verdict(
        flag.safety, f"{subject} {flag.reason or _PHRASE[flag.safety]}", flag_kind or kind
    )


def _nested_argv(run: str | int | None, args: Sequence[str], parsed: _Args, used: int) -> list[str]:
    if run is None:
        return []
    if run == "--":
        return list(args[parsed.dashdash + 1 :]) if parsed.dashdash is not None else []
    index = used + int(run)
    if index >= len(parsed.positional):
        return []
    return list(args[parsed.positional[index][0] :])


def _exec_commands(exec_flags: Sequence[str], args: Sequence[str]) -> list[list[str]]:
    """The commands of ``find ... -exec CMD {} ;`` (up to ; or +)."""
    out: list[list[str]] = []
    i = 0
    while i < len(args):
        if args[i] in exec_flags:
            j = i + 1
            while j < len(args) and args[j] not in (";", "+", "\\;"):
                j += 1
            if j > i + 1:
                out.append(list(args[i + 1 : j]))
            i = j
        i += 1
    return out


def _redirected(verdict: _Verdict, redirect: _Verdict | None) -> _Verdict:
    """A command whose output goes to a file is at least write; it keeps its kind."""
    if redirect is None or _worse(verdict, redirect) is verdict:
        return verdict
    kind = "redirect" if verdict.kind == "assignment" else verdict.kind
    return _Verdict(redirect.safety, redirect.reason, kind)


def _redirect_verdict(op: str, target: str) -> _Verdict | None:
    """Output redirected to a real file writes it; /dev/null and &2 do not."""
    if "<" in op and op != "<>":
        return None
    if op.endswith("&") and (target.isdigit() or target == "-"):
        return None
    if target.startswith("&") and target[1:].isdigit():
        return None
    if _is_sink(target):
        return None
    return _Verdict("write", f"output redirected to {target} writes a file", "redirect")


# --------------------------------------------------------------------------
# Shared by both languages: placeholders, lines, labels, statements
# --------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"(?<!<)<([A-Za-z_][\w.:-]*)>(?!\w)")


class _Masked:
    """Code with each <placeholder> replaced by a same-length neutral word.

    Same length keeps every position valid in the original text; each
    placeholder gets its own private-use character so words map back exactly.
    """

    def __init__(self, code: str, placeholders: Iterable[str]):
        self.original = code
        names = {p.strip().strip("<>") for p in placeholders if isinstance(p, str)}
        names.discard("")
        pattern = _PLACEHOLDER
        if names:
            alternatives = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
            pattern = re.compile(rf"<(?:{alternatives})>|{_PLACEHOLDER.pattern}")
        self._chars: dict[str, str] = {}
        self._back: list[tuple[str, str]] = []
        self._free = (chr(c) for c in range(0xE000, 0xF8FF) if chr(c) not in code)
        self.text = _blank_continuations(pattern.sub(self._mask, code))

    def _mask(self, match: re.Match[str]) -> str:
        original = match.group(0)
        char = self._chars.get(original)
        if char is None:
            char = next(self._free, "_")
            self._chars[original] = char
            self._back.append((char * len(original), original))
        return char * len(original)

    def restore(self, word: str) -> str:
        for masked, original in self._back:
            if masked[0] in word:
                word = word.replace(masked, original)
        return word


_CONTINUATION = re.compile(r"^(?P<body>[^\n]*?)(?<!\\)(?P<even>(?:\\\\)*)\\\n", re.M)


def _blank_continuations(text: str) -> str:
    """Backslash-newline as two spaces: same length, same word split.

    bashlex shifts positions inside ``$( )`` after a continuation. A line
    with a comment keeps its newline, since a comment never continues.
    """

    def blank(match: re.Match[str]) -> str:
        body = match.group("body")
        if re.search(r"(^|\s)#", body):
            return match.group(0)
        return body + match.group("even") + "  "

    return _CONTINUATION.sub(blank, text)


class _Lines:
    """Line numbers and comment labels of a code block."""

    def __init__(self, code: str, first_line: int):
        self.code = code
        self.first = first_line
        self.starts = [0] + [m.end() for m in re.finditer("\n", code)]
        self.comments: dict[int, str] = {}  # line index -> comment text
        self.code_lines: set[int] = set()

    def index(self, pos: int) -> int:
        return bisect.bisect_right(self.starts, pos) - 1

    def line(self, pos: int) -> int:
        return self.first + self.index(pos)

    def add_comment(self, pos: int, text: str) -> None:
        idx = self.index(pos)
        if idx == 0 and text.startswith("!") and pos == 0:
            return  # a shebang is not a label
        self.comments.setdefault(idx, text)

    def label(self, pos: int) -> str | None:
        """The comment lines right above the line at pos, without their #."""
        idx = self.index(pos) - 1
        found: list[str] = []
        while idx >= 0 and idx in self.comments and idx not in self.code_lines:
            found.append(self.comments[idx].lstrip("#").strip())
            idx -= 1
        text = "\n".join(t for t in reversed(found) if t)
        return text or None


@dataclass
class _Rec:
    start: int
    end: int
    verdict: _Verdict
    parsed: bool
    label_pos: int
    name: str = ""


def _statements(recs: Sequence[_Rec], code: str, lines: _Lines) -> list[Statement]:
    out: list[Statement] = []
    for rec in sorted(recs, key=lambda r: (r.start, -r.end)):
        raw = code[rec.start : rec.end]
        text = raw.strip()
        if not text:
            continue
        start = rec.start + (len(raw) - len(raw.lstrip()))
        out.append(
            Statement(
                text=text,
                safety=rec.verdict.safety,
                reason=rec.verdict.reason,
                line=lines.line(start),
                label=lines.label(rec.label_pos),
                kind=rec.verdict.kind,
                parsed=rec.parsed,
            )
        )
    return out


def _fallback_statement(code: str, line: int, reason: str) -> list[Statement]:
    """Last resort when classification itself failed: the block counts as write."""
    text = code.strip()
    if not text or all(ln.strip().startswith("#") or not ln.strip() for ln in text.splitlines()):
        return []
    return [
        Statement(text=text, safety="write", reason=reason, line=line, kind="unknown", parsed=False)
    ]


# --------------------------------------------------------------------------
# Bash: a quote-aware lexer (for logical lines, comments and the fallback)
# --------------------------------------------------------------------------

_OPS = (
    ";;&", "&>>", "<<<", "<<-",
    "&&", "||", ";;", ";&", "|&", "&>", ">>", ">|", ">&", "<<", "<&", "<>",
    ";", "|", "&", ">", "<", "(", ")",
)  # fmt: skip
_REDIRECTS = frozenset({"&>>", "&>", ">>", ">|", ">&", "<<<", "<<-", "<<", "<&", "<>", ">", "<"})
_WORD_END = frozenset(" \t\r\n;&|()<>")
_RESERVED = frozenset(
    {
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "do",
        "done",
        "while",
        "until",
        "{",
        "}",
        "!",
        "esac",
        "in",
    }
)


@dataclass
class _Tok:
    kind: str  # word | op | nl
    text: str
    start: int
    end: int
    subs: list[tuple[int, int]] = field(default_factory=list)  # $( ), ` `, <( ) contents


class _BashLexer:
    """Splits bash into words, operators and newlines; never raises."""

    def __init__(self, s: str, start: int, end: int, lines: _Lines | None):
        self.s = s[:end]
        self.i = start
        self.lines = lines
        self.toks: list[_Tok] = []
        self.subs: list[tuple[int, int]] = []
        self.heredocs: list[str] = []
        self.want_delimiter = False

    def run(self) -> list[_Tok]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\f\v":
                self.i += 1
            elif s.startswith("\\\n", self.i):
                self.i += 2
            elif c == "\n":
                self._newline()
            elif c == "#":
                self._comment()
            elif s.startswith("((", self.i) and self._command_start():
                self._push("word", self._paren(self.i + 1, record=False) + 1, self.i)
            elif c in "<>" and s.startswith("(", self.i + 1):
                self._word()
            else:
                op = next((o for o in _OPS if s.startswith(o, self.i)), None)
                if op:
                    self._push("op", self.i + len(op), self.i)
                    self.want_delimiter = op in ("<<", "<<-")
                else:
                    self._word()
        return self.toks

    def _push(self, kind: str, end: int, start: int) -> _Tok:
        end = min(end, len(self.s))
        tok = _Tok(kind, self.s[start:end], start, end, self.subs)
        self.subs = []
        self.toks.append(tok)
        if self.lines is not None and kind != "nl":
            self.lines.code_lines.add(self.lines.index(start))
        self.i = end
        return tok

    def _command_start(self) -> bool:
        return (
            not self.toks
            or self.toks[-1].kind == "nl"
            or (self.toks[-1].kind == "op" and self.toks[-1].text not in _REDIRECTS)
        )

    def _newline(self) -> None:
        tok = self._push("nl", self.i + 1, self.i)
        for delimiter in self.heredocs:
            self._skip_heredoc(delimiter)
        self.heredocs = []
        tok.end = self.i

    def _skip_heredoc(self, delimiter: str) -> None:
        s = self.s
        while self.i < len(s):
            end = s.find("\n", self.i)
            end = len(s) if end < 0 else end
            line = s[self.i : end]
            self.i = min(end + 1, len(s))
            if line.strip() == delimiter:
                return

    def _comment(self) -> None:
        end = self.s.find("\n", self.i)
        end = len(self.s) if end < 0 else end
        if self.lines is not None:
            self.lines.add_comment(self.i, self.s[self.i + 1 : end])
        self.i = end

    def _word(self) -> None:
        s, start = self.s, self.i
        i = start
        while i < len(s):
            c = s[i]
            if c in _WORD_END:
                if c in "<>" and i == start and s.startswith("(", i + 1):
                    i = self._paren(i + 1, record=True)
                    continue
                if c == "(" and re.fullmatch(r"[A-Za-z_]\w*\+?=", s[start:i]):
                    i = self._paren(i, record=False)  # array assignment x=( a b )
                    continue
                break
            i = self._step(i, record=True)
        if s[start:i].isdigit() and i < len(s) and s[i] in "<>":
            op = next(o for o in _OPS if s.startswith(o, i))
            self._push("op", i + len(op), start)
            self.want_delimiter = op in ("<<", "<<-")
            return
        tok = self._push("word", i, start)
        if self.want_delimiter:
            self.heredocs.append(_unquote(tok.text))
            self.want_delimiter = False

    def _step(self, i: int, record: bool) -> int:
        """Past one unit of a word: a char, an escape, a quote, an expansion."""
        s = self.s
        c = s[i]
        if c == "\\":
            return i + 2
        if c == "'":
            return self._until(i + 1, "'")
        if c == '"':
            return self._dquote(i + 1, record)
        if c == "`":
            return self._backtick(i + 1, record)
        if c == "$" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt == "(":
                arith = s.startswith("((", i + 1)
                return self._paren(i + 1, record=record and not arith)
            if nxt == "{":
                return self._brace(i + 1)
            if nxt == "'":
                return self._ansi(i + 2)
        return i + 1

    def _until(self, i: int, quote: str) -> int:
        end = self.s.find(quote, i)
        return len(self.s) if end < 0 else end + 1

    def _ansi(self, i: int) -> int:
        s = self.s
        while i < len(s):
            if s[i] == "\\":
                i += 2
            elif s[i] == "'":
                return i + 1
            else:
                i += 1
        return len(s)

    def _dquote(self, i: int, record: bool) -> int:
        s = self.s
        while i < len(s):
            c = s[i]
            if c == '"':
                return i + 1
            if c in "\\`$":
                i = self._step(i, record)
            else:
                i += 1
        return len(s)

    def _backtick(self, i: int, record: bool) -> int:
        s = self.s
        j = i
        while j < len(s):
            if s[j] == "\\":
                j += 2
            elif s[j] == "`":
                if record:
                    self.subs.append((i, j))
                return j + 1
            else:
                j += 1
        if record:
            self.subs.append((i, len(s)))
        return len(s)

    def _paren(self, i: int, record: bool) -> int:
        """Past the ( at i and its matching ); records the inside as a substitution."""
        s = self.s
        depth, j = 1, i + 1
        while j < len(s):
            c = s[j]
            if c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
                if depth == 0:
                    if record:
                        self.subs.append((i + 1, j))
                    return j + 1
            elif c == "#" and s[j - 1] in " \t\n":
                nl = s.find("\n", j)
                j = len(s) if nl < 0 else nl
                continue
            elif c in "\\'\"`$":
                j = self._step(j, record=False)
                continue
            j += 1
        if record:
            self.subs.append((i + 1, len(s)))
        return len(s)

    def _brace(self, i: int) -> int:
        s = self.s
        depth, j = 1, i + 1
        while j < len(s):
            c = s[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return j + 1
            elif c in "\\'\"`$":
                j = self._step(j, record=False)
                continue
            j += 1
        return len(s)


def _unquote(raw: str) -> str:
    """A bash word's value: quotes removed, escapes resolved, expansions kept."""
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "\\" and i + 1 < n:
            if raw[i + 1] != "\n":
                out.append(raw[i + 1])
            i += 2
        elif c == "'":
            end = raw.find("'", i + 1)
            end = n if end < 0 else end
            out.append(raw[i + 1 : end])
            i = end + 1
        elif c == '"':
            i = _unquote_double(raw, i + 1, out)
        elif c == "$" and raw.startswith("$'", i):
            end = raw.find("'", i + 2)
            end = n if end < 0 else end
            out.append(raw[i + 2 : end])
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _unquote_double(raw: str, i: int, out: list[str]) -> int:
    n = len(raw)
    while i < n:
        c = raw[i]
        if c == '"':
            return i + 1
        if c == "\\" and i + 1 < n and raw[i + 1] in '"\\$`\n':
            if raw[i + 1] != "\n":
                out.append(raw[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return n


def _groups(toks: Sequence[_Tok]) -> list[tuple[list[_Tok], int]]:
    """Logical lines: tokens between top-level newlines, with the end of any here-doc."""
    out: list[tuple[list[_Tok], int]] = []
    current: list[_Tok] = []
    for tok in toks:
        if tok.kind == "nl":
            if current:
                out.append((current, max(current[-1].end, tok.end)))
            current = []
        else:
            current.append(tok)
    if current:
        out.append((current, current[-1].end))
    return out


# --------------------------------------------------------------------------
# Bash: classification of a block
# --------------------------------------------------------------------------


def classify_shell(
    code: str,
    *,
    line: int = 1,
    placeholders: Iterable[str] = (),
    rules: CommandRules | None = None,
) -> list[Statement]:
    """One classified Statement per simple command of a bash block; [] for comments only."""
    if not isinstance(code, str):
        return []
    try:
        return _classify_bash(code, line, _names(placeholders), _rules_or_default(rules), 0)
    except Exception:  # never raise: a block we cannot read counts as write
        return _fallback_statement(code, line, "opsdoc could not read this shell, counts as write")


def _names(placeholders: Iterable[str] | None) -> list[str]:
    return [p for p in placeholders or () if isinstance(p, str)]


def _classify_bash(
    code: str, line: int, placeholders: Sequence[str], rules: CommandRules, depth: int
) -> list[Statement]:
    code = code.replace("\r\n", "\n").replace("\r", "\n")
    block = _BashBlock(code, line, placeholders, _Judge(rules, placeholders, depth))
    return block.statements()


class _BashBlock:
    """One bash code block: parses with bashlex where it can, scans where it cannot."""

    def __init__(self, code: str, line: int, placeholders: Sequence[str], judge: _Judge):
        self.code = code
        self.masked = _Masked(code, placeholders)
        self.lines = _Lines(code, line)
        self.judge = judge
        self.toks = _BashLexer(self.masked.text, 0, len(code), self.lines).run()
        self.groups = _groups(self.toks)
        self.group_starts = [g[0][0].start for g in self.groups]
        self.recs: list[_Rec] = []
        self.functions: dict[str, list[_Rec]] = {}
        self.in_case = any(t.text == "case" for t in self.toks)

    def statements(self) -> list[Statement]:
        if not self.groups:
            return []
        if not self._try_bashlex(0, len(self.code)):
            self.recs = []
            self.functions = {}
            for toks, end in self.groups:
                if not self._try_bashlex(toks[0].start, end):
                    self._fallback_group(toks)
        self._resolve_functions()
        return _statements(self.recs, self.code, self.lines)

    def _label_pos(self, pos: int) -> int:
        """Comments label the logical line a command belongs to, not its inner line."""
        idx = bisect.bisect_right(self.group_starts, pos) - 1
        if idx >= 0 and pos < self.groups[idx][1]:
            return self.group_starts[idx]
        return pos

    def _emit(self, start: int, end: int, verdict: _Verdict, parsed: bool, name: str = "") -> None:
        self.recs.append(_Rec(start, end, verdict, parsed, self._label_pos(start), name))

    # -- bashlex ----------------------------------------------------------

    def _try_bashlex(self, start: int, end: int) -> bool:
        """Walks bashlex's tree of code[start:end]; False (and nothing kept) if it fails."""
        import bashlex

        mark = len(self.recs)
        try:
            nodes = bashlex.parse(self.masked.text[start:end])
            for node in nodes:
                self._walk(node, start)
        except Exception:  # bashlex rejects much real shell; the scanner takes over
            del self.recs[mark:]
            return False
        return True

    def _walk(self, node: Any, off: int) -> None:
        kind = node.kind
        if kind == "command":
            self._command(node, off)
        elif kind in ("list", "pipeline"):
            for part in node.parts:
                self._walk(part, off)
        elif kind == "compound":
            self._compound(node, off)
        elif kind in ("if", "for", "while", "until"):
            for part in node.parts:
                self._walk(part, off)
        elif kind == "function":
            self._function(node, off)
        elif kind in ("word", "assignment"):
            for part in getattr(node, "parts", []):
                self._walk(part, off)
        elif kind in ("commandsubstitution", "processsubstitution"):
            self._walk(node.command, off)
        elif kind == "redirect":
            target = node.output
            if hasattr(target, "kind"):
                self._walk(target, off)

    def _compound(self, node: Any, off: int) -> None:
        mark = len(self.recs)
        for part in node.list:
            self._walk(part, off)
        for redirect in getattr(node, "redirects", []) or []:
            self._walk(redirect, off)
            verdict = self._bashlex_redirect(redirect)
            if verdict is not None:
                for rec in self.recs[mark:]:
                    rec.verdict = _redirected(rec.verdict, verdict)

    def _function(self, node: Any, off: int) -> None:
        mark = len(self.recs)
        self._walk(node.body, off)
        self.functions[self.masked.restore(node.name.word)] = self.recs[mark:]

    def _command(self, node: Any, off: int) -> None:
        argv: list[str] = []
        assigned = ""
        redirect: _Verdict | None = None
        for part in node.parts:
            self._walk(part, off)
            if part.kind == "word":
                argv.append(self._word(part, off))
            elif part.kind == "assignment":
                assigned = assigned or part.word
            elif part.kind == "redirect":
                redirect = redirect or self._bashlex_redirect(part)
        verdict = self.judge.argv(argv) if argv else _assignment(assigned)
        verdict = _redirected(verdict, redirect)
        start, end = node.pos
        self._emit(start + off, end + off, verdict, True, argv[0] if argv else "")

    def _word(self, node: Any, off: int) -> str:
        """A word's value from its text: bashlex drops the backslash of "\\dt"."""
        start, end = node.pos
        raw = self.masked.text[start + off : end + off]
        return self.masked.restore(_unquote(raw) if raw else node.word)

    def _bashlex_redirect(self, node: Any) -> _Verdict | None:
        target = node.output
        text = target.word if hasattr(target, "word") else str(target)
        return _redirect_verdict(node.type, self.masked.restore(text))

    def _resolve_functions(self) -> None:
        """A call to a function defined in the block is as dangerous as its body."""
        for rec in self.recs:
            body = self.functions.get(rec.name)
            if body is None or rec.verdict.kind != "unknown":
                continue
            inner = [r for r in body if r.name != rec.name]
            worst = max_safety(*(r.verdict.safety for r in inner))
            rec.verdict = _Verdict(
                worst,
                f"{rec.name} calls a function of this block that {_PHRASE[worst]}",
                "function",
            )

    # -- fallback scanner -------------------------------------------------

    def _fallback_group(self, toks: Sequence[_Tok]) -> None:
        try:
            for cmd in _Splitter(toks, self.in_case).run():
                self._fallback_command(cmd)
        except Exception:
            start, end = toks[0].start, toks[-1].end
            self._emit(
                start,
                end,
                _Verdict("write", "opsdoc could not read this command, counts as write", "unknown"),
                False,
            )

    def _fallback_command(self, cmd: _Cmd) -> None:
        for tok in cmd.all_words():
            for start, end in tok.subs:
                self._fallback_code(start, end)
        if cmd.skip:
            return
        argv = [self.masked.restore(_unquote(t.text)) for t in cmd.words]
        while argv and _ASSIGNMENT.match(argv[0]):
            argv.pop(0)
        verdict = (
            self.judge.argv(argv) if argv else _assignment(cmd.words[0].text if cmd.words else "")
        )
        for op, target in cmd.redirects:
            text = self.masked.restore(_unquote(target.text)) if target else ""
            verdict = _redirected(verdict, _redirect_verdict(op.text.lstrip("0123456789"), text))
        self._emit(cmd.start, cmd.end, verdict, False, argv[0] if argv else "")

    def _fallback_code(self, start: int, end: int) -> None:
        toks = _BashLexer(self.masked.text, start, end, None).run()
        for group, _ in _groups(toks):
            self._fallback_group(group)


@dataclass
class _Cmd:
    """A simple command found by the fallback scanner."""

    words: list[_Tok] = field(default_factory=list)
    redirects: list[tuple[_Tok, _Tok | None]] = field(default_factory=list)
    extra: list[_Tok] = field(default_factory=list)  # words read only for their $( )
    skip: bool = False  # a header: for x in ...; case ... in; function f
    start: int = -1
    end: int = -1

    def add(self, start: int, end: int) -> None:
        self.start = start if self.start < 0 else min(self.start, start)
        self.end = max(self.end, end)

    def all_words(self) -> list[_Tok]:
        return self.words + self.extra + [t for _, t in self.redirects if t is not None]

    def empty(self) -> bool:
        return not self.words and not self.redirects and not self.extra


class _Splitter:
    """Simple commands of one logical line, separated the way bash would."""

    def __init__(self, toks: Sequence[_Tok], in_case: bool):
        self.toks = toks
        self.in_case = in_case
        self.out: list[_Cmd] = []
        self.cmd = _Cmd()
        self.depth = 0

    def run(self) -> list[_Cmd]:
        i = 0
        while 0 <= i < len(self.toks):
            tok = self.toks[i]
            if tok.kind == "op" and tok.text not in _REDIRECTS:
                self._separator(tok)
                i += 1
            elif tok.kind == "op":
                i = self._redirect(i)
            elif not self.cmd.words and not self.cmd.redirects:
                i = self._head(i)
            else:
                self.cmd.words.append(tok)
                self.cmd.add(tok.start, tok.end)
                i += 1
        self._flush()
        return self.out

    def _flush(self) -> None:
        if not self.cmd.empty():
            self.out.append(self.cmd)
        self.cmd = _Cmd()

    def _separator(self, tok: _Tok) -> None:
        if tok.text == "(":
            self.depth += 1
        elif tok.text == ")":
            self.depth = max(self.depth - 1, 0)
        self._flush()

    def _redirect(self, i: int) -> int:
        op = self.toks[i]
        nxt = self.toks[i + 1] if i + 1 < len(self.toks) else None
        target = nxt if nxt is not None and nxt.kind == "word" else None
        self.cmd.redirects.append((op, target))
        self.cmd.add(op.start, (target or op).end)
        return i + (2 if target else 1)

    def _head(self, i: int) -> int:
        """The start of a command: reserved words, headers, case patterns, [[ ]]."""
        toks, tok = self.toks, self.toks[i]
        if tok.text in _RESERVED:
            return i + 1
        if tok.text in ("for", "select", "case", "function"):
            self.cmd.skip = True
            while i < len(toks) and toks[i].text not in (";", "{"):
                self.cmd.extra.append(toks[i])
                i += 1
            return i
        if self.in_case and self.depth == 0:
            end = _case_pattern_end(toks, i)
            if end is not None:
                return end
        if i + 2 < len(toks) and toks[i + 1].text == "(" and toks[i + 2].text == ")":
            return i + 3  # name() { ... } defines a function
        if tok.text == "[[":
            return self._test(i)
        self.cmd.words.append(tok)
        self.cmd.add(tok.start, tok.end)
        return i + 1

    def _test(self, i: int) -> int:
        """[[ ... ]] holds && < > as words, not operators."""
        while i < len(self.toks):
            tok = self.toks[i]
            self.cmd.words.append(tok)
            self.cmd.add(tok.start, tok.end)
            i += 1
            if tok.text == "]]":
                break
        return i


def _case_pattern_end(toks: Sequence[_Tok], i: int) -> int | None:
    """After ``start|restart)`` (a case item, not a command), or None."""
    while i < len(toks) and toks[i].kind == "word":
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if nxt is None or nxt.kind != "op":
            return None
        if nxt.text == ")":
            return i + 2
        if nxt.text != "|":
            return None
        i += 2
    return None


# --------------------------------------------------------------------------
# PowerShell
# --------------------------------------------------------------------------

_PS_KEYWORDS_BLOCK = frozenset({
    "if", "elseif", "else", "switch", "foreach", "for", "while", "do", "until", "try",
    "catch", "finally", "trap", "function", "filter", "workflow", "begin", "process", "end",
    "class", "enum", "using", "param", "data", "dynamicparam", "configuration",
})  # fmt: skip
_PS_KEYWORDS_SIMPLE = frozenset({"return", "exit", "throw", "break", "continue"})
_PS_KEYWORDS = _PS_KEYWORDS_BLOCK | _PS_KEYWORDS_SIMPLE
_PS_ASSIGN = frozenset({"=", "+=", "-=", "*=", "/=", "%=", "??="})
_PS_REDIRECT = re.compile(r"(?:[1-6*])?>>?(?:&[12])?")
_PS_WORD_END = frozenset(" \t\r\n|;&(){}")
_PS_DOTNET_DESTROY = re.compile(r"(?:\.|::)(?:Delete|Kill|Drop|Truncate)\w*\s*\(", re.I)
_PS_DOTNET_WRITE = re.compile(
    r"(?:\.|::)(?:Write\w*|Create\w*|Copy\w*|Move\w*|Save\w*|Start|Stop|Execute\w*|Invoke\w*"
    r"|Send\w*|Upload\w*|Commit)\s*\(",
    re.I,
)


@dataclass
class _PTok:
    kind: str  # word | str | var | group | block | hash | op | nl
    text: str
    start: int
    end: int
    inner: tuple[int, int] | None = None  # the inside of ( ), $( ), { }, @{ }
    subs: list[tuple[int, int]] = field(default_factory=list)  # $( ) inside strings/words


class _PsLexer:
    """Splits PowerShell into tokens; groups and blocks stay single tokens."""

    def __init__(self, s: str, start: int, end: int, lines: _Lines | None):
        self.s = s[:end]
        self.i = start
        self.lines = lines
        self.toks: list[_PTok] = []
        self.broken = False

    def run(self) -> list[_PTok]:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r\f\v":
                self.i += 1
            elif s.startswith("`\n", self.i):
                self.i += 2
            elif c == "\n":
                self._push("nl", self.i + 1)
            elif s.startswith("<#", self.i):
                self._block_comment()
            elif c == "#":
                self._comment()
            else:
                self._token(c)
        return self.toks

    def _push(self, kind: str, end: int, start: int | None = None, **extra: Any) -> _PTok:
        start = self.i if start is None else start
        end = min(end, len(self.s))
        tok = _PTok(kind, self.s[start:end], start, end, **extra)
        self.toks.append(tok)
        if self.lines is not None and kind != "nl":
            self.lines.code_lines.add(self.lines.index(start))
        self.i = end
        return tok

    def _comment(self) -> None:
        end = self.s.find("\n", self.i)
        end = len(self.s) if end < 0 else end
        if self.lines is not None:
            self.lines.add_comment(self.i, self.s[self.i + 1 : end])
        self.i = end

    def _block_comment(self) -> None:
        end = self.s.find("#>", self.i + 2)
        if end < 0:
            self.broken = True
            end = len(self.s) - 2
        body = self.s[self.i + 2 : end]
        if self.lines is not None:
            pos = self.i + 2
            for part in body.split("\n"):
                self.lines.add_comment(pos, part)
                pos += len(part) + 1
        self.i = end + 2

    def _token(self, c: str) -> None:
        s, i = self.s, self.i
        if _here_start(s, i):
            self._push("str", self._here_string(i))
        elif c in "'\"":
            subs: list[tuple[int, int]] = []
            self._push("str", self._string(i, subs), subs=subs)
        elif c == "$" and s.startswith("$(", i):
            end = self._group(i + 1)
            self._push("group", end, inner=(i + 2, end - 1))
        elif c == "@" and s.startswith(("@(", "@{"), i):
            end = self._group(i + 1)
            self._push("hash" if s[i + 1] == "{" else "group", end, inner=(i + 2, end - 1))
        elif c == "(":
            end = self._group(i)
            self._push("group", end, inner=(i + 1, end - 1))
        elif c == "{":
            end = self._group(i)
            self._push("block", end, inner=(i + 1, end - 1))
        elif c in ")}":
            self.broken = True
            self.i += 1
        else:
            self._operator_or_word(c)

    def _operator_or_word(self, c: str) -> None:
        s, i = self.s, self.i
        redirect = _PS_REDIRECT.match(s, i)
        if redirect:
            self._push("op", redirect.end())
            return
        for op in ("&&", "||", "??=", "+=", "-=", "*=", "/=", "%=", "|", ";", "&", "="):
            if s.startswith(op, i):
                self._push("op", i + len(op))
                return
        subs: list[tuple[int, int]] = []
        end = self._word(i, subs)
        self._push("var" if c == "$" else "word", end, subs=subs)

    def _word(self, i: int, subs: list[tuple[int, int]]) -> int:
        s = self.s
        var = s[i] == "$"
        start = i
        while i < len(s):
            c = s[i]
            if c in _PS_WORD_END and not (c == "(" and i > start):
                break
            if c == "(" and s[start:i].lower() in _PS_KEYWORDS:
                break
            if var and c == "=":
                break
            if c == "`":
                i += 2
            elif c in "'\"":
                i = self._string(i, subs)
            elif c == "(":
                end = self._group(i, soft=True)
                if end > i + 1:
                    subs.append((i + 1, end - 1))
                i = end
            elif c == "[":
                i = self._group(i, soft=True)
            elif c == "$" and s.startswith("$(", i):
                end = self._group(i + 1)
                subs.append((i + 2, end - 1))
                i = end
            else:
                i += 1
        return max(i, start + 1)

    def _string(self, i: int, subs: list[tuple[int, int]]) -> int:
        s, quote = self.s, self.s[i]
        j = i + 1
        while j < len(s):
            c = s[j]
            if c == quote:
                if s.startswith(quote * 2, j):
                    j += 2
                    continue
                return j + 1
            if quote == '"' and c == "`":
                j += 2
            elif quote == '"' and s.startswith("$(", j):
                end = self._group(j + 1)
                subs.append((j + 2, end - 1))
                j = end
            else:
                j += 1
        self.broken = True
        return len(s)

    def _here_string(self, i: int) -> int:
        quote = self.s[i + 1]
        match = re.compile(rf"\n[ \t]*{re.escape(quote)}@").search(self.s, i + 2)
        if match is None:
            self.broken = True
            return len(self.s)
        return match.end()

    def _group(self, i: int, soft: bool = False) -> int:
        """Past the bracket at i and its match, skipping strings and comments.

        ``soft``: an unmatched bracket inside a word is a plain character.
        """
        s = self.s
        depth, j = 1, i + 1
        while j < len(s):
            c = s[j]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth == 0:
                    return j + 1
            elif _here_start(s, j):
                j = self._here_string(j)
                continue
            elif c in "'\"":
                j = self._string(j, [])
                continue
            elif c == "`":
                j += 2
                continue
            elif c == "#" and (s[j - 1] in " \t\n;{(" or s.startswith("<#", j - 1)):
                nl = s.find("\n", j)
                j = len(s) if nl < 0 else nl
                continue
            elif c == "\n" and soft:
                return i + 1
            j += 1
        if soft:
            return i + 1
        self.broken = True
        return len(s)


def _here_start(s: str, i: int) -> bool:
    """@" or @' followed by the end of the line opens a here-string."""
    return s.startswith(('@"', "@'"), i) and s[i + 2 :].lstrip(" \t")[:1] in ("\n", "")


def _ps_unquote(tok: _PTok) -> str:
    """A PowerShell argument's value: quotes and backtick escapes removed."""
    text = tok.text
    if tok.kind == "str":
        if text[:2] in ('@"', "@'"):
            body = text[2:]
            body = body[body.find("\n") + 1 :] if "\n" in body else body
            return body[: body.rfind("\n")] if "\n" in body else body.rstrip("'\"@")
        if text[:1] == "'":
            return text[1:-1].replace("''", "'") if text.endswith("'") else text[1:]
        body = text[1:-1] if text.endswith('"') and len(text) > 1 else text[1:]
        return re.sub(r"`(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)
    if tok.kind == "word":
        return re.sub(r"`(.)", r"\1", text).replace('"', "").replace("'", "")
    return text


def classify_powershell(
    code: str,
    *,
    line: int = 1,
    placeholders: Iterable[str] = (),
    rules: CommandRules | None = None,
) -> list[Statement]:
    """One classified Statement per PowerShell command; [] for comments only."""
    if not isinstance(code, str):
        return []
    try:
        code = code.replace("\r\n", "\n").replace("\r", "\n")
        judge = _Judge(_rules_or_default(rules), _names(placeholders))
        return _PsBlock(code, line, judge).statements()
    except Exception:  # never raise: a block we cannot read counts as write
        return _fallback_statement(
            code, line, "opsdoc could not read this PowerShell, counts as write"
        )


class _PsBlock:
    """One PowerShell code block, statement by statement."""

    def __init__(self, code: str, line: int, judge: _Judge):
        self.code = code
        self.lines = _Lines(code, line)
        self.judge = judge
        self.recs: list[_Rec] = []
        self.parsed = True

    def statements(self) -> list[Statement]:
        lexer = _PsLexer(self.code, 0, len(self.code), self.lines)
        toks = lexer.run()
        self.parsed = not lexer.broken
        self._run(toks, nested=False, depth=0)
        return _statements(self.recs, self.code, self.lines)

    def _run(self, toks: Sequence[_PTok], nested: bool, depth: int) -> None:
        if depth > _MAX_DEPTH:
            return
        for statement in _ps_split(toks):
            self._statement(statement, nested, depth)

    def _inner(self, tok: _PTok, nested: bool, depth: int) -> None:
        """Commands inside groups, blocks and strings of a token."""
        spans = list(tok.subs)
        if tok.inner is not None:
            spans.append(tok.inner)
        for start, end in spans:
            lexer = _PsLexer(self.code, start, end, None)
            inner = lexer.run()
            if tok.kind == "hash":
                for t in inner:
                    self._inner(t, True, depth + 1)
            else:
                self._run(inner, nested=True, depth=depth + 1)

    def _emit(self, toks: Sequence[_PTok], verdict: _Verdict, label_from: int) -> None:
        self.recs.append(_Rec(toks[0].start, toks[-1].end, verdict, self.parsed, label_from))

    def _statement(self, toks: list[_PTok], nested: bool, depth: int) -> None:
        head = toks[0]
        word = head.text.lower() if head.kind == "word" else ""
        if word in _PS_KEYWORDS_BLOCK:
            if word != "param":
                for tok in toks[1:]:
                    self._inner(tok, True, depth)
            return
        if word in _PS_KEYWORDS_SIMPLE:
            for tok in toks[1:]:
                self._inner(tok, True, depth)
            if not nested:
                self._emit(
                    toks,
                    _Verdict("read", f"{head.text} only ends or leaves a block", "keyword"),
                    head.start,
                )
            return
        assign = _ps_assignment(toks)
        if assign is not None:
            self._assignment(toks, assign, nested, depth)
            return
        for element in _ps_pipeline(toks):
            self._element(element, element, nested, depth, toks[0].start)

    def _assignment(self, toks: list[_PTok], at: int, nested: bool, depth: int) -> None:
        rhs = toks[at + 1 :]
        if rhs and _ps_is_command(rhs):
            elements = _ps_pipeline(rhs)
            self._element(
                toks[: at + 1] + elements[0],
                elements[0],
                nested,
                depth,
                toks[0].start,
                assignment=True,
            )
            for element in elements[1:]:
                self._element(element, element, nested, depth, toks[0].start)
            return
        for tok in rhs:
            self._inner(tok, True, depth)
        if not nested:
            target = toks[0].text
            verdict = _ps_expression(self.code, rhs) or _assignment(target)
            self._emit(toks, verdict, toks[0].start)

    def _element(
        self,
        span: list[_PTok],
        toks: list[_PTok],
        nested: bool,
        depth: int,
        label_from: int,
        assignment: bool = False,
    ) -> None:
        if not toks:
            return
        for tok in toks:
            self._inner(tok, True, depth)
        if _ps_is_command(toks):
            verdict = self._command(toks)
        elif nested and not assignment:
            return
        else:
            verdict = _ps_expression(self.code, toks) or _Verdict(
                "read", "an expression only computes a value", "expression"
            )
        self._emit(span, verdict, label_from)

    def _command(self, toks: list[_PTok]) -> _Verdict:
        args: list[_PTok] = []
        redirect: _Verdict | None = None
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok.kind == "op" and _PS_REDIRECT.fullmatch(tok.text):
                if tok.text.endswith(("&1", "&2")):
                    i += 1
                    continue
                target = toks[i + 1] if i + 1 < len(toks) else None
                if target is not None:
                    redirect = redirect or _redirect_verdict(">", _ps_unquote(target))
                i += 2
                continue
            args.append(tok)
            i += 1
        if args and args[0].kind == "op" and args[0].text == "&":
            args = args[1:]
        if not args:
            return _unknown("&")
        return _redirected(self._invoke(args), redirect)

    def _invoke(self, args: list[_PTok]) -> _Verdict:
        head = args[0]
        name = _ps_unquote(head)
        if head.kind in ("var", "group") or not name:
            return _unknown(head.text)
        if name == "." and len(args) > 1:
            return _Verdict(
                "write",
                f"dot-sourcing {_ps_unquote(args[1])} runs a script "
                "opsdoc cannot see, counts as write",
                "unknown",
            )
        argv = [name, *(_ps_unquote(t) for t in args[1:])]
        verdict = self._cmdlet(argv)
        return verdict if verdict is not None else self.judge.argv(argv)

    def _cmdlet(self, argv: list[str]) -> _Verdict | None:
        rules = self.judge.rules
        name = rules.aliases.get(argv[0].lower(), argv[0])
        lower = name.lower()
        rule = rules.cmdlets.get(lower)
        if rule is not None:
            verdict = self.judge.known(rule, [name, *argv[1:]])
        else:
            verb = lower.split("-", 1)[0] if "-" in lower else ""
            safety = rules.verbs.get(verb)
            if safety is None:
                return None
            verdict = _Verdict(
                safety, f"{name} {_PHRASE[safety]} ({name.split('-')[0]}- verb)", name
            )
        if any(a.lower() in ("-whatif", "-whatif:$true") for a in argv[1:]):
            return _Verdict("read", f"{name} -WhatIf only shows what would happen", name)
        return verdict


def _ps_split(toks: Sequence[_PTok]) -> list[list[_PTok]]:
    """Statements: split on newlines, ; && ||, except where a pipeline continues."""
    out: list[list[_PTok]] = []
    current: list[_PTok] = []
    for i, tok in enumerate(toks):
        if tok.kind == "nl":
            prev = current[-1] if current else None
            nxt = next((t for t in toks[i + 1 :] if t.kind != "nl"), None)
            if (prev is not None and prev.kind == "op" and prev.text == "|") or (
                current and nxt is not None and nxt.kind == "op" and nxt.text == "|"
            ):
                continue
        if tok.kind == "nl" or (tok.kind == "op" and tok.text in (";", "&&", "||")):
            if current:
                out.append(current)
            current = []
            continue
        if tok.kind == "op" and tok.text == "&" and current:
            continue  # a trailing & runs in the background
        current.append(tok)
    if current:
        out.append(current)
    return out


def _ps_pipeline(toks: Sequence[_PTok]) -> list[list[_PTok]]:
    out: list[list[_PTok]] = [[]]
    for tok in toks:
        if tok.kind == "op" and tok.text == "|":
            out.append([])
        else:
            out[-1].append(tok)
    return [e for e in out if e]


def _ps_assignment(toks: Sequence[_PTok]) -> int | None:
    """Index of the = in ``$x = ...`` / ``[int]$x = ...``, or None."""
    i = 0
    if toks[0].kind == "word" and toks[0].text.startswith("[") and len(toks) > 1:
        i = 1
    if toks[i].kind != "var" or i + 1 >= len(toks):
        return None
    op = toks[i + 1]
    return i + 1 if op.kind == "op" and op.text in _PS_ASSIGN else None


def _ps_is_command(toks: Sequence[_PTok]) -> bool:
    head = toks[0]
    if head.kind == "op":
        return head.text == "&" and len(toks) > 1
    if head.kind != "word":
        return False
    first = head.text[:1]
    return (
        not (first.isdigit() or first in "-[$@'\"+!,.")
        or head.text == "."
        or (first == "." and len(head.text) > 1 and head.text[1] in "\\/.")
    )


def _ps_expression(code: str, toks: Sequence[_PTok]) -> _Verdict | None:
    """.NET calls in an expression that change things ([IO.File]::Delete(...))."""
    text = " ".join(t.text for t in toks if t.kind != "str")
    if _PS_DOTNET_DESTROY.search(text):
        return _Verdict("destructive", "a .NET method call that deletes or kills", "expression")
    if _PS_DOTNET_WRITE.search(text):
        return _Verdict("write", "a .NET method call that writes or starts something", "expression")
    return None
