"""A bot's reply names the message it answers (``reply_to``) in every view of a message:
REST (one message, channel and thread history pages), ``new_message`` on the socket and
``sync``; people cannot set it (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from venn import keys
from venn.db.models import MessageKind, User
from venn.errors import ValidationFailed
from venn.schemas import MessageCreateIn
from venn.services.users import username_key


async def bot_user(name: str = "helper") -> User:
    return await User.create(username=name, username_key=username_key(name), display_name=name, is_bot=True)


async def bot_reply(client, bot: User, channel_id: int, text: str, reply_to: int | None, thread_id: int | None = None):
    """Post as a bot through the one message path, as the bot runtime's poster does."""
    services = client.server.app[keys.SERVICES]
    data = MessageCreateIn(channel_id=channel_id, body=text, thread_id=thread_id)
    result = await services.messages.post(bot, data, kind=MessageKind.BOT, trusted=True, reply_to=reply_to)
    return result.message


async def test_reply_to_in_rest_socket_history_and_sync(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    cid = channel["id"]
    bot = await bot_user()
    b = await sockets(bob)
    await b.ok("join_channel", {"channel_id": cid})

    # the channel's stream (written by the grouped INSERT) and a thread (through the ORM)
    question = await chat.post(alice, cid, "/ask how many?")
    assert question["reply_to"] is None
    answer = await bot_reply(client, bot, cid, "42", question["id"])
    assert answer["reply_to"] == question["id"]
    live = await b.wait("new_message", lambda d: d["message"]["id"] == answer["id"])
    assert live["message"]["reply_to"] == question["id"]
    thread = await chat.thread(alice, cid, question["id"])
    await b.ok("join_thread", {"thread_id": thread["id"]})
    follow_up = await chat.post(alice, cid, "and last year?", thread_id=thread["id"])
    thread_answer = await bot_reply(client, bot, cid, "41", follow_up["id"], thread_id=thread["id"])
    assert thread_answer["reply_to"] == follow_up["id"]
    live = await b.wait("new_message", lambda d: d["message"]["id"] == thread_answer["id"])
    assert live["message"]["reply_to"] == follow_up["id"]
    unanswering = await bot_reply(client, bot, cid, "a notice of its own", None)
    assert unanswering["reply_to"] is None

    # one message, and the history pages (hand-written SELECTs)
    resp = await client.get(f"/api/v1/messages/{answer['id']}", headers=bob.headers)
    assert (await resp.json())["message"]["reply_to"] == question["id"]
    resp = await client.get(f"/api/v1/messages/channel/{cid}", headers=bob.headers)
    page = {m["id"]: m["reply_to"] for m in (await resp.json())["messages"]}
    assert page == {question["id"]: None, answer["id"]: question["id"], unanswering["id"]: None}
    resp = await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=bob.headers)
    page = {m["id"]: m["reply_to"] for m in (await resp.json())["messages"]}
    assert page == {follow_up["id"]: None, thread_answer["id"]: follow_up["id"]}

    # catch-up after a reconnect
    synced = await b.ok("sync", {"cursors": {str(cid): question["id"]}, "thread_cursors": {str(thread["id"]): 0}})
    [stream] = synced["channels"]
    assert {m["id"]: m["reply_to"] for m in stream["messages"]} == {answer["id"]: question["id"], unanswering["id"]: None}
    [thread_stream] = synced["threads"]
    assert {m["id"]: m["reply_to"] for m in thread_stream["messages"]} == {
        follow_up["id"]: None, thread_answer["id"]: follow_up["id"],
    }


async def test_a_reply_names_a_message_of_its_own_channel(client, chat):
    alice = await chat.user("alice")
    here = await chat.channel(alice, "here")
    elsewhere = await chat.channel(alice, "elsewhere")
    other = await chat.post(alice, elsewhere["id"], "somewhere else")
    bot = await bot_user()
    for reply_to in (other["id"], 999_999):
        with pytest.raises(ValidationFailed) as refused:
            await bot_reply(client, bot, here["id"], "answer", reply_to)
        assert refused.value.fields == [{"field": "reply_to", "message": "no such message in this channel"}]
    resp = await client.get(f"/api/v1/messages/channel/{here['id']}", headers=alice.headers)
    assert (await resp.json())["messages"] == []


async def test_people_cannot_set_reply_to(client, chat, sockets):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    first = await chat.post(alice, channel["id"], "first")
    resp = await client.post(
        "/api/v1/messages", json={"channel_id": channel["id"], "body": "me too", "reply_to": first["id"]},
        headers=alice.headers,
    )
    assert resp.status == 422
    assert [f["field"] for f in (await resp.json())["error"]["fields"]] == ["reply_to"]
    a = await sockets(alice)
    error = await a.error(
        "send_message", {"channel_id": channel["id"], "body": "me too", "client_msg_id": "x1", "reply_to": first["id"]}
    )
    assert error["code"] == "validation_error"
    resp = await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=alice.headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["first"]
