"""Reading drill files: Markdown whose headings are drills and whose fences say what to run.

A drill file reads like the runbooks it tests. Each ``##`` heading is one
drill; its first bullet list, when it reads ``key: value``, holds the
settings that say which scenario to run and how; ``{drill=setup}``, ``{drill=before}`` and
``{drill=check}`` fences hold SQL or bash. Settings and fences under the
``#`` title apply to every drill of the file. Everything is checked here,
before any database starts, and a mistake is one :class:`OpsdocError`
naming the file and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from opsdoc.drill.spec import FENCE_KINDS, Drill, Fence
from opsdoc.errors import OpsdocError
from opsdoc.load import SKIP_DIRS, load_file
from opsdoc.model import PHASES
from opsdoc.parse import fences
from opsdoc.parse.blocks import Block, parse_blocks
from opsdoc.parse.words import Slugger

KEYS = ("runbook", "section", "schema", "bin", "param", "option", "steps", "only")
_SETTING = re.compile(r"^([A-Za-z][\w-]*)\s*:\s*(.*)$", re.DOTALL)
_VAR = re.compile(r"\$\{([A-Za-z_]\w*)(?::-([^}]*))?\}")


@dataclass
class _Settings:
    """Settings as written, each with the line it came from (for error messages)."""

    values: dict[str, tuple[str, int]] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)

    def merged(self, own: _Settings) -> _Settings:
        """A drill's settings over its file's: params add up, the rest replaces."""
        return _Settings(
            {**self.values, **own.values},
            {**self.params, **own.params},
            own.options or list(self.options),
        )


@dataclass
class _Part:
    """The blocks under one heading: the file's title part, or one drill."""

    name: str
    line: int
    anchor: str = ""
    settings: _Settings = field(default_factory=_Settings)
    fences: list[Fence] = field(default_factory=list)


def drill_files(paths: Iterable[str | Path]) -> list[tuple[str, bool]]:
    """Files to read, each with whether it was named (True) or found in a folder."""
    out: list[tuple[str, bool]] = []
    for raw in paths:
        path = os.fspath(raw)
        if os.path.isdir(path):
            out.extend((found, False) for found in _walk(path))
        elif os.path.exists(path):
            out.append((path, True))
        else:
            raise OpsdocError("no such file or directory", path=path, hint="check the path")
    return out


def _walk(root: str) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and d not in SKIP_DIRS - {"drills"}
        )
        for name in sorted(files):
            if name.lower().endswith(".md"):
                yield os.path.join(folder, name)


def read_drills(paths: Iterable[str | Path]) -> list[Drill]:
    """Every drill in these files and folders; a folder's files without drills are skipped."""
    drills: list[Drill] = []
    for path, named in drill_files(paths):
        found = read_drill_file(path)
        if not found and named:
            raise OpsdocError(
                "no drills here",
                path=path,
                hint="a drill is a ## heading with a ```sql {drill=check} fence under it",
            )
        drills.extend(found)
    if not drills:
        raise OpsdocError("no drill files found", hint="pass drill files or a drills/ folder")
    return drills


def read_drill_file(path: str) -> list[Drill]:
    """The drills of one file, checked; [] when the file has no drill fences at all."""
    text = load_file(path).text
    blocks = parse_blocks(text)
    top = _Part(name="", line=1)
    parts: list[_Part] = []
    current = top
    open_for_settings = True  # no list and no fence yet under this heading
    slugger = Slugger()
    for block in blocks:
        if block.type == "heading" and block.level <= 2:
            title = block.inline.text if block.inline else ""
            if block.level == 1:
                top.name, top.line, current = title, block.line, top
            else:
                current = _Part(name=title, line=block.line, anchor=slugger.slug(title))
                parts.append(current)
            open_for_settings = True
            continue
        if open_for_settings and block.type == "list":
            open_for_settings = False
            if _is_settings(block):
                current.settings = _settings(block, path)
                continue
        _collect_fences(block, current, path)
        if current.fences:
            open_for_settings = False
    if not top.fences and not any(p.fences for p in parts):
        return []
    if not parts:  # a file that is one drill: its title is the drill's name
        top.name = top.name or Path(path).stem
        top.anchor = slugger.slug(top.name)
        return [_drill(top, _Part(name="", line=1), path)]
    return [_drill(part, top, path) for part in parts]


def _is_settings(block: Block) -> bool:
    """A list whose first item reads ``key: value`` is a settings list."""
    first = block.children[0] if block.children else None
    inline = _item_inline(first) if first else None
    return inline is not None and _SETTING.match(inline) is not None


def _item_inline(item: Block) -> str | None:
    paragraph = next((c for c in item.children if c.type == "paragraph"), None)
    if paragraph is None or paragraph.inline is None:
        return None
    return paragraph.inline.text


def _item_link(item: Block) -> str | None:
    paragraph = next((c for c in item.children if c.type == "paragraph"), None)
    if paragraph is None or paragraph.inline is None or not paragraph.inline.links:
        return None
    return paragraph.inline.links[0][0]


