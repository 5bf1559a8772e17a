"""Reading runbook files: find them, refuse what is not text, repair encodings.

Runbooks come from wikis, exports and copy-paste, so bytes are not always
UTF-8 and UTF-8 is not always what it seems (seed 001 is UTF-8 that was once
decoded as Windows-1252 and saved again). Every problem here becomes an
:class:`OpsdocError` naming the file, never a traceback, and a directory walk
reports a bad file and goes on with the others.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from opsdoc.errors import OpsdocError
from opsdoc.model import Diagnostic

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdown", ".mkd", ".mkdn")
MAYBE_MARKDOWN_SUFFIXES = (".txt",)
# ``drills/`` holds drill files (``opsdoc drill``): they test runbooks and are
# not runbooks themselves, so a walk of a runbook folder leaves them out.
SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    "drills",
}

# Characters that appear when UTF-8 bytes were decoded as Windows-1252; ftfy is
# only asked to look when one of them is present, which keeps clean files fast.
_MOJIBAKE_HINT = re.compile(
    "[ÃÂâðÐÑÅÆÎÏ][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u203a\u20ac\u2122]"
)
# A .txt file counts as Markdown when it has a heading or a fence at a line start.
_MARKDOWN_SIGN = re.compile(r"^(#{1,6}\s+\S|```|~~~)", re.MULTILINE)


@dataclass
class Source:
    """A runbook file's text, ready for the parser."""

    path: str
    text: str
    encoding: str = "utf-8"
    sha256: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)


def parse_size(text: str) -> int:
    """Bytes from a human size such as ``60MB``, ``512k`` or ``1048576``."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmg]?)i?b?\s*", text.lower())
    if not match:
        raise OpsdocError(f"cannot read {text!r} as a size", hint="write it like 20MB or 512KB")
    number, unit = float(match.group(1)), match.group(2)
    return int(number * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit])


def _human(size: int) -> str:
    """A size to read at a glance: bytes under 1 KB, so 100 is never "0 KB"."""
    if size < 1024:
        return f"{size} byte{'' if size == 1 else 's'}"
    if size < 1024 * 1024:
        return f"{size / 1024:.{1 if size < 10 * 1024 else 0}f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _limit(size: int) -> str:
    """The limit as the message words it: "the 100-byte limit", "the 5.0 MB limit"."""
    return f"{size}-byte" if size < 1024 else _human(size)


def _size_to_pass(size: int) -> str:
    """A --max-size value, in the unit the user thinks in, that reads a file of ``size``."""
    if size < 1024:
        return str(size)
    if size < 1024 * 1024:
        return f"{-(-size // 1024)}KB"
    return f"{-(-size // (1024 * 1024))}MB"


def load_file(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Source:
    """Read one file as runbook text, or raise an OpsdocError saying why not."""
    shown = str(path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise OpsdocError("no such file", path=shown, hint="check the path") from None
    except OSError as exc:
        raise OpsdocError(f"cannot read: {exc.strerror}", path=shown) from None
    if os.path.isdir(path):
        raise OpsdocError("is a directory", path=shown, hint="pass it to `opsdoc list`")
    if size > max_bytes:
        said, limit = _human(size), _limit(max_bytes)
        if said == limit:  # 1.2 KB over a 1.2 KB limit: say the bytes
            said, limit = f"{size} bytes", f"{max_bytes}-byte"
        raise OpsdocError(
            f"{said} is over the {limit} limit for a runbook",
            path=shown,
            hint=f"pass --max-size {_size_to_pass(size)} to read it anyway",
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise OpsdocError(f"cannot read: {exc.strerror}", path=shown) from None
    return decode(data, shown)


def decode(data: bytes, path: str) -> Source:
    """Text from bytes: refuse binary, fall back from UTF-8, repair mojibake."""
    nul = data.find(b"\x00", 0, 65536)
    if nul >= 0:
        raise OpsdocError(
            f"binary file (NUL byte at offset {nul})",
            path=path,
            hint="opsdoc reads Markdown text",
        )
    digest = hashlib.sha256(data).hexdigest()
    diagnostics: list[Diagnostic] = []
    encoding = "utf-8"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            text, encoding = data.decode("latin-1"), "latin-1"
        diagnostics.append(
            Diagnostic(
                "warning",
                f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at line {line}); "
                f"read as {'Windows-1252' if encoding == 'cp1252' else 'Latin-1'}",
                line,
            )
        )
    if _control_ratio(text) > 0.05:
        raise OpsdocError(
            "binary file (mostly control characters)", path=path, hint="opsdoc reads Markdown text"
        )
    if encoding == "utf-8" and not text.isascii() and _MOJIBAKE_HINT.search(text):
        import ftfy  # imported here: most files never need it

        fixed = ftfy.fix_encoding(text)
        if fixed != text:
            text = fixed
            encoding = "utf-8 (mojibake repaired)"
            diagnostics.append(
                Diagnostic("info", "repaired mojibake (UTF-8 that had been read as Windows-1252)")
            )
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return Source(path=path, text=text, encoding=encoding, sha256=digest, diagnostics=diagnostics)


_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")


def _control_ratio(text: str) -> float:
    sample = text[:65536]
    if not sample:
        return 0.0
    return len(_CONTROL.findall(sample)) / len(sample)


def looks_like_markdown(path: Path) -> bool:
    """Whether a .txt file found in a directory walk is a runbook worth reading."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError:
        return False
    if b"\x00" in head:
        return False
    return bool(_MARKDOWN_SIGN.search(head.decode("utf-8", "replace")))


