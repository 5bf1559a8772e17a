"""What a server serves: its runbook folders, its index, its journal, where it listens."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from opsdoc.errors import OpsdocError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8321


@dataclass
class ServerSettings:
    roots: list[Path] = field(default_factory=list)
    index: Path | None = None  # None: the CLI's cache for these roots
    journal: str | None = None  # a file or a DSN; None: the CLI's default
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT

    def check(self) -> None:
        """Refuse what this version cannot serve safely: there is no login yet."""
        if not self.roots:
            raise OpsdocError("serve needs runbooks", hint="pass --in FOLDER (repeatable)")
        for root in self.roots:
            if not root.exists():
                raise OpsdocError("no such file or directory", path=str(root))
        if not _loopback(self.host):
            raise OpsdocError(
                f"opsdoc serve has no login yet: it listens on this machine only, not {self.host}",
                hint="use --host 127.0.0.1 (the default) or ::1, and a tunnel for others",
            )


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
