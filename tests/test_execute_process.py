"""The process executor: real bash, real Python, real process groups; no mocks.

Every safety claim is checked against the operating system: a nasty value is
compared byte for byte with what the command received, a killed group is
looked up in /proc afterwards, temp files are looked for on disk.
"""

from __future__ import annotations

import _thread
import os
import random
import shutil
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import SEEDS
from opsdoc.execute import MAX_OUTPUT_CHARS, StepInterrupted, StepOutcome
from opsdoc.execute.process import PWSH_MISSING, quote_placeholders, run_process
from opsdoc.model import Param, Step
from opsdoc.read import read_runbook

NASTY = [
    "x'); DROP TABLE intake_lots; --",
    "$(touch PWNED)",
    "`touch PWNED`",
    "; rm -rf ~",
    "a b  c\td",
    "it's \"double\" and 'single'",
    "*",
    "-n",
    "${HOME} $HOME \\ \\n",
    "line one\nline two",
    "",
    "ünïcødé ✓",
]


class Recorder:
    """Hooks that remember every chunk with the time it arrived."""

    def __init__(self) -> None:
        self.chunks: list[tuple[float, str, str]] = []

    def output(self, text: str, stream: str) -> None:
        self.chunks.append((time.monotonic(), stream, text))

    def confirm(self, request: object) -> bool:
        return True

    def text(self, stream: str | None = None) -> str:
        return "".join(t for _, s, t in self.chunks if stream in (None, s))


def bash(code: str, **params: str) -> Step:
    """A bash step whose params are angle placeholders."""
    return Step(phase="act", lang="bash", code=code, line=1, params=[Param(n) for n in params])


def run(step: Step, values: dict[str, str] | None = None, **kwargs: object) -> StepOutcome:
    return run_process(step, values=values or {}, hooks=Recorder(), **kwargs)  # type: ignore[arg-type]


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def wait_gone(pid: int, limit: float = 2.0) -> bool:
    end = time.monotonic() + limit
    while alive(pid) and time.monotonic() < end:
        time.sleep(0.02)
    return not alive(pid)


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME with a canary in it (so `rm -rf ~` would show) and temp files kept apart."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "canary").write_text("still here")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp_path


def leftovers(sandbox: Path) -> list[Path]:
    return list((sandbox / "tmp").iterdir())


# --------------------------------------------------------------------------
# Output: streamed live, captured interleaved, capped
# --------------------------------------------------------------------------


def test_output_is_streamed_as_it_arrives_and_captured_in_order(sandbox: Path) -> None:
    hooks = Recorder()
    started = time.monotonic()
    outcome = run_process(
        bash("echo one; sleep 0.4; echo two >&2; sleep 0.4; echo three"), values={}, hooks=hooks
    )
    ended = time.monotonic()
    assert outcome.status == "ok" and outcome.exit_code == 0
    assert outcome.output == "one\ntwo\nthree\n"
    assert [(s, t) for _, s, t in hooks.chunks] == [
        ("stdout", "one\n"),
        ("stderr", "two\n"),
        ("stdout", "three\n"),
    ]
    first, second = hooks.chunks[0][0], hooks.chunks[1][0]
    assert first - started < 0.3, "the first line waited for the end"
    assert ended - first > 0.6 and second - first > 0.3
    assert 0.8 <= outcome.duration < 5


def test_a_partial_line_is_shown_without_waiting_for_its_newline(sandbox: Path) -> None:
    hooks = Recorder()
    run_process(bash("printf 'Working...'; sleep 0.6; echo ' done'"), values={}, hooks=hooks)
    (t1, _, first), (t2, _, rest) = hooks.chunks
    assert first == "Working..." and rest == " done\n"
    assert t2 - t1 > 0.3


def test_capture_is_capped_and_says_so_but_the_hooks_see_everything(sandbox: Path) -> None:
    hooks = Recorder()
    total = MAX_OUTPUT_CHARS + 36_000
    outcome = run_process(
        bash(f"head -c {total} /dev/zero | tr '\\0' x; echo; echo tail-line"),
        values={},
        hooks=hooks,
    )
    assert outcome.status == "ok"
    kept, note = outcome.output[:MAX_OUTPUT_CHARS], outcome.output[MAX_OUTPUT_CHARS:]
    assert kept == "x" * MAX_OUTPUT_CHARS
    assert "truncated" in note and str(total + len("\ntail-line\n") - MAX_OUTPUT_CHARS) in note
    assert hooks.text().endswith("tail-line\n") and len(hooks.text()) == total + 11


