"""Reactions over REST: add (idempotent), remove, canonical emoji, limits, deleted
messages, who may react; message views and history pages carry the summary."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest


async def react(client, person, message_id, emoji):
    return await client.post(f"/api/v1/messages/{message_id}/reactions", json={"emoji": emoji}, headers=person.headers)


async def unreact(client, person, message_id, emoji):
    return await client.delete(f"/api/v1/messages/{message_id}/reactions/{quote(emoji)}", headers=person.headers)


async def history(client, person, channel_id):
    resp = await client.get(f"/api/v1/messages/channel/{channel_id}", headers=person.headers)
    return (await resp.json())["messages"]


async def test_add_is_idempotent_and_every_spelling_is_one_reaction(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    message = await chat.post(alice, channel["id"], "ship it?")
    assert message["reactions"] == [] and message["pinned"] is False

    resp = await react(client, alice, message["id"], "👍")
    assert resp.status == 200
    reactions = (await resp.json())["message"]["reactions"]
    assert reactions == [{"emoji": "👍", "name": "thumbs up", "count": 1, "user_ids": [alice.id]}]
    # the same again, and its short names: still one reaction of Alice's
    for spelling in ("👍", "+1", ":+1:", "thumbsup"):
        resp = await react(client, alice, message["id"], spelling)
        assert resp.status == 200
        assert (await resp.json())["message"]["reactions"][0]["count"] == 1
    # Bob's counts too; "heart" and "❤" (no variation selector) are one emoji, stored as ❤️
    await react(client, bob, message["id"], "+1")
    await react(client, bob, message["id"], "heart")
    await react(client, alice, message["id"], "❤")
    got = (await history(client, alice, channel["id"]))[0]["reactions"]
    assert [(r["emoji"], r["count"], r["user_ids"]) for r in got] == [
        ("👍", 2, [alice.id, bob.id]),
        ("❤️", 2, [bob.id, alice.id]),
    ]
    resp = await client.get(f"/api/v1/messages/{message['id']}", headers=bob.headers)
    assert (await resp.json())["message"]["reactions"] == got


async def test_remove_by_any_spelling_and_removing_again_changes_nothing(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    message = await chat.post(alice, channel["id"])
    await react(client, alice, message["id"], "🎉")
    await react(client, bob, message["id"], "tada")
    resp = await unreact(client, alice, message["id"], "tada")
    assert resp.status == 200
    assert (await resp.json())["message"]["reactions"][0]["user_ids"] == [bob.id]
    resp = await unreact(client, alice, message["id"], "🎉")
    assert resp.status == 200
    assert (await resp.json())["message"]["reactions"][0]["user_ids"] == [bob.id]
    resp = await unreact(client, bob, message["id"], ":tada:")
    assert (await resp.json())["message"]["reactions"] == []
    assert (await history(client, alice, channel["id"]))[0]["reactions"] == []


async def test_skin_tones_and_sequences_are_their_own_reactions(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    message = await chat.post(alice, channel["id"])
    for emoji in ("👍🏽", "👨‍👩‍👧", "🇫🇷"):
        assert (await react(client, alice, message["id"], emoji)).status == 200
    got = (await history(client, alice, channel["id"]))[0]["reactions"]
    assert [r["emoji"] for r in got] == ["👍🏽", "👨‍👩‍👧", "🇫🇷"]


@pytest.mark.parametrize("emoji", ["", "a b", "hello there", "👍👍", "not_a_real_emoji_name", "<script>", "x" * 65, "1"])
async def test_anything_but_one_emoji_is_a_validation_error(client, chat, emoji):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    message = await chat.post(alice, channel["id"])
    resp = await react(client, alice, message["id"], emoji)
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "validation_error" and error["fields"][0]["field"] == "emoji"
    if emoji.strip():
        resp = await unreact(client, alice, message["id"], emoji)
        assert resp.status == 422


async def test_wrong_types_and_unknown_fields_are_refused(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    message = await chat.post(alice, channel["id"])
    for body in ({"emoji": 1}, {"emoji": "👍", "extra": 1}, {}, []):
        resp = await client.post(f"/api/v1/messages/{message['id']}/reactions", json=body, headers=alice.headers)
        assert resp.status == 422, body


async def test_distinct_emoji_per_message_are_limited(aiohttp_client, make_settings, database_url):
    from tests.helpers import Chat
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url=database_url, max_reactions_per_message=2)))
    chat = Chat(client)
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    message = await chat.post(alice, channel["id"])
    assert (await react(client, alice, message["id"], "+1")).status == 200
    assert (await react(client, alice, message["id"], "heart")).status == 200
    resp = await react(client, bob, message["id"], "tada")
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "too_many_reactions" and error["limit"] == 2
    # joining an existing reaction is still fine
    assert (await react(client, bob, message["id"], "heart")).status == 200


async def test_reactions_are_rate_limited(aiohttp_client, make_settings, database_url):
    from tests.helpers import Chat
    from venn.app import create_app

    client = await aiohttp_client(
        create_app(make_settings(database_url=database_url, rate_limit_reactions_per_minute=3))
    )
    chat = Chat(client)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    message = await chat.post(alice, channel["id"])
    for emoji in ("+1", "+1", "+1"):
        assert (await react(client, alice, message["id"], emoji)).status == 200
    resp = await unreact(client, alice, message["id"], "+1")
    assert resp.status == 429
    body = await resp.json()
    assert body["error"]["code"] == "rate_limited" and body["error"]["retry_after"] >= 1


async def test_deleted_messages_take_no_reactions_and_lose_theirs(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    message = await chat.post(alice, channel["id"])
    await react(client, alice, message["id"], "+1")
    resp = await client.delete(f"/api/v1/messages/{message['id']}", headers=alice.headers)
    assert (await resp.json())["message"]["reactions"] == []
    for resp in (await react(client, alice, message["id"], "+1"), await unreact(client, alice, message["id"], "+1")):
        assert resp.status == 409
        assert (await resp.json())["error"]["code"] == "message_deleted"
    assert (await history(client, alice, channel["id"]))[0]["reactions"] == []


async def test_only_members_react(client, chat):
    alice, mallory = await chat.user("alice"), await chat.user("mallory")
    secret = await chat.channel(alice, "secret", private=True)
    public = await chat.channel(alice, "public")
    hidden = await chat.post(alice, secret["id"], "hidden")
    open_message = await chat.post(alice, public["id"], "open")
    resp = await react(client, mallory, hidden["id"], "+1")
    assert resp.status == 404 and "hidden" not in await resp.text()
    assert (await unreact(client, mallory, hidden["id"], "+1")).status == 404
    assert (await react(client, mallory, 999_999, "+1")).status == 404
    resp = await react(client, mallory, open_message["id"], "+1")
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "not_a_member"
    await client.post(f"/api/v1/channels/{public['id']}/join", headers=mallory.headers)
    assert (await react(client, mallory, open_message["id"], "+1")).status == 200


async def test_thread_replies_take_reactions(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    root = await chat.post(alice, channel["id"], "root")
    thread = await chat.thread(alice, channel["id"], root["id"])
    reply = await chat.post(alice, channel["id"], "reply", thread_id=thread["id"])
    assert (await react(client, alice, reply["id"], "eyes")).status == 200
    resp = await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=alice.headers)
    assert (await resp.json())["messages"][0]["reactions"][0]["emoji"] == "👀"


async def test_many_people_reacting_at_once_all_count(client, chat):
    alice = await chat.user("alice")
    people = [await chat.user() for _ in range(8)]
    channel = await chat.channel(alice, "general", members=people)
    message = await chat.post(alice, channel["id"])
    responses = await asyncio.gather(*[react(client, p, message["id"], "+1") for p in people])
    assert all(r.status == 200 for r in responses)
    got = (await history(client, alice, channel["id"]))[0]["reactions"]
    assert got[0]["count"] == 8 and sorted(got[0]["user_ids"]) == sorted(p.id for p in people)
