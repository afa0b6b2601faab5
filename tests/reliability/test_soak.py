"""Soak (``make soak``): 200 clients for 10 minutes against one server process.

``VENN_SOAK_SECONDS`` (default 600) and ``VENN_SOAK_CLIENTS`` (default 200) size it.
Every client sends at a modest pace and listens to its channel. At the end no acked
message is missing from any client's view, and the server's memory after the
warm-up did not grow beyond a bound (``VENN_SOAK_MAX_GROWTH_MB``, default 64 MiB).
"""

from __future__ import annotations

import asyncio
import os

import pytest

from tests.reliability.kit import LoadClient, Rest, VennProcess, base_env, load_clients

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("VENN_SOAK_SECONDS", "600"))
CLIENTS = int(os.environ.get("VENN_SOAK_CLIENTS", "200"))
MAX_GROWTH_KIB = int(os.environ.get("VENN_SOAK_MAX_GROWTH_MB", "64")) * 1024
CHANNELS = 10
USERS = 20


async def test_soak_no_lost_message_and_bounded_memory(tmp_path, server_database):
    env = base_env(tmp_path, DATABASE_URL=server_database, VENN_LOG_LEVEL="WARNING")
    server = VennProcess(env, tmp_path / "server.log").start()
    rest = Rest(server.url)
    clients: list[LoadClient] = []
    try:
        await server.ready()
        clients = await load_clients(rest, server.url, "s", clients=CLIENTS, users=USERS, channels=CHANNELS,
                                     pause=1.0, call_timeout=10)
        for client in clients:
            client.start()
            await asyncio.sleep(0.01)
        samples: list[tuple[float, int]] = []
        loop = asyncio.get_running_loop()
        started = loop.time()
        while loop.time() - started < SECONDS:
            await asyncio.sleep(min(10.0, SECONDS / 20))
            assert server.proc.poll() is None, server.log()[-3000:]
            samples.append((loop.time() - started, server.rss_kib()))
        await asyncio.gather(*(c.finish(timeout=120) for c in clients))

        acked = {cmid: m for c in clients for cmid, m in c.acked.items()}
        assert len(acked) > CLIENTS, "the soak sent almost nothing"
        for client in clients:
            expected = {m["id"] for m in acked.values() if m["channel_id"] == client.channel_id}
            missing = expected - set(client.view)
            assert not missing, f"{client.name} lost {len(missing)} messages"
        warm = [rss for t, rss in samples if t >= SECONDS / 4]
        growth = max(warm) - warm[0]
        print(f"soak: {len(acked)} messages, RSS after warm-up {warm[0]} KiB, max {max(warm)} KiB")
        assert growth <= MAX_GROWTH_KIB, f"server memory grew {growth} KiB after warm-up: {samples}"
    finally:
        for client in clients:
            await client.close()
        await rest.close()
        server.stop()
