"""Rich renderings of the model for the terminal.

Kept apart from the commands so the web UI's templates and these read the
same fields in the same order: title, symptoms, params, then numbered steps
with phase, safety and option, the way an on-call reader scans them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from opsdoc.cli.safe_text import visible

if TYPE_CHECKING:
    from opsdoc.model import Runbook, Section, Snippet, Step

# Progress bars, tables and highlighted code (Pygments) are imported where they
# are drawn: `opsdoc find` prints a few lines of text and should not load them.

console = Console(highlight=False, soft_wrap=False)
# Piped output is not wrapped: a line stays a line for grep, diff and pagers.
console.soft_wrap = not console.is_terminal
errors = Console(stderr=True, highlight=False)

# Long work shows a bar on a terminal; pipes, CI and --json output stay clean.
PROGRESS_AFTER = 200


SAFETY_STYLE = {"read": "green", "write": "yellow", "destructive": "bold red"}
PHASE_STYLE = {"diagnose": "cyan", "act": "magenta", "verify": "blue"}
LEXER = {"bash": "bash", "sql": "sql", "python": "python", "powershell": "powershell"}


@contextmanager
def progress(what: str, *, wanted: bool = True) -> Iterator[Callable[[int, int], None]]:
    """A transient bar on stderr, fed with (done, total); it shows only when wanted,
    on a terminal, and once the total is large enough to wait for."""
    state: dict[str, Any] = {}

    def step(done: int, total: int) -> None:
        if not wanted or total < PROGRESS_AFTER or not errors.is_terminal:
            return
        if "bar" not in state:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            bar = Progress(
                TextColumn(what),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=errors,
                transient=True,
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(what, total=total)
        state["bar"].update(state["task"], completed=done, total=total)

    try:
        yield step
    finally:
        if "bar" in state:
            state["bar"].stop()


LIST_HEADER = ("ID", "KIND", "D/A/V", "TITLE")
LIST_TITLE_MIN = 24  # narrower than this, a title wrapped in its column is hard to read


def section_table(rows: list[dict[str, Any]]) -> None:
    """Sections grouped under their file, each file with its own column header.

    Ids are printed whole, never cut: they are what a reader copies into
    ``show FILE#id``. Piped, each section is one line, the title last and
    never wrapped; on a terminal only the title column wraps.
    """
    files: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        files.setdefault(row["file"], []).append(row)
    for number, (path, file_rows) in enumerate(files.items()):
        if number:
            console.print()
        console.print(Text(path, style="bold"), soft_wrap=True)
        cells = [_list_cells(row) for row in file_rows]
        if console.is_terminal and _title_room(cells) >= LIST_TITLE_MIN:
            _list_table(cells)
        else:  # piped, or a terminal too narrow to wrap titles well: whole lines
            _list_lines(cells)


def _title_room(cells: list[tuple[str, str, str, str]]) -> int:
    """Columns left for titles once the indent, ids, kinds and counts are laid out."""
    fixed = sum(max(len(c[i]) for c in [LIST_HEADER, *cells]) + 2 for i in range(3))
    return console.width - 2 - fixed


def _list_cells(row: dict[str, Any]) -> tuple[str, str, str, str]:
    steps = row["steps"]
    counts = f"{steps['diagnose']}/{steps['act']}/{steps['verify']}"
    kind = row["kind"] + (f" {row['severity']}" if row["severity"] else "")
    return "#" + row["id"], kind, counts, "  " * row["depth"] + row["title"]


def _list_lines(cells: list[tuple[str, str, str, str]]) -> None:
    """Aligned columns, one line per section, nothing padded after the title."""
    aligned(LIST_HEADER, cells, indent="  ")


def aligned(
    header: tuple[str, ...], rows: Sequence[Sequence[str | Text]], *, indent: str = ""
) -> None:
    """Columns aligned by padding, one line per row, never wrapped: for pipes,
    where a wrapped cell would split one row over lines that grep then misses.
    The last column is not padded."""
    count = len(header)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(count - 1)]

    def line(values: Sequence[str | Text], style: str = "") -> Text:
        text = Text(indent)
        for value, width in zip(values[:-1], widths, strict=True):
            cell = value if isinstance(value, Text) else Text(value, style=style)
            text.append_text(cell)
            text.append(" " * (width - len(cell.plain)) + "  ")
        last = values[-1]
        text.append_text(last if isinstance(last, Text) else Text(last, style=style))
        return text

    console.print(line(header, "dim"), soft_wrap=True)
    for row in rows:
        console.print(line(row), soft_wrap=True)


def _list_table(cells: list[tuple[str, str, str, str]]) -> None:
    from rich.padding import Padding
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="dim")
    longest = max(len(c[0]) for c in cells)
    # fold, not ellipsis: a terminal too narrow for an id breaks it, never cuts it
    table.add_column(LIST_HEADER[0], no_wrap=True, min_width=longest, overflow="fold")
    table.add_column(LIST_HEADER[1], no_wrap=True)
    table.add_column(LIST_HEADER[2], no_wrap=True, justify="right")
    table.add_column(LIST_HEADER[3], overflow="fold", ratio=1)
    for row in cells:
        table.add_row(*row)
    console.print(Padding(table, (0, 0, 0, 2)))


def runbook(book: Runbook, sections: list[Section]) -> None:
    """The steps-only view: each section's summary and numbered steps."""
    runbook_head(book)
    for section in sections:
        console.print()
        _section(section, depth=0)


