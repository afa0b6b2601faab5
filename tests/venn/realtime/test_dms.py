"""Direct messages live: ``dm_created`` reaches each member's sockets, which are then in
the conversation's room without joining it (in every process); typing and sync work
there as in channels."""

from __future__ import annotations

import aiohttp
import pytest

from tests.helpers import Chat
from tests.venn.realtime.kit import Sock, quiet
from tests.venn.realtime.test_multiprocess import Http, own_database, two_servers  # noqa: F401 (fixtures)


async def test_a_new_dm_reaches_its_members_live(client, chat, sockets):
    alice, bob, eve = await chat.user("alice"), await chat.user("bob"), await chat.user("eve")
    a, b, b2, e = await sockets(alice), await sockets(bob), await sockets(bob), await sockets(eve)
    resp = await client.post("/api/v1/dms", json={"user_ids": [bob.id]}, headers=alice.headers)
    assert resp.status == 201
    dm = (await resp.json())["channel"]
    for sock, other in ((a, bob), (b, alice), (b2, alice)):
        event = await sock.wait("dm_created")
        assert event["channel"]["id"] == dm["id"] and event["channel"]["kind"] == "dm"
        assert [m["id"] for m in event["channel"]["members"]] == [other.id]

    # no join_channel needed: the members' sockets are in the room
    sent = await chat.post(alice, dm["id"], "psst")
    for sock in (a, b, b2):
        assert (await sock.wait("new_message"))["message"]["id"] == sent["id"]
    await b.ok("typing", {"channel_id": dm["id"]})
    assert (await a.wait("typing_indicator"))["user"]["id"] == bob.id
    # opening it again tells nobody anything new
    resp = await client.post("/api/v1/dms", json={"user_ids": [alice.id]}, headers=bob.headers)
    assert resp.status == 200
    await quiet()
    assert len(a.of("dm_created")) == 1 and len(b.of("dm_created")) == 1
    # an outsider hears nothing, cannot join the room, and sync refuses it
    assert e.of("dm_created") == [] and e.of("new_message") == []
    assert (await e.error("join_channel", {"channel_id": dm["id"]}))["code"] == "not_found"
    [refused] = (await e.ok("sync", {"cursors": {str(dm["id"]): 0}}))["channels"]
    assert refused["error"]["code"] == "not_found"


async def test_sync_catches_up_a_dm_made_while_offline(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    resp = await client.post("/api/v1/dms", json={"user_ids": [bob.id]}, headers=alice.headers)
    dm = (await resp.json())["channel"]
    sent = [await chat.post(alice, dm["id"], f"while you were out {i}") for i in range(3)]
    # bob comes online: the list shows the conversation, sync brings its messages
    resp = await client.get("/api/v1/channels", headers=bob.headers)
    [listed] = (await resp.json())["channels"]
    assert listed["id"] == dm["id"] and listed["unread_count"] == 3
    b = await sockets(bob)
    [caught] = (await b.ok("sync", {"cursors": {str(dm["id"]): 0}}))["channels"]
    assert [m["id"] for m in caught["messages"]] == [m["id"] for m in sent]
    await b.ok("join_channel", {"channel_id": dm["id"]})
    later = await chat.post(alice, dm["id"], "welcome back")
    assert (await b.wait("new_message"))["message"]["id"] == later["id"]


@pytest.mark.postgres
@pytest.mark.redis
async def test_a_new_dm_reaches_sockets_on_another_process(two_servers):  # noqa: F811
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        one, two = Http(session, url1), Http(session, url2)
        chat = Chat(one)
        alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
        a, b, c = Sock(url1, alice), Sock(url2, bob), Sock(url1, carol)
        try:
            for sock in (a, b, c):
                await sock.connect()
            # made through process one; bob's socket is on process two
            resp = await one.post("/api/v1/dms", json={"user_ids": [bob.id, carol.id]}, headers=alice.headers)
            assert resp.status == 201
            group = (await resp.json())["channel"]
            event = await b.wait("dm_created")
            assert event["channel"]["id"] == group["id"] and event["channel"]["kind"] == "group_dm"
            assert sorted(m["id"] for m in event["channel"]["members"]) == sorted([alice.id, carol.id])
            # a message right away, posted on process two, reaches every member live
            sent = await Chat(two).post(alice, group["id"], "hello both")
            for sock in (a, b, c):
                assert (await sock.wait("new_message"))["message"]["id"] == sent["id"]
            answer = await b.ok("send_message", {"channel_id": group["id"], "body": "hi!", "client_msg_id": "b1"})
            for sock in (a, c):
                await sock.wait("new_message", lambda d: d["message"]["id"] == answer["message"]["id"])
        finally:
            for sock in (a, b, c):
                await sock.close()
