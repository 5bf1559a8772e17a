"""A step's processes die with the step, and with opsdoc, even on ``kill -9``.

A step runs as the leader of its own session. Everything it starts is found
by walking ``/proc``: members of its session (``set -m`` moves background
jobs to other process groups, not out of the session) and descendants of
the step by parent id (``setsid`` leaves the session, not the family).

opsdoc cannot clean up after a SIGKILL of itself, so each step also gets a
watchdog: this file run as a separate tiny Python process (stdlib only, in
its own session, so a terminal hangup does not reach it). It holds the read
end of a pipe from opsdoc, notes the step's family every
:data:`WATCH_INTERVAL` seconds, and when opsdoc writes ``end`` or dies
(the pipe closes) it stops every process of that family still alive.
Processes are remembered with their start time, so a reused pid is never
signalled.

Not covered: a process that leaves the session *and* is orphaned within one
watch interval of being born (``setsid -f`` of a double fork), and anything
run under another user or in another PID namespace.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import time

if __name__ != "__main__":  # opsdoc's side; the watchdog process boots faster without them
    import contextlib
    import ctypes
    import subprocess
    import threading

WATCH_INTERVAL = 0.1  # seconds between two looks at the step's family
KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
PR_SET_CHILD_SUBREAPER = 36  # from <linux/prctl.h>

Proc = tuple[int, int]  # (pid, start time in clock ticks): one process, never a reused pid


def _table() -> dict[int, tuple[int, int, int, bytes, int]] | None:
    """pid -> (ppid, pgrp, session, state, start time); None without /proc."""
    if not os.path.exists("/proc/self/stat"):
        return None
    out: dict[int, tuple[int, int, int, bytes, int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt ... starttime(22)
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) < 20:
            continue
        out[int(name)] = (
            int(fields[1]),
            int(fields[2]),
            int(fields[3]),
            fields[0],
            int(fields[19]),
        )
    return out


def family(
    leader: int,
    born: int | None = None,
    adopter: int | None = None,
    others: frozenset[int] = frozenset(),
) -> set[Proc] | None:
    """Live processes of the step led by ``leader``: its session, its group, its descendants.

    ``born`` is the leader's start time: when the pid now belongs to a
    process started at another time, the step is long gone and nothing is
    returned. ``adopter`` is opsdoc when it reaps orphans (see
    :func:`adopt_orphans`): its children other than ``others`` (the
    watchdog) are orphans of the step. None when there is no /proc to look
    in (the caller falls back to the group).
    """
    table = _table()
    if table is None:
        return None
    if born is not None and leader in table and table[leader][4] != born:
        return set()
    # opsdoc's other children (an earlier step's, or a server's own, when opsdoc runs
    # inside one) are not this step's: only those born after the step count, and only
    # when the step's start is known; without it no adopted orphan is taken for the step's.
    adopted = adopter is not None and born is not None
    found = {
        pid
        for pid, (_ppid, pgrp, sid, _state, _start) in table.items()
        if sid == leader
        or pgrp == leader
        or pid == leader
        or (adopted and _ppid == adopter and pid not in others and _start >= (born or 0))
    }
    grew = True
    while grew:  # children of members, however far they moved away
        more = {pid for pid, row in table.items() if row[0] in found and pid not in found}
        found |= more
        grew = bool(more)
    found.discard(os.getpid())
    return {(pid, table[pid][4]) for pid in found if table[pid][3] != b"Z"}


def adopt_orphans() -> bool:
    """Make this process the reaper of its descendants' orphans (Linux prctl).

    A double fork (``setsid -f``, a daemon) then leaves its orphan as
    opsdoc's child instead of init's, still in the step's family.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_adopted(keep: frozenset[int] = frozenset()) -> None:
    """Collect the exit status of adopted orphans that died, so none lingers as a zombie."""
    me = os.getpid()
    for pid, row in (_table() or {}).items():
        if row[0] == me and row[3] == b"Z" and pid not in keep:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)


def start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot), to tell it from a later reuse."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    return int(fields[19]) if len(fields) >= 20 else None


def still_alive(procs: set[Proc]) -> set[Proc]:
    """Those of ``procs`` still running (same pid and start time, not a zombie)."""
    table = _table() or {}
    return {
        (pid, start)
        for pid, start in procs
        if pid in table and table[pid][4] == start and table[pid][3] != b"Z"
    }


