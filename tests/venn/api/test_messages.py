"""Messages: post, idempotent retry, edit, delete, history paging, threads."""

from __future__ import annotations

import pytest


async def test_post_message_shape(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    resp = await client.post(
        "/api/v1/messages/",
        json={"channel_id": channel["id"], "body": "  hello  ", "client_msg_id": "c-1"},
        headers=alice.headers,
    )
    assert resp.status == 201
    message = (await resp.json())["message"]
    assert message["body"] == "hello"
    assert message["author"] == {"id": alice.id, "username": "alice", "display_name": "alice", "is_bot": False}
    assert message["kind"] == "user" and message["thread_id"] is None and message["deleted"] is False
    assert message["created_at"].endswith("Z") and message["edited_at"] is None
    assert message["client_msg_id"] == "c-1" and message["reply_count"] == 0


async def test_retry_with_same_client_msg_id_returns_the_first_message(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    body = {"channel_id": channel["id"], "body": "once", "client_msg_id": "abc-123"}
    first = await client.post("/api/v1/messages", json=body, headers=alice.headers)
    second = await client.post("/api/v1/messages", json=body, headers=alice.headers)
    assert first.status == 201 and second.status == 200
    assert (await first.json())["message"]["id"] == (await second.json())["message"]["id"]
    history = (await (await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=alice.headers)).json())
    assert [m["body"] for m in history["messages"]] == ["once"]
    # the same id for another channel is a conflict, not a silent duplicate
    other = await chat.channel(alice, "other")
    resp = await client.post("/api/v1/messages", json={**body, "channel_id": other["id"]}, headers=alice.headers)
    assert resp.status == 409
    # another author may use the same client id
    bob = await chat.user("bob")
    await client.post(f"/api/v1/channels/{channel['id']}/join", headers=bob.headers)
    resp = await client.post("/api/v1/messages", json=body, headers=bob.headers)
    assert resp.status == 201


async def test_concurrent_retries_create_one_message(client, chat):
    import asyncio

    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    body = {"channel_id": channel["id"], "body": "race", "client_msg_id": "race-1"}
    responses = await asyncio.gather(
        *[client.post("/api/v1/messages", json=body, headers=alice.headers) for _ in range(5)]
    )
    ids = {(await r.json())["message"]["id"] for r in responses}
    assert len(ids) == 1
    assert sorted(r.status for r in responses) == [200, 200, 200, 200, 201]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"body": "no channel"}, "channel_id"),
        ({"channel_id": "1", "body": "x"}, "channel_id"),
        ({"channel_id": 1}, "body"),
        ({"channel_id": 1, "body": "   "}, "body"),
        ({"channel_id": 1, "body": "x" * 4001}, "body"),
        ({"channel_id": 1, "body": "x", "client_msg_id": "has space"}, "client_msg_id"),
        ({"channel_id": 1, "body": "x", "client_msg_id": "x" * 65}, "client_msg_id"),
        ({"channel_id": 1, "body": "x", "kind": "system"}, "kind"),
        ({"channel_id": 1, "body": "x", "thread_id": -3}, "thread_id"),
    ],
)
async def test_post_validation(client, chat, body, field):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    if body.get("channel_id") == 1:
        body = {**body, "channel_id": channel["id"]}
    resp = await client.post("/api/v1/messages", json=body, headers=alice.headers)
    assert resp.status == 422, await resp.text()
    assert field in [f["field"] for f in (await resp.json())["error"]["fields"]]


async def test_edit_and_delete_rules(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    admin = await chat.user("root", admin=True)
    channel = await chat.channel(alice, "general", members=[bob])
    message = await chat.post(alice, channel["id"], "original")

    resp = await client.patch(f"/api/v1/messages/{message['id']}", json={"body": "hacked"}, headers=bob.headers)
    assert resp.status == 403
    resp = await client.delete(f"/api/v1/messages/{message['id']}", headers=bob.headers)
    assert resp.status == 403

    resp = await client.patch(f"/api/v1/messages/{message['id']}", json={"body": "fixed typo"}, headers=alice.headers)
    assert resp.status == 200
    edited = (await resp.json())["message"]
    assert edited["body"] == "fixed typo" and edited["edited_at"] is not None
    resp = await client.patch(f"/api/v1/messages/{message['id']}", json={"body": ""}, headers=alice.headers)
    assert resp.status == 422

    resp = await client.delete(f"/api/v1/messages/{message['id']}", headers=admin.headers)
    assert resp.status == 200
    deleted = (await resp.json())["message"]
    assert deleted["deleted"] is True and deleted["body"] == ""
    history = (await (await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=bob.headers)).json())
    assert history["messages"][0]["deleted"] is True and history["messages"][0]["body"] == ""
    resp = await client.patch(f"/api/v1/messages/{message['id']}", json={"body": "back"}, headers=alice.headers)
    assert resp.status == 409
    resp = await client.patch("/api/v1/messages/987654", json={"body": "x"}, headers=alice.headers)
    assert resp.status == 404


