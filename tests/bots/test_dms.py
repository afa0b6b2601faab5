"""Bots in direct conversations: enabled there as in a channel (by a member allowed to),
they answer its messages; an admin who is not in it cannot reach it."""

from __future__ import annotations

from tests.helpers import wait_for


async def test_a_bot_enabled_in_a_dm_answers_there(client, chat):
    boss, alice, root = await chat.user("boss", admin=True), await chat.user("alice"), await chat.user("root", admin=True)
    resp = await client.post("/api/v1/dms", json={"user_ids": [alice.id]}, headers=boss.headers)
    dm = (await resp.json())["channel"]
    # an admin outside the conversation does not even see it
    resp = await client.post(f"/api/v1/channels/{dm['id']}/bots", json={"plugin": "echo"}, headers=root.headers)
    assert resp.status == 404
    resp = await client.post(
        f"/api/v1/channels/{dm['id']}/bots", json={"plugin": "echo", "config": {"prefix": "> "}}, headers=boss.headers
    )
    assert resp.status == 201, await resp.text()
    await chat.post(alice, dm["id"], "hello bot")

    async def answered():
        resp = await client.get(f"/api/v1/messages/channel/{dm['id']}", headers=alice.headers)
        return [m for m in (await resp.json())["messages"] if m["kind"] == "bot"]

    [reply] = await wait_for(answered)
    assert reply["body"] == "> hello bot" and reply["author"]["username"] == "echo"
    # the bot answered without becoming a member: the conversation is still the two of them
    resp = await client.get(f"/api/v1/channels/{dm['id']}/members", headers=alice.headers)
    assert sorted(m["username"] for m in (await resp.json())["members"]) == ["alice", "boss"]
