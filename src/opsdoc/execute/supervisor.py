"""The process supervisor: start a step's child in its own process group, pump its
output, stop the whole group, and keep a capped copy of what it printed.

The child runs in its own session and process group with stdin from
``/dev/null`` (or on a pseudo-terminal, see :mod:`opsdoc.execute.terminal`).
On timeout, on Ctrl-C or cancel, and when the step ends with processes of its
group still running (``cmd &``), the whole group gets SIGTERM, then SIGKILL
3 s later if anything is still alive; so do its session and descendants (see
:mod:`opsdoc.execute.children`), so a step leaves nothing running, even with
``setsid cmd &``. stdout and stderr are read together (a selector, in the
calling thread) and handed to ``hooks.output`` line by line as they arrive
(a partial line is flushed after 0.1 s of silence); an interleaved copy is
kept in a :class:`~opsdoc.execute.capture.Capture`.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, BinaryIO, Literal

from opsdoc.execute import MAX_OUTPUT_CHARS, Hooks, StepInterrupted, StepOutcome
from opsdoc.execute.cancel import NEVER, Cancelled
from opsdoc.execute.capture import Capture
from opsdoc.execute.children import (
    KILL_GRACE,
    Watchdog,
    adopt_orphans,
    family,
    prepare_next,
    signal_all,
    start_time,
)
from opsdoc.execute.terminal import Terminal

DRAIN_AFTER_EXIT = 0.5  # how long to wait for pipes held open by leftovers
PARTIAL_LINE_FLUSH = 0.1  # a line without its newline is shown after this much silence

Stream = Literal["stdout", "stderr"]


def supervise(
    argv: list[str],
    env: dict[str, str],
    cwd: Path | None,
    hooks: Hooks,
    timeout: float,
    started: float,
    terminal: int | None = None,
) -> StepOutcome:
    """Run ``argv`` to its end, its timeout, or Ctrl-C; what it did, as an outcome.

    ``started`` (a ``time.monotonic()`` value) is when the step began, for
    its timeout and duration; ``terminal`` (rows) runs it on a pseudo-terminal.
    Raises :class:`StepInterrupted` on Ctrl-C or cancel, after the group is gone.
    """
    adopting = adopt_orphans()  # a double fork's orphan stays ours to find
    watchdog = Watchdog()  # first, so that the step is guarded from its first instant
    spare = prepare_next()  # the next step's, booting while this one runs
    try:
        return _supervise_guarded(
            argv, env, cwd, hooks, timeout, started, watchdog, adopting, terminal, spare
        )
    finally:
        watchdog.release()


def _supervise_guarded(
    argv: list[str],
    env: dict[str, str],
    cwd: Path | None,
    hooks: Hooks,
    timeout: float,
    started: float,
    watchdog: Watchdog,
    adopting: bool,
    terminal: int | None = None,
    spare: int | None = None,
) -> StepOutcome:
    tty = Terminal(terminal) if terminal else None
    stdio: dict[str, Any] = (
        {"stdin": tty.child, "stdout": tty.child, "stderr": tty.child}
        if tty
        else {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    )
    try:
        proc = subprocess.Popen(argv, **stdio, cwd=cwd, env=env, start_new_session=True, bufsize=0)
    except FileNotFoundError:
        if cwd is not None and not Path(cwd).is_dir():
            error = f"working directory not found: {cwd}"
        else:
            error = f"{Path(argv[0]).name} is not installed (install it or put it on PATH)"
        if tty:
            tty.close()
        return StepOutcome(status="failed", error=error, duration=time.monotonic() - started)
    except OSError as exc:
        if tty:
            tty.close()
        return StepOutcome(
            status="failed",
            error=f"could not start {Path(argv[0]).name}: {exc.strerror or exc}",
            duration=time.monotonic() - started,
        )
    finally:
        if tty:
            tty.started()
    child = _Child(proc, hooks, tty.output() if tty else None)
    watchdog.watch(proc.pid, child.born, spare)
    child.adopter = os.getpid() if adopting else None
    child.others = frozenset(pid for pid in (watchdog.pid, spare) if pid)
    timed_out = False
    token = getattr(hooks, "cancel", NEVER)
    try:
        deadline = started + timeout
        while proc.poll() is None:
            token.check()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                child.stop()
                break
            child.pump(min(0.05, remaining))
        if not timed_out:
            child.drain(DRAIN_AFTER_EXIT)
            if child.group_alive():  # `cmd &` left behind: a step leaves nothing running
                child.stop()
        child.drain(1.0)
        child.flush()
        child.finished = True
        if child.interrupted:
            raise KeyboardInterrupt
    except (KeyboardInterrupt, Cancelled) as exc:
        child.stop()
        child.flush()
        why = f"cancelled ({exc.reason})" if isinstance(exc, Cancelled) else "interrupted (Ctrl-C)"
        outcome = StepOutcome(
            status="cancelled" if isinstance(exc, Cancelled) else "interrupted",
            exit_code=None,
            output=child.capture.text(),
            duration=time.monotonic() - started,
            error=f"{why}; the step's processes were stopped",
        )
        raise StepInterrupted(outcome) from None
    finally:
        child.close()  # stops the group first if anything above raised

    duration = time.monotonic() - started
    output = child.capture.text()
    if timed_out:
        return StepOutcome(
            status="timeout",
            exit_code=None,
            output=output,
            duration=duration,
            error=f"stopped after {timeout:g}s (timeout)",
        )
    code = proc.returncode
    if code == 0:
        return StepOutcome(status="ok", exit_code=0, output=output, duration=duration)
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        error = f"killed by {name}"
    elif code == 127:
        error = _not_found(child.stderr_tail)
    else:
        error = f"exited with code {code}"
    return StepOutcome(
        status="failed", exit_code=code, output=output, duration=duration, error=error
    )


_NOT_FOUND = re.compile(
    r"^(?:.*?: )?(?:line \d+: )?(.+?): (?:command not found|No such file or directory)$",
    re.MULTILINE,
)


def _not_found(stderr: str) -> str:
    """Exit 127: name the command bash could not find."""
    found = _NOT_FOUND.findall(stderr)
    if found:
        return f"command not found: {found[-1]} (install it or put it on PATH)"
    return "exited with code 127: a command was not found (install it or put it on PATH)"


class _Reader:
    """One pipe: bytes → text, split so that hooks see whole lines."""

    def __init__(self, name: Stream, *, terminal: bool = False) -> None:
        self.name: Stream = name
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.partial = ""
        self.since = 0.0
        self.terminal = terminal  # a terminal ends lines with \r\n

    def feed(self, data: bytes) -> str:
        text = self.partial + self.decoder.decode(data)
        if self.terminal:
            text = text.replace("\r\n", "\n")
        cut = max(text.rfind("\n"), text.rfind("\r")) + 1
        if not self.partial or cut:
            self.since = time.monotonic()
        self.partial = text[cut:]
        return text[:cut]

    def take_partial(self, final: bool = False) -> str:
        if final:
            self.partial += self.decoder.decode(b"", final=True)
        text, self.partial = self.partial, ""
        return text


class _Child:
    """A running child process group: its pipes, its capture, and how to stop it."""

    def __init__(
        self, proc: subprocess.Popen[bytes], hooks: Hooks, terminal: BinaryIO | None = None
    ) -> None:
        self.proc = proc
        self.pgid = proc.pid  # start_new_session: the child leads its own group
        self.born = start_time(proc.pid)  # so that a reused pid is never taken for it
        self.adopter: int | None = None  # opsdoc, when it reaps the step's orphans
        self.others: frozenset[int] = frozenset()  # opsdoc's children that are not the step's
        self.hooks = hooks
        self.capture = Capture(MAX_OUTPUT_CHARS, mask=getattr(hooks, "mask", None))
        self.stderr_tail = ""
        self.readers: list[_Reader] = []
        self.selector = selectors.DefaultSelector()
        # A terminal has one stream: the step's stdout and stderr, as a person sees them.
        pipes = (
            [("stdout", terminal)]
            if terminal
            else [("stdout", proc.stdout), ("stderr", proc.stderr)]
        )
        for name, pipe in pipes:
            assert pipe is not None
            os.set_blocking(pipe.fileno(), False)
            reader = _Reader(name, terminal=terminal is not None)  # type: ignore[arg-type]
            self.readers.append(reader)
            self.selector.register(pipe, selectors.EVENT_READ, reader)
        self.finished = False
        self.interrupted = False  # a Ctrl-C arrived while stop() was waiting

    # -- output --------------------------------------------------------------

    def emit(self, reader: _Reader, text: str) -> None:
        if not text:
            return
        self.capture.add(text)
        if reader.name == "stderr":
            self.stderr_tail = (self.stderr_tail + text)[-8192:]
        self.hooks.output(text, reader.name)

    def pump(self, wait: float) -> None:
        """Read what is there (waiting up to ``wait`` s) and pass it on."""
        if not self.selector.get_map():
            # Both pipes closed: wait for the process itself, not for the clock.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=max(wait, 0.0))
            return
        for key, _ in self.selector.select(max(wait, 0.0)):
            reader: _Reader = key.data
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                self.emit(reader, reader.feed(data))
            else:
                self.selector.unregister(key.fileobj)
                key.fileobj.close()  # type: ignore[union-attr]
                self.emit(reader, reader.take_partial(final=True))
        now = time.monotonic()
        for reader in self.readers:
            if reader.partial and now - reader.since >= PARTIAL_LINE_FLUSH:
                self.emit(reader, reader.take_partial())

    def drain(self, limit: float) -> None:
        """Read until both pipes are closed, for at most ``limit`` seconds."""
        end = time.monotonic() + limit
        while self.selector.get_map() and time.monotonic() < end:
            self.pump(min(0.05, max(end - time.monotonic(), 0.0)))

    def flush(self) -> None:
        for reader in self.readers:
            self.emit(reader, reader.take_partial(final=not self.open(reader)))

    def open(self, reader: _Reader) -> bool:
        return any(key.data is reader for key in self.selector.get_map().values())

    # -- the process group -----------------------------------------------------

    def group_alive(self) -> bool:
        """Whether any live (non-zombie) process is left of the step: its session,
        its group, or a descendant (``set -m`` jobs, ``setsid`` children)."""
        members = family(self.pgid, self.born, self.adopter, self.others)
        return _group_alive(self.pgid) if members is None else bool(members)

    def signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)
        signal_all(family(self.pgid, self.born, self.adopter, self.others) or set(), sig)

    def stop(self) -> None:
        """SIGTERM the group; SIGKILL whatever is alive 3 s later; reap the child."""
        # While the leader is unreaped its pid is the group's id and cannot be reused.
        if self.proc.returncode is None or self.group_alive():
            self.signal(signal.SIGTERM)
        end = time.monotonic() + KILL_GRACE
        try:
            while time.monotonic() < end:
                if self.proc.poll() is not None and not self.group_alive():
                    break
                self.pump(0.05)
        except KeyboardInterrupt:
            self.interrupted = True  # Ctrl-C while stopping: go straight to SIGKILL
        if self.proc.poll() is None or self.group_alive():
            self.signal(signal.SIGKILL)
        with contextlib.suppress(KeyboardInterrupt):
            self.proc.wait(timeout=5)
        self.finished = True

    def close(self) -> None:
        try:
            if self.proc.poll() is None or (not self.finished and self.group_alive()):
                self.signal(signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=KILL_GRACE)
                self.signal(signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
        finally:
            for key in list(self.selector.get_map().values()):
                with contextlib.suppress(Exception):
                    self.selector.unregister(key.fileobj)
                with contextlib.suppress(OSError):
                    key.fileobj.close()  # type: ignore[union-attr]
            self.selector.close()


def _group_alive(pgid: int) -> bool:
    """Whether the group has a process left, where there is no /proc to look in (macOS).

    With /proc, :func:`~opsdoc.execute.children.family` answers instead;
    here zombies count as alive.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
