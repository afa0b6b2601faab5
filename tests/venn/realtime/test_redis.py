"""Redis-backed presence, typing and channel locks; one server on the Redis manager."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.helpers import Chat, require_redis
from tests.venn.realtime.kit import quiet

pytestmark = pytest.mark.redis


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis_prefix():
    """A key prefix of this test's own, removed afterwards."""
    import redis.asyncio as aioredis

    url = require_redis()
    prefix = f"venntest:{uuid.uuid4().hex[:12]}:"
    client = aioredis.from_url(url, decode_responses=True)
    yield client, prefix
    keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_redis_presence_grace_and_crash_expiry(redis_prefix):
    from venn.presence import RedisPresence

    redis, prefix = redis_prefix
    clock = Clock()
    one = RedisPresence(redis, prefix=prefix, socket_ttl=30, clock=clock)
    two = RedisPresence(redis, prefix=prefix, socket_ttl=30, clock=clock)  # another process

    assert await one.connected(7, "a") is True
    assert await two.connected(7, "b") is False  # already online
    assert await two.statuses([7, 8]) == {7: "online", 8: "offline"}
    assert await one.disconnected(7, "a", grace=3) is False  # "b" is still there
    assert await two.disconnected(7, "b", grace=3) is True
    clock.now += 1
    assert await one.sweep() == [] and await one.is_online(7)  # within the grace period
    assert await one.connected(7, "c") is False  # a reload: no new announcement
    clock.now += 5
    assert await one.sweep() == [] and await two.sweep() == []
    assert await one.disconnected(7, "c", grace=3) is True
    clock.now += 4
    gone = await asyncio.gather(one.sweep(), two.sweep())
    assert sorted(gone, key=len) == [[], [7]]  # exactly one process announces it
    assert not await one.is_online(7)

    # a process dies with a socket open: its entry expires and another process reaps it
    assert await one.connected(9, "x") is True
    clock.now += 20
    assert await two.refresh([]) == [] and await two.sweep() == []
    clock.now += 11
    assert await two.sweep() == [9]
    assert await two.statuses([9]) == {9: "offline"}
    # a process that stalled past the expiry gets its user back online on its next heartbeat
    assert await one.refresh([(9, "x")]) == [9]
    assert await two.is_online(9)


async def test_redis_typing_is_shared_and_expires_once(redis_prefix):
    from venn.realtime.typing_status import RedisTyping, Typist

    redis, prefix = redis_prefix
    clock = Clock()
    one, two = RedisTyping(redis, prefix=prefix, clock=clock), RedisTyping(redis, prefix=prefix, clock=clock)
    who = Typist(3, None, 7, "alice")
    assert await one.touch(who, ttl=5, throttle=2) is True
    assert await two.touch(who, ttl=5, throttle=2) is False  # throttled, whichever process
    clock.now += 4
    assert await one.expired() == []  # refreshed by the second touch
    clock.now += 2
    assert sorted(await asyncio.gather(one.expired(), two.expired()), key=len) == [[], [who]]
    assert await one.touch(who, ttl=5, throttle=2) is True
    assert await two.stop(who) is True and await one.stop(who) is False
    assert Typist.decode(Typist(1, 2, 3, "a.b-c_d").encode()) == Typist(1, 2, 3, "a.b-c_d")


@pytest.fixture
async def redis_client(aiohttp_client, make_settings, tmp_path, redis_prefix, monkeypatch):
    """An app on the Redis manager and Redis presence, with its own key prefix."""
    from venn.app import create_app

    _, prefix = redis_prefix
    monkeypatch.setenv("VENN_REDIS_PREFIX", prefix)
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'venn.db'}", redis_url=require_redis())
    client = await aiohttp_client(create_app(settings))
    yield client
    await client.close()  # before redis_prefix removes the keys the server wrote


async def test_one_server_on_the_redis_manager(redis_client, redis_prefix):
    from tests.venn.realtime.kit import Sock

    redis, prefix = redis_prefix
    chat = Chat(redis_client)
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    url = str(redis_client.make_url("/"))
    a, b = Sock(url, alice), Sock(url, bob)
    try:
        await b.connect()
        await b.ok("join_channel", {"channel_id": channel["id"]})
        await a.connect()
        await b.wait("user_status", lambda d: d["user_id"] == alice.id and d["status"] == "online")
        assert await redis.sismember(f"{prefix}presence:online", str(alice.id))
        await a.ok("join_channel", {"channel_id": channel["id"]})
        answer = await a.ok("send_message", {"channel_id": channel["id"], "body": "hi", "client_msg_id": "1"})
        sent = answer["message"]
        assert await b.wait("new_message") == {"message": sent}
        await quiet(0.1)
        assert len(b.of("new_message")) == 1  # once, though it went through Redis
        await a.ok("typing", {"channel_id": channel["id"]})
        await b.wait("typing_indicator")
        resp = await redis_client.post("/api/v1/auth/logout", headers=alice.headers)
        assert resp.status == 204
        await asyncio.wait_for(a.disconnected.wait(), 5)
        await b.wait("user_status", lambda d: d["user_id"] == alice.id and d["status"] == "offline")
    finally:
        await a.close()
        await b.close()
