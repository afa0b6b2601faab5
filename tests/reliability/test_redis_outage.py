"""Redis stopped and restarted under load, with two server processes sharing it.

A private redis-server (never the shared one) is killed while clients send; both
servers must stay up and log the fault, and once Redis is back, messages posted
through one process reach sockets on the other again, and bot jobs (the echo plugin
on a thread, queued in a Redis stream) run again. No acked message is lost.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import uuid

import aiohttp
import pytest

from tests.reliability.kit import PASSWORD, LoadClient, PrivateRedis, Rest, VennProcess, base_env

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


async def _eventually(probe, timeout: float, what: str, interval: float = 0.5):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        assert loop.time() < deadline, f"{what}: not within {timeout} s"
        await asyncio.sleep(interval)


async def test_redis_outage_servers_stay_up_and_recover(tmp_path, server_database):
    redis = PrivateRedis(tmp_path)
    redis.start()
    env = base_env(tmp_path, DATABASE_URL=server_database, REDIS_URL=redis.url, VENN_BOTS_ENABLED="1")
    s1 = VennProcess(env, tmp_path / "s1.log")
    s2 = VennProcess(env, tmp_path / "s2.log")
    rests: list[Rest] = []
    clients: list[LoadClient] = []
    try:
        s1.start()
        await s1.ready()  # migrates; then the second process starts on the same schema
        s2.start()
        await s2.ready()
        r1, r2 = Rest(s1.url), Rest(s2.url)
        rests += [r1, r2]
        alice, bob = await r1.user(), await r1.user()
        admin_name = f"adm{uuid.uuid4().hex[:8]}"
        made = subprocess.run(
            [sys.executable, "-m", "venn", "create-admin", admin_name, "--password-stdin"],
            input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=60,
        )
        assert made.returncode == 0, made.stderr
        admin = await r1.login(admin_name)
        channel = await r1.channel(admin, members=[alice, bob])
        status, root = await r1.request(
            "POST", "/api/v1/messages", admin["token"], json={"channel_id": channel["id"], "body": "bot thread"}
        )
        assert status == 201, root
        status, body = await r1.request(
            "POST", "/api/v1/threads", admin["token"],
            json={"channel_id": channel["id"], "root_message_id": root["message"]["id"]},
        )
        assert status == 201, body
        thread_id = body["thread"]["id"]
        status, body = await r1.request(
            "POST", f"/api/v1/threads/{thread_id}/bots", admin["token"], json={"plugin": "echo"}
        )
        assert status == 201, body

        async def echo_works(text: str) -> bool:
            status, _ = await r2.request(
                "POST", "/api/v1/messages", admin["token"],
                json={"channel_id": channel["id"], "thread_id": thread_id, "body": text},
            )
            if status != 201:
                return False

            async def answered():
                status, page = await r1.request(
                    "GET", f"/api/v1/threads/{thread_id}/messages?limit=200", admin["token"]
                )
                return status == 200 and sum(m["body"] == text for m in page["messages"]) >= 2

            try:
                return await _eventually(answered, 10, "echo reply", interval=0.2)
            except AssertionError:
                return False

        assert await echo_works("before the outage")

        # Load: alice sends through s1; bob listens on s2 (cross-process fan-out).
        sender = LoadClient("alice", s1.url, alice["token"], channel["id"], pause=0.02, call_timeout=5)
        listener = LoadClient("bob", s2.url, bob["token"], channel["id"], send=False)
        clients += [sender, listener]
        listener.start()
        await _eventually(lambda: _true(listener.connects), 10, "listener connects", 0.05)
        sender.start()
        await _eventually(lambda: _true(len(sender.acked) >= 20), 30, "acks before the outage", 0.05)
        live_before = len(listener.view)
        assert live_before > 0, "cross-process fan-out did not work before the outage"

        redis.stop()
        await asyncio.sleep(3)  # load continues against the dead Redis
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            for server in (s1, s2):
                assert server.proc.poll() is None, "a server died with Redis:\n" + server.log()[-3000:]
                async with http.get(server.url + "/healthz") as resp:
                    assert resp.status == 200
        logs = s1.log() + s2.log()
        assert any(
"redis" in line.lower() and ("WARNING" in line or "ERROR" in line)
            for line in logs.splitlines()
        ), "the Redis fault was not logged:\n" + logs[-3000:]

        redis.start()  # same port, empty data

        # Cross-process fan-out resumes: a new message sent through s1 reaches bob on s2 live.
        async def fanout_resumed() -> bool:
            acked = len(sender.acked)
            await _eventually(lambda: _true(len(sender.acked) > acked + 5), 20, "acks after the outage", 0.05)
            newest = max(m["id"] for m in sender.acked.values())
            await asyncio.sleep(1.0)
            return newest in listener.view

        await _eventually(fanout_resumed, 60, "cross-process fan-out after Redis returned")
        # Bot jobs run again.
        await _eventually(
            lambda: echo_works(f"after the outage {uuid.uuid4().hex[:6]}"), 60, "echo after Redis returned"
        )

        await sender.finish()
        await listener.finish()
        # Messages posted while Redis was down were not broadcast; the servers make
        # their sockets reconnect once Redis is back, and the clients' sync fills the gap.
        acked_ids = {m["id"] for m in sender.acked.values()}
        assert listener.connects >= 2, "the listener was not asked to reconnect and catch up"
        missing = acked_ids - set(listener.view)
        assert not missing, f"acked messages never seen by the other process's client: {sorted(missing)[:10]}"
        for server in (s1, s2):
            assert server.proc.poll() is None
    finally:
        for client in clients:
            await client.close()
        for rest in rests:
            await rest.close()
        s1.stop()
        s2.stop()
        redis.stop()


async def _true(value) -> bool:
    return bool(value)