def iter_runbook_paths(
    paths: Iterable[str | Path], *, on_warning: Callable[[str], None] = lambda _m: None
) -> Iterator[Path]:
    """Files to read: named files as given, directories walked for Markdown.

    Symlinked directories are followed once each; a loop is reported, not walked.
    """
    for path in iter_runbook_files(paths, on_warning=on_warning):
        yield Path(path)


def iter_runbook_files(
    paths: Iterable[str | Path],
    *,
    on_warning: Callable[[str], None] = lambda _m: None,
    ordered: bool = True,
) -> Iterator[str]:
    """The same walk as iter_runbook_paths, as strings: the index walks big trees
    on every search, and Path objects for ten thousand files cost real time.
    ``ordered=False`` skips sorting each folder, for callers to whom order
    does not matter."""
    for raw in paths:
        path = os.fspath(raw)
        if os.path.isdir(path):
            for entries in _walk(path, on_warning, ordered):
                for entry in entries:
                    yield entry.path
        else:
            yield path


def runbook_file_stats(
    paths: Iterable[str | Path], *, on_warning: Callable[[str], None] = lambda _m: None
) -> dict[str, tuple[int, float] | None]:
    """Each runbook file of the walk with its (size, mtime), None when it cannot be stat'ed.

    What the index compares with what it holds before every search: one stat
    per file, taken through the walk's directory entries, no second pass.
    """
    found: dict[str, tuple[int, float] | None] = {}
    for raw in paths:
        path = os.fspath(raw)
        if not os.path.isdir(path):
            found[path] = _size_mtime(path)
            continue
        for entries in _walk(path, on_warning, ordered=False):
            for entry in entries:
                found[entry.path] = _size_mtime(entry)
    return found


def _size_mtime(entry: os.DirEntry[str] | str) -> tuple[int, float] | None:
    try:
        info = os.stat(entry) if isinstance(entry, str) else entry.stat()
    except OSError:
        return None
    return info.st_size, info.st_mtime


