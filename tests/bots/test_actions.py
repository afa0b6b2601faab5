"""Interactive messages end to end: a plugin's buttons and select, clicked over REST and
Socket.IO, its ``@on_action`` handler run as the clicker, its ``ctx.update_message``
seen live; and the clicks that are refused (outsider, unknown action, plugin gone)."""

from __future__ import annotations

import logging

import pytest

from tests.helpers import wait_for
from tests.venn.realtime.kit import Sock
from venn.app import create_app
from venn.db.models import Message
from venn_bots import Plugin, command, on_action
from venn_bots.keys import RUNTIME

ASK = {
    "actions": [
        {"id": "pick", "label": "Red", "value": "red", "style": "primary"},
        {"type": "select", "id": "size", "label": "Size", "options": [{"label": "S", "value": "s"},
                                                                        {"label": "L", "value": "l"}]},
        {"id": "spoil", "label": "Spoil it"},
    ]
}


class Buttons(Plugin):
    name = "buttons"
    description = "Asks with buttons."

    @command("ask")
    async def ask(self, ctx):
        await ctx.reply("Pick one", payload=ASK)

    @command("broken")
    async def broken(self, ctx):
        await ctx.reply("bad buttons", payload={"actions": [{"id": "Bad Id", "label": "x"}]})

    @on_action("pick", "size")
    async def picked(self, ctx):
        assert ctx.trigger.name == "message_action" and ctx.message.author.is_bot
        await ctx.update_message(
            body=f"{ctx.user.username} chose {ctx.action_id}={ctx.action_value}",
            payload={**ctx.message.payload, "chosen": ctx.action_value},
        )

    @on_action("spoil")
    async def spoil(self, ctx):
        await ctx.update_message(payload={"actions": [{"id": "pick", "label": "x", "style": "pink"}]})


@pytest.fixture
async def client(aiohttp_client, settings):
    """The app with only the Buttons plugin on its bot runtime."""
    app = create_app(settings)
    app[RUNTIME].use_plugins(Buttons)
    return await aiohttp_client(app)


@pytest.fixture
async def sock(client):
    opened: list[Sock] = []

    async def connect(person):
        opened.append(s := await Sock(str(client.make_url("/")), person).connect())
        return s

    yield connect
    for s in opened:
        await s.close()


async def arrange(client, chat, *, private=False):
    admin = await chat.user("boss", admin=True)
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(admin, "polls", private=private, members=[alice, bob])
    root = await chat.post(alice, channel["id"], "a topic")
    thread = await chat.thread(alice, channel["id"], root["id"], "buttons here")
    resp = await client.post(f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "buttons"}, headers=admin.headers)
    assert resp.status == 201, await resp.text()
    await chat.post(alice, channel["id"], "/ask", thread_id=thread["id"])
    runtime = client.server.app[RUNTIME]
    await runtime.idle()
    resp = await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=alice.headers)
    [asked] = [m for m in (await resp.json())["messages"] if m["body"] == "Pick one"]
    return admin, alice, bob, channel, thread, asked, runtime


async def click(client, person, message_id, action_id, value=""):
    resp = await client.post(
        f"/api/v1/messages/{message_id}/actions", json={"action_id": action_id, "value": value}, headers=person.headers
    )
    return resp.status, await resp.json()


