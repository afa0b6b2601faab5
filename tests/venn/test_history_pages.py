"""History pages are read with one hand-written query; every message in them must
look exactly as the rest of the API shows it (edits, deletions, threads, payloads)."""

from __future__ import annotations

from venn import keys
from venn.db.models import MessageKind, User
from venn.schemas import MessageCreateIn


async def _get(client, person, url: str) -> dict:
    resp = await client.get(url, headers=person.headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_history_pages_show_messages_as_the_rest_of_the_api_does(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    cid = channel["id"]
    first = await chat.post(alice, cid, "first", client_msg_id="c-1")
    gone = await chat.post(bob, cid, "to be deleted")
    thread = await chat.thread(alice, cid, first["id"], "a thread")
    reply = await chat.post(bob, cid, "a reply", thread_id=thread["id"])
    resp = await client.patch(f"/api/v1/messages/{first['id']}", json={"body": "first, edited"}, headers=alice.headers)
    assert resp.status == 200
    resp = await client.delete(f"/api/v1/messages/{gone['id']}", headers=bob.headers)
    assert resp.status == 200
    services = client.server.app[keys.SERVICES]
    author = await User.get(id=alice.id)
    table = {"columns": ["n"], "rows": [[1], [2]], "note": "ünïcode"}
    await services.messages.post(
        author, MessageCreateIn(channel_id=cid, body="a table"), kind=MessageKind.SYSTEM, payload=table, trusted=True
    )

    page = await _get(client, alice, f"/api/v1/messages/channel/{cid}")
    assert page["has_more"] is False
    assert [m["body"] for m in page["messages"]] == ["first, edited", "", "a table"]
    for message in page["messages"]:
        single = (await _get(client, alice, f"/api/v1/messages/{message['id']}"))["message"]
        assert message == single
    shown = {m["id"]: m for m in page["messages"]}
    assert shown[first["id"]]["edited_at"] and shown[first["id"]]["reply_count"] == 1
    assert shown[first["id"]]["started_thread_id"] == thread["id"]
    assert shown[gone["id"]]["deleted"] is True and shown[gone["id"]]["author"]["username"] == "bob"
    assert page["messages"][-1]["payload"] == table and page["messages"][-1]["kind"] == "system"

    replies = await _get(client, bob, f"/api/v1/threads/{thread['id']}/messages")
    assert replies == {"messages": [(await _get(client, bob, f"/api/v1/messages/{reply['id']}"))["message"]],
                       "has_more": False}


async def test_history_pages_walk_the_stream_both_ways(client, chat):
    alice = await chat.user("alice")
    cid = (await chat.channel(alice, "general"))["id"]
    ids = [(await chat.post(alice, cid, f"m{i}"))["id"] for i in range(7)]

    latest = await _get(client, alice, f"/api/v1/messages/channel/{cid}?limit=3")
    assert [m["id"] for m in latest["messages"]] == ids[4:] and latest["has_more"] is True
    older = await _get(client, alice, f"/api/v1/messages/channel/{cid}?limit=3&before={ids[4]}")
    assert [m["id"] for m in older["messages"]] == ids[1:4] and older["has_more"] is True
    oldest = await _get(client, alice, f"/api/v1/messages/channel/{cid}?limit=3&before={ids[1]}")
    assert [m["id"] for m in oldest["messages"]] == ids[:1] and oldest["has_more"] is False
    newer = await _get(client, alice, f"/api/v1/messages/channel/{cid}?limit=4&after={ids[0]}")
    assert [m["id"] for m in newer["messages"]] == ids[1:5] and newer["has_more"] is True
    rest = await _get(client, alice, f"/api/v1/messages/channel/{cid}?limit=4&after={ids[4]}")
    assert [m["id"] for m in rest["messages"]] == ids[5:] and rest["has_more"] is False
