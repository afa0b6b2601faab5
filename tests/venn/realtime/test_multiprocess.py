"""Two real server processes sharing PostgreSQL and Redis act as one.

A client on one process gets messages, typing, presence and a logout from a client
on the other; posts to one channel arrive in id order whichever process took them.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import uuid
from urllib.parse import urlparse, urlunparse

import aiohttp
import pytest

from tests.helpers import Chat, postgres_template, require_postgres, require_redis, reset_postgres, server_env
from tests.venn.realtime.kit import FAST_TIMINGS, Sock

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Http:
    """Enough of aiohttp's test client for :class:`tests.helpers.Chat`, on a real URL."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base.rstrip("/")

    def post(self, path: str, **kwargs):
        return self.session.post(self.base + path, **kwargs)

    def get(self, path: str, **kwargs):
        return self.session.get(self.base + path, **kwargs)


@pytest.fixture
async def own_database():
    """A PostgreSQL database of this test's own (dropped afterwards), on the server of
    VENN_TEST_DATABASE_URL; that database itself when one cannot be created."""
    import asyncpg

    url = require_postgres()
    parsed = urlparse(url)
    name = f"venn_rt_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        # a migrated copy (two_servers would migrate it first anyway: seconds saved)
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{await postgres_template(url)}"')
    except asyncpg.PostgresError:
        await admin.close()
        await reset_postgres(url)
        yield url
        return
    try:
        yield urlunparse(parsed._replace(path="/" + name))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def two_servers(tmp_path, own_database):
    import redis.asyncio as aioredis

    from venn import db

    pg_url, redis_url = own_database, require_redis()
    await db.apply_migrations(pg_url)  # once, before two processes race to do it
    prefix = f"venntest:{uuid.uuid4().hex[:12]}:"
    own = ("VENN_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY")
    env = server_env(own)
    env.update(FAST_TIMINGS)
    env.update(
        DATABASE_URL=pg_url,
        REDIS_URL=redis_url,
        SECRET_KEY="multi-process-test-key",
        VENN_DATA_DIR=str(tmp_path / "data"),
        VENN_REDIS_PREFIX=prefix,
        VENN_RATE_LIMIT_MESSAGES_PER_MINUTE="10000",
        VENN_RATE_LIMIT_LOGINS_PER_MINUTE="10000",
        VENN_LOG_LEVEL="WARNING",
    )
    ports = [free_port(), free_port()]
    logs = [open(tmp_path / f"server{i}.log", "w+") for i in range(2)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "venn", "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        async with aiohttp.ClientSession() as http:
            for url, proc in zip(urls, procs, strict=True):
                deadline = asyncio.get_running_loop().time() + 30
                while True:
                    try:
                        async with http.get(url + "/readyz") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientError:
                        pass
                    if proc.poll() is not None or asyncio.get_running_loop().time() > deadline:
                        raise AssertionError("server did not start:\n" + open(logs[procs.index(proc)].name).read())
                    await asyncio.sleep(0.1)
        yield urls, procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in logs:
            log.seek(0)
            text = log.read()
            log.close()
            assert "Traceback" not in text, text
        redis = aioredis.from_url(redis_url, decode_responses=True)
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_two_processes_act_as_one(two_servers):
    (url1, url2), (_, proc2) = two_servers
    async with aiohttp.ClientSession() as session:
        one, two = Http(session, url1), Http(session, url2)
        chat = Chat(one)
        alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
        channel = await chat.channel(alice, "general", members=[bob, carol])
        cid = channel["id"]
        a, b, c = Sock(url1, alice), Sock(url2, bob), Sock(url2, carol)
        try:
            await a.connect()
            await b.connect()
            for sock in (a, b):
                await sock.ok("join_channel", {"channel_id": cid})

            # messages, both ways
            answer = await b.ok("send_message", {"channel_id": cid, "body": "from two", "client_msg_id": "b1"})
            sent = answer["message"]
            assert (await a.wait("new_message", lambda d: d["message"]["id"] == sent["id"]))["message"] == sent
            answer = await a.ok("send_message", {"channel_id": cid, "body": "from one", "client_msg_id": "a1"})
            sent = answer["message"]
            assert (await b.wait("new_message", lambda d: d["message"]["id"] == sent["id"]))["message"] == sent
            # REST on either process is broadcast alike
            rest = await Chat(two).post(carol, cid, "via REST on two")
            await a.wait("new_message", lambda d: d["message"]["id"] == rest["id"])

            # typing
            await b.ok("typing", {"channel_id": cid})
            assert (await a.wait("typing_indicator"))["user"]["id"] == bob.id
            await a.wait("typing_indicator", lambda d: d["typing"] is False)

            # presence: carol comes and goes on process two; alice on one sees it, REST on one says so
            await c.connect()
            await a.wait("user_status", lambda d: d["user_id"] == carol.id and d["status"] == "online")
            resp = await one.get(f"/api/v1/users/{carol.id}", headers=alice.headers)
            assert (await resp.json())["user"]["status"] == "online"
            await c.close()
            await a.wait("user_status", lambda d: d["user_id"] == carol.id and d["status"] == "offline")

            # posts to one channel through both processes reach everyone in id order
            for sock in (a, b):
                sock.events.clear()

            async def burst(sock, tag):
                for i in range(10):
                    await sock.ok(
                        "send_message", {"channel_id": cid, "body": f"{tag}{i}", "client_msg_id": f"{tag}-{i}"}
                    )

            await asyncio.gather(burst(a, "x"), burst(b, "y"), *[Chat(two).post(carol, cid, f"z{i}") for i in range(5)])
            for sock in (a, b):
                await sock.wait("new_message", lambda d: True)
                await asyncio.sleep(0)
            for sock in (a, b):
                deadline = asyncio.get_running_loop().time() + 5
                while len(sock.of("new_message")) < 25 and asyncio.get_running_loop().time() < deadline:
                    await asyncio.sleep(0.02)
                ids = [d["message"]["id"] for d in sock.of("new_message")]
                assert len(ids) == 25 and ids == sorted(ids), ids

            # logout through process two disconnects alice's socket on process one
            resp = await two.post("/api/v1/auth/logout", headers=alice.headers)
            assert resp.status == 204
            await asyncio.wait_for(a.disconnected.wait(), 5)
            assert a.of("session_revoked") == [{"user_id": alice.id}]
            await b.ok("ping")

            # process two stops (SIGTERM) with bob connected: bob is disconnected, the
            # process exits cleanly, and process one announces bob offline
            alice = await chat.user("alice2")
            resp = await one.post(f"/api/v1/channels/{cid}/join", headers=alice.headers)
            assert resp.status == 200
            a = Sock(url1, alice)
            await a.connect()
            await a.ok("join_channel", {"channel_id": cid})
            proc2.terminate()
            await asyncio.wait_for(b.disconnected.wait(), 10)
            assert await asyncio.to_thread(proc2.wait, 15) == 0
            await a.wait("user_status", lambda d: d["user_id"] == bob.id and d["status"] == "offline")
        finally:
            for sock in (a, b, c):
                await sock.close()


async def test_reactions_at_once_through_two_processes_all_count(two_servers):
    """Reactions are changed under the message's row lock: many people reacting to one
    message at once, through both processes, lose none; each process's sockets hear of
    the other's reactions and pins."""
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        one, two = Http(session, url1), Http(session, url2)
        chat = Chat(one)
        alice = await chat.user("alice")
        people = [await chat.user() for _ in range(12)]
        channel = await chat.channel(alice, "general", members=people)
        message = await chat.post(alice, channel["id"], "react to me")
        watcher = Sock(url1, alice)
        socks = [Sock(url2, person) for person in people[:4]]
        try:
            await watcher.connect()
            await watcher.ok("join_channel", {"channel_id": channel["id"]})
            for sock in socks:
                await sock.connect()

            async def by_rest(i, person):
                via = one if i % 2 else two
                url = f"/api/v1/messages/{message['id']}/reactions"
                async with via.post(url, json={"emoji": "+1" if i % 3 else "heart"}, headers=person.headers) as resp:
                    assert resp.status == 200, await resp.text()

            async def by_socket(sock):
                await sock.ok("add_reaction", {"message_id": message["id"], "emoji": "👍"})
                await sock.ok("add_reaction", {"message_id": message["id"], "emoji": "❤"})

            await asyncio.gather(
                *[by_rest(i, p) for i, p in enumerate(people[4:])], *[by_socket(sock) for sock in socks]
            )
            async with two.get(f"/api/v1/messages/{message['id']}", headers=alice.headers) as resp:
                reactions = {r["emoji"]: r for r in (await resp.json())["message"]["reactions"]}
            by_rest_thumbs = {p.id for i, p in enumerate(people[4:]) if i % 3}
            by_rest_hearts = {p.id for i, p in enumerate(people[4:]) if not i % 3}
            by_sockets = {p.id for p in people[:4]}
            assert set(reactions["👍"]["user_ids"]) == by_rest_thumbs | by_sockets
            assert set(reactions["❤️"]["user_ids"]) == by_rest_hearts | by_sockets
            assert reactions["👍"]["count"] == len(by_rest_thumbs | by_sockets)
            # every change was told to the socket on the other process (16 of them)
            deadline = asyncio.get_running_loop().time() + 5
            while len(watcher.of("reaction_added")) < 16 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.02)
            assert len(watcher.of("reaction_added")) == 16

            async with two.post(f"/api/v1/messages/{message['id']}/pin", headers=people[0].headers) as resp:
                assert resp.status == 200
            assert (await watcher.wait("message_pinned"))["user_id"] == people[0].id
        finally:
            for sock in (watcher, *socks):
                await sock.close()


async def test_revoking_a_personal_token_on_one_process_disconnects_its_socket_on_the_other(two_servers):
    """A socket signed in with a personal access token on process one is disconnected
    when the token is revoked through process two; a session socket of the same user stays."""
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        chat = Chat(Http(session, url1))
        alice = await chat.user("alice")
        async with session.post(url2 + "/api/v1/users/me/tokens", json={"name": "script", "scopes": ["read"]},
                                headers=alice.headers) as resp:
            assert resp.status == 201, await resp.text()
            made = await resp.json()
        by_token, by_session = Sock(url1), Sock(url1, alice)
        try:
            await by_token.connect(made["secret"])
            await by_session.connect()
            async with session.delete(url2 + f"/api/v1/users/me/tokens/{made['token']['id']}",
                                      headers=alice.headers) as resp:
                assert resp.status == 204
            await asyncio.wait_for(by_token.disconnected.wait(), 10)
            assert (await by_session.call("ping", {}))["ok"] is True
        finally:
            await by_token.close()
            await by_session.close()