def test_undecodable_bytes_do_not_break_the_capture(sandbox: Path) -> None:
    outcome = run(bash("printf 'ok \\xff\\xfe end\\n'"))
    assert outcome.status == "ok" and outcome.output.startswith("ok ")
    assert outcome.output.endswith(" end\n")


# --------------------------------------------------------------------------
# Parameters: env params by name, placeholders as quoted references
# --------------------------------------------------------------------------


def test_env_params_reach_the_script_as_environment_variables(sandbox: Path) -> None:
    out = sandbox / "out"
    step = Step(
        phase="diagnose",
        lang="bash",
        line=1,
        code=f'curl_like() {{ printf "%s" "$1" > {out}; }}\ncurl_like "$WORKER_URL/health"',
        params=[Param("WORKER_URL", source="env")],
    )
    outcome = run(step, {"WORKER_URL": "https://worker.example/$(touch PWNED)"})
    assert outcome.status == "ok"
    assert out.read_bytes() == b"https://worker.example/$(touch PWNED)/health"
    assert not (sandbox / "PWNED").exists()


def test_env_given_replaces_os_environ_and_params_are_added(sandbox: Path) -> None:
    step = Step(
        phase="act",
        lang="bash",
        line=1,
        code='echo "a=${A:-unset} b=${B:-unset} t=${TOKEN}"',
        params=[Param("TOKEN", secret=True, source="env")],
    )
    os.environ["B"] = "from-parent"
    try:
        outcome = run(step, {"TOKEN": "s3cr3t"}, env={"PATH": os.environ["PATH"], "A": "given"})
    finally:
        del os.environ["B"]
    assert outcome.output == "a=given b=unset t=s3cr3t\n"


ARGS = 'args() { printf "%s\\0" "$@" > "$OUT"; }\n'


@pytest.mark.parametrize("value", NASTY)
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("args <v>", "{v}"),
        ('args "<v>"', "{v}"),
        ("args '<v>'", "{v}"),
        ("args 'pre <v> post' \"pre <v> post\"", "pre {v} post\0pre {v} post"),
        ("args --id=<v> 'k=<v>'\"\"", "--id={v}\0k={v}"),
        ('args "$(printf "%s" "<v>")"', "{v}"),
        ("args $'tab\\t <v>'", "tab\t {v}"),
    ],
    ids=["bare", "double", "single", "inside-words", "joined", "in-cmd-subst", "ansi-c"],
)
def test_a_placeholder_value_reaches_the_command_as_one_literal_argument(
    sandbox: Path, line: str, expected: str, value: str
) -> None:
    out = sandbox / "args"
    outcome = run(
        bash(ARGS + line, v=""), {"v": value}, cwd=sandbox, env={**os.environ, "OUT": str(out)}
    )
    if value.startswith("-") and expected.startswith("{v}"):
        # A value that begins an argument with '-' would be an option: refused, not run.
        assert outcome.status == "failed" and "starts with '-'" in (outcome.error or "")
        assert not out.exists()
        return
    assert outcome.status == "ok", outcome
    want = expected.replace("{v}", value)
    if "$(" in line:  # command substitution drops trailing newlines, as bash always does
        want = want.rstrip("\n")
    assert out.read_bytes() == (want + "\0").encode()
    assert not (sandbox / "PWNED").exists()
    assert (sandbox / "home" / "canary").read_text() == "still here"


def test_the_sql_injection_value_from_the_issue_changes_nothing(sandbox: Path) -> None:
    table = sandbox / "intake_lots"
    table.write_text("lot-1\n")
    out = sandbox / "query"
    step = bash(
        f"printf '%s' \"DELETE FROM intake_lots WHERE id = '<lot-id>'\" > {out}", **{"lot-id": ""}
    )
    outcome = run(step, {"lot-id": "x'); DROP TABLE intake_lots; --"}, cwd=sandbox)
    assert outcome.status == "ok"
    assert out.read_text() == "DELETE FROM intake_lots WHERE id = 'x'); DROP TABLE intake_lots; --'"
    assert table.read_text() == "lot-1\n"


