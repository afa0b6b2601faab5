"""Two real server processes sharing PostgreSQL and Redis: each bot job runs once.

Each process is ``python -m venn serve`` with the tiny plugin package installed on its
path; the tests talk to them over REST (and Socket.IO) as clients would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.helpers import (
    copy_postgres_template,
    postgres_template,
    require_postgres,
    require_redis,
    reset_postgres,
    server_env,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]


async def own_database(url: str) -> str:
    """A database of these tests' own next to the test database (others may be wiping that
    one while our servers run); the test database itself if we may not create one."""
    from urllib.parse import urlparse

    import asyncpg

    parsed = urlparse(url)
    name = ((parsed.path or "/").lstrip("/") or "postgres") + "_bots_scaleout"
    admin = url.replace("postgres://", "postgresql://", 1)
    try:
        conn = await asyncpg.connect(admin)
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
    except (asyncpg.InsufficientPrivilegeError, asyncpg.DuplicateDatabaseError):
        return url
    return parsed._replace(path="/" + name).geturl()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@pytest.fixture
async def cluster(tmp_path, tiny_site):
    """``start(name, **env)`` runs a server process; all share the database, Redis and stream."""
    pg, redis_url = await own_database(require_postgres()), require_redis()
    if pg != require_postgres():
        # a migrated copy: the servers then migrate only the test plugins' tables
        await copy_postgres_template(pg, await postgres_template(require_postgres()))
    else:
        await reset_postgres(pg)
    run = uuid.uuid4().hex[:8]
    base = server_env(("VENN_", "DATABASE_URL", "REDIS_URL"))
    base.update(
        {
            "DATABASE_URL": pg,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "scale-out-test-secret",
            "PYTHONPATH": os.pathsep.join([str(tiny_site), str(ROOT)]),
            "VENN_BOT_STREAM": f"venn:test:{run}:jobs",
            "VENN_REDIS_PREFIX": f"venn:test:{run}:",
            "VENN_BOT_RECLAIM_SECONDS": "1",
            "VENN_BOT_WORKERS": "4",
            "VENN_RATE_LIMIT_MESSAGES_PER_MINUTE": "10000",
            "VENN_RATE_LIMIT_LOGINS_PER_MINUTE": "10000",
            "VENN_TEST_COUNTER_LOG": str(tmp_path / "counter.log"),
        }
    )
    servers: list[Server] = []

    async def start(name: str, **env: str) -> Server:
        port = free_port()
        log = tmp_path / f"{name}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "venn", "serve", "--port", str(port)],
            env={**base, "VENN_DATA_DIR": str(tmp_path / name), **env},
            stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=ROOT,
        )
        server = Server(proc, port, log)
        servers.append(server)
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while True:
                try:
                    async with http.get(server.url + "/readyz") as resp:
                        if resp.status == 200:
                            return server
                except aiohttp.ClientError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"{name} did not start:\n{server.output()}")
                await asyncio.sleep(0.1)

    start.counter_log = tmp_path / "counter.log"  # type: ignore[attr-defined]
    start.database_url = pg  # type: ignore[attr-defined]
    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.proc.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    keys = [k async for k in client.scan_iter(f"venn:test:{run}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


class Api:
    """A user's REST calls against one server or another."""

    def __init__(self, http: aiohttp.ClientSession, database_url: str) -> None:
        self.http = http
        self.database_url = database_url
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}

    async def call(self, server: Server, method: str, path: str, who: str | None = None, **kw):
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        async with self.http.request(method, server.url + path, headers=headers, **kw) as resp:
            data = await resp.json() if resp.status != 204 else None
            assert resp.status < 300, (resp.status, data)
            return data

    async def user(self, server: Server, name: str, *, admin: bool = False) -> None:
        body = {"username": name, "password": "correct-horse-battery"}
        data = await self.call(server, "POST", "/api/v1/auth/register", json=body)
        self.ids[name] = data["user"]["id"]
        if admin:
            import asyncpg

            conn = await asyncpg.connect(self.database_url.replace("postgres://", "postgresql://", 1))
            await conn.execute("UPDATE users SET role = 'admin' WHERE username = $1", name)
            await conn.close()
        self.tokens[name] = (await self.call(server, "POST", "/api/v1/auth/login", json=body))["access_token"]

    async def arrange(self, server: Server) -> tuple[int, int]:
        """boss (admin) and alice, a channel with a thread; returns their ids."""
        await self.user(server, "boss", admin=True)
        await self.user(server, "alice")
        channel = (await self.call(server, "POST", "/api/v1/channels", "alice", json={"name": "general"}))["channel"]
        root = await self.call(
            server, "POST", "/api/v1/messages", "alice", json={"channel_id": channel["id"], "body": "hi"}
        )
        thread = await self.call(
            server, "POST", "/api/v1/threads", "alice",
            json={"channel_id": channel["id"], "root_message_id": root["message"]["id"]},
        )
        return channel["id"], thread["thread"]["id"]

    async def post(self, server: Server, channel_id: int, body: str, thread_id: int | None = None) -> dict:
        data = {"channel_id": channel_id, "body": body, **({"thread_id": thread_id} if thread_id else {})}
        return (await self.call(server, "POST", "/api/v1/messages", "alice", json=data))["message"]

    async def bot_messages(self, server: Server, channel_id: int, thread_id: int | None = None) -> list[dict]:
        path = f"/api/v1/threads/{thread_id}/messages" if thread_id else f"/api/v1/messages/channel/{channel_id}"
        page = await self.call(server, "GET", path + "?limit=200", "alice")
        return [m for m in page["messages"] if m["kind"] == "bot"]


