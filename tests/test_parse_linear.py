"""Long lines read in linear time, and read right.

The inputs are big enough that the old quadratic prompt pattern (minutes on
200 KB) or the exponential `read -a -a …` pattern would hang the suite rather
than pass slowly; the assertions are on what comes out, never on time. The
figures are in bench/parse.py.
"""

from __future__ import annotations

from opsdoc.load import decode
from opsdoc.parse import parse_runbook
from opsdoc.parse.fences import console_commands
from opsdoc.parse.params import env_reads, step_params

BIG = 200_000


def parse(text: str):
    return parse_runbook(decode(text.encode(), "long.md"))


def steps(runbook):
    found = []
    stack = list(runbook.sections)
    while stack:
        section = stack.pop()
        found.extend(section.steps)
        stack.extend(section.children)
    return found


def test_a_long_prompt_line_is_one_command_and_its_output_is_not() -> None:
    word = "a" * BIG
    text = f"# Runbook\n\n## Check\n\n```console\nuser@host:~$ echo {word}\n{word}\n```\n"
    (step,) = steps(parse(text))
    assert step.lang == "bash"
    assert step.code == f"echo {word}\n"


def test_a_long_line_without_a_prompt_is_the_command() -> None:
    word = "x" * BIG
    text = f"# Runbook\n\n## Check\n\n```bash\nuser@host:{word}\n```\n"
    (step,) = steps(parse(text))
    assert step.code.rstrip("\n") == f"user@host:{word}"


def test_a_long_host_like_line_is_not_a_prompt() -> None:
    code = "user@host:" + "a/" * (BIG // 2) + "\nls\n"
    assert console_commands(code) == code


def test_many_read_options_end_in_the_variable_names() -> None:
    code = "read " + "-a " * 60 + "!\nread -r -p name A B\necho $A $B $C\n"
    assert env_reads("bash", code) == [("C", None)]


def test_a_long_line_of_shell_words_keeps_every_variable_and_placeholder() -> None:
    unit = "$HOST/<id> 'q $NOT' \"$QUOTED\" x=1 "
    code = "curl -s " + unit * (BIG // len(unit)) + "# $COMMENTED\n"
    names = [p.name for p in step_params("bash", code)]
    assert names == ["id", "HOST", "QUOTED"]


def test_a_long_heading_and_front_matter_title_are_read() -> None:
    title = "t" * BIG
    runbook = parse(f"---\ntitle: {title}\n---\n\n## {'b ' * (BIG // 2)}\n\ntext\n")
    assert runbook.title == title
    assert runbook.sections[0].title.startswith("b b b")