def test_placeholders_in_here_docs_quoted_and_unquoted(sandbox: Path) -> None:
    code = (
        "cat <<EOF\n"
        "plain: <v> $((1 + 1))\n"
        "EOF\n"
        "cat <<'SQL'\n"
        "lit: '<v>' $HOME `date` \\n\n"
        "SQL\n"
        'cat <<-"END"\n'
        "\ttabbed: <v>\n"
        "\tEND\n"
    )
    value = "$(touch PWNED) `x` \\ '"
    outcome = run(bash(code, v=""), {"v": value}, cwd=sandbox)
    assert outcome.status == "ok", outcome
    assert outcome.output == (
        f"plain: {value} 2\nlit: '{value}' $HOME `date` \\n\ntabbed: {value}\n"
    )
    assert not (sandbox / "PWNED").exists()


def test_placeholders_in_comments_are_left_alone_and_need_no_value(sandbox: Path) -> None:
    script, refs = quote_placeholders(
        "# roll back to <commit-hash> if needed\necho done  # not <commit-hash> either",
        ["commit-hash"],
    )
    assert script == "# roll back to <commit-hash> if needed\necho done  # not <commit-hash> either"
    assert refs == {}
    outcome = run(bash(script, **{"commit-hash": ""}), {})
    assert outcome.status == "ok"


def test_quote_placeholders_forms() -> None:
    names = ["commit-hash", "id"]
    script, refs = quote_placeholders(
        "git checkout <commit-hash>; echo \"at <commit-hash>\" 'id <id>' <other> $# ${#x} # <id>",
        names,
    )
    assert script == (
        'git checkout "${OPSDOC_P_COMMIT_HASH}"; echo "at ${OPSDOC_P_COMMIT_HASH}" '
        "'id '\"${OPSDOC_P_ID}\"'' <other> $# ${#x} # <id>"
    )
    assert refs == {"OPSDOC_P_COMMIT_HASH": "commit-hash", "OPSDOC_P_ID": "id"}


def test_quote_placeholders_keeps_distinct_names_apart() -> None:
    script, refs = quote_placeholders(
        "echo <lot-id> <lot_id> <lot.id>", ["lot-id", "lot_id", "lot.id"]
    )
    assert refs == {
        "OPSDOC_P_LOT_ID": "lot-id",
        "OPSDOC_P_LOT_ID_2": "lot_id",
        "OPSDOC_P_LOT_ID_3": "lot.id",
    }
    assert script == 'echo "${OPSDOC_P_LOT_ID}" "${OPSDOC_P_LOT_ID_2}" "${OPSDOC_P_LOT_ID_3}"'


def test_quote_placeholders_leaves_arithmetic_shifts_and_other_text_alone() -> None:
    code = "echo $((1<<2)) && (( n <<= 1 )) && cat <<< 'x' && a<b> && echo <id>"
    script, _ = quote_placeholders(code, ["id"])
    assert script == code.replace("<id>", '"${OPSDOC_P_ID}"')


REALISTIC = [
    "git log --oneline <id>..HEAD 2>/dev/null | head -1; echo <id>",
    'curl -s "https://api.example/v1/lots/<id>?expand=items" -o /dev/null -w "%{url_effective}\\n" || true',
    "echo \"lot=$(printf '%s' <id> | tr a-z A-Z)\" `echo <id>`",
    'echo ${LOT:-<id>} "${LOT:-<id>}" $(( ${#HOME} > 0 ))',
    "case <id> in\n  abc*) echo matched <id> ;;\n  *) echo other ;;\nesac",
    'for x in <id> b; do echo "[$x]"; done # loop over <id>',
    'if [ -n "<id>" ] && [[ <id> == abc* ]]; then echo yes; fi',
    "cat <<EOF | sed 's/^/> /'\nlot: <id>\nhome: $((2 + 2))\nEOF",
    "cat <<'EOF'\nUPDATE lots SET state = 'x' WHERE id = '<id>'; -- $1 `n` \\\\ \\n\nEOF",
    "psql_like() { cat; }\npsql_like <<-SQL\n\tSELECT '<id>';\n\tSQL",
    "echo 'single <id> quoted' $'ansi\\t <id>' \\<escaped\\>",
    'x=<id>; echo "$x" && (echo sub <id>) && { echo group <id>; }',
]


