"""Presence (online/offline with a grace period) and typing indicators."""

from __future__ import annotations

import asyncio

from tests.venn.realtime.kit import FAST_TIMINGS, quiet

GRACE = float(FAST_TIMINGS["VENN_PRESENCE_GRACE_SECONDS"])
TYPING_TTL = float(FAST_TIMINGS["VENN_TYPING_TTL_SECONDS"])


async def status_of(client, viewer, person) -> str:
    resp = await client.get(f"/api/v1/users/{person.id}", headers=viewer.headers)
    return (await resp.json())["user"]["status"]


async def test_presence_online_offline_and_no_flap_on_reload(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    b = await sockets(bob)
    await b.ok("join_channel", {"channel_id": channel["id"]})
    assert await status_of(client, bob, alice) == "offline"

    a1 = await sockets(alice)
    online = await b.wait("user_status", lambda d: d["user_id"] == alice.id)
    assert online["status"] == "online" and online["last_seen"].endswith("Z")
    assert await status_of(client, bob, alice) == "online"
    resp = await client.get(f"/api/v1/channels/{channel['id']}/members", headers=bob.headers)
    members = (await resp.json())["members"]
    assert {m["username"]: m["status"] for m in members} == {"alice": "online", "bob": "online"}

    # a second tab, then a reload of the first: no new status, no offline
    a2 = await sockets(alice)
    await a1.close()
    a1 = await sockets(alice)
    await asyncio.sleep(GRACE * 2)
    assert [d["status"] for d in b.of("user_status", lambda d: d["user_id"] == alice.id)] == ["online"]

    # the last socket leaves: offline once the grace period is over
    await a1.close()
    await a2.close()
    offline = await b.wait("user_status", lambda d: d["user_id"] == alice.id and d["status"] == "offline")
    assert offline["last_seen"] >= online["last_seen"]
    assert await status_of(client, bob, alice) == "offline"
    user = (await (await client.get(f"/api/v1/users/{alice.id}", headers=bob.headers)).json())["user"]
    assert user["last_seen"] is not None


async def test_presence_is_not_sent_to_strangers(chat, sockets):
    alice, bob, eve = await chat.user("alice"), await chat.user("bob"), await chat.user("eve")
    channel = await chat.channel(alice, "general", members=[bob])
    b, e = await sockets(bob), await sockets(eve)
    await b.ok("join_channel", {"channel_id": channel["id"]})
    await sockets(alice)
    await b.wait("user_status", lambda d: d["user_id"] == alice.id)
    await quiet()
    assert e.of("user_status", lambda d: d["user_id"] == alice.id) == []


async def test_typing_is_throttled_expires_and_stops_on_send(chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    a, b = await sockets(alice), await sockets(bob)
    for sock in (a, b):
        await sock.ok("join_channel", {"channel_id": channel["id"]})
    where = {"channel_id": channel["id"]}

    for _ in range(5):
        assert await a.ok("typing", where) == {"ok": True}
    started = await b.wait("typing_indicator")
    assert started == {
        "channel_id": channel["id"], "thread_id": None, "user": {"id": alice.id, "username": "alice"}, "typing": True
    }
    await quiet(0.1)
    assert len(b.of("typing_indicator")) == 1  # repeated typing is throttled
    assert a.of("typing_indicator") == []  # not echoed to the typist's own socket
    # it ends by itself
    stopped = await b.wait("typing_indicator", lambda d: d["typing"] is False, timeout=TYPING_TTL + 3)
    assert stopped["user"]["id"] == alice.id

    # sending a message ends it at once, right after the message
    b.events.clear()
    await a.ok("typing", where)
    await b.wait("typing_indicator")
    await a.ok("send_message", {**where, "body": "done", "client_msg_id": "t1"})
    await b.wait("typing_indicator", lambda d: d["typing"] is False, timeout=TYPING_TTL / 2)
    assert [e for e, _ in b.events] == ["typing_indicator", "new_message", "typing_indicator"]

    # and so does saying so
    b.events.clear()
    await a.ok("typing", where)
    await b.wait("typing_indicator")
    await a.ok("typing", {**where, "typing": False})
    await b.wait("typing_indicator", lambda d: d["typing"] is False, timeout=TYPING_TTL / 2)


async def test_typing_in_a_thread_goes_to_the_thread_room(chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    root = await chat.post(alice, channel["id"], "root")
    thread = await chat.thread(alice, channel["id"], root["id"])
    a, in_thread, in_channel = await sockets(alice), await sockets(bob), await sockets(bob)
    await in_channel.ok("join_channel", {"channel_id": channel["id"]})
    await in_thread.ok("join_thread", {"thread_id": thread["id"]})
    where = {"channel_id": channel["id"], "thread_id": thread["id"]}
    assert (await a.error("typing", where))["code"] == "not_joined"
    await a.ok("join_thread", {"thread_id": thread["id"]})
    # the thread belongs to another channel than the one given
    assert (await a.error("typing", {**where, "channel_id": channel["id"] + 1}))["code"] == "not_joined"
    await a.ok("typing", where)
    assert (await in_thread.wait("typing_indicator"))["thread_id"] == thread["id"]
    await quiet()
    assert in_channel.of("typing_indicator") == []
