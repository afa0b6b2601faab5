"""Fixtures of the real-time tests: real servers on 127.0.0.1, python-socketio clients.

``sockets`` opens clients against the ``client`` fixture's server (a real TCP
server running the app of ``tests/conftest.py``); they are closed after the test.
Timings (presence grace, typing expiry) are shortened through the environment.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import Person
from tests.venn.realtime.kit import FAST_TIMINGS, Sock

REPO = Path(__file__).resolve().parents[3]
NODE_DIR = REPO / "test-artifacts" / "node"
PACKAGE = {"name": "venn-test-clients", "private": True, "dependencies": {"socket.io-client": "^4.8.0"}}


@pytest.fixture(autouse=True)
def fast_realtime(monkeypatch):
    for name, value in FAST_TIMINGS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
async def sockets(client):
    """``await sockets(person)`` → a connected :class:`Sock`; ``sockets.new(person)`` unconnected."""
    opened: list[Sock] = []
    url = str(client.make_url("/"))

    class Factory:
        url_ = url

        def new(self, person: Person | None = None, *, url: str | None = None) -> Sock:
            sock = Sock(url or self.url_, person)
            opened.append(sock)
            return sock

        async def __call__(self, person: Person, **options: Any) -> Sock:
            return await self.new(person).connect(**options)

    yield Factory()
    for sock in opened:
        try:
            await sock.close()
        except Exception:
            pass


@pytest.fixture(scope="session")
def socket_io_client() -> Path:
    """The official JavaScript client, installed with npm into ``test-artifacts/node/``
    on first use (for tests that run it under Node)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the socket.io-client test and are not installed")
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    module = NODE_DIR / "node_modules" / "socket.io-client"
    with open(NODE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one install at a time, across test runs
        if not (module / "package.json").exists():
            (NODE_DIR / "package.json").write_text(json.dumps(PACKAGE, indent=2))
            result = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=NODE_DIR, capture_output=True, text=True, timeout=300,
            )
            assert result.returncode == 0, f"npm install socket.io-client failed:\n{result.stdout}\n{result.stderr}"
    return module
