"""Incoming webhooks over REST: who may make, list and delete them; posting through
``/hooks/{id}/{secret}`` as the webhook's bot (history, live sockets); wrong or deleted
hooks, the rate limit, bad bodies and archived channels."""

from __future__ import annotations

from tests.helpers import Chat
from tests.venn.realtime.kit import Sock
from venn.app import create_app
from venn.db.models import Channel


async def make_hook(client, person, channel_id, name="CI bot"):
    resp = await client.post(f"/api/v1/channels/{channel_id}/webhooks", json={"name": name}, headers=person.headers)
    assert resp.status == 201, await resp.text()
    return (await resp.json())["webhook"]


async def history(client, person, channel_id):
    resp = await client.get(f"/api/v1/messages/channel/{channel_id}", headers=person.headers)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["messages"]


async def test_owner_makes_lists_and_deletes_webhooks(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "builds", members=[bob])
    hook = await make_hook(client, alice, channel["id"], "CI bot")
    assert hook["name"] == "CI bot" and hook["channel_id"] == channel["id"] and hook["created_by"] == alice.id
    assert hook["url"].startswith(f"/hooks/{hook['id']}/") and len(hook["url"].rsplit("/", 1)[1]) >= 32
    assert hook["bot_user"]["is_bot"] is True and hook["bot_user"]["display_name"] == "CI bot"
    # the bot is a member of the channel
    resp = await client.get(f"/api/v1/channels/{channel['id']}/members", headers=bob.headers)
    assert hook["bot_user"]["id"] in [m["id"] for m in (await resp.json())["members"]]

    resp = await client.get(f"/api/v1/channels/{channel['id']}/webhooks", headers=alice.headers)
    assert resp.status == 200
    listed = (await resp.json())["webhooks"]
    assert [h["id"] for h in listed] == [hook["id"]]
    secret = hook["url"].rsplit("/", 1)[1]
    assert "url" not in listed[0] and secret not in await resp.text()  # the secret is shown once

    resp = await client.delete(f"/api/v1/channels/{channel['id']}/webhooks/{hook['id']}", headers=alice.headers)
    assert resp.status == 204
    resp = await client.get(f"/api/v1/channels/{channel['id']}/webhooks", headers=alice.headers)
    assert (await resp.json())["webhooks"] == []
    resp = await client.delete(f"/api/v1/channels/{channel['id']}/webhooks/{hook['id']}", headers=alice.headers)
    assert resp.status == 404
    # the deleted hook's URL is dead, and its bot has left the channel
    resp = await client.post(hook["url"], json={"text": "late"})
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    resp = await client.get(f"/api/v1/channels/{channel['id']}/members", headers=bob.headers)
    assert hook["bot_user"]["id"] not in [m["id"] for m in (await resp.json())["members"]]


async def test_only_owners_and_admins_manage_webhooks(client, chat):
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    admin = await chat.user("root", admin=True)
    public = await chat.channel(alice, "public", members=[bob])
    private = await chat.channel(alice, "private", private=True)
    hook = await make_hook(client, alice, public["id"])
    base = f"/api/v1/channels/{public['id']}/webhooks"
    # a member who is not an owner: 403
    for method, url, body in (
        ("POST", base, {"name": "x"}), ("GET", base, None), ("DELETE", f"{base}/{hook['id']}", None),
    ):
        resp = await client.request(method, url, json=body, headers=bob.headers)
        assert resp.status == 403, (method, url, await resp.text())
        # not a member (even of a public channel): 404
        resp = await client.request(method, url, json=body, headers=carol.headers)
        assert resp.status == 404, (method, url, await resp.text())
    resp = await client.get(f"/api/v1/channels/{private['id']}/webhooks", headers=carol.headers)
    assert resp.status == 404
    # an admin may, member or not
    made = await make_hook(client, admin, private["id"], "Admin's hook")
    resp = await client.get(f"/api/v1/channels/{private['id']}/webhooks", headers=admin.headers)
    assert [h["id"] for h in (await resp.json())["webhooks"]] == [made["id"]]
    # a webhook of another channel cannot be deleted through this one
    resp = await client.delete(f"/api/v1/channels/{public['id']}/webhooks/{made['id']}", headers=alice.headers)
    assert resp.status == 404
    resp = await client.post(f"{base}", json={"name": ""}, headers=alice.headers)
    assert resp.status == 422 and (await resp.json())["error"]["fields"][0]["field"] == "name"