def runbook_head(book: Runbook) -> None:
    console.print(Text(book.title or book.path, style="bold underline"))
    console.print(Text(book.path, style="dim"))
    for key, value in book.metadata.items():
        console.print(Text.assemble((f"{key}: ", "dim"), str(value)))


def _section(section: Section, depth: int) -> None:
    pad = "  " * depth
    section_head(section, pad)
    _summary(section, pad)
    for number, step in enumerate(section.steps, 1):
        step_entry(number, step, pad)
    _extras(section, pad)
    for child in section.children:
        console.print()
        _section(child, depth + 1)


def section_head(section: Section, pad: str) -> None:
    """The title line: title, kind, severity and the id to pass to run."""
    head = Text(pad)
    head.append(section.title, style="bold")
    head.append(f"  [{section.kind}]", style="dim")
    if section.severity:
        head.append(f" {section.severity}", style="bold red")
    head.append(f"  #{section.id}", style="dim")
    console.print(head)
    if section.params:
        names = ", ".join(p.name + (" (secret)" if p.secret else "") for p in section.params)
        console.print(Text.assemble((pad + "Params: ", "bold"), names))


def _summary(section: Section, pad: str) -> None:
    if section.symptoms:
        console.print(Text(pad + "Symptoms:", style="bold"))
        for symptom in section.symptoms:
            console.print(Text(f"{pad}  • {symptom}"))
    if section.signals:
        shown = ", ".join(section.signals[:8]) + (" …" if len(section.signals) > 8 else "")
        console.print(Text.assemble((pad + "Signals: ", "bold"), shown))


def _extras(section: Section, pad: str) -> None:
    if section.items:
        for item in section.items:
            console.print(Text(f"{pad}  ☐ {item}"))
    if section.quick_actions:
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        for name in ("Action", "Command", "Expect"):
            table.add_column(name, overflow="fold")
        for action in section.quick_actions:
            table.add_row(action.name, action.command or "", action.expect or "")
        console.print(table)
    if section.snippets:
        kinds: dict[str, int] = {}
        for snippet in section.snippets:
            label = f"{snippet.lang or 'plain'} {snippet.role}"
            kinds[label] = kinds.get(label, 0) + 1
        listed = ", ".join(f"{n}× {k}" for k, n in kinds.items())
        console.print(Text(f"{pad}Not run: {listed}", style="dim"))


def step_entry(number: int, step: Step, pad: str, *, group: bool = True) -> None:
    """A numbered step: phase, language, safety, option, then its code.

    ``group`` off where the step's heading was just shown above it.
    """
    line = Text(f"{pad}{number}. ")
    line.append(step.phase, style=PHASE_STYLE.get(step.phase, ""))
    line.append(" · ")
    line.append(step.lang)
    line.append(" · ")
    line.append(step.safety, style=SAFETY_STYLE.get(step.safety, ""))
    if step.option:
        line.append(f" · option {step.option}", style="bold")
    if step.group and group:
        line.append(f" · {step.group}", style="dim")
    console.print(line)
    if step.title:
        console.print(Text(f"{pad}   {step.title}", style="italic"))
    if step.params:
        names = ", ".join(f"{p.name}{'*' if p.secret else ''}" for p in step.params)
        console.print(Text(f"{pad}   params: {names}", style="dim"))
    code(step.code, step.lang, step.line, indent=len(pad) + 3, numbers=step.code_lines)
    for expect in step.expect:
        console.print(Text(f"{pad}   expect: {escape(expect)}", style="green"))
    if step.output:  # the output the runbook shows after its prompts: not asserted
        console.print(Text(f"{pad}   output shown in the runbook:", style="dim"))
        for row in step.output:
            console.print(Text(f"{pad}   │ {visible(row)}", style="dim"))


def snippet_code(snippet: Snippet, pad: str) -> None:
    """A block opsdoc does not run, marked so, with its code."""
    why = f" ({snippet.reason})" if snippet.reason else ""
    label = f"{pad}not run · {snippet.lang or 'plain'} {snippet.role}{why}"
    console.print(Text(label, style="dim"))
    code(snippet.code, snippet.lang or "", snippet.line, indent=len(pad) + 3)


def code(text: str, lang: str, line: int, indent: int = 2, numbers: Sequence[int] = ()) -> None:
    """A code block with the runbook's own line numbers.

    ``numbers`` gives each line's file line when they are not consecutive (a
    prompt block whose output lines are not code): those are printed plain,
    as a highlighter numbers lines one after another.
    """
    from rich.syntax import Syntax

    from opsdoc.mask import SHAPES

    lines = [SHAPES.mask(row) for row in visible(text.rstrip("\n")).split("\n")]
    if not console.is_terminal or len(numbers) == len(lines):
        at = list(numbers) if len(numbers) == len(lines) else range(line, line + len(lines))
        width = len(str(max(at, default=line)))
        for number, row in zip(at, lines, strict=True):
            console.print(Text(f"{' ' * indent}{number:>{width}}  {row}".rstrip()))
        return
    console.print(
        Syntax(
            visible(text.rstrip("\n")),
            LEXER.get(lang, "text"),
            line_numbers=True,
            start_line=line,
            theme="ansi_dark",
            word_wrap=True,
            padding=(0, 0, 0, indent),
        )
    )