async def test_history_pagination(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    ids = [(await chat.post(alice, channel["id"], f"m{i}"))["id"] for i in range(7)]
    url = f"/api/v1/messages/channel/{channel['id']}"

    async def page(**params):
        resp = await client.get(url, params=params, headers=alice.headers)
        assert resp.status == 200, await resp.text()
        data = await resp.json()
        return [m["id"] for m in data["messages"]], data["has_more"]

    assert await page() == (ids, False)
    assert await page(limit=3) == (ids[4:], True)
    assert await page(limit=3, before=ids[4]) == (ids[1:4], True)
    assert await page(limit=3, before=ids[1]) == (ids[:1], False)
    assert await page(limit=3, after=ids[0]) == (ids[1:4], True)
    assert await page(limit=3, after=ids[3]) == (ids[4:], False)
    assert await page(after=ids[-1]) == ([], False)
    assert await page(limit=200) == (ids, False)
    for bad in [{"limit": 0}, {"limit": 201}, {"limit": "x"}, {"before": "abc"}, {"before": ids[1], "after": ids[0]}]:
        resp = await client.get(url, params=bad, headers=alice.headers)
        assert resp.status == 422, bad


async def test_threads(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    root = await chat.post(alice, channel["id"], "a question")
    resp = await client.post(
        "/api/v1/threads",
        json={"channel_id": channel["id"], "root_message_id": root["id"], "title": "Q"},
        headers=bob.headers,
    )
    assert resp.status == 201
    thread = (await resp.json())["thread"]
    assert thread["root_message_id"] == root["id"] and thread["created_by"] == bob.id and thread["reply_count"] == 0
    again = await client.post(
        "/api/v1/threads", json={"channel_id": channel["id"], "root_message_id": root["id"]}, headers=alice.headers
    )
    assert again.status == 200 and (await again.json())["thread"]["id"] == thread["id"]

    replies = [await chat.post(bob, channel["id"], f"reply {i}", thread_id=thread["id"]) for i in range(3)]
    assert all(r["thread_id"] == thread["id"] for r in replies)
    # replies live in the thread, not in the channel stream, whose root carries the count
    stream = (await (await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=alice.headers)).json())
    assert [m["id"] for m in stream["messages"]] == [root["id"]]
    assert stream["messages"][0]["reply_count"] == 3 and stream["messages"][0]["started_thread_id"] == thread["id"]
    page = (await (await client.get(f"/api/v1/threads/{thread['id']}/messages?limit=2", headers=alice.headers)).json())
    assert [m["body"] for m in page["messages"]] == ["reply 1", "reply 2"] and page["has_more"]
    got = (await (await client.get(f"/api/v1/threads/{thread['id']}", headers=alice.headers)).json())["thread"]
    assert got["reply_count"] == 3

    # a reply cannot start a thread; a thread of another channel is not found
    resp = await client.post(
        "/api/v1/threads",
        json={"channel_id": channel["id"], "root_message_id": replies[0]["id"]},
        headers=alice.headers,
    )
    assert resp.status == 422
    other = await chat.channel(alice, "other")
    resp = await client.post(
        "/api/v1/messages",
        json={"channel_id": other["id"], "body": "x", "thread_id": thread["id"]},
        headers=alice.headers,
    )
    assert resp.status == 404


async def test_message_rate_limit(aiohttp_client, make_settings, database_url):
    from tests.helpers import Chat
    from venn.app import create_app

    settings = make_settings(database_url=database_url, rate_limit_messages_per_minute=5)
    client = await aiohttp_client(create_app(settings))
    chat = Chat(client)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    statuses = []
    for i in range(7):
        resp = await client.post(
            "/api/v1/messages", json={"channel_id": channel["id"], "body": f"m{i}"}, headers=alice.headers
        )
        statuses.append(resp.status)
    assert statuses == [201] * 5 + [429, 429]
    assert int(resp.headers["Retry-After"]) >= 1
    history = (await (await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=alice.headers)).json())
    assert len(history["messages"]) == 5