@pytest.mark.parametrize("code", REALISTIC)
def test_quoting_keeps_the_meaning_of_runbook_shell(sandbox: Path, code: str) -> None:
    """With a tame value, the quoted script prints what the hand-edited one prints."""
    by_hand = run(bash(code.replace("<id>", "abc123")))
    quoted = run(bash(code, id=""), {"id": "abc123"})
    assert by_hand.status == "ok", by_hand
    assert (quoted.status, quoted.output) == ("ok", by_hand.output)


@pytest.mark.parametrize("lang", ["bash", "python", "powershell"])
def test_quote_placeholders_never_raises_on_junk(lang: str) -> None:
    rng = random.Random(7)
    alphabet = [*"<>'\"`$(){}#\\\n\t @-ab", "<id>", "<<EOF\n", "$(", "${", "'''", "@'\n"]
    for _ in range(400):
        junk = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        script, refs = quote_placeholders(junk, ["id"], lang=lang)
        assert isinstance(script, str) and set(refs) <= {"OPSDOC_P_ID"}


def test_a_missing_placeholder_value_fails_before_anything_runs(sandbox: Path) -> None:
    marker = sandbox / "ran"
    outcome = run(bash(f"touch {marker}; echo <lot-id>", **{"lot-id": ""}), {})
    assert outcome.status == "failed" and outcome.exit_code is None
    assert outcome.error is not None and "<lot-id>" in outcome.error
    assert not marker.exists()


def test_a_nul_byte_in_a_value_is_refused_clearly(sandbox: Path) -> None:
    outcome = run(bash("echo <v>", v=""), {"v": "a\0b"})
    assert outcome.status == "failed" and "NUL" in (outcome.error or "")


# --------------------------------------------------------------------------
# bash as a person would paste it
# --------------------------------------------------------------------------


def test_no_set_e_the_exit_code_is_the_last_commands(sandbox: Path) -> None:
    assert run(bash("false\necho after")).status == "ok"
    outcome = run(bash("echo before\nexit 3"))
    assert (outcome.status, outcome.exit_code, outcome.error) == ("failed", 3, "exited with code 3")
    assert outcome.output == "before\n"


def test_exit_127_names_the_missing_command(sandbox: Path) -> None:
    outcome = run(
        bash("echo checking\nrailway logs --service enforcement-worker"),
        env={"PATH": "/usr/bin:/bin"},
    )
    assert outcome.status == "failed" and outcome.exit_code == 127
    assert outcome.error == "command not found: railway (install it or put it on PATH)"


def test_exit_127_for_a_missing_script_path(sandbox: Path) -> None:
    outcome = run(bash("./scripts/deploy.sh --now"), cwd=sandbox)
    assert outcome.exit_code == 127
    assert outcome.error == "command not found: ./scripts/deploy.sh (install it or put it on PATH)"


def test_killed_by_a_signal_says_which(sandbox: Path) -> None:
    outcome = run(bash("kill -9 $$"))
    assert outcome.status == "failed" and outcome.exit_code == -9
    assert outcome.error == "killed by SIGKILL"


def test_script_runs_from_a_file_with_sane_line_numbers_no_startup_files_no_stdin(
    sandbox: Path,
) -> None:
    rc = sandbox / "bash_env"
    rc.write_text("echo STARTUP-FILE-READ\n")
    code = 'echo "line $LINENO"\necho "line $LINENO in $(basename "$0")"\ncat\necho "pwd=$PWD"\n'
    outcome = run(bash(code), cwd=sandbox, env={**os.environ, "BASH_ENV": str(rc)})
    assert outcome.status == "ok"
    lines = outcome.output.splitlines()
    assert lines[0] == "line 1"
    assert lines[1].startswith("line 2 in opsdoc-step-") and lines[1].endswith(".sh")
    assert lines[2] == f"pwd={sandbox}"
    assert "STARTUP-FILE-READ" not in outcome.output


