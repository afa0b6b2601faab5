"""Enabling bots over REST: plugins list, enable/configure/disable, validation, permissions, audit."""

from __future__ import annotations

from tests.helpers import wait_for
from venn_bots.keys import RUNTIME


async def arrange(chat):
    admin = await chat.user("boss", admin=True)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    root = await chat.post(alice, channel["id"], "a topic")
    thread = await chat.thread(alice, channel["id"], root["id"], "bots here")
    return admin, alice, channel, thread


async def thread_messages(client, person, thread_id):
    resp = await client.get(f"/api/v1/threads/{thread_id}/messages", headers=person.headers)
    assert resp.status == 200
    return (await resp.json())["messages"]


async def test_plugins_are_listed(client, chat):
    alice = await chat.user("alice")
    resp = await client.get("/api/v1/plugins", headers=alice.headers)
    assert resp.status == 200
    plugins = {p["name"]: p for p in (await resp.json())["plugins"]}
    echo = plugins["echo"]
    assert echo["version"] == "1.0.0" and echo["description"]
    assert echo["commands"] == [
        {"name": "echo", "aliases": [], "help": "Repeat the text after the command.", "usage": "/echo TEXT",
         "args_schema": None}
    ]
    assert set(echo["config_schema"]["properties"]) == {"prefix", "uppercase"}
    assert echo["bot_user"]["username"] == "echo" and echo["bot_user"]["is_bot"] is True
    assert "help" in plugins
    assert "skipped" not in await resp.json()  # for admins only
    admin = await chat.user("boss", admin=True)
    resp = await client.get("/api/v1/plugins", headers=admin.headers)
    assert (await resp.json())["skipped"] == []
    assert (await client.get("/api/v1/plugins")).status == 401


async def test_admin_enables_echo_and_a_users_message_gets_the_reply(client, chat):
    admin, alice, channel, thread = await arrange(chat)
    resp = await client.post(
        f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "echo", "config": {"prefix": "> "}},
        headers=admin.headers,
    )
    assert resp.status == 201, await resp.text()
    bot = (await resp.json())["bot"]
    assert bot["plugin"] == "echo" and bot["scope"] == "thread" and bot["enabled"] is True
    assert bot["config"] == {"prefix": "> ", "uppercase": False} and bot["enabled_by"] == admin.id
    # posting returns at once; the reply follows
    await chat.post(alice, channel["id"], "hello bots", thread_id=thread["id"])

    async def echoed():
        messages = await thread_messages(client, alice, thread["id"])
        return [m for m in messages if m["kind"] == "bot"]

    [reply] = await wait_for(echoed)
    assert reply["body"] == "> hello bots" and reply["author"]["username"] == "echo"
    messages = await thread_messages(client, alice, thread["id"])
    assert messages[0]["kind"] == "system" and messages[0]["body"] == "@boss enabled echo in this thread."
    assert messages[0]["author"]["is_bot"] is True


async def test_listing_shows_thread_and_inherited_channel_settings(client, chat):
    admin, alice, channel, thread = await arrange(chat)
    resp = await client.post(f"/api/v1/channels/{channel['id']}/bots", json={"plugin": "help"}, headers=admin.headers)
    assert resp.status == 201
    resp = await client.post(f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "echo"}, headers=admin.headers)
    assert resp.status == 201
    resp = await client.get(f"/api/v1/threads/{thread['id']}/bots", headers=admin.headers)
    bots = (await resp.json())["bots"]
    assert [(b["plugin"], b["scope"], b["enabled"]) for b in bots] == [
        ("echo", "thread", True),
        ("help", "channel", True),
    ]
    assert bots[0]["config"] == {"prefix": "", "uppercase": False}
    # members see which bots are on, not their configs
    resp = await client.get(f"/api/v1/threads/{thread['id']}/bots", headers=alice.headers)
    assert resp.status == 200 and all(b["config"] is None for b in (await resp.json())["bots"])
    resp = await client.get(f"/api/v1/channels/{channel['id']}/bots", headers=alice.headers)
    assert [b["plugin"] for b in (await resp.json())["bots"]] == ["help"]


async def test_config_is_validated_against_the_plugin_model(client, chat):
    admin, alice, channel, thread = await arrange(chat)
    cases = [
        ({"plugin": "echo", "config": {"prefix": "x" * 41}}, ["config.prefix"]),
        ({"plugin": "echo", "config": {"uppercase": "loud"}}, ["config.uppercase"]),
        ({"plugin": "echo", "config": {"colour": "red"}}, ["config.colour"]),
        ({"plugin": "nope"}, ["plugin"]),
        ({"config": {}}, ["plugin"]),
        ({"plugin": "echo", "config": []}, ["config"]),
    ]
    for body, fields in cases:
        for target in (f"threads/{thread['id']}", f"channels/{channel['id']}"):
            resp = await client.post(f"/api/v1/{target}/bots", json=body, headers=admin.headers)
            assert resp.status == 422, (body, await resp.text())
            assert [f["field"] for f in (await resp.json())["error"]["fields"]] == fields, body
    # nothing was enabled, nothing was logged
    resp = await client.get("/api/v1/admin/bots/audit", headers=admin.headers)
    assert (await resp.json())["entries"] == []


