"""Crash safety: `kill -9` the server while 50 clients send as fast as they can.

Every message whose send was acked must be in the database exactly once, and every
client that reconnects, resends its un-acked message (same client_msg_id) and syncs
must end up seeing exactly the acked messages of its channel: none missing, none twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.reliability.kit import LoadClient, Rest, VennProcess, base_env, fetch_rows, load_clients

CLIENTS = 50
CHANNELS = 5
USERS = 10


async def _wait_acks(clients: list[LoadClient], more_than: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while sum(len(c.acked) for c in clients) <= more_than:
        assert loop.time() < deadline, "the clients got no acks in time"
        await asyncio.sleep(0.05)


async def test_kill9_under_load_loses_no_acked_message(tmp_path, server_database):
    env = base_env(tmp_path, DATABASE_URL=server_database, VENN_LOG_LEVEL="WARNING")
    server = VennProcess(env, tmp_path / "server.log").start()
    rest = Rest(server.url)
    clients: list[LoadClient] = []
    try:
        await server.ready()
        clients = await load_clients(rest, server.url, "c", clients=CLIENTS, users=USERS, channels=CHANNELS,
                                     call_timeout=3.0)
        for client in clients:
            client.start()

        await _wait_acks(clients, 300, timeout=60)  # mid-load
        acked_before = sum(len(c.acked) for c in clients)
        server.kill9()
        in_flight = sum(c.unacked is not None for c in clients)
        await asyncio.sleep(0.5)
        server.start()  # same port, same database
        await server.ready()
        await _wait_acks(clients, acked_before + 300, timeout=90)  # the load goes on after the restart
        await asyncio.gather(*(c.finish(timeout=90) for c in clients))

        assert all(c.connects >= 2 for c in clients), "every client must have reconnected after the crash"
        assert in_flight > 0, "the kill should land while sends are in flight"
        acked = {cmid: m for c in clients for cmid, m in c.acked.items()}
        assert len(acked) == sum(len(c.acked) for c in clients)

        # In the database: each acked message exactly once, and nothing that was not acked.
        rows = await fetch_rows(
            server_database, "SELECT id, client_msg_id, channel_id, body FROM messages WHERE client_msg_id IS NOT NULL"
        )
        counts = Counter(r[1] for r in rows)
        assert [cmid for cmid, n in counts.items() if n > 1] == []
        assert set(counts) == set(acked)
        for mid, cmid, channel_id, body in rows:
            assert acked[cmid]["id"] == mid and acked[cmid]["body"] == body and acked[cmid]["channel_id"] == channel_id

        # Each client's view of its channel: exactly the acked messages of that channel.
        for client in clients:
            expected = {m["id"]: m["body"] for m in acked.values() if m["channel_id"] == client.channel_id}
            seen = {mid: m["body"] for mid, m in client.view.items()}
            missing = sorted(set(expected) - set(seen))
            extra = sorted(set(seen) - set(expected))
            assert not missing and not extra, f"{client.name}: missing {missing[:10]}, extra {extra[:10]}"
            assert seen == expected
    finally:
        for client in clients:
            await client.close()
        await rest.close()
        server.stop()
