"""Rooms and messages over the socket: join rules, acked sends, broadcasts, retries."""

from __future__ import annotations

import asyncio

import pytest

from tests.venn.realtime.kit import quiet


async def test_join_rules(client, chat, sockets):
    alice, bob, eve = await chat.user("alice"), await chat.user("bob"), await chat.user("eve")
    public = await chat.channel(alice, "general", members=[bob])
    secret = await chat.channel(alice, "secret", private=True)
    root = await chat.post(alice, secret["id"], "root")
    secret_thread = await chat.thread(alice, secret["id"], root["id"])
    public_root = await chat.post(alice, public["id"], "public root")
    public_thread = await chat.thread(alice, public["id"], public_root["id"])
    bob_sock, eve_sock = await sockets(bob), await sockets(eve)

    answer = await bob_sock.ok("join_channel", {"channel_id": public["id"]})
    assert answer["channel"]["id"] == public["id"] and answer["channel"]["is_member"] is True
    assert (await bob_sock.ok("join_thread", {"thread_id": public_thread["id"]}))["thread"]["id"] == public_thread["id"]
    # a public channel one has not joined: join it first (through REST)
    assert (await eve_sock.error("join_channel", {"channel_id": public["id"]}))["code"] == "not_a_member"
    assert (await eve_sock.error("join_thread", {"thread_id": public_thread["id"]}))["code"] == "not_a_member"
    # a private channel of others does not exist, as far as one can tell
    assert (await eve_sock.error("join_channel", {"channel_id": secret["id"]}))["code"] == "not_found"
    assert (await eve_sock.error("join_thread", {"thread_id": secret_thread["id"]}))["code"] == "not_found"
    assert (await eve_sock.error("join_channel", {"channel_id": 999_999}))["code"] == "not_found"
    resp = await client.post(f"/api/v1/channels/{public['id']}/join", headers=eve.headers)
    assert resp.status == 200
    await eve_sock.ok("join_channel", {"channel_id": public["id"]})
    # leaving rooms is always fine (and does not leave the channel)
    assert await eve_sock.ok("leave_channel", {"channel_id": public["id"]}) == {"ok": True, "channel_id": public["id"]}
    assert await eve_sock.ok("leave_thread", {"thread_id": 424242}) == {"ok": True, "thread_id": 424242}


async def test_acked_send_broadcasts_to_the_room_and_retry_is_idempotent(client, chat, sockets):
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    a, b, c = await sockets(alice), await sockets(bob), await sockets(carol)
    await a.ok("join_channel", {"channel_id": channel["id"]})
    await b.ok("join_channel", {"channel_id": channel["id"]})  # carol has not joined the room

    payload = {"channel_id": channel["id"], "body": "  hello  ", "client_msg_id": "m-1"}
    answer = await a.ok("send_message", payload)
    message = answer["message"]
    assert answer["created"] is True and message["body"] == "hello" and message["client_msg_id"] == "m-1"
    # committed before the ack: REST sees it
    resp = await client.get(f"/api/v1/messages/{message['id']}", headers=bob.headers)
    assert resp.status == 200 and (await resp.json())["message"] == message
    assert await b.wait("new_message") == {"message": message}
    assert await a.wait("new_message") == {"message": message}  # the sender's tabs get it too
    # a retry answers the same message and broadcasts nothing
    retry = await a.ok("send_message", payload)
    assert retry == {"ok": True, "message": message, "created": False}
    await quiet()
    assert len(b.of("new_message")) == 1 and c.of("new_message") == []
    history = await (await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=alice.headers)).json()
    assert [m["id"] for m in history["messages"]] == [message["id"]]
    # the same client id for another channel is a conflict
    other = await chat.channel(alice, "other")
    error = await a.error("send_message", {**payload, "channel_id": other["id"]})
    assert error["code"] == "duplicate_client_msg_id"


