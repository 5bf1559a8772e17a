"""``opsdoc serve``, driven over real HTTP: search, runbooks as written, the journal.

The server is the installed CLI in its own process; runbooks are untrusted
input, so a page must show their HTML as text and their secrets masked.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SEEDS, run_opsdoc

EVIL = """# Evil

## Peek at it

<script>alert(1)</script>

Click [here](javascript:alert(1)) or <img src=x onerror=alert(2)>.

```bash
PGPASSWORD=hunter2secret psql -c 'select 1'
echo "token ghp_abcdefghijklmnopqrstuvwxyz0123456789"
```
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, *args: str, cwd: Path) -> None:
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "opsdoc", "serve", "--port", str(self.port), *args],
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"serve exited: {self.proc.communicate()}")
            try:
                self.get("/api/runbooks")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        pytest.fail("serve did not come up")

    def get(self, path: str) -> tuple[int, dict[str, str], str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=60) as r:
                return r.status, dict(r.headers), r.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()

    def json(self, path: str) -> object:
        status, _headers, body = self.get(path)
        assert status == 200, body
        return json.loads(body)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture
def evil_server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    books = tmp_path / "books"
    books.mkdir()
    (books / "evil.md").write_text(EVIL)
    journal = tmp_path / "j.sqlite3"
    server = Server(
        "--in",
        str(books),
        "--journal",
        str(journal),
        "--index",
        str(tmp_path / "idx.sqlite3"),
        cwd=tmp_path,
    )
    yield server, journal
    server.stop()


def test_every_seed_is_served_whole_with_its_steps_as_cards(tmp_path) -> None:
    server = Server("--in", str(SEEDS), "--index", str(tmp_path / "idx.sqlite3"), cwd=tmp_path)
    try:
        refs = [r["ref"] for r in server.json("/api/runbooks")]
        assert len(refs) == len([p for p in SEEDS.iterdir() if p.is_file()]) == 5
        for ref in refs:
            status, headers, body = server.get(f"/runbooks/{ref}")
            assert status == 200, (ref, body[:300])
            assert "default-src 'self'" in headers["content-security-policy"]
            data = server.json(f"/api/runbooks/{ref}")
            with_steps = [s for s in data["sections"] if s["steps"]]
            assert with_steps, ref
            section = with_steps[0]
            status, _, page = server.get(f"/runbooks/{ref}?section={section['id']}")
            assert status == 200 and 'class="step ' in page
            assert page.count('class="step ') == len(section["steps"])
        hits = server.json("/api/search?q=duplicate+key+value+violates+unique+constraint")["hits"]
        assert hits and all(h["ref"] in refs for h in hits)
        status, _, page = server.get("/?q=duplicate+key+value+violates+unique+constraint")
        assert status == 200 and hits[0]["title"].split()[0] in page
    finally:
        server.stop()


def test_runbook_html_is_inert_and_secrets_are_masked(evil_server) -> None:
    server, _journal = evil_server
    status, _, page = server.get("/runbooks/evil.md")
    assert status == 200
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)" in page
    assert "javascript:" not in page.replace("[here](javascript:", "")  # no live link
    assert 'href="javascript' not in page and "<img src=x" not in page
    assert "hunter2secret" not in page and "PGPASSWORD=***" in page
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in page
    data = server.json("/api/runbooks/evil.md?section=peek-at-it")
    assert "hunter2secret" not in json.dumps(data)
    _, _, found = server.get("/api/search?q=hunter2secret+ghp_abcdefghijklmnopqrstuvwxyz0123456789")
    assert "ghp_abcdefghijklmnopqrstuvwxyz0123456789" not in found


def test_only_served_files_can_be_named(evil_server) -> None:
    server, _journal = evil_server
    for path in (
        "/runbooks/../../../etc/passwd",
        "/runbooks/%2e%2e/%2e%2e/etc/passwd",
        "/api/runbooks/..%2f..%2fetc%2fpasswd",
        "/runbooks/nope.md",
    ):
        status, _, body = server.get(path)
        assert status == 404, path
        assert "root:" not in body
    status, _, body = server.get("/api/runbooks/evil.md?section=nope")
    assert status == 404 and json.loads(body)["error"].startswith("no section")


def test_the_journal_is_served_runs_timelines_and_exports(evil_server, tmp_path) -> None:
    server, journal = evil_server
    book = tmp_path / "ok.md"
    book.write_text("# Ok\n\n## Check\n\n```bash\necho all good\n```\n")
    assert run_opsdoc("run", f"{book}#check", "--yes", "--journal", str(journal)).returncode == 0
    (run,) = server.json("/api/runs")
    assert run["status"] == "ok"
    status, _, page = server.get(f"/runs/{run['id']}")
    assert status == 200 and "all good" in page and "run finished: ok" in page
    status, headers, md = server.get(f"/runs/{run['id']}/export.md")
    assert status == 200 and headers["content-type"].startswith("text/markdown")
    assert md.startswith(f"# Run {run['id']}")
    data = server.json(f"/runs/{run['id']}/export.json")
    assert data["run"]["chain_head"]
    status, _, body = server.get("/api/runs/nosuchrun")
    assert status == 404 and "no run" in json.loads(body)["error"]
    assert server.json("/openapi.json")["info"]["title"] == "opsdoc"


def test_serve_refuses_to_listen_beyond_this_machine_without_a_login(tmp_path) -> None:
    result = run_opsdoc("serve", "--in", str(SEEDS), "--host", "0.0.0.0", cwd=tmp_path)
    assert result.returncode == 2
    assert "no login yet" in result.stderr and "Traceback" not in result.stderr
