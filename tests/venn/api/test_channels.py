"""Channels: create, browse, join, leave, members, private visibility, read markers."""

from __future__ import annotations

import pytest


async def test_create_and_list_channels(client, chat):
    alice = await chat.user("alice")
    resp = await client.post("/api/v1/channels/", json={"name": "General", "topic": "all hands"}, headers=alice.headers)
    assert resp.status == 201
    channel = (await resp.json())["channel"]
    assert channel["name"] == "general" and channel["topic"] == "all hands"
    assert channel["member_count"] == 1 and channel["unread_count"] == 0 and not channel["is_private"]

    resp = await client.post("/api/v1/channels", json={"name": "general"}, headers=alice.headers)
    assert resp.status == 409

    resp = await client.get("/api/v1/channels", headers=alice.headers)
    assert [c["name"] for c in (await resp.json())["channels"]] == ["general"]


@pytest.mark.parametrize(
    "body",
    [{}, {"name": ""}, {"name": "has space"}, {"name": "x" * 81}, {"name": 5}, {"name": "ok", "topic": "t" * 251},
     {"name": "ok", "is_private": "yes"}, {"name": "ok", "owner": 1}],
)
async def test_create_channel_validation(client, chat, body):
    alice = await chat.user("alice")
    resp = await client.post("/api/v1/channels", json=body, headers=alice.headers)
    assert resp.status == 422
    assert (await resp.json())["error"]["fields"]


async def test_browse_join_and_leave_public_channel(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "random")
    # bob does not see it among his channels, but does when browsing
    mine = (await (await client.get("/api/v1/channels", headers=bob.headers)).json())["channels"]
    assert mine == []
    browse = (await (await client.get("/api/v1/channels?all=1", headers=bob.headers)).json())["channels"]
    assert [(c["name"], c["is_member"]) for c in browse] == [("random", False)]
    # not a member yet: can read, cannot post
    resp = await client.post("/api/v1/messages", json={"channel_id": channel["id"], "body": "hi"}, headers=bob.headers)
    assert resp.status == 403
    resp = await client.post(f"/api/v1/channels/{channel['id']}/join", headers=bob.headers)
    assert resp.status == 200 and (await resp.json())["channel"]["member_count"] == 2
    await chat.post(bob, channel["id"], "hi")
    resp = await client.post(f"/api/v1/channels/{channel['id']}/leave/", headers=bob.headers)
    assert resp.status == 204
    resp = await client.post(f"/api/v1/channels/{channel['id']}/leave", headers=bob.headers)
    assert resp.status == 403


async def test_private_channel_is_invisible_to_outsiders(client, chat):
    alice, bob, eve = await chat.user("alice"), await chat.user("bob"), await chat.user("eve")
    secret = await chat.channel(alice, "secret", private=True, members=[bob])
    message = await chat.post(alice, secret["id"], "the plan")
    thread = await chat.thread(alice, secret["id"], message["id"])
    cid = secret["id"]
    for method, path, body in [
        ("GET", f"/api/v1/channels/{cid}", None),
        ("POST", f"/api/v1/channels/{cid}/join", None),
        ("GET", f"/api/v1/channels/{cid}/members", None),
        ("POST", f"/api/v1/channels/{cid}/members", {"user_id": eve.id}),
        ("POST", f"/api/v1/channels/{cid}/read", {"message_id": message["id"]}),
        ("GET", f"/api/v1/messages/channel/{cid}", None),
        ("POST", "/api/v1/messages", {"channel_id": cid, "body": "let me in"}),
        ("PATCH", f"/api/v1/messages/{message['id']}", {"body": "edited"}),
        ("DELETE", f"/api/v1/messages/{message['id']}", None),
        ("GET", f"/api/v1/threads/{thread['id']}", None),
        ("GET", f"/api/v1/threads/{thread['id']}/messages", None),
        ("POST", "/api/v1/threads", {"channel_id": cid, "root_message_id": message["id"]}),
    ]:
        resp = await client.request(method, path, json=body, headers=eve.headers)
        assert resp.status == 404, (method, path, resp.status)
        assert "secret" not in await resp.text()
    browse = (await (await client.get("/api/v1/channels?all=1", headers=eve.headers)).json())["channels"]
    assert browse == []
    # a non-existent channel answers exactly the same
    resp = await client.get("/api/v1/channels/999999", headers=eve.headers)
    assert resp.status == 404
    # members see it
    resp = await client.get(f"/api/v1/messages/channel/{cid}", headers=bob.headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["the plan"]


async def test_only_owners_and_admins_add_to_private_channels(client, chat):
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    admin = await chat.user("root", admin=True)
    secret = await chat.channel(alice, "secret", private=True, members=[bob])
    resp = await client.post(
        f"/api/v1/channels/{secret['id']}/members", json={"user_id": carol.id}, headers=bob.headers
    )
    assert resp.status == 403
    resp = await client.post(
        f"/api/v1/channels/{secret['id']}/members", json={"user_id": carol.id}, headers=admin.headers
    )
    assert resp.status == 201
    resp = await client.get(f"/api/v1/channels/{secret['id']}/members", headers=carol.headers)
    members = (await resp.json())["members"]
    assert sorted(m["username"] for m in members) == ["alice", "bob", "carol"]
    assert all(m["status"] in {"online", "offline"} for m in members)
    resp = await client.post(
        f"/api/v1/channels/{secret['id']}/members", json={"user_id": 424242}, headers=alice.headers
    )
    assert resp.status == 404


async def test_unread_counts_and_read_marker(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    posted = [await chat.post(alice, channel["id"], f"m{i}") for i in range(5)]
    await chat.post(bob, channel["id"], "my own message does not count")
    root = posted[0]
    thread = await chat.thread(alice, channel["id"], root["id"])
    await chat.post(alice, channel["id"], "thread replies do not count", thread_id=thread["id"])

    def unread(channels):
        return {c["name"]: c["unread_count"] for c in channels}

    listed = (await (await client.get("/api/v1/channels", headers=bob.headers)).json())["channels"]
    assert unread(listed) == {"general": 5}
    resp = await client.post(
        f"/api/v1/channels/{channel['id']}/read", json={"message_id": posted[2]["id"]}, headers=bob.headers
    )
    assert resp.status == 200
    assert (await resp.json()) == {
        "channel_id": channel["id"],
        "last_read_message_id": posted[2]["id"],
        "unread_count": 2,
        "mention_count": 0,
    }
    # the marker never moves back
    resp = await client.post(
        f"/api/v1/channels/{channel['id']}/read", json={"message_id": posted[0]["id"]}, headers=bob.headers
    )
    assert (await resp.json())["unread_count"] == 2
    # a deleted message is no longer unread
    await client.delete(f"/api/v1/messages/{posted[4]['id']}", headers=alice.headers)
    listed = (await (await client.get("/api/v1/channels", headers=bob.headers)).json())["channels"]
    assert unread(listed) == {"general": 1}
    resp = await client.post(
        f"/api/v1/channels/{channel['id']}/read", json={"message_id": 99999999}, headers=bob.headers
    )
    assert resp.status == 404


async def test_path_ids_out_of_range_are_not_found(client, chat):
    alice = await chat.user("alice")
    for path in ["/api/v1/channels/0", "/api/v1/channels/99999999999999999999999", "/api/v1/channels/abc"]:
        resp = await client.get(path, headers=alice.headers)
        assert resp.status == 404, path
        assert (await resp.json())["error"]["code"] == "not_found"