def signal_all(procs: set[Proc], sig: int) -> None:
    for pid, _start in procs:
        try:  # noqa: SIM105 - the watchdog process does not import contextlib
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _spawn() -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(
            [sys.executable, "-I", "-S", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,  # never written: its end is how opsdoc sees it exit
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a hangup or Ctrl-C of the terminal must not reach it
            close_fds=True,
        )
    except OSError:
        return None


# The next step's watchdog, started when a step ends so that it has booted by the
# time the next step starts (a Python start costs more than a quick step). Idle, it
# waits for a step; when opsdoc exits its stdin closes and it exits too.
_spare: subprocess.Popen[bytes] | None = None
_spare_lock = threading.Lock() if __name__ != "__main__" else None


def _take() -> subprocess.Popen[bytes] | None:
    global _spare
    assert _spare_lock is not None
    with _spare_lock:
        proc, _spare = _spare, None
    if proc is not None and proc.poll() is None:
        return proc
    return _spawn()


def prepare_next() -> int | None:
    """Start the next step's watchdog now (before this step's leader, whose watchdog
    is told to leave it alone); its pid."""
    global _spare
    assert _spare_lock is not None
    with _spare_lock:
        if _spare is None or _spare.poll() is not None:
            _spare = _spawn()
        return _spare.pid if _spare is not None else None


class Watchdog:
    """opsdoc's side of the watchdog for one step."""

    def __init__(self) -> None:
        self.proc = _take()

    def watch(self, leader: int, born: int | None, spare: int | None = None) -> None:
        """Tell it which step to guard, and when it started (right after it started).

        ``born`` comes from opsdoc, which has not reaped the step yet: a step
        that ends before the watchdog looks would leave it without a start
        time, and so unable to tell the step's orphans from opsdoc's other children.
        ``spare`` is the next step's watchdog, a child of opsdoc that is not the step's.
        """
        line = f"{leader} {born if born is not None else '-'} {spare or '-'}\n"
        self._send(line.encode())

    def release(self) -> None:
        """The step is over: the watchdog stops any leftover and exits; wait for it."""
        if self.proc is None:
            return
        self._send(b"end\n")
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        out = self.proc.stdout
        if out is not None:  # its stdout closes when it exits: no polling clock to wait on
            with contextlib.suppress(OSError, ValueError):
                ready, _, _ = select.select([out], [], [], KILL_GRACE + 5)
                if ready:
                    out.read()
            out.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=KILL_GRACE + 5)
        reap_adopted()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def _send(self, data: bytes) -> None:
        if self.proc is None or self.proc.stdin is None:
            return
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdin.write(data)
            self.proc.stdin.flush()


def stop(procs: set[Proc], leader: int | None) -> None:
    """SIGTERM all of them; SIGKILL what is alive after the grace period."""
    signal_all(procs, signal.SIGTERM)
    end = time.monotonic() + KILL_GRACE
    while procs and time.monotonic() < end:
        procs = still_alive(procs)
        time.sleep(0.05)
    signal_all(still_alive(procs), signal.SIGKILL)
    if leader is not None and _table() is None:  # no /proc: the group is all we know
        try:  # noqa: SIM105 - the watchdog process does not import contextlib
            os.killpg(leader, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _main() -> None:
    """The watchdog process: read the step's pid, watch, stop its family at the end."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    leader: int | None = None
    born: int | None = None
    seen: set[Proc] = set()
    opsdoc, me = os.getppid(), frozenset({os.getpid()})  # orphans opsdoc adopted are the step's
    buffer = b""
    while True:
        ready, _, _ = select.select([0], [], [], WATCH_INTERVAL)
        if leader is not None:
            seen |= family(leader, born, opsdoc, me) or set()
        if not ready:
            continue
        data = os.read(0, 256)
        buffer += data
        lines = buffer.split(b"\n")
        buffer = lines.pop()
        done = not data
        for line in lines:
            words = line.split()
            if words and words[0].isdigit() and leader is None:
                leader = int(words[0])
                if len(words) > 1 and words[1].isdigit():
                    born = int(words[1])
                if len(words) > 2 and words[2].isdigit():
                    me = me | {int(words[2])}  # the next step's watchdog: not this step's
                seen |= family(leader, born) or set()
            elif line.strip() == b"end":
                done = True
        if done:
            break
    if leader is not None:
        alive = os.getppid() == opsdoc  # after a kill -9 its pid may be someone else's
        seen |= family(leader, born, opsdoc if alive else None, me) or set()
        stop(still_alive(seen), leader if born is not None else None)


if __name__ == "__main__":
    _main()
