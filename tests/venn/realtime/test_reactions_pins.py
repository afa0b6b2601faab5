"""Reactions and pins in real time: the socket events (with acks), what the rooms are
told, and `sync` resending reacted or pinned messages to a client that was offline."""

from __future__ import annotations

from tests.venn.realtime.kit import quiet


async def test_socket_reactions_reach_the_channel_and_thread_rooms(client, chat, sockets):
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    cid = channel["id"]
    root = await chat.post(alice, cid, "root")
    thread = await chat.thread(alice, cid, root["id"])
    reply = await chat.post(alice, cid, "a reply", thread_id=thread["id"])
    a, b, c = await sockets(alice), await sockets(bob), await sockets(carol)
    await a.ok("join_channel", {"channel_id": cid})
    await b.ok("join_channel", {"channel_id": cid})
    await b.ok("join_thread", {"thread_id": thread["id"]})  # bob is in both rooms
    await c.ok("join_thread", {"thread_id": thread["id"]})  # carol only in the thread's

    answer = await a.ok("add_reaction", {"message_id": reply["id"], "emoji": ":+1:"})
    assert answer["message"]["reactions"] == [
        {"emoji": "👍", "name": "thumbs up", "count": 1, "user_ids": [alice.id]}
    ]
    expected = {
        "message_id": reply["id"], "channel_id": cid, "thread_id": thread["id"], "emoji": "👍",
        "user_id": alice.id, "reactions": answer["message"]["reactions"],
    }
    for sock in (a, b, c):
        assert await sock.wait("reaction_added") == expected
    # a second add changes nothing and tells no one
    await a.ok("add_reaction", {"message_id": reply["id"], "emoji": "👍"})
    await b.ok("add_reaction", {"message_id": root["id"], "emoji": "tada"})
    await a.wait("reaction_added", lambda d: d["message_id"] == root["id"])
    await quiet()
    assert len(b.of("reaction_added", lambda d: d["message_id"] == reply["id"])) == 1  # once, though in two rooms
    assert c.of("reaction_added", lambda d: d["message_id"] == root["id"]) == []  # not in the channel's room

    answer = await a.ok("remove_reaction", {"message_id": reply["id"], "emoji": "+1"})
    assert answer["message"]["reactions"] == []
    removed = await c.wait("reaction_removed")
    assert removed == {**expected, "reactions": []}

    error = await a.error("add_reaction", {"message_id": reply["id"], "emoji": "not an emoji"})
    assert error["code"] == "validation_error"
    error = await a.error("add_reaction", {"message_id": reply["id"]})
    assert error["code"] == "validation_error"


async def test_pins_are_told_to_the_rooms(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    message = await chat.post(alice, channel["id"], "pin me")
    b = await sockets(bob)
    await b.ok("join_channel", {"channel_id": channel["id"]})
    resp = await client.post(f"/api/v1/messages/{message['id']}/pin", headers=alice.headers)
    assert resp.status == 200
    pinned = await b.wait("message_pinned")
    assert pinned["message_id"] == message["id"] and pinned["user_id"] == alice.id
    assert pinned["message"]["pinned"] is True and pinned["pinned_at"] == pinned["message"]["pinned_at"]
    await client.delete(f"/api/v1/messages/{message['id']}/pin", headers=alice.headers)
    assert await b.wait("message_unpinned") == {
        "message_id": message["id"], "channel_id": channel["id"], "thread_id": None, "user_id": alice.id
    }


async def test_sync_resends_messages_reacted_to_or_pinned_while_away(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    cid = channel["id"]
    old = [await chat.post(alice, cid, f"old {i}") for i in range(3)]
    root = old[0]
    thread = await chat.thread(alice, cid, root["id"])
    reply = await chat.post(alice, cid, "reply", thread_id=thread["id"])
    cursor, thread_cursor = old[-1]["id"], reply["id"]

    # while bob is away: reactions on two messages, a pin, a reaction on the thread reply
    await client.post(f"/api/v1/messages/{old[1]['id']}/reactions", json={"emoji": "+1"}, headers=alice.headers)
    await client.post(f"/api/v1/messages/{old[2]['id']}/pin", headers=alice.headers)
    await client.post(f"/api/v1/messages/{reply['id']}/reactions", json={"emoji": "eyes"}, headers=alice.headers)

    b = await sockets(bob)
    answer = await b.ok(
        "sync", {"cursors": {str(cid): cursor}, "thread_cursors": {str(thread["id"]): thread_cursor}}
    )
    [entry] = answer["channels"]
    updates = {m["id"]: m for m in entry["updates"]}
    assert [r["emoji"] for r in updates[old[1]["id"]]["reactions"]] == ["👍"]
    assert updates[old[2]["id"]]["pinned"] is True
    [thread_entry] = answer["threads"]
    assert [r["emoji"] for m in thread_entry["updates"] for r in m["reactions"]] == ["👀"]

    # a reaction taken back while away comes again too, now without it
    await client.delete(f"/api/v1/messages/{old[1]['id']}/reactions/%F0%9F%91%8D", headers=alice.headers)
    [entry] = (await b.ok("sync", {"cursors": {str(cid): cursor}}))["channels"]
    assert {m["id"]: m for m in entry["updates"]}[old[1]["id"]]["reactions"] == []