def _settings(block: Block, path: str) -> _Settings:
    out = _Settings()
    for item in block.children:
        text = _item_inline(item) or ""
        match = _SETTING.match(text)
        key = match.group(1).lower() if match else ""
        if key not in KEYS:
            raise OpsdocError(
                f"unknown drill setting {key or text!r}",
                path=path,
                line=item.line,
                hint="settings: " + ", ".join(KEYS),
            )
        assert match is not None
        value = " ".join(match.group(2).split())
        if key == "runbook":
            value = _item_link(item) or value  # [seed 003](../x.txt#id) is clickable on GitHub
        if key == "param":
            name, eq, given = value.partition("=")
            if not eq or not name.strip():
                raise OpsdocError(
                    f"param takes NAME=VALUE, not {value!r}", path=path, line=item.line
                )
            out.params[name.strip().strip("<>")] = given.strip()
        elif key == "option":
            out.options.append(value)
        else:
            out.values[key] = (value, item.line)
    return out


def _collect_fences(block: Block, part: _Part, path: str) -> None:
    if block.type == "fence":
        attrs = fences.parse_attrs(block.info)
        if "drill" not in attrs:
            return
        kind = str(attrs["drill"])
        if kind not in FENCE_KINDS:
            raise OpsdocError(
                f"unknown drill fence {{drill={kind}}}",
                path=path,
                line=block.line - 1,
                hint="use drill=setup, drill=before or drill=check",
            )
        lang = fences.runnable_lang(block.lang)
        if lang not in ("sql", "bash"):
            raise OpsdocError(
                f"a drill fence runs sql or bash, not {block.lang or 'no language'}",
                path=path,
                line=block.line - 1,
            )
        if not block.closed:
            raise OpsdocError("this fence is never closed", path=path, line=block.line - 1)
        part.fences.append(Fence(kind, lang, block.code, block.line - 1))  # type: ignore[arg-type]
        return
    for child in block.children:
        _collect_fences(child, part, path)


def _drill(part: _Part, top: _Part, path: str) -> Drill:
    settings = top.settings.merged(part.settings)
    base = Path(path).resolve().parent

    def value(key: str) -> tuple[str, int] | None:
        return settings.values.get(key)

    def where(key: str) -> int:
        found = value(key)
        return found[1] if found else part.line

    book = value("runbook")
    if book is None:
        raise OpsdocError(
            f"drill {part.name!r} names no runbook",
            path=path,
            line=part.line,
            hint="add `- runbook: FILE#SECTION` under its heading or the file's title",
        )
    target, _, anchor = expand(book[0], os.environ, path, book[1]).partition("#")
    section = value("section")
    anchor = section[0].lstrip("#") if section else anchor
    if not anchor:
        raise OpsdocError(
            f"drill {part.name!r} names no section",
            path=path,
            line=book[1],
            hint="write runbook: FILE#SECTION (`opsdoc list FILE` shows the ids)",
        )
    runbook = _existing(base, target, path, book[1], "runbook")
    schema = []
    if value("schema"):
        text, line = value("schema")  # type: ignore[misc]
        for item in _split(text):
            schema.append(_existing(base, expand(item, os.environ, path, line), path, line, "file"))
    bin_dir = None
    if value("bin"):
        text, line = value("bin")  # type: ignore[misc]
        bin_dir = _existing(base, expand(text, os.environ, path, line), path, line, "folder")
    checks = [f for f in top.fences + part.fences if f.kind == "check"]
    if not checks:
        raise OpsdocError(
            f"drill {part.name!r} has no check",
            path=path,
            line=part.line,
            hint="add a ```sql {drill=check} or ```bash {drill=check} fence: "
            "without one a drill proves nothing",
        )
    return Drill(
        name=part.name,
        id=part.anchor,
        file=path,
        line=part.line,
        runbook=runbook,
        section=anchor,
        schema=schema,
        bin=bin_dir,
        params=dict(settings.params),
        options=list(settings.options),
        steps=_steps(value("steps"), path),
        only=_only(value("only"), path),
        fences=top.fences + part.fences,
    )


def expand(text: str, environ: Mapping[str, str], path: str, line: int) -> str:
    """``${NAME}`` and ``${NAME:-default}`` from the environment, as a shell would."""

    def sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if environ.get(name):
            return environ[name]
        if default is not None:
            return default
        raise OpsdocError(
            f"${{{name}}} is not set",
            path=path,
            line=line,
            hint=f"set it, or write ${{{name}:-DEFAULT}}",
        )

    return _VAR.sub(sub, text)


def _existing(base: Path, text: str, path: str, line: int, what: str) -> Path:
    found = (base / os.path.expanduser(text)).resolve()
    ok = found.is_dir() if what == "folder" else found.is_file()
    if not ok:
        raise OpsdocError(
            f"{what} not found: {found}",
            path=path,
            line=line,
            hint="paths are relative to the drill file",
        )
    return found


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _steps(found: tuple[str, int] | None, path: str) -> list[int]:
    if found is None:
        return []
    text, line = found
    try:
        numbers = [int(part) for part in _split(text)]
    except ValueError:
        raise OpsdocError(
            f"steps takes step numbers such as 1, 2, 4, not {text!r}",
            path=path,
            line=line,
            hint="`opsdoc show FILE#SECTION` numbers the steps",
        ) from None
    return numbers


def _only(found: tuple[str, int] | None, path: str) -> str | None:
    if found is None:
        return None
    if found[0] not in PHASES:
        raise OpsdocError(
            f"only takes diagnose, act or verify, not {found[0]!r}", path=path, line=found[1]
        )
    return found[0]
