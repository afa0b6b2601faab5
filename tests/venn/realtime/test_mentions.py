"""The ``mention`` event: to the mentioned users' own sockets only, in one process and across two."""

from __future__ import annotations

import aiohttp
import pytest

from tests.helpers import Chat
from tests.venn.realtime.kit import Sock
from tests.venn.realtime.test_multiprocess import Http, own_database, two_servers  # noqa: F401 (fixtures)


def mentioned(sock: Sock, message_id: int) -> list[dict]:
    return sock.of("mention", lambda d: d["message"]["id"] == message_id)


async def test_the_mentioned_user_s_sockets_get_the_event(client, chat, sockets):
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    cid = channel["id"]
    a, b1, b2, c = await sockets(alice), await sockets(bob), await sockets(bob), await sockets(carol)
    # bob's second socket has not joined the channel's room: mentions reach him anyway
    for sock in (a, b1, c):
        await sock.ok("join_channel", {"channel_id": cid})

    sent = (await a.ok("send_message", {"channel_id": cid, "body": "@bob look", "client_msg_id": "m1"}))["message"]
    assert sent["mentions"] == [bob.id]
    for sock in (b1, b2):
        event = await sock.wait("mention", lambda d: d["message"]["id"] == sent["id"])
        assert event == {"message": sent}
    # a later mention of everyone reaches carol and alice's room after the first one would have
    marker = await chat.post(bob, cid, "@channel marker")
    await c.wait("mention", lambda d: d["message"]["id"] == marker["id"])
    await a.wait("mention", lambda d: d["message"]["id"] == marker["id"])
    assert mentioned(c, sent["id"]) == [] and mentioned(a, sent["id"]) == []
    assert mentioned(b1, marker["id"]) == []  # not the author themself

    # an edit: those newly mentioned hear of it, those mentioned before not again
    resp = await client.patch(f"/api/v1/messages/{sent['id']}", json={"body": "@bob @carol look"},
                              headers=alice.headers)
    edited = (await resp.json())["message"]
    assert (await c.wait("mention", lambda d: d["message"]["id"] == sent["id"]))["message"] == edited
    marker = await chat.post(alice, cid, "@channel second marker")
    await b2.wait("mention", lambda d: d["message"]["id"] == marker["id"])
    assert len(mentioned(b2, sent["id"])) == 1

    # a client that was offline: sync carries the mentions
    [page] = (await b1.ok("sync", {"cursors": {str(cid): sent["id"] - 1}}))["channels"]
    assert page["messages"][0]["mentions"] == [bob.id, carol.id]


async def test_no_event_for_someone_who_cannot_see_the_message(client, chat, sockets):
    alice, bob, eve = await chat.user("alice"), await chat.user("bob"), await chat.user("eve")
    secret = await chat.channel(alice, "secret", private=True, members=[bob])
    e, b = await sockets(eve), await sockets(bob)
    sent = await chat.post(alice, secret["id"], "@eve @bob")
    await b.wait("mention", lambda d: d["message"]["id"] == sent["id"])
    # eve hears of a later message that does mention her, and never of the secret one
    public = await chat.channel(alice, "public", members=[eve])
    later = await chat.post(alice, public["id"], "@eve hi")
    await e.wait("mention", lambda d: d["message"]["id"] == later["id"])
    assert [d["message"]["id"] for d in e.of("mention")] == [later["id"]]
    assert all(d["message"]["channel_id"] != secret["id"] for _, d in e.events if isinstance(d, dict)
               and "message" in d)


async def test_the_socket_s_read_marker_resets_the_mention_count(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    cid = channel["id"]
    first = await chat.post(alice, cid, "@bob one")
    second = await chat.post(alice, cid, "@bob two")
    b = await sockets(bob)
    answer = await b.ok("mark_read", {"channel_id": cid, "message_id": first["id"]})
    assert (answer["unread_count"], answer["mention_count"]) == (1, 1)
    answer = await b.ok("mark_read", {"channel_id": cid, "message_id": second["id"]})
    assert (answer["unread_count"], answer["mention_count"]) == (0, 0)
    resp = await client.get("/api/v1/channels", headers=bob.headers)
    [listed] = (await resp.json())["channels"]
    assert (listed["unread_count"], listed["mention_count"]) == (0, 0)


@pytest.mark.postgres
@pytest.mark.redis
async def test_mentions_across_two_processes(two_servers):  # noqa: F811
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        one = Http(session, url1)
        chat = Chat(one)
        alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
        channel = await chat.channel(alice, "general", members=[bob, carol])
        cid = channel["id"]
        # bob has a socket on each process, carol one on process two; alice posts on one
        b1, b2, c = Sock(url1, bob), Sock(url2, bob), Sock(url2, carol)
        try:
            for sock in (b1, b2, c):
                await sock.connect()
            sent = await chat.post(alice, cid, "@bob ping")
            for sock in (b1, b2):
                assert (await sock.wait("mention", lambda d: d["message"]["id"] == sent["id"]))["message"] == sent
            # @here: bob and carol are online (their sockets are on process two too)
            here = await chat.post(alice, cid, "@here anyone?")
            assert here["mentions"] == sorted([bob.id, carol.id])
            await c.wait("mention", lambda d: d["message"]["id"] == here["id"])
            assert mentioned(c, sent["id"]) == []
        finally:
            for sock in (b1, b2, c):
                await sock.close()
