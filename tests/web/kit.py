"""Browser test kit: a real ``venn serve`` process on 127.0.0.1, a small REST client,
and the Chromium options (Debian's ``chromium``, driven by Playwright's Python package;
no browser download)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.helpers import seed_sqlite, server_env

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
ARTIFACTS = REPO / "test-artifacts" / "web"

CHROMIUM = os.environ.get("VENN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Person:
    id: int
    username: str
    password: str
    token: str


class Server:
    """``venn serve`` in a child process, on a SQLite file in ``data_dir``; restartable on the same port."""

    def __init__(self, data_dir: Path, port: int | None = None, **extra_env: str) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / "server.log"
        env = server_env(("VENN_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "OPENAI_", "SNOWFLAKE_"))
        env.update(
            VENN_DATA_DIR=str(data_dir),
            SECRET_KEY="browser-test-secret-key-0123456789",
            VENN_RATE_LIMIT_MESSAGES_PER_MINUTE="10000",
            VENN_RATE_LIMIT_LOGINS_PER_MINUTE="10000",
            VENN_PRESENCE_GRACE_SECONDS="0.5",
            VENN_LOG_LEVEL="WARNING",
            VENN_WEB_DIR=str(WEB),
        )
        env.update(extra_env)
        self.env = env

    def start(self, timeout: float = 30) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if "DATABASE_URL" not in self.env:
            seed_sqlite(self.data_dir / "venn.db")  # migrated already: seconds saved per server
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "venn", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError("the server did not start:\n" + self.log_path.read_text()[-4000:])
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None

    # REST ------------------------------------------------------------------

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + "/api/v1" + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def ok(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        status, data = self.call(method, path, body, token)
        assert 200 <= status < 300, (status, data)
        return data

    def login(self, username: str, password: str = "correct-horse") -> Person:
        data = self.ok("POST", "/auth/login", {"username": username, "password": password})
        return Person(data["user"]["id"], username, password, data["access_token"])

    def person(self, username: str, password: str = "correct-horse") -> Person:
        """Register through the API and log in."""
        self.ok("POST", "/auth/register", {"username": username, "password": password})
        return self.login(username, password)

    def create_admin(self, username: str, password: str = "correct-horse") -> None:
        """``venn create-admin`` against this server's database."""
        result = subprocess.run(
            [sys.executable, "-m", "venn", "create-admin", username, "--password-stdin"],
            input=password + "\n", env=self.env, cwd=REPO, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stderr


#: the npm folders the browser tests need, each with a file its packages install
NPM_FOLDERS = (
    (WEB, "socket.io-client/dist/socket.io.esm.min.js"),
    (WEB, "axe-core/axe.min.js"),  # a devDependency, for the accessibility checks
    (REPO / "plugins" / "sql_agent" / "web", "vega-embed/build/vega-embed.min.js"),  # the SQL agent's charts
)


def ensure_web_packages() -> str | None:
    """Install web/node_modules (and the SQL agent's chart libraries) with npm when
    missing; the reason to skip, or None."""
    missing = [folder for folder, asset in NPM_FOLDERS if not (folder / "node_modules" / asset).is_file()]
    if not missing:
        return None
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed: the web client's packages (web/node_modules) cannot be installed"
    import fcntl

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(ARTIFACTS / ".npm.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for folder, asset in NPM_FOLDERS:
            if (folder / "node_modules" / asset).is_file():
                continue
            command = "ci" if (folder / "package-lock.json").is_file() else "install"
            result = subprocess.run(
                [npm, command, "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=folder, capture_output=True, text=True, timeout=300,
            )
            assert result.returncode == 0, f"npm {command} failed in {folder}:\n{result.stdout}\n{result.stderr}"
    return None


def watch_llm_responses(page) -> list[dict]:
    """The data of the ``llm_response`` events the page's socket receives from now on."""
    seen: list[dict] = []

    def frame(payload) -> None:
        # a Socket.IO event is "42" followed by the JSON array [name, data]
        if isinstance(payload, str) and payload.startswith("42") and "llm_response" in payload:
            name, data = json.loads(payload[2:])[:2]
            if name == "llm_response":
                seen.append(data)

    page.on("websocket", lambda ws: ws.on("framereceived", frame))
    return seen


class InThread:
    """An asyncio loop in a thread of its own, for async test servers next to sync Playwright."""

    def __init__(self) -> None:
        import asyncio

        self._asyncio = asyncio
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 30):
        return self._asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()