async def test_posting_through_a_webhook(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "builds", members=[bob])
    hook = await make_hook(client, alice, channel["id"], "Deploys")
    url = str(client.make_url("/"))
    watcher = Sock(url, bob)
    try:
        await watcher.connect()
        await watcher.ok("join_channel", {"channel_id": channel["id"]})
        # no Authorization header: the secret is the credential
        resp = await client.post(hook["url"], json={"text": "deploy **done**", "payload": {"build": 42}})
        assert resp.status == 200, await resp.text()
        answer = await resp.json()
        assert answer["ok"] is True and answer["message_id"] >= 1
        event = await watcher.wait("new_message", lambda d: d["message"]["id"] == answer["message_id"])
        assert event["message"]["body"] == "deploy **done**"
        assert event["message"]["author"]["display_name"] == "Deploys"
    finally:
        await watcher.close()
    [message] = await history(client, bob, channel["id"])
    assert message["id"] == answer["message_id"] and message["kind"] == "bot"
    assert message["author"] == hook["bot_user"] and message["payload"] == {"build": 42}


async def test_wrong_secret_unknown_hook_and_other_paths_are_not_found(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "builds")
    hook = await make_hook(client, alice, channel["id"])
    secret = hook["url"].rsplit("/", 1)[1]
    for path in (
        f"/hooks/{hook['id']}/{secret[:-1]}x", f"/hooks/{hook['id']}/wrong", f"/hooks/{hook['id'] + 1}/{secret}",
        f"/hooks/99999999999999999999/{secret}", f"/hooks/{hook['id']}",
    ):
        resp = await client.post(path, json={"text": "hi"})
        assert resp.status == 404, (path, await resp.text())
        assert (await resp.json())["error"]["code"] == "not_found"
    # only POST is there; a bearer token gets nothing more
    resp = await client.get(hook["url"], headers=alice.headers)
    assert resp.status == 405
    assert await history(client, alice, channel["id"]) == []


async def test_bad_bodies_are_refused(aiohttp_client, make_settings, database_url):
    client = await aiohttp_client(create_app(make_settings(database_url=database_url, max_message_length=20)))
    chat = Chat(client)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "builds")
    hook = await make_hook(client, alice, channel["id"])
    cases = [
        ({"text": "   "}, 422, "text"),
        ({"text": "x" * 21}, 422, "text"),
        ({"body": "hi"}, 422, "body"),
        ({"text": 5}, 422, "text"),
        ({"text": "hi", "payload": [1]}, 422, "payload"),
        ({"text": "hi", "payload": {"blob": "x" * 17_000}}, 422, "payload"),
    ]
    for body, status, field in cases:
        resp = await client.post(hook["url"], json=body)
        assert resp.status == status, (body, await resp.text())
        error = (await resp.json())["error"]
        assert error["code"] == "validation_error" and field in [f["field"] for f in error["fields"]], error
    resp = await client.post(hook["url"], data=b"not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_json"
    resp = await client.post(hook["url"])
    assert resp.status == 400
    assert await history(client, alice, channel["id"]) == []


async def test_webhooks_are_rate_limited_and_refused_in_archived_channels(aiohttp_client, make_settings, database_url):
    client = await aiohttp_client(
        create_app(make_settings(database_url=database_url, rate_limit_webhook_per_minute=2))
    )
    chat = Chat(client)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "builds")
    hook, other = await make_hook(client, alice, channel["id"]), await make_hook(client, alice, channel["id"], "B")
    assert [(await client.post(hook["url"], json={"text": f"m{i}"})).status for i in range(2)] == [200, 200]
    resp = await client.post(hook["url"], json={"text": "too many"})
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    assert (await resp.json())["error"]["code"] == "rate_limited"
    # each webhook has its own allowance
    assert (await client.post(other["url"], json={"text": "other"})).status == 200
    assert [m["body"] for m in await history(client, alice, channel["id"])] == ["m0", "m1", "other"]

    await Channel.filter(id=channel["id"]).update(archived=True)
    third = await make_hook_refused(client, alice, channel["id"])
    assert third == "channel_archived"
    resp = await client.post(other["url"], json={"text": "into the archive"})
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "channel_archived"


async def make_hook_refused(client, person, channel_id):
    resp = await client.post(f"/api/v1/channels/{channel_id}/webhooks", json={"name": "x"}, headers=person.headers)
    assert resp.status == 403
    return (await resp.json())["error"]["code"]