async def test_patch_merges_validates_and_delete_disables(client, chat):
    admin, alice, channel, thread = await arrange(chat)
    base = f"/api/v1/threads/{thread['id']}/bots"
    await client.post(base, json={"plugin": "echo", "config": {"prefix": "a"}}, headers=admin.headers)
    resp = await client.post(base, json={"plugin": "echo"}, headers=admin.headers)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "bot_already_enabled"
    resp = await client.patch(f"{base}/echo", json={"config": {"uppercase": True}}, headers=admin.headers)
    assert resp.status == 200
    assert (await resp.json())["bot"]["config"] == {"prefix": "a", "uppercase": True}
    resp = await client.patch(f"{base}/echo", json={"config": {"prefix": 5}}, headers=admin.headers)
    assert resp.status == 422 and (await resp.json())["error"]["fields"][0]["field"] == "config.prefix"
    assert (await client.patch(f"{base}/help", json={"config": {}}, headers=admin.headers)).status == 404
    assert (await client.patch(f"{base}/nope", json={"config": {}}, headers=admin.headers)).status == 404
    resp = await client.delete(f"{base}/echo", headers=admin.headers)
    assert resp.status == 204
    resp = await client.delete(f"{base}/echo", headers=admin.headers)
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "bot_not_enabled"
    assert (await (await client.get(base, headers=admin.headers)).json())["bots"] == []
    bodies = [m["body"] for m in await thread_messages(client, admin, thread["id"]) if m["kind"] == "system"]
    assert bodies == [
        "@boss enabled echo in this thread.",
        "@boss changed the settings of echo in this thread.",
        "@boss disabled echo in this thread.",
    ]


async def test_a_member_cannot_change_bots(client, chat):
    admin, alice, channel, thread = await arrange(chat)
    bob = await chat.user("bob")
    await client.post(f"/api/v1/channels/{channel['id']}/join", headers=bob.headers)
    for person in (alice, bob):  # alice owns the channel, but owners may not by default
        resp = await client.post(
            f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "echo"}, headers=person.headers
        )
        assert resp.status == 403, await resp.text()
        resp = await client.post(
            f"/api/v1/channels/{channel['id']}/bots", json={"plugin": "echo"}, headers=person.headers
        )
        assert resp.status == 403
    await client.post(f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "echo"}, headers=admin.headers)
    assert (await client.delete(f"/api/v1/threads/{thread['id']}/bots/echo", headers=bob.headers)).status == 403
    assert (await client.patch(
        f"/api/v1/threads/{thread['id']}/bots/echo", json={"config": {}}, headers=bob.headers
    )).status == 403
    # a private channel's thread is invisible to outsiders: 404, not 403
    secret = await chat.channel(admin, "secret", private=True)
    root = await chat.post(admin, secret["id"], "hush")
    hidden = await chat.thread(admin, secret["id"], root["id"])
    resp = await client.get(f"/api/v1/threads/{hidden['id']}/bots", headers=bob.headers)
    assert resp.status == 404
    resp = await client.post(f"/api/v1/threads/{hidden['id']}/bots", json={"plugin": "echo"}, headers=bob.headers)
    assert resp.status == 404


async def test_channel_owners_may_enable_when_the_setting_allows(client, chat):
    client.app[RUNTIME].settings.channel_owners_can_enable = True
    admin, alice, channel, thread = await arrange(chat)
    bob = await chat.user("bob")
    await client.post(f"/api/v1/channels/{channel['id']}/join", headers=bob.headers)
    resp = await client.post(f"/api/v1/channels/{channel['id']}/bots", json={"plugin": "echo"}, headers=alice.headers)
    assert resp.status == 201, await resp.text()
    resp = await client.post(f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "help"}, headers=bob.headers)
    assert resp.status == 403


