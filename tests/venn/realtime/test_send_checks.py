"""A socket's posts are checked against the database once per channel, then trusted
until something changes: every change that takes the right to post away (leaving,
removal, archiving, deactivation, a revoked session) is refused on the next post,
and a new display name shows on the next message, in one process and across two
processes sharing PostgreSQL and Redis.

Each test first posts once, so that the socket's check is kept (``may_post``);
without the control messages that drop it, the refused posts below would go through.
"""

from __future__ import annotations

import asyncio
import itertools

import aiohttp
import pytest

from tests.helpers import Chat
from tests.venn.realtime.kit import Sock
from tests.venn.realtime.test_admin_deactivation import _make_admin
from tests.venn.realtime.test_multiprocess import Http, own_database, two_servers  # noqa: F401 (fixtures)

_ids = itertools.count()


async def _posts(sock: Sock, channel_id: int, body: str = "hello") -> dict:
    return (await sock.ok("send_message", {"channel_id": channel_id, "body": body,
                                           "client_msg_id": f"m{next(_ids)}"}))["message"]


async def _try_post(sock: Sock, channel_id: int) -> str:
    """The refusal's code, or ``disconnected`` when the socket was dropped first."""
    if not sock.sio.connected:
        return "disconnected"
    try:
        return await _refused(sock, channel_id)
    except Exception:
        if sock.sio.connected and not sock.disconnected.is_set():
            raise
        return "disconnected"


async def _refused(sock: Sock, channel_id: int) -> str:
    answer = await sock.call("send_message", {"channel_id": channel_id, "body": "still here?",
                                              "client_msg_id": f"m{next(_ids)}"})
    assert answer["ok"] is False, answer
    return answer["error"]["code"]


# One process (SQLite and PostgreSQL) ------------------------------------------------


async def test_leaving_is_refused_on_the_next_post(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    sock = await sockets(bob)
    await _posts(sock, channel["id"])
    resp = await client.post(f"/api/v1/channels/{channel['id']}/leave", headers=bob.headers)
    assert resp.status == 204
    assert await _refused(sock, channel["id"]) == "not_a_member"


async def test_removal_is_refused_on_the_next_post(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    sock = await sockets(bob)
    await sock.ok("join_channel", {"channel_id": channel["id"]})
    await _posts(sock, channel["id"])
    resp = await client.delete(f"/api/v1/channels/{channel['id']}/members/{bob.id}", headers=alice.headers)
    assert resp.status == 204
    await sock.wait("member_removed")
    assert await _refused(sock, channel["id"]) == "not_a_member"
    # and nothing was stored: the channel's last message is bob's first one
    resp = await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=alice.headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["hello"]


async def test_archiving_is_refused_on_the_next_post_and_unarchiving_lets_it_in(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    sock = await sockets(bob)
    await _posts(sock, channel["id"])
    resp = await client.post(f"/api/v1/channels/{channel['id']}/archive", headers=alice.headers)
    assert resp.status == 200
    assert await _refused(sock, channel["id"]) == "channel_archived"
    resp = await client.post(f"/api/v1/channels/{channel['id']}/unarchive", headers=alice.headers)
    assert resp.status == 200
    await _posts(sock, channel["id"], "back")


async def test_logout_everywhere_stores_no_more_posts(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    sock = await sockets(alice)
    await _posts(sock, channel["id"])
    resp = await client.post("/api/v1/auth/logout", headers=alice.headers)
    assert resp.status == 204
    assert await _try_post(sock, channel["id"]) in {"token_revoked", "disconnected"}
    await asyncio.wait_for(sock.disconnected.wait(), 5)
    resp = await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=bob.headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["hello"]


async def test_deactivation_stores_no_more_posts(client, chat, sockets):
    root = await chat.user("root", admin=True)
    alice = await chat.user("alice")
    channel = await chat.channel(root, "general", members=[alice])
    sock = await sockets(alice)
    await _posts(sock, channel["id"])
    resp = await client.patch(f"/api/v1/admin/users/{alice.id}", json={"deactivated": True}, headers=root.headers)
    assert resp.status == 200
    await asyncio.wait_for(sock.disconnected.wait(), 5)
    resp = await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=root.headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["hello"]


async def test_a_new_display_name_shows_on_the_next_message(client, chat, sockets):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    sock = await sockets(alice)
    assert (await _posts(sock, channel["id"]))["author"]["display_name"] == "alice"
    resp = await client.patch("/api/v1/users/me", json={"display_name": "Alice Liddell"}, headers=alice.headers)
    assert resp.status == 200
    assert (await _posts(sock, channel["id"]))["author"]["display_name"] == "Alice Liddell"


# Two processes on PostgreSQL + Redis ------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
async def test_changes_made_through_one_process_count_on_the_next_post_on_the_other(
    two_servers, own_database  # noqa: F811
):
    """The change goes through process one; bob's socket is on process two, and posts
    again as soon as he hears of it (the control message that drops his check travels
    ahead of that event on the same bus)."""
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        one = Http(session, url1)
        chat = Chat(one)
        root = await chat.user("root")
        await _make_admin(own_database, root)
        alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
        removed = await chat.channel(alice, "removed", members=[bob])
        archived = await chat.channel(alice, "archived", members=[bob])
        left = await chat.channel(alice, "left", members=[bob])
        still = await chat.channel(alice, "still", members=[bob])
        named = await chat.channel(alice, "named", members=[carol])
        sock, carols = Sock(url2, bob), Sock(url2, carol)
        try:
            await sock.connect()
            await carols.connect()
            for channel in (removed, archived, left, still):
                await sock.ok("join_channel", {"channel_id": channel["id"]})
                await _posts(sock, channel["id"])
            await _posts(carols, named["id"])

            async with session.delete(f"{url1}/api/v1/channels/{removed['id']}/members/{bob.id}",
                                      headers=alice.headers) as resp:
                assert resp.status == 204
            await sock.wait("member_removed")
            assert await _refused(sock, removed["id"]) == "not_a_member"

            async with session.post(f"{url1}/api/v1/channels/{archived['id']}/archive",
                                    headers=alice.headers) as resp:
                assert resp.status == 200
            await sock.wait("channel_updated", lambda d: d["archived"])
            assert await _refused(sock, archived["id"]) == "channel_archived"

            async with session.post(f"{url1}/api/v1/channels/{left['id']}/leave", headers=bob.headers) as resp:
                assert resp.status == 204
            await sock.wait("member_left", lambda d: d.get("channel_id") == left["id"])
            assert await _refused(sock, left["id"]) == "not_a_member"

            async with session.patch(f"{url1}/api/v1/users/me", json={"display_name": "Carol C."},
                                     headers=carol.headers) as resp:
                assert resp.status == 200
            # no event tells carol's socket; her next post on the other process names her anew
            deadline = asyncio.get_running_loop().time() + 5
            while (await _posts(carols, named["id"]))["author"]["display_name"] != "Carol C.":
                assert asyncio.get_running_loop().time() < deadline, "the old name stuck"
                await asyncio.sleep(0.05)

            async with session.patch(f"{url1}/api/v1/admin/users/{bob.id}", json={"deactivated": True},
                                     headers=root.headers) as resp:
                assert resp.status == 200
            await sock.wait("session_revoked")
            assert await _try_post(sock, still["id"]) in {"token_revoked", "disconnected"}
            await asyncio.wait_for(sock.disconnected.wait(), 5)
            async with session.get(f"{url1}/api/v1/messages/channel/{still['id']}", headers=alice.headers) as resp:
                assert [m["body"] for m in (await resp.json())["messages"]] == ["hello"]
        finally:
            await sock.close()
            await carols.close()
