"""Each run's events as a hash chain, keyed with a secret the database does not hold.

Every event's MAC is HMAC-SHA256 over the previous event's MAC and the
event as stored (run, seq, time, type, step, data text). The key lives
outside the journal's database (``journal.key`` in the user's config dir,
or the file ``$OPSDOC_JOURNAL_KEY_FILE`` names; the server passes its own
secret), so someone who can only edit the database can change an event but
cannot write a MAC that fits. Deleting a run's last events leaves a chain
that still verifies: the head an export carries is what shows that.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs

from opsdoc.errors import EXIT_BAD_INPUT, OpsdocError

KEY_ENV = "OPSDOC_JOURNAL_KEY_FILE"
KEY_FILE = "journal.key"
KEY_FIELD = "chain"  # run_started names the key its chain is keyed with (by its id)

Verdict = Literal["ok", "broken", "unsigned", "other_key"]


def key_path() -> Path:
    env = os.environ.get(KEY_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("opsdoc")) / KEY_FILE


def load_key(path: Path | None = None) -> bytes:
    """The journal key, made on first use (owner-only; two processes at once agree on one)."""
    path = path or key_path()
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        text = _create(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise _key_error(path, f"cannot read the journal key: {exc}") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise _key_error(path, "the journal key file does not hold a key (64 hex digits)")
    return key


def _create(path: Path) -> str:
    text = secrets.token_hex(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".journal-key-")
        try:
            os.write(fd, (text + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic: the first process to link wins, the rest read its key
        except FileExistsError:
            text = path.read_text(encoding="ascii").strip()
        finally:
            os.unlink(tmp)
    except OSError as exc:
        raise _key_error(path, f"cannot create the journal key: {exc.strerror or exc}") from None
    return text


def _key_error(path: Path, what: str) -> OpsdocError:
    return OpsdocError(
        what,
        path=str(path),
        hint=f"point {KEY_ENV} at a readable file, or remove the broken one to make a new key",
        exit_code=EXIT_BAD_INPUT,
    )


def key_id(key: bytes) -> str:
    """A name for the key that gives nothing away about it."""
    return hashlib.sha256(b"opsdoc journal key id\0" + key).hexdigest()[:16]


def mac(
    key: bytes, prev: str, run_id: str, seq: int, at: str, type: str, step: int | None, data: str
) -> str:
    # NUL never occurs in the fields before data (ids, times, names), and data is last.
    body = f"{prev}\0{run_id}\0{seq}\0{at}\0{type}\0{'' if step is None else step}\0{data}"
    return hmac.new(key, body.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


Row = tuple[
    str, int, str, str, int | None, str, str | None
]  # run_id, seq, at, type, step, data, mac


@dataclass
class RunCheck:
    """What ``journal verify`` found for one run."""

    run_id: str
    verdict: Verdict
    events: int
    head: str | None = None  # the MAC of the last event, when the chain holds
    seq: int | None = None  # the first event that does not fit
    why: str = ""


def check(key: bytes, rows: list[Row], named_key: str | None, head: str | None = None) -> RunCheck:
    """Walk one run's rows (in seq order) and say whether the chain holds."""
    run_id = rows[0][0] if rows else ""
    count = len(rows)
    if named_key is None and all(r[6] is None for r in rows):
        return RunCheck(run_id, "unsigned", count, why="written before the journal was chained")
    if named_key is not None and named_key != key_id(key):
        why = f"chained with another key ({named_key}); this key is {key_id(key)}"
        return RunCheck(run_id, "other_key", count, why=why)
    prev = ""
    reached = head is None
    later = 0  # events after the given head, when it is on the chain
    for expected, (rid, seq, at, type, step, data, stored) in enumerate(rows, start=1):
        if seq != expected:
            why = f"event {expected} is missing" if seq > expected else f"event {seq} repeats"
            return RunCheck(run_id, "broken", count, seq=expected, why=why)
        if stored is None:
            return RunCheck(run_id, "broken", count, seq=seq, why=f"event {seq} has no MAC")
        if not hmac.compare_digest(mac(key, prev, rid, seq, at, type, step, data), stored):
            why = f"event {seq} ({type}) was changed, or the chain was rebuilt without the key"
            return RunCheck(run_id, "broken", count, seq=seq, why=why)
        prev = stored
        if reached:
            later += head is not None
        reached = reached or stored == head
    if not reached:
        why = (
            "the chain does not reach the given head: events were removed from its end, "
            "or the head is another run's"
        )
        return RunCheck(run_id, "broken", count, head=prev, why=why)
    why = f"{later} event{'' if later == 1 else 's'} came after the given head" if later else ""
    return RunCheck(run_id, "ok", count, head=prev or None, why=why)