async def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


def log_lines(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()] if path.exists() else []


async def test_two_processes_run_every_job_exactly_once(cluster):
    a = await cluster("a")
    b = await cluster("b")
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, thread_id = await api.arrange(a)
        # counter on the channel (its stream), from one process
        await api.call(a, "POST", f"/api/v1/channels/{channel_id}/bots", "boss", json={"plugin": "counter"})
        posted = await asyncio.gather(*[api.post(a if i % 2 else b, channel_id, f"n{i}") for i in range(20)])
        wanted = {f"counted {m['id']}" for m in posted}

        async def all_counted():
            replies = await api.bot_messages(b, channel_id)
            return replies if {r["body"] for r in replies} >= wanted else None

        await wait_until(all_counted)
        await asyncio.sleep(1.5)  # time enough for a duplicate to show up
        replies = await api.bot_messages(a, channel_id)
        assert sorted(r["body"] for r in replies) == sorted(wanted)  # one reply per message
        lines = log_lines(cluster.counter_log)
        done = Counter(job for kind, job, pid, msg in lines if kind == "done")
        assert len(done) == 20 and set(done.values()) == {1}  # every job ran once
        pids = {pid for kind, job, pid, msg in lines}
        assert pids <= {str(a.proc.pid), str(b.proc.pid)}


async def test_a_bot_enabled_through_one_process_wakes_in_the_other(cluster):
    """Each process remembers which channels have bots; a change made through another
    process must reach it (Redis), or its next message there would miss the bot."""
    a = await cluster("a")
    b = await cluster("b")
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, thread_id = await api.arrange(a)
        before = await api.post(b, channel_id, "no bots yet")  # b reads its list now
        await asyncio.sleep(0.5)
        assert await api.bot_messages(a, channel_id) == []
        await api.call(a, "POST", f"/api/v1/channels/{channel_id}/bots", "boss", json={"plugin": "counter"})
        after = await api.post(b, channel_id, "now counted")

        async def counted():
            return [r["body"] for r in await api.bot_messages(a, channel_id)] or None

        assert await wait_until(counted) == [f"counted {after['id']}"]
        assert before["id"] < after["id"]


async def test_echo_reply_reaches_clients_of_both_processes_once(cluster):
    import socketio

    a = await cluster("a")
    b = await cluster("b")
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, thread_id = await api.arrange(a)
        await api.call(a, "POST", f"/api/v1/threads/{thread_id}/bots", "boss", json={"plugin": "echo"})
        received: dict[str, list[dict]] = {"a": [], "b": []}
        clients = []
        for name, server in (("a", a), ("b", b)):
            sio = socketio.AsyncClient(reconnection=False)

            def on_message(data, name=name):
                message = data.get("message", data)
                if message.get("author", {}).get("is_bot") and message.get("kind") == "bot":
                    received[name].append(message)

            sio.on("new_message", on_message)
            await sio.connect(server.url, auth={"token": api.tokens["alice"]}, transports=["websocket"])
            ack = await sio.call("join_thread", {"thread_id": thread_id}, timeout=10)
            assert ack.get("ok"), ack
            clients.append(sio)
        try:
            await api.post(b, channel_id, "hello from b", thread_id)

            async def both_heard():
                return all(received.values())

            await wait_until(both_heard)
            await asyncio.sleep(1.0)
            for name in ("a", "b"):
                assert [m["body"] for m in received[name]] == ["hello from b"], name
            replies = await api.bot_messages(a, channel_id, thread_id)
            assert [r["body"] for r in replies] == ["hello from b"]
        finally:
            for sio in clients:
                await sio.disconnect()


async def test_a_killed_workers_job_is_reclaimed_and_run_once(cluster):
    a = await cluster("a", VENN_TEST_COUNTER_HANG="hang")
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, _ = await api.arrange(a)
        await api.call(a, "POST", f"/api/v1/channels/{channel_id}/bots", "boss", json={"plugin": "counter"})
        message = await api.post(a, channel_id, "please hang")

        async def a_started():
            return [line for line in log_lines(cluster.counter_log) if line[0] == "start"]

        [started] = await wait_until(a_started)
        assert started[2] == str(a.proc.pid) and started[3] == str(message["id"])
        a.proc.send_signal(signal.SIGKILL)  # dies holding the job
        a.proc.wait(timeout=10)
        b = await cluster("b")  # the job is not waiting in the stream: only reclaim finds it

        async def counted():
            replies = await api.bot_messages(b, channel_id)
            return replies or None

        replies = await wait_until(counted)
        await asyncio.sleep(1.5)
        replies = await api.bot_messages(b, channel_id)
        assert [r["body"] for r in replies] == [f"counted {message['id']}"]
        lines = log_lines(cluster.counter_log)
        job = started[1]
        assert [(kind, pid) for kind, j, pid, _ in lines if j == job] == [
            ("start", str(a.proc.pid)), ("start", str(b.proc.pid)), ("done", str(b.proc.pid)),
        ]
        assert "bot job reclaimed from a silent worker" in b.output()