async def test_rest_and_socket_messages_are_broadcast_alike_and_in_id_order(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    b = await sockets(bob)
    a = await sockets(alice)
    await b.ok("join_channel", {"channel_id": channel["id"]})

    async def via_socket(i):
        return (await a.ok("send_message", {"channel_id": channel["id"], "body": f"s{i}", "client_msg_id": f"s{i}"}))[
            "message"
        ]

    sent = await asyncio.gather(
        *[via_socket(i) for i in range(8)], *[chat.post(alice, channel["id"], f"r{i}") for i in range(8)]
    )
    ids = sorted(m["id"] for m in sent)
    await b.wait("new_message", lambda d: d["message"]["id"] == ids[-1])
    received = [d["message"]["id"] for d in b.of("new_message")]
    assert received == ids  # every message once, in id order


async def test_messages_sent_without_waiting_for_acks_keep_the_sockets_order(client, chat, sockets):
    """A client may send its next message before the previous ack: the socket's order holds."""
    from venn.db.models import Message

    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    watcher = await sockets(carol)
    await watcher.ok("join_channel", {"channel_id": channel["id"]})
    a, b = await sockets(alice), await sockets(bob)

    def burst(sock, name):
        return [
            sock.ok("send_message", {"channel_id": channel["id"], "body": f"{name} {i}", "client_msg_id": f"{name}{i}"})
            for i in range(15)
        ]

    acks = await asyncio.gather(*burst(a, "alice"), *burst(b, "bob"))
    assert all(ack["created"] for ack in acks)
    for name in ("alice", "bob"):
        mine = [ack["message"] for ack in acks if ack["message"]["author"]["username"] == name]
        assert [m["body"] for m in sorted(mine, key=lambda m: m["id"])] == [f"{name} {i}" for i in range(15)]
    stored = [m.body for m in await Message.filter(channel_id=channel["id"]).order_by("id")]
    assert [x for x in stored if x.startswith("alice")] == [f"alice {i}" for i in range(15)]
    last = max(ack["message"]["id"] for ack in acks)
    await watcher.wait("new_message", lambda d: d["message"]["id"] == last)
    seen = [d["message"] for d in watcher.of("new_message")]
    assert [m["id"] for m in seen] == sorted(m["id"] for m in seen) and len(seen) == 30
    assert [m["body"] for m in seen if m["author"]["username"] == "bob"] == [f"bob {i}" for i in range(15)]


async def test_thread_reply_reaches_thread_and_channel_rooms_once(chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    root = await chat.post(alice, channel["id"], "root")
    both, only_thread, only_channel = await sockets(bob), await sockets(bob), await sockets(alice)
    await only_channel.ok("join_channel", {"channel_id": channel["id"]})
    thread = await chat.thread(alice, channel["id"], root["id"], "t")
    assert (await only_channel.wait("thread_created"))["thread"]["id"] == thread["id"]
    await both.ok("join_channel", {"channel_id": channel["id"]})
    await both.ok("join_thread", {"thread_id": thread["id"]})
    await only_thread.ok("join_thread", {"thread_id": thread["id"]})

    reply = (
        await only_channel.ok(
            "send_message", {"channel_id": channel["id"], "thread_id": thread["id"], "body": "re", "client_msg_id": "r"}
        )
    )["message"]
    assert reply["thread_id"] == thread["id"]
    for sock in (both, only_thread, only_channel):
        await sock.wait("new_message")
    await quiet()
    for sock in (both, only_thread, only_channel):
        assert sock.of("new_message") == [{"message": reply}]
    # a thread that is not in that channel
    other = await chat.channel(alice, "other")
    error = await only_channel.error(
        "send_message", {"channel_id": other["id"], "thread_id": thread["id"], "body": "x", "client_msg_id": "x"}
    )
    assert error["code"] == "not_found"


async def test_edit_and_delete(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    a, b = await sockets(alice), await sockets(bob)
    await b.ok("join_channel", {"channel_id": channel["id"]})
    message = await chat.post(alice, channel["id"], "first")

    edited = (await a.ok("edit_message", {"message_id": message["id"], "body": "second"}))["message"]
    assert edited["body"] == "second" and edited["edited_at"]
    assert await b.wait("message_updated") == {"message": edited}
    assert (await b.error("edit_message", {"message_id": message["id"], "body": "mine"}))["code"] == "forbidden"
    assert (await b.error("delete_message", {"message_id": message["id"]}))["code"] == "forbidden"

    deleted = (await a.ok("delete_message", {"message_id": message["id"]}))["message"]
    assert deleted["deleted"] is True and deleted["body"] == ""
    assert await b.wait("message_deleted") == {
        "message_id": message["id"], "channel_id": channel["id"], "thread_id": None
    }
    assert (await a.error("edit_message", {"message_id": message["id"], "body": "again"}))["code"] == "message_deleted"
    assert (await a.error("delete_message", {"message_id": 10**12}))["code"] == "not_found"


async def test_events_for_channels_one_is_not_in(chat, sockets):
    alice, eve = await chat.user("alice"), await chat.user("eve")
    public = await chat.channel(alice, "general")
    secret = await chat.channel(alice, "secret", private=True)
    message = await chat.post(alice, public["id"], "hi")
    e = await sockets(eve)
    send = {"body": "x", "client_msg_id": "e1"}
    assert (await e.error("send_message", {"channel_id": public["id"], **send}))["code"] == "not_a_member"
    assert (await e.error("send_message", {"channel_id": secret["id"], **send}))["code"] == "not_found"
    refused = await e.error("mark_read", {"channel_id": public["id"], "message_id": message["id"]})
    assert refused["code"] == "not_a_member"
    assert (await e.error("typing", {"channel_id": public["id"]}))["code"] == "not_joined"
    assert (await e.error("typing", {"channel_id": public["id"], "thread_id": 5}))["code"] == "not_joined"
    await e.ok("ping")


async def test_mark_read(chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    first = await chat.post(alice, channel["id"], "one")
    await chat.post(alice, channel["id"], "two")
    b = await sockets(bob)
    answer = await b.ok("mark_read", {"channel_id": channel["id"], "message_id": first["id"]})
    assert answer == {"ok": True, "channel_id": channel["id"], "last_read_message_id": first["id"], "unread_count": 1,
                      "mention_count": 0}
    assert (await b.error("mark_read", {"channel_id": channel["id"], "message_id": 10**12}))["code"] == "not_found"


async def test_leaving_the_channel_takes_sockets_out_of_its_rooms(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    root = await chat.post(alice, channel["id"], "root")
    thread = await chat.thread(alice, channel["id"], root["id"])
    b = await sockets(bob)
    await b.ok("join_channel", {"channel_id": channel["id"]})
    await b.ok("join_thread", {"thread_id": thread["id"]})
    resp = await client.post(f"/api/v1/channels/{channel['id']}/leave", headers=bob.headers)
    assert resp.status == 204
    assert await b.wait("member_left") == {"channel_id": channel["id"], "user_id": bob.id}
    await chat.post(alice, channel["id"], "after")
    await chat.post(alice, channel["id"], "reply", thread_id=thread["id"])
    await quiet()
    assert b.of("new_message") == []
    assert (await b.error("typing", {"channel_id": channel["id"]}))["code"] == "not_joined"


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_bot_style_events_reach_the_thread_room(client, chat, sockets):
    from venn import keys
    from venn.events import Event

    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    root = await chat.post(alice, channel["id"], "root")
    thread = await chat.thread(alice, channel["id"], root["id"])
    a = await sockets(alice)
    await a.ok("join_thread", {"thread_id": thread["id"]})
    events = client.server.app[keys.SERVICES].events
    data = {"thread_id": thread["id"], "query_id": "q1", "status": "running"}
    await events.publish(Event("llm_response", data, channel_id=channel["id"], thread_id=thread["id"]))
    status = {"thread_id": thread["id"], "plugin": "sql", "enabled": True}
    await events.publish(Event("bot_status", status, channel_id=channel["id"], thread_id=thread["id"]))
    assert await a.wait("llm_response") == data
    assert await a.wait("bot_status") == status