def test_the_seed_railway_step_passes_separate_arguments_to_the_cli(sandbox: Path) -> None:
    runbook = read_runbook(SEEDS / "003_5a19d28ffda2e27a.txt")
    step = next(s for sec in runbook.walk() for s in sec.steps if "railway up" in s.code)
    bindir = sandbox / "bin"
    bindir.mkdir()
    log = sandbox / "railway.log"
    fake = bindir / "railway"
    fake.write_text(
        '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done >> "$RAILWAY_LOG"\necho >> "$RAILWAY_LOG"\necho "deployed $3"\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}", "RAILWAY_LOG": str(log)}
    outcome = run(step, env=env)
    assert outcome.status == "ok", outcome
    assert log.read_text().splitlines() == [
        "[up][--service][enforcement-worker][--detach]",
        "[up][--service][ingest-worker][--detach]",
    ]
    assert outcome.output == "deployed enforcement-worker\ndeployed ingest-worker\n"


# --------------------------------------------------------------------------
# Timeout, leftovers, Ctrl-C: the whole process group goes
# --------------------------------------------------------------------------


def test_timeout_kills_the_whole_group_including_background_grandchildren(sandbox: Path) -> None:
    pids = sandbox / "pids"
    code = f"sleep 100 & echo $! >> {pids}\nsleep 100 & echo $! >> {pids}\necho $$ >> {pids}\necho up\nsleep 100; wait"
    started = time.monotonic()
    outcome = run(bash(code), timeout=1)
    assert time.monotonic() - started < 3
    assert outcome.status == "timeout" and outcome.exit_code is None
    assert outcome.error == "stopped after 1s (timeout)"
    assert outcome.output == "up\n"
    numbers = [int(p) for p in pids.read_text().split()]
    assert len(numbers) == 3
    assert all(wait_gone(pid) for pid in numbers)
    assert leftovers(sandbox) == []


def test_timeout_escalates_to_sigkill_for_processes_that_ignore_sigterm(sandbox: Path) -> None:
    pid_file = sandbox / "pid"
    code = f"trap '' TERM\nsleep 100 & echo $! > {pid_file}\nwait"
    started = time.monotonic()
    outcome = run(bash(code), timeout=0.5)
    elapsed = time.monotonic() - started
    assert outcome.status == "timeout" and outcome.error == "stopped after 0.5s (timeout)"
    assert 3.4 <= elapsed < 6
    assert wait_gone(int(pid_file.read_text()))


def test_background_processes_left_by_a_finished_step_are_stopped(sandbox: Path) -> None:
    pid_file = sandbox / "pid"
    outcome = run(bash(f"sleep 300 & echo $! > {pid_file}\necho started"))
    assert outcome.status == "ok" and outcome.output == "started\n"
    assert wait_gone(int(pid_file.read_text()))


def test_ctrl_c_kills_the_group_and_raises_step_interrupted(sandbox: Path) -> None:
    pid_file = sandbox / "pids"
    code = f"sleep 300 & echo $! > {pid_file}\necho $$ >> {pid_file}\necho started\nwait"
    hooks = Recorder()

    def interrupt_when_started() -> None:
        end = time.monotonic() + 10
        while time.monotonic() < end and "started" not in hooks.text():
            time.sleep(0.02)
        _thread.interrupt_main()

    timer = threading.Thread(target=interrupt_when_started, daemon=True)
    timer.start()
    started = time.monotonic()
    with pytest.raises(StepInterrupted) as caught:
        run_process(bash(code), values={}, hooks=hooks, timeout=60)
    timer.join()
    assert time.monotonic() - started < 5
    outcome = caught.value.outcome
    assert outcome.status == "interrupted"
    assert outcome.output == "started\n"
    assert outcome.error and "interrupted" in outcome.error
    for pid in (int(p) for p in pid_file.read_text().split()):
        assert wait_gone(pid), f"pid {pid} outlived the interrupt"
    assert leftovers(sandbox) == []


def test_an_exception_from_the_hooks_still_stops_the_group(sandbox: Path) -> None:
    pid_file = sandbox / "pid"

    class Exploding(Recorder):
        def output(self, text: str, stream: str) -> None:
            raise RuntimeError("terminal went away")

    with pytest.raises(RuntimeError):
        run_process(
            bash(f"sleep 300 & echo $! > {pid_file}\necho hi\nwait"), values={}, hooks=Exploding()
        )
    assert wait_gone(int(pid_file.read_text()))
    assert leftovers(sandbox) == []


def test_temp_files_are_removed_whatever_happens(sandbox: Path) -> None:
    run(bash("echo ok"))
    run(bash("exit 4"))
    run(bash("sleep 5"), timeout=0.2)
    run(bash("echo <v>", v=""), {})
    assert leftovers(sandbox) == []


def test_a_missing_working_directory_is_a_clear_failure(sandbox: Path) -> None:
    outcome = run(bash("echo hi"), cwd=sandbox / "nope")
    assert (
        outcome.status == "failed"
        and outcome.error == f"working directory not found: {sandbox / 'nope'}"
    )
    assert leftovers(sandbox) == []


# --------------------------------------------------------------------------
# Python and PowerShell
# --------------------------------------------------------------------------


def python(code: str, *params: Param) -> Step:
    return Step(phase="act", lang="python", code=code, line=1, params=list(params))


def test_python_steps_get_env_params_and_stream_live(sandbox: Path) -> None:
    hooks = Recorder()
    code = (
        "import os, time\nprint('url', os.environ['WORKER_URL'])\ntime.sleep(0.5)\nprint('done')\n"
    )
    outcome = run_process(
        python(code, Param("WORKER_URL", source="env")),
        values={"WORKER_URL": "http://worker:8080"},
        hooks=hooks,
    )
    assert outcome.status == "ok" and outcome.output == "url http://worker:8080\ndone\n"
    assert hooks.chunks[1][0] - hooks.chunks[0][0] > 0.3


@pytest.mark.parametrize("value", NASTY)
def test_python_placeholders_are_environment_lookups(sandbox: Path, value: str) -> None:
    code = (
        "import sys\n"
        "raw = <v>  # <v> in a comment\n"
        "print(repr(raw))\n"
        "print(repr('single <v> quoted'))\n"
        'print(repr("double <v>" + "x"))\n'
        "print(repr('''triple <v> end''' % ()))\n"
    )
    outcome = run(python(code, Param("v")), {"v": value}, cwd=sandbox)
    assert outcome.status == "ok", outcome
    assert outcome.output.splitlines() == [
        repr(value),
        repr(f"single {value} quoted"),
        repr(f"double {value}x"),
        repr(f"triple {value} end"),
    ]
    assert not (sandbox / "PWNED").exists()


def test_python_errors_fail_with_the_exit_code(sandbox: Path) -> None:
    outcome = run(python("import sys\nprint('partial')\nsys.exit(5)"))
    assert (outcome.status, outcome.exit_code, outcome.output) == ("failed", 5, "partial\n")


def test_powershell_quoting_forms() -> None:
    script, refs = quote_placeholders(
        "Get-Item -Path <p> # <p>\nWrite-Output \"at <p>\" 'lit <p> $x `y ''q'''",
        ["p"],
        lang="powershell",
    )
    assert script == (
        "Get-Item -Path ${env:OPSDOC_P_P} # <p>\n"
        'Write-Output "at ${env:OPSDOC_P_P}" "lit ${env:OPSDOC_P_P} `$x ``y \'q\'"'
    )
    assert refs == {"OPSDOC_P_P": "p"}


def test_powershell_missing_is_a_clear_failed_outcome(sandbox: Path) -> None:
    step = Step(phase="act", lang="powershell", code="Get-Process", line=1)
    outcome = run(step, env={"PATH": str(sandbox)})
    assert outcome == StepOutcome(status="failed", exit_code=None, error=PWSH_MISSING)
    assert PWSH_MISSING == (
        "PowerShell (pwsh) is not installed; install it or run one of this step's other options"
    )


@pytest.mark.skipif(shutil.which("pwsh") is None, reason="pwsh is not installed here")
def test_powershell_runs_with_pwsh_when_present(sandbox: Path) -> None:
    value = "$(Remove-Item ~/canary) 'q' \"d\""
    step = Step(
        phase="act",
        lang="powershell",
        line=1,
        code="Write-Output <v>\nWrite-Output 'lit <v>'\nWrite-Output \"exp <v>\"\nexit 2",
        params=[Param("v")],
    )
    outcome = run(step, {"v": value})
    assert outcome.exit_code == 2
    assert outcome.output.splitlines() == [value, f"lit {value}", f"exp {value}"]
    assert (sandbox / "home" / "canary").exists()


def test_unknown_languages_are_refused(sandbox: Path) -> None:
    outcome = run(Step(phase="act", lang="sql", code="select 1", line=1))
    assert outcome.status == "failed" and "sql" in (outcome.error or "")
