"""Storage set-up: migrations on every supported URL, rate-limit counters in Redis."""

from __future__ import annotations

import asyncio
import time
import uuid

from aiohttp.test_utils import TestClient, TestServer

from tests.helpers import Chat, require_redis
from venn.app import create_app
from venn.ratelimit import MemoryRateLimiter, RedisRateLimiter


async def test_in_memory_database_works(make_settings):
    app = create_app(make_settings(database_url="sqlite://:memory:"))
    async with TestClient(TestServer(app)) as client:
        chat = Chat(client)
        alice = await chat.user("alice")
        channel = await chat.channel(alice, "general")
        message = await chat.post(alice, channel["id"], "kept in memory")
        assert message["body"] == "kept in memory"


async def test_migrations_are_idempotent_across_restarts(make_settings, database_url):
    settings = make_settings(database_url=database_url)
    async with TestClient(TestServer(create_app(settings))) as client:
        chat = Chat(client)
        alice = await chat.user("alice")
        await chat.channel(alice, "general")
    # a second start migrates nothing and sees the same data
    async with TestClient(TestServer(create_app(settings))) as client:
        resp = await client.post("/api/v1/auth/login", json={"username": "alice", "password": alice.password})
        token = (await resp.json())["access_token"]
        resp = await client.get("/api/v1/channels", headers={"Authorization": f"Bearer {token}"})
        assert [c["name"] for c in (await resp.json())["channels"]] == ["general"]


async def test_memory_rate_limiter_window():
    now = [1000.0]
    limiter = MemoryRateLimiter(clock=lambda: now[0])
    assert [await limiter.hit("k", 2) for _ in range(3)] == [None, None, 60]
    now[0] += 59.5
    assert await limiter.hit("k", 2) == 1
    now[0] += 1
    assert await limiter.hit("k", 2) is None


async def early_in_a_minute() -> None:
    """Wait for the next minute if this one is nearly over: Redis rate-limit counters
    are per minute, and a test whose hits straddle two minutes would see two counts."""
    into_minute = time.time() % 60
    if into_minute > 45:
        await asyncio.sleep(60.5 - into_minute)


async def test_redis_rate_limiter_is_shared_between_instances():
    import redis.asyncio as aioredis

    url = require_redis()
    client_a = aioredis.from_url(url, decode_responses=True)
    client_b = aioredis.from_url(url, decode_responses=True)
    prefix = f"venn-test:{uuid.uuid4().hex}:"
    try:
        a, b = RedisRateLimiter(client_a, prefix=prefix), RedisRateLimiter(client_b, prefix=prefix)
        await early_in_a_minute()
        results = [await limiter.hit("user:1", 3) for limiter in (a, b, a, b)]
        assert results[:3] == [None, None, None]
        assert isinstance(results[3], int) and 1 <= results[3] <= 60
        assert await a.hit("user:2", 3) is None
    finally:
        keys = [k async for k in client_a.scan_iter(prefix + "*")]
        if keys:
            await client_a.delete(*keys)
        await client_a.aclose()
        await client_b.aclose()


async def test_rate_limits_use_redis_when_configured(make_settings, database_url):
    url = require_redis()
    settings = make_settings(database_url=database_url, redis_url=url, rate_limit_logins_per_minute=2)
    name = f"u{uuid.uuid4().hex[:12]}"
    statuses = []
    await early_in_a_minute()  # the four attempts (two app start-ups too) share one window
    # two separate apps (as two processes would be) share the counter
    for _ in range(2):
        async with TestClient(TestServer(create_app(settings))) as client:
            for _ in range(2):
                resp = await client.post("/api/v1/auth/login", json={"username": name, "password": "wrong-password"})
                statuses.append(resp.status)
    assert statuses == [401, 401, 429, 429]
