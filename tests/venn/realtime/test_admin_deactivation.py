"""Deactivating a user over sockets: their sockets hear ``session_revoked`` and are
disconnected (in one process, and across two processes sharing PostgreSQL and
Redis), they go offline for the others at once, and cannot connect again."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio

from tests.helpers import Chat
from tests.venn.realtime.kit import Sock
from tests.venn.realtime.test_multiprocess import Http, own_database, two_servers  # noqa: F401 (fixtures)


async def test_deactivation_disconnects_every_socket_and_ends_presence(client, chat, sockets):
    root = await chat.user("root", admin=True)
    alice = await chat.user("alice")
    channel = await chat.channel(root, "general", members=[alice])
    watcher = await sockets(root)
    await watcher.ok("join_channel", {"channel_id": channel["id"]})
    tab1, tab2 = await sockets(alice), await sockets(alice)
    await watcher.wait("user_status", lambda d: d["user_id"] == alice.id and d["status"] == "online")

    resp = await client.patch(f"/api/v1/admin/users/{alice.id}", json={"deactivated": True}, headers=root.headers)
    assert resp.status == 200
    for tab in (tab1, tab2):
        await asyncio.wait_for(tab.disconnected.wait(), 5)
        assert tab.of("session_revoked") == [{"user_id": alice.id}]
    # gone from presence without waiting out the reload grace
    await watcher.wait("user_status", lambda d: d["user_id"] == alice.id and d["status"] == "offline")
    resp = await client.get(f"/api/v1/users/{alice.id}", headers=root.headers)
    assert (await resp.json())["user"]["status"] == "offline"
    # the old token opens no socket
    again = sockets.new(alice)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect()
    assert again.connect_errors and again.connect_errors[0]["data"] == {"code": "token_revoked"}
    await watcher.ok("ping")


@pytest.mark.postgres
@pytest.mark.redis
async def test_deactivation_on_one_process_disconnects_sockets_on_both(two_servers, own_database):  # noqa: F811
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        chat = Chat(Http(session, url1))
        root = await chat.user("root")
        alice = await chat.user("alice")
        bob = await chat.user("bob")
        # the first admin (the command line's job), straight in the servers' database
        await _make_admin(own_database, root)
        on_one, on_two, bobs = Sock(url1, alice), Sock(url2, alice), Sock(url2, bob)
        try:
            for sock in (on_one, on_two, bobs):
                await sock.connect()
            async with session.patch(
                f"{url2}/api/v1/admin/users/{alice.id}", json={"deactivated": True}, headers=root.headers
            ) as resp:
                assert resp.status == 200, await resp.text()
            for sock in (on_one, on_two):
                await asyncio.wait_for(sock.disconnected.wait(), 5)
                assert sock.of("session_revoked") == [{"user_id": alice.id}]
            await bobs.ok("ping")
            async with session.post(
                f"{url1}/api/v1/auth/login", json={"username": "alice", "password": alice.password}
            ) as resp:
                assert resp.status == 401 and (await resp.json())["error"]["code"] == "account_deactivated"
        finally:
            for sock in (on_one, on_two, bobs):
                await sock.close()


async def _make_admin(url: str, person) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("UPDATE users SET role = 'admin' WHERE id = $1", person.id)
    finally:
        await conn.close()


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_member_removed_on_one_process_leaves_the_rooms_on_both(two_servers):  # noqa: F811
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        chat = Chat(Http(session, url1))
        owner, bob = await chat.user("owner"), await chat.user("bob")
        channel = await chat.channel(owner, "secret", private=True, members=[bob])
        cid = channel["id"]
        watcher, on_one, on_two = Sock(url1, owner), Sock(url1, bob), Sock(url2, bob)
        try:
            for sock in (watcher, on_one, on_two):
                await sock.connect()
                await sock.ok("join_channel", {"channel_id": cid})
            async with session.delete(
                f"{url2}/api/v1/channels/{cid}/members/{bob.id}", headers=owner.headers
            ) as resp:
                assert resp.status == 204, await resp.text()
            for sock in (on_one, on_two):
                await sock.wait("member_removed", lambda d: d["user_id"] == bob.id)
            await Chat(Http(session, url2)).post(owner, cid, "after bob was removed")
            await watcher.wait("new_message")
            await asyncio.sleep(0.3)
            assert on_one.of("new_message") == [] and on_two.of("new_message") == []
        finally:
            for sock in (watcher, on_one, on_two):
                await sock.close()
