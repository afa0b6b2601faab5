"""Writing posts: concurrent posts to one channel are written in groups, once each, and
published in id order (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio

from venn import keys
from venn.db.models import Message, User
from venn.schemas import MessageCreateIn, PageQuery


async def _setup(client, chat, people: int = 4):
    services = client.server.app[keys.SERVICES]
    persons = [await chat.user(f"writer{i}") for i in range(people)]
    channel = await chat.channel(persons[0], "general", members=persons[1:])
    users = [await User.get(id=p.id) for p in persons]
    published: list[dict] = []

    async def spy(event) -> None:
        if event.name == "new_message":
            published.append(event.data["message"])

    services.events.subscribe(spy)
    return services, channel, users, published


def _post(channel: dict, body: str, client_msg_id: str | None = None) -> MessageCreateIn:
    return MessageCreateIn(channel_id=channel["id"], body=body, client_msg_id=client_msg_id)


async def test_concurrent_posts_are_each_written_once_and_published_in_id_order(client, chat):
    services, channel, users, published = await _setup(client, chat)
    results = await asyncio.gather(*[
        services.messages.post(users[i % len(users)], _post(channel, f"message {i}", f"c{i}")) for i in range(60)
    ])
    assert all(r.created for r in results)
    assert [r.message["body"] for r in results] == [f"message {i}" for i in range(60)]
    assert [r.message["author"]["id"] for r in results] == [users[i % len(users)].id for i in range(60)]
    stored = await Message.filter(channel_id=channel["id"]).order_by("id")
    assert sorted(m.body for m in stored) == sorted(f"message {i}" for i in range(60))
    # every client sees them in id order, each once, with the ids and times that were stored
    assert [m["id"] for m in published] == [m.id for m in stored]
    by_id = {m.id: m for m in stored}
    for result in results:
        row = by_id[result.message["id"]]
        assert (row.body, row.client_msg_id, row.author_id) == (  # type: ignore[attr-defined]
            result.message["body"], result.message["client_msg_id"], result.message["author"]["id"])
    # the history page, read back, is the same list
    page = await services.messages.channel_history(users[0], channel["id"], PageQuery(limit=100))
    assert [m["id"] for m in page["messages"]] == [m.id for m in stored]
    assert page["messages"] == [m for m in published]


async def test_a_retry_among_concurrent_posts_answers_the_first_message(client, chat):
    services, channel, users, published = await _setup(client, chat)
    first = await services.messages.post(users[0], _post(channel, "original", "dup"))
    results = await asyncio.gather(
        *[services.messages.post(users[1], _post(channel, f"new {i}", f"n{i}")) for i in range(5)],
        services.messages.post(users[0], _post(channel, "original again", "dup")),
        *[services.messages.post(users[2], _post(channel, f"more {i}")) for i in range(5)],
    )
    retry = results[5]
    assert retry.created is False and retry.message["id"] == first.message["id"]
    assert retry.message["body"] == "original"
    assert all(r.created for i, r in enumerate(results) if i != 5)
    assert await Message.filter(channel_id=channel["id"]).count() == 11
    assert [m["id"] for m in published] == sorted(m["id"] for m in published)
    assert len(published) == 11  # the retry published nothing


async def test_a_post_cancelled_while_waiting_is_not_written_and_blocks_nobody(client, chat):
    services, channel, users, published = await _setup(client, chat)
    messages = services.messages
    stripe = messages.writer._locks[channel["id"] % len(messages.writer._locks)]
    await stripe.acquire()  # hold the channel's writer up so that the posts queue
    try:
        first = asyncio.create_task(messages.post(users[0], _post(channel, "first")))
        await asyncio.sleep(0.05)
        cancelled = asyncio.create_task(messages.post(users[1], _post(channel, "cancelled")))
        last = asyncio.create_task(messages.post(users[2], _post(channel, "last")))
        await asyncio.sleep(0.05)
        cancelled.cancel()
        await asyncio.sleep(0)
    finally:
        stripe.release()
    done = await asyncio.wait_for(asyncio.gather(first, last), timeout=10)
    assert [r.message["body"] for r in done] == ["first", "last"]
    assert cancelled.cancelled()
    assert [m.body for m in await Message.filter(channel_id=channel["id"]).order_by("id")] == ["first", "last"]
    # the channel takes posts as before
    after = await messages.post(users[3], _post(channel, "after"))
    assert after.created and [m["body"] for m in published] == ["first", "last", "after"]
