"""PostgreSQL stopped and started again under a running Venn (a private cluster).

While the database is down, requests fail fast with 503 and a clear error body and
`/readyz` says 503; once it is back, requests succeed again without restarting Venn.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.reliability.kit import PrivateCluster, Rest, VennProcess, base_env, find_pg_bin

#: far below the client's own timeout: a down database must not hang requests
CLIENT_TIMEOUT = 20


@pytest.fixture
def cluster(tmp_path):
    bindir = find_pg_bin()
    if bindir is None:
        pytest.skip("initdb is not installed (no /usr/lib/postgresql/*/bin)")
    if os.geteuid() != 0:
        pytest.skip("a private PostgreSQL cluster is started with runuser, which needs root")
    # not under pytest's tmp dir: that is private to root, and the cluster runs as postgres
    root = Path(tempfile.mkdtemp(prefix="venn-pgcluster-"))
    cluster = PrivateCluster(bindir, root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


async def test_requests_fail_fast_while_postgres_is_down_then_recover(tmp_path, cluster):
    server = VennProcess(base_env(tmp_path, DATABASE_URL=cluster.url), tmp_path / "server.log").start()
    rest = Rest(server.url)
    sio = socketio.AsyncClient(reconnection=False)
    try:
        await server.ready()
        alice = await rest.user()
        channel = await rest.channel(alice)
        await sio.connect(server.url, auth={"token": alice["token"]}, transports=["websocket"], wait_timeout=10)
        assert (await sio.call("join_channel", {"channel_id": channel["id"]}, timeout=10))["ok"]

        async def post(body: str) -> tuple[int, dict]:
            return await rest.request(
                "POST", "/api/v1/messages", alice["token"], json={"channel_id": channel["id"], "body": body},
                timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT),
            )

        # Load: keep posting in the background through the outage.
        outcomes: list[int] = []
        stop = asyncio.Event()

        async def load() -> None:
            while not stop.is_set():
                try:
                    status, _ = await post("load")
                    outcomes.append(status)
                except (TimeoutError, aiohttp.ClientError):
                    outcomes.append(-1)
                await asyncio.sleep(0.05)

        loader = asyncio.create_task(load())
        await asyncio.sleep(1)
        assert 201 in outcomes

        await asyncio.to_thread(cluster.stop, "fast")  # the load goes on meanwhile
        await asyncio.sleep(1)
        for path in ("/api/v1/channels", f"/api/v1/messages/channel/{channel['id']}", "/api/v1/users/me"):
            status, body = await rest.request(
                "GET", path, alice["token"], timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT)
            )
            assert status == 503, (path, status, body)
            assert body["error"]["code"] == "unavailable" and body["error"]["message"], body
            assert "Traceback" not in str(body) and "asyncpg" not in str(body)
        status, body = await post("while down")
        assert status == 503 and body["error"]["code"] == "unavailable", body
        status, body = await rest.request("GET", "/readyz", timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT))
        assert status == 503 and body["error"]["code"] == "unavailable", body
        status, _ = await rest.request("GET", "/healthz")
        assert status == 200  # alive, just not ready
        ack = await sio.call(
            "send_message", {"channel_id": channel["id"], "body": "socket while down", "client_msg_id": "down-1"},
            timeout=CLIENT_TIMEOUT,
        )
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable", ack
        assert -1 not in outcomes, "a request hung or the connection broke while the database was down"

        await asyncio.to_thread(cluster.start)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while True:
            status, body = await rest.request("GET", "/readyz")
            if status == 200:
                break
            assert loop.time() < deadline, "Venn did not recover after PostgreSQL came back"
            await asyncio.sleep(0.5)
        status, body = await post("after the outage")
        assert status == 201, body
        ack = await sio.call(
            "send_message", {"channel_id": channel["id"], "body": "socket after", "client_msg_id": "down-1"},
            timeout=CLIENT_TIMEOUT,
        )
        assert ack["ok"] is True and ack["created"] is True, ack
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.wait_for(loader, CLIENT_TIMEOUT + 5)
        assert outcomes[-1] == 201 and 503 in outcomes and -1 not in outcomes
        assert server.proc.poll() is None
        assert "database unavailable" in server.log()
    finally:
        if sio.connected:
            await sio.disconnect()
        await rest.close()
        server.stop()