async def test_a_click_runs_the_handler_as_the_clicker_and_clients_see_the_update(client, chat, sock):
    admin, alice, bob, channel, thread, asked, runtime = await arrange(client, chat)
    assert asked["payload"]["actions"][2]["style"] == "default"  # the documented normal form
    watcher = await sock(alice)
    await watcher.ok("join_thread", {"thread_id": thread["id"]})

    status, body = await click(client, bob, asked["id"], "pick", "red")
    assert status == 202 and body["ok"] is True and body["accepted"] is True and body["job_id"]
    updated = await watcher.wait("message_updated", lambda d: d["message"]["body"] == "bob chose pick=red")
    assert updated["message"]["id"] == asked["id"] and updated["message"]["payload"]["chosen"] == "red"
    assert updated["message"]["edited_at"] is None  # a bot's update is not an edit

    # the socket event, with its ack, and a select's option
    answer = await watcher.ok("message_action", {"message_id": asked["id"], "action_id": "size", "value": "l"})
    assert answer["accepted"] is True and answer["job_id"]
    await watcher.wait("message_updated", lambda d: d["message"]["body"] == "alice chose size=l")
    resp = await client.get(f"/api/v1/messages/{asked['id']}", headers=bob.headers)
    assert (await resp.json())["message"]["body"] == "alice chose size=l"

    # what the message does not offer
    for action_id, value in [("pick", "blue"), ("size", "xl"), ("nope", "")]:
        status, body = await click(client, bob, asked["id"], action_id, value)
        assert status == 422 and body["error"]["code"] == "validation_error", body
    error = await watcher.error("message_action", {"message_id": asked["id"], "action_id": "nope"})
    assert error["code"] == "validation_error"


async def test_outsiders_get_404_and_disabled_plugins_or_people_409(client, chat, sock):
    admin, alice, bob, channel, thread, asked, runtime = await arrange(client, chat, private=True)
    outsider = await chat.user("mallory")
    status, body = await click(client, outsider, asked["id"], "pick", "red")
    assert status == 404 and body["error"]["code"] == "not_found"
    error = await (await sock(outsider)).error("message_action", {"message_id": asked["id"], "action_id": "pick",
                                                                  "value": "red"})
    assert error["code"] == "not_found"

    # a person's message never reaches a plugin, whatever its payload says
    mine = await chat.post(alice, channel["id"], "fake buttons", thread_id=thread["id"])
    await Message.filter(id=mine["id"]).update(payload=ASK)
    status, body = await click(client, bob, mine["id"], "pick", "red")
    assert status == 409 and body["error"]["code"] == "plugin_disabled"

    resp = await client.delete(f"/api/v1/threads/{thread['id']}/bots/buttons", headers=admin.headers)
    assert resp.status in (200, 204), await resp.text()
    status, body = await click(client, bob, asked["id"], "pick", "red")
    assert status == 409 and body["error"]["code"] == "plugin_disabled"
    assert "no longer enabled" in body["error"]["message"]
    await runtime.idle()
    resp = await client.get(f"/api/v1/messages/{asked['id']}", headers=bob.headers)
    assert (await resp.json())["message"]["body"] == "Pick one"


async def test_bad_actions_from_a_plugin_are_reported_and_the_worker_goes_on(client, chat, caplog):
    admin, alice, bob, channel, thread, asked, runtime = await arrange(client, chat)
    caplog.set_level(logging.ERROR, logger="venn.bots")
    await chat.post(alice, channel["id"], "/broken", thread_id=thread["id"])
    await runtime.idle()
    status, _ = await click(client, bob, asked["id"], "spoil")
    assert status == 202
    await runtime.idle()
    failures = [r.getMessage() for r in caplog.records if "bot handler failed" in r.getMessage()]
    assert any("Invalid payload.actions: payload.actions[0].id must match" in f for f in failures), failures
    assert any("Invalid payload.actions: payload.actions[0].style must be one of" in f for f in failures), failures
    resp = await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=alice.headers)
    bodies = [m["body"] for m in (await resp.json())["messages"]]
    assert "bad buttons" not in bodies and sum("ran into an error" in b for b in bodies) == 2
    # the message kept its buttons, and the runtime still answers clicks
    status, _ = await click(client, bob, asked["id"], "pick", "red")
    assert status == 202

    async def picked():
        resp = await client.get(f"/api/v1/messages/{asked['id']}", headers=bob.headers)
        return (await resp.json())["message"]["body"] == "bob chose pick=red"

    await wait_for(picked)