def _walk(
    root: str, on_warning: Callable[[str], None], ordered: bool = True
) -> Iterator[list[os.DirEntry[str]]]:
    """The runbook files under ``root`` in runs of directory entries, depth first.

    A run per stretch of one folder rather than a generator step per file at
    every level of the tree: on ten thousand files those steps (and
    os.path.splitext) were a quarter of the walk's time.
    """
    seen: set[tuple[int, int]] = set()

    def visit(directory: str) -> Iterator[list[os.DirEntry[str]]]:
        try:
            info = os.stat(directory)
        except OSError as exc:
            on_warning(f"{directory}: skipped ({exc.strerror or exc})")
            return
        key = (info.st_dev, info.st_ino)
        if key in seen:
            on_warning(f"{directory}: skipped, symlink loop back to a directory already read")
            return
        seen.add(key)
        try:
            entries = list(os.scandir(directory))
            if ordered:
                entries.sort(key=lambda e: e.name)
        except OSError as exc:
            on_warning(f"{directory}: skipped ({exc.strerror or exc})")
            return
        files: list[os.DirEntry[str]] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError as exc:
                on_warning(f"{entry.path}: skipped ({exc.strerror or exc})")
                continue
            if not (is_dir or is_file):
                if entry.is_symlink():
                    try:
                        os.stat(entry.path)
                    except OSError as exc:
                        reason = "symlink loop" if exc.errno == 40 else "broken symlink"
                        on_warning(f"{entry.path}: skipped, {reason}")
                continue
            if is_dir:
                if entry.name in SKIP_DIRS or entry.name.startswith("."):
                    continue
                if files:  # what came before the folder, in order
                    yield files
                    files = []
                yield from visit(entry.path)
                continue
            # os.path.splitext's reading, without its cost per file: a name that
            # is only dots and a suffix (".md") has no suffix.
            name = entry.name.lower()
            if "." not in name.lstrip("."):
                continue
            if name.endswith(MARKDOWN_SUFFIXES) or (
                name.endswith(MAYBE_MARKDOWN_SUFFIXES) and looks_like_markdown(Path(entry.path))
            ):
                files.append(entry)
        if files:
            yield files

    yield from visit(root)


def empty_folders(paths: Iterable[str | Path], found: Iterable[str | Path]) -> list[str]:
    """A :func:`no_runbooks` message for each folder in ``paths`` that none of ``found`` is in.

    ``found`` are the files a walk of ``paths`` gave (read or not): a walk
    builds them from the folder as it was given, so a prefix says where each
    came from.
    """
    files = [os.fspath(f) for f in found]
    messages = []
    for raw in paths:
        folder = os.fspath(raw)
        if not os.path.isdir(folder):
            continue
        prefix = folder.rstrip(os.sep) + os.sep
        if not any(f.startswith(prefix) for f in files):
            messages.append(no_runbooks(folder))
    return messages


def no_runbooks(root: str | Path) -> str:
    """The message for a folder with no runbook in it, saying what it holds instead.

    Only called once a walk found nothing, so it may look at every file: a
    user who points opsdoc at the wrong folder, or at a folder of exports,
    learns what was there ("no runbooks under X: 1 file skipped (binary)")
    rather than getting silence and exit 0.
    """
    reasons: dict[str, int] = {}
    folders: set[str] = set()
    for directory, subdirs, names in os.walk(root):
        for sub in list(subdirs):
            if sub in SKIP_DIRS or sub.startswith("."):
                folders.add(sub + "/")
                subdirs.remove(sub)
        for name in names:
            reason = _why_skipped(os.path.join(directory, name))
            reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons and not folders:
        return f"no runbooks under {root}: the folder is empty"
    parts = []
    if reasons:
        total = sum(reasons.values())
        ranked = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        detail = ", ".join(f"{n} {why}" if len(reasons) > 1 else why for why, n in ranked)
        parts.append(f"{total} file{'' if total == 1 else 's'} skipped ({detail})")
    if folders:
        parts.append(f"folders not read: {', '.join(sorted(folders))}")
    if "not Markdown" in reasons:
        parts.append("runbooks are .md or .markdown files, or .txt files written in Markdown")
    return f"no runbooks under {root}: " + "; ".join(parts)


def _why_skipped(path: str) -> str:
    """Why the walk passed over one file: binary, not Markdown, or a .txt without Markdown."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536)
    except OSError as exc:
        return f"unreadable: {exc.strerror or exc}"
    if b"\x00" in head or _control_ratio(head.decode("latin-1")) > 0.05:
        return "binary"
    if path.lower().endswith(MAYBE_MARKDOWN_SUFFIXES):
        return "text with no Markdown heading or fence"
    return "not Markdown"
