"""Catch-up after a reconnect: ``sync`` fills the gap with no loss and no duplicate."""

from __future__ import annotations

import pytest


async def test_sync_after_a_disconnect_fills_the_gap(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    cid = channel["id"]
    before = [await chat.post(alice, cid, f"old {i}") for i in range(3)]
    b = await sockets(bob)
    await b.ok("join_channel", {"channel_id": cid})
    seen = await chat.post(alice, cid, "seen live")
    await b.wait("new_message", lambda d: d["message"]["id"] == seen["id"])
    cursor = max(d["message"]["id"] for d in b.of("new_message"))
    await b.close()

    # while bob is away
    missed = [await chat.post(alice, cid, f"missed {i}") for i in range(5)]
    edit = await client.patch(
        f"/api/v1/messages/{before[0]['id']}", json={"body": "old 0, edited"}, headers=alice.headers
    )
    assert edit.status == 200
    assert (await client.delete(f"/api/v1/messages/{before[1]['id']}", headers=alice.headers)).status == 200
    assert (await client.delete(f"/api/v1/messages/{missed[4]['id']}", headers=alice.headers)).status == 200
    thread = await chat.thread(alice, cid, before[2]["id"])
    await chat.post(alice, cid, "a reply", thread_id=thread["id"])

    b = await sockets(bob)
    await b.ok("join_channel", {"channel_id": cid})
    # one page of two, then the rest: no gap, no duplicate
    first = await b.ok("sync", {"cursors": {str(cid): cursor}, "limit": 2})
    assert first["server_time"].endswith("Z") and first["threads"] == []
    [page] = first["channels"]
    assert page["channel_id"] == cid and page["has_more"] is True
    got = [m["id"] for m in page["messages"]]
    # updates: the edit, the delete and the root whose thread started meanwhile
    updates = {m["id"]: m for m in page["updates"]}
    assert updates[before[0]["id"]]["body"] == "old 0, edited"
    assert updates[before[1]["id"]]["deleted"] is True
    assert updates[before[2]["id"]]["reply_count"] == 1
    assert updates[before[2]["id"]]["started_thread_id"] == thread["id"]
    assert seen["id"] not in updates
    while page["has_more"]:
        [page] = (await b.ok("sync", {"cursors": {str(cid): got[-1]}, "limit": 2}))["channels"]
        got += [m["id"] for m in page["messages"]]
    assert got == [m["id"] for m in missed]  # thread replies are not in the channel stream
    last = (await b.ok("sync", {"cursors": {str(cid): got[-1]}}))["channels"][0]
    assert last["messages"] == [] and last["has_more"] is False
    assert {m["id"] for m in last["updates"]} >= {missed[4]["id"]}  # deleted after it was posted


async def test_sync_threads_and_visibility(client, chat, sockets):
    alice, bob, eve = await chat.user("alice"), await chat.user("bob"), await chat.user("eve")
    channel = await chat.channel(alice, "general", members=[bob])
    secret = await chat.channel(alice, "secret", private=True)
    root = await chat.post(alice, channel["id"], "root")
    thread = await chat.thread(alice, channel["id"], root["id"])
    r1 = await chat.post(alice, channel["id"], "r1", thread_id=thread["id"])
    r2 = await chat.post(bob, channel["id"], "r2", thread_id=thread["id"])
    b = await sockets(bob)
    answer = await b.ok("sync", {"thread_cursors": {str(thread["id"]): r1["id"]}, "cursors": {str(secret["id"]): 0}})
    [entry] = answer["threads"]
    assert entry["thread_id"] == thread["id"] and entry["channel_id"] == channel["id"]
    assert [m["id"] for m in entry["messages"]] == [r2["id"]] and entry["has_more"] is False
    # a private channel of others: an error for that entry only
    assert answer["channels"] == [
        {"channel_id": secret["id"], "error": {"code": "not_found", "message": "No such channel."}}
    ]
    # cursor 0: from the start of the stream
    e = await sockets(eve)
    [public] = (await e.ok("sync", {"cursors": {str(channel["id"]): 0}}))["channels"]
    assert [m["id"] for m in public["messages"]] == [root["id"]] and public["updates"] == []


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize(
    "payload, field",
    [
        ({"cursors": {"abc": 1}}, "cursors"),
        ({"cursors": {"0": 1}}, "cursors"),
        ({"cursors": {"1": -1}}, "cursors.1"),
        ({"cursors": {"1": "5"}}, "cursors.1"),
        ({"cursors": {str(i): 0 for i in range(1, 102)}}, "cursors"),
        ({"thread_cursors": [1, 2]}, "thread_cursors"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"since": "yesterday"}, "since"),
    ],
)
async def test_sync_refuses_bad_cursors(chat, sockets, payload, field):
    alice = await chat.user("alice")
    a = await sockets(alice)
    error = await a.error("sync", payload)
    assert error["code"] == "validation_error"
    assert field in [f["field"] for f in error["fields"]]