async def test_every_change_is_in_the_audit_log(client, chat):
    admin, alice, channel, thread = await arrange(chat)
    await client.post(f"/api/v1/channels/{channel['id']}/bots", json={"plugin": "echo"}, headers=admin.headers)
    await client.patch(
        f"/api/v1/channels/{channel['id']}/bots/echo", json={"config": {"prefix": "#"}}, headers=admin.headers
    )
    await client.delete(f"/api/v1/threads/{thread['id']}/bots/echo", headers=admin.headers)  # thread opts out
    await client.delete(f"/api/v1/channels/{channel['id']}/bots/echo", headers=admin.headers)
    resp = await client.get("/api/v1/admin/bots/audit", headers=admin.headers)
    assert resp.status == 200
    page = await resp.json()
    entries = list(reversed(page["entries"]))
    assert [(e["action"], e["scope"]) for e in entries] == [
        ("enable", "channel"), ("update", "channel"), ("disable", "thread"), ("disable", "channel"),
    ]
    assert entries[0]["actor"] == {"id": admin.id, "username": "boss"} and entries[0]["at"].endswith("Z")
    assert entries[0]["old_config"] is None and entries[0]["new_config"] == {"prefix": "", "uppercase": False}
    assert entries[1]["old_config"]["prefix"] == "" and entries[1]["new_config"]["prefix"] == "#"
    assert entries[2]["thread_id"] == thread["id"] and entries[2]["old_config"]["prefix"] == "#"
    assert entries[3]["new_config"] is None
    # paging and filters
    resp = await client.get("/api/v1/admin/bots/audit?limit=2", headers=admin.headers)
    first = await resp.json()
    assert len(first["entries"]) == 2 and first["has_more"] is True
    resp = await client.get(f"/api/v1/admin/bots/audit?limit=2&before={first['entries'][-1]['id']}", headers=admin.headers)
    assert [e["action"] for e in (await resp.json())["entries"]] == ["update", "enable"]
    resp = await client.get(f"/api/v1/admin/bots/audit?thread_id={thread['id']}", headers=admin.headers)
    assert len((await resp.json())["entries"]) == 1
    assert (await client.get("/api/v1/admin/bots/audit", headers=alice.headers)).status == 403
    assert (await client.get("/api/v1/admin/bots/audit?limit=0", headers=admin.headers)).status == 422


async def test_bot_status_is_published(client, chat):
    admin, alice, channel, thread = await arrange(chat)
    seen = []

    async def listen(event):
        if event.name == "bot_status":
            seen.append((event.thread_id, event.data))

    client.app[RUNTIME].services.events.subscribe(listen)
    await client.post(f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "echo"}, headers=admin.headers)
    await client.delete(f"/api/v1/threads/{thread['id']}/bots/echo", headers=admin.headers)
    assert [(t, d["plugin"], d["enabled"], d["action"]) for t, d in seen] == [
        (thread["id"], "echo", True, "enabled"),
        (thread["id"], "echo", False, "disabled"),
    ]
    assert "config" not in seen[0][1]  # configs are not broadcast


async def test_archived_channels_cannot_change_bots(client, chat):
    from venn.db.models import Channel

    admin, alice, channel, thread = await arrange(chat)
    await Channel.filter(id=channel["id"]).update(archived=True)
    resp = await client.post(f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "echo"}, headers=admin.headers)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "channel_archived"


async def test_the_openapi_document_describes_the_bot_routes(client):
    doc = await (await client.get("/api/v1/openapi.json")).json()
    paths = doc["paths"]
    assert set(paths["/api/v1/threads/{thread_id}/bots"]) == {"get", "post"}
    assert set(paths["/api/v1/channels/{channel_id}/bots/{plugin}"]) == {"patch", "delete"}
    assert paths["/api/v1/plugins"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PluginList"
    }
    assert "AuditPage" in doc["components"]["schemas"]


async def test_bot_changes_are_in_the_core_admin_audit_too(client, chat):
    admin, _alice, channel, thread = await arrange(chat)
    await client.post(f"/api/v1/channels/{channel['id']}/bots", json={"plugin": "echo"}, headers=admin.headers)
    await client.patch(
        f"/api/v1/channels/{channel['id']}/bots/echo", json={"config": {"prefix": "#"}}, headers=admin.headers
    )
    await client.delete(f"/api/v1/threads/{thread['id']}/bots/echo", headers=admin.headers)
    resp = await client.get("/api/v1/admin/audit?action=bot", headers=admin.headers)
    assert resp.status == 200
    entries = list(reversed((await resp.json())["entries"]))
    assert [(e["action"], e["target"]) for e in entries] == [
        ("bot.enable", {"type": "channel", "id": channel["id"]}),
        ("bot.update", {"type": "channel", "id": channel["id"]}),
        ("bot.disable", {"type": "thread", "id": thread["id"]}),
    ]
    assert entries[0]["actor"] == {"id": admin.id, "username": "boss"}
    assert entries[0]["before"] is None and entries[0]["after"]["plugin"] == "echo"
    assert entries[1]["before"]["config"]["prefix"] == "" and entries[1]["after"]["config"]["prefix"] == "#"
    assert entries[2]["after"] is None
