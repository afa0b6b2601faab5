"""Pins over REST: pin, unpin, the channel's pin list, the limit, deleted messages,
who may pin and who may list."""

from __future__ import annotations

import asyncio


async def pin(client, person, message_id):
    return await client.post(f"/api/v1/messages/{message_id}/pin", headers=person.headers)


async def unpin(client, person, message_id):
    return await client.delete(f"/api/v1/messages/{message_id}/pin", headers=person.headers)


async def pins(client, person, channel_id):
    resp = await client.get(f"/api/v1/channels/{channel_id}/pins", headers=person.headers)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["pins"]


async def test_pin_list_and_unpin(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    first = await chat.post(alice, channel["id"], "first")
    second = await chat.post(bob, channel["id"], "second")
    assert await pins(client, alice, channel["id"]) == []

    resp = await pin(client, bob, first["id"])
    assert resp.status == 200
    view = (await resp.json())["message"]
    assert view["pinned"] is True and view["pinned_by"] == bob.id and view["pinned_at"].endswith("Z")
    # pinning again changes nothing (same time, same person)
    again = (await (await pin(client, alice, first["id"])).json())["message"]
    assert (again["pinned_at"], again["pinned_by"]) == (view["pinned_at"], bob.id)
    await pin(client, alice, second["id"])
    listed = await pins(client, bob, channel["id"])
    assert [m["body"] for m in listed] == ["second", "first"]  # latest pinned first
    assert all(m["pinned"] for m in listed)
    history = await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=alice.headers)
    assert [m["pinned"] for m in (await history.json())["messages"]] == [True, True]

    resp = await unpin(client, alice, first["id"])
    assert resp.status == 200
    view = (await resp.json())["message"]
    assert view["pinned"] is False and view["pinned_at"] is None and view["pinned_by"] is None
    assert (await unpin(client, alice, first["id"])).status == 200  # not pinned: nothing to do
    assert [m["body"] for m in await pins(client, alice, channel["id"])] == ["second"]


async def test_a_thread_reply_can_be_pinned(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    root = await chat.post(alice, channel["id"], "root")
    thread = await chat.thread(alice, channel["id"], root["id"])
    reply = await chat.post(alice, channel["id"], "the answer", thread_id=thread["id"])
    assert (await pin(client, alice, reply["id"])).status == 200
    listed = await pins(client, alice, channel["id"])
    assert [(m["body"], m["thread_id"]) for m in listed] == [("the answer", thread["id"])]


async def test_pins_per_channel_are_limited(aiohttp_client, make_settings, database_url):
    from tests.helpers import Chat
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url=database_url, max_pins_per_channel=2)))
    chat = Chat(client)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    other = await chat.channel(alice, "other")
    messages = [await chat.post(alice, channel["id"], f"m{i}") for i in range(4)]
    results = await asyncio.gather(*[pin(client, alice, m["id"]) for m in messages])
    assert sorted(r.status for r in results) == [200, 200, 409, 409]  # never a third, even at once
    refused = [r for r in results if r.status == 409][0]
    error = (await refused.json())["error"]
    assert error["code"] == "too_many_pins" and error["limit"] == 2
    assert len(await pins(client, alice, channel["id"])) == 2
    # another channel has its own room for pins; unpinning makes room again
    assert (await pin(client, alice, (await chat.post(alice, other["id"]))["id"])).status == 200
    pinned = [m["id"] for m in await pins(client, alice, channel["id"])]
    await unpin(client, alice, pinned[0])
    left = next(m for m in messages if m["id"] not in pinned)
    assert (await pin(client, alice, left["id"])).status == 200


async def test_deleted_messages_are_not_pinned(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    message = await chat.post(alice, channel["id"])
    await pin(client, alice, message["id"])
    resp = await client.delete(f"/api/v1/messages/{message['id']}", headers=alice.headers)
    assert (await resp.json())["message"]["pinned"] is False
    assert await pins(client, alice, channel["id"]) == []
    for resp in (await pin(client, alice, message["id"]), await unpin(client, alice, message["id"])):
        assert resp.status == 409
        assert (await resp.json())["error"]["code"] == "message_deleted"


async def test_outsiders_neither_pin_nor_see_pins(client, chat):
    alice, mallory = await chat.user("alice"), await chat.user("mallory")
    secret = await chat.channel(alice, "secret", private=True)
    public = await chat.channel(alice, "public")
    hidden = await chat.post(alice, secret["id"], "hidden")
    shown = await chat.post(alice, public["id"], "shown")
    await pin(client, alice, hidden["id"])
    await pin(client, alice, shown["id"])
    for resp in (
        await pin(client, mallory, hidden["id"]),
        await unpin(client, mallory, hidden["id"]),
        await client.get(f"/api/v1/channels/{secret['id']}/pins", headers=mallory.headers),
    ):
        assert resp.status == 404 and "hidden" not in await resp.text()
    # a public channel's pins can be read like its history, but only members pin
    assert [m["body"] for m in await pins(client, mallory, public["id"])] == ["shown"]
    resp = await unpin(client, mallory, shown["id"])
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "not_a_member"
    assert (await pin(client, alice, hidden["id"])).status == 200
    assert [m["body"] for m in await pins(client, alice, secret["id"])] == ["hidden"]
