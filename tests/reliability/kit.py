"""Reliability test kit: real Venn server processes, private Redis and PostgreSQL
servers, and Socket.IO load clients that track what was acked and what they saw."""

from __future__ import annotations

import asyncio
import contextlib
import glob
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from tests.helpers import server_env

PASSWORD = "reliability-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a test server: none of the caller's VENN_* settings leak in."""
    env = server_env(("VENN_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "OPENAI_"))
    env.update(
        SECRET_KEY="reliability-test-key",
        VENN_DATA_DIR=str(tmp_path / "data"),
        VENN_RATE_LIMIT_MESSAGES_PER_MINUTE="10000000",
        VENN_RATE_LIMIT_LOGINS_PER_MINUTE="10000000",
        VENN_SOCKET_EVENTS_PER_SECOND="100000",
        VENN_FAILED_LOGINS_PER_ADDRESS_PER_MINUTE="10000000",
        VENN_REGISTRATIONS_PER_ADDRESS_PER_MINUTE="10000000",
        VENN_FAILED_PASSWORD_CHANGES_PER_USER_PER_MINUTE="10000000",
        VENN_PRESENCE_GRACE_SECONDS="0.3",
        VENN_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


class VennProcess:
    """One `venn serve` subprocess; its output goes to a log file (appended across restarts)."""

    def __init__(self, env: dict[str, str], log_path: Path, port: int | None = None) -> None:
        self.env, self.log_path = env, log_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> VennProcess:
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "venn", "serve", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def ready(self, timeout: float = 60) -> None:
        """Wait until /readyz answers 200; fail with the log if the process dies or never gets there."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
            while True:
                with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
                    async with http.get(self.url + "/readyz") as resp:
                        if resp.status == 200:
                            return
                if self.proc is None or self.proc.poll() is not None or loop.time() > deadline:
                    raise AssertionError(f"server on port {self.port} did not get ready:\n{self.log()[-4000:]}")
                await asyncio.sleep(0.1)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def rss_kib(self) -> int:
        """Resident memory of the server process, in KiB."""
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS")


@contextlib.asynccontextmanager
async def own_pg_database(url: str):
    """A fresh database of the test's own on the server of ``url``, dropped afterwards."""
    from urllib.parse import urlparse, urlunparse

    import asyncpg

    name = f"venn_rel_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlunparse(urlparse(url)._replace(path="/" + name))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def fetch_rows(database_url: str, query: str) -> list[tuple]:
    """Run a read query straight against the database (not through Venn)."""
    if database_url.startswith("sqlite:///"):
        import sqlite3

        conn = sqlite3.connect(database_url[len("sqlite:///"):])
        try:
            return [tuple(r) for r in conn.execute(query).fetchall()]
        finally:
            conn.close()
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        return [tuple(r) for r in await conn.fetch(query)]
    finally:
        await conn.close()


# REST helpers -------------------------------------------------------------------


class Rest:
    """A thin REST client for arranging a test against a real server."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))

    async def close(self) -> None:
        await self.http.close()

    async def request(self, method: str, path: str, token: str | None = None, **kw: Any) -> tuple[int, Any]:
        headers = kw.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.url + path, headers=headers, **kw) as resp:
            ctype = resp.headers.get("Content-Type", "")
            body = await resp.json() if "json" in ctype else await resp.text()
            return resp.status, body

    async def user(self, username: str | None = None) -> dict[str, Any]:
        """Register and log in; returns ``{id, username, token}``."""
        username = username or f"u{uuid.uuid4().hex[:10]}"
        status, body = await self.request(
            "POST", "/api/v1/auth/register", json={"username": username, "password": PASSWORD}
        )
        assert status == 201, body
        return await self.login(username)

    async def login(self, username: str) -> dict[str, Any]:
        status, body = await self.request(
            "POST", "/api/v1/auth/login", json={"username": username, "password": PASSWORD}
        )
        assert status == 200, body
        return {"id": body["user"]["id"], "username": username, "token": body["access_token"]}

    async def channel(self, owner: dict, *, private: bool = False, members: list[dict] = ()) -> dict[str, Any]:
        name = f"c{uuid.uuid4().hex[:10]}"
        status, body = await self.request(
            "POST", "/api/v1/channels", owner["token"], json={"name": name, "is_private": private}
        )
        assert status == 201, body
        channel = body["channel"]
        for person in members:
            status, body = await self.request(
                "POST", f"/api/v1/channels/{channel['id']}/members", owner["token"], json={"user_id": person["id"]}
            )
            assert status == 201, body
        return channel


# Load clients -------------------------------------------------------------------


class LoadClient:
    """A socket that sends messages to one channel as fast as acks come back.

    It reconnects on its own (with the same token), joins its channel, catches up with
    ``sync`` and resends its un-acked message with the same ``client_msg_id``. ``view``
    is what it has seen of the channel (live events and sync, merged by id); ``acked``
    is every message the server acknowledged to it.
    """

    def __init__(self, name: str, url: str, token: str, channel_id: int, *, send: bool = True,
                 pause: float = 0.0, call_timeout: float = 5.0) -> None:
        self.name, self.url, self.token, self.channel_id = name, url, token, channel_id
        self.send_enabled, self.pause, self.call_timeout = send, pause, call_timeout
        self.view: dict[int, dict] = {}
        self.acked: dict[str, dict] = {}  # client_msg_id -> message
        self.unacked: tuple[str, str] | None = None  # (client_msg_id, body)
        self.seq = 0
        self.stopping = False
        self.connects = 0
        self.errors: list[Any] = []
        self.sio: socketio.AsyncClient | None = None
        self._task: asyncio.Task | None = None

    @property
    def cursor(self) -> int:
        ids = [m["id"] for m in self.view.values() if m.get("thread_id") is None]
        return max(ids, default=0)

    def _see(self, message: dict) -> None:
        if message.get("channel_id") == self.channel_id and message.get("thread_id") is None:
            self.view[message["id"]] = message

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"load-{self.name}")

    async def finish(self, timeout: float = 60) -> None:
        """Stop sending once the in-flight message is acked; then sync a last time."""
        self.stopping = True
        assert self._task is not None
        await asyncio.wait_for(self._task, timeout)

    async def close(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await self.sio.disconnect()

    async def _connect(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)

        async def on_new(data):
            self._see(data["message"])

        sio.on("new_message", on_new)
        sio.on("message_updated", on_new)
        # The catch-up cursor is what we held *before* this connection: live events
        # that arrive between join_channel and sync must not move it past a message
        # that was committed but never broadcast (e.g. by a server that crashed).
        cursor = self.cursor
        await sio.connect(self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=10)
        self.connects += 1
        answer = await sio.call("join_channel", {"channel_id": self.channel_id}, timeout=self.call_timeout)
        if not answer.get("ok"):
            raise RuntimeError(f"join failed: {answer}")
        await self.sync(sio, cursor)
        return sio

    async def sync(self, sio: socketio.AsyncClient | None = None, cursor: int | None = None) -> None:
        """Catch up from ``cursor`` (default: the highest id held), page by page."""
        sio = sio or self.sio
        assert sio is not None
        cursor = self.cursor if cursor is None else cursor
        while True:
            answer = await sio.call(
                "sync", {"cursors": {str(self.channel_id): cursor}, "limit": 200}, timeout=self.call_timeout
            )
            if not answer.get("ok"):
                raise RuntimeError(f"sync failed: {answer}")
            entry = answer["channels"][0]
            if "error" in entry:
                raise RuntimeError(f"sync failed: {entry}")
            for message in entry["updates"] + entry["messages"]:
                self._see(message)
            if entry["messages"]:
                cursor = entry["messages"][-1]["id"]
            if not entry["has_more"]:
                return

    async def _send_one(self, sio: socketio.AsyncClient) -> None:
        if self.unacked is None:
            self.seq += 1
            self.unacked = (f"{self.name}-{self.seq}-{uuid.uuid4().hex[:8]}", f"{self.name} message {self.seq}")
        cmid, body = self.unacked
        answer = await sio.call(
            "send_message", {"channel_id": self.channel_id, "body": body, "client_msg_id": cmid},
            timeout=self.call_timeout,
        )
        if answer.get("ok"):
            assert answer["message"]["client_msg_id"] == cmid, answer
            self.acked[cmid] = answer["message"]
            self.unacked = None
        else:
            self.errors.append(answer["error"])
            await asyncio.sleep(float(answer["error"].get("retry_after", 0.2)))

    async def _run(self) -> None:
        while True:
            try:
                if self.sio is None or not self.sio.connected:
                    if self.sio is not None:
                        with contextlib.suppress(Exception):
                            await self.sio.disconnect()
                    self.sio = None
                    self.sio = await self._connect()
                if self.unacked is not None or (self.send_enabled and not self.stopping):
                    await self._send_one(self.sio)
                    if self.pause:
                        await asyncio.sleep(self.pause)
                elif self.stopping:
                    await self.sync()
                    return
                else:
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # server gone, timed out, refused: reconnect and retry
                self.errors.append(repr(exc))
                if self.sio is not None:
                    with contextlib.suppress(Exception):
                        await self.sio.disconnect()
                self.sio = None
                await asyncio.sleep(0.2)


# Private servers ----------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own (never the shared one), on a free port."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.dir = tmp_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def find_pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class PrivateCluster:
    """A throw-away PostgreSQL cluster (initdb as the ``postgres`` user, trust auth)."""

    def __init__(self, bindir: Path, root: Path) -> None:
        self.bindir, self.root = bindir, root
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60) -> None:
        result = subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True, timeout=timeout
        )
        if result.returncode != 0:
            raise AssertionError(f"{args[0]} failed: {result.stdout}\n{result.stderr}")

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres", "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                  "--no-sync")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.root / "pg.log"),
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def destroy(self) -> None:
        if self.running():
            with contextlib.suppress(Exception):
                self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


async def load_clients(rest: Rest, url: str, prefix: str, *, clients: int, users: int, channels: int,
                       **options: Any) -> list[LoadClient]:
    """``clients`` load clients (not started) spread over ``users`` new users who all
    belong to ``channels`` new channels: client i is user ``i % users`` in channel
    ``i % channels``. ``options`` go to :class:`LoadClient`."""
    people = [await rest.user() for _ in range(users)]
    rooms = [await rest.channel(people[0], members=people[1:]) for _ in range(channels)]
    return [
        LoadClient(f"{prefix}{i}", url, people[i % users]["token"], rooms[i % channels]["id"], **options)
        for i in range(clients)
    ]


@contextlib.contextmanager
def serving(env: dict[str, str], tmp: Path):
    """A `venn serve` subprocess on a free port, waited for without an event loop (for
    module fixtures); yields its URL and stops it afterwards. Its log is ``tmp/server.log``."""
    import requests

    port = free_port()
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "venn", "serve", "--port", str(port)], env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if requests.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert proc.poll() is None and time.time() < deadline, Path(log.name).read_text()
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
