"""The Redis channel lock: exclusion, first-come-first-served hand-off, crashed
holders, waiters that give up, no Redis, no keys left behind.

Each lock object stands for one server process: it gets a Redis client of its own.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from itertools import pairwise

import pytest

from tests.helpers import require_redis
from tests.venn.realtime import test_redis as shared
from venn.realtime.locks import RedisChannelLock

pytestmark = pytest.mark.redis

redis_prefix = shared.redis_prefix  # the fixture: a key prefix of this test's own


@pytest.fixture
async def locks(redis_prefix):
    """``locks(**options)`` → a lock of another "process" (its own client) on this test's prefix."""
    import redis.asyncio as aioredis

    _, prefix = redis_prefix
    clients = []

    def make(*, decode: bool = True, **options) -> RedisChannelLock:
        client = aioredis.from_url(require_redis(), decode_responses=decode)
        clients.append(client)
        return RedisChannelLock(client, prefix=prefix, **options)

    yield make
    for client in clients:
        await client.aclose()


async def queued(redis, prefix: str, channel: int, count: int = 1) -> None:
    """Until at least ``count`` waiters are queued for ``channel``."""
    async with asyncio.timeout(5):
        while await redis.llen(f"{prefix}chanlock:{channel}:queue") < count:
            await asyncio.sleep(0.002)


async def assert_nothing_left(redis, prefix: str, ttl: float = 5.0) -> None:
    """No lock or queue key remains; anything else under the prefix expires within ``ttl``."""
    keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
    assert all(":wake:" in key for key in keys), keys
    for key in keys:
        assert 0 < await redis.pttl(key) <= ttl * 1000, key


async def test_redis_channel_lock_serialises_holders(redis_prefix):
    redis, prefix = redis_prefix
    one, two = RedisChannelLock(redis, prefix=prefix), RedisChannelLock(redis, prefix=prefix)
    inside, overlaps = 0, 0

    async def hold(lock):
        nonlocal inside, overlaps
        async with lock(5):
            inside += 1
            overlaps += inside > 1
            await asyncio.sleep(0.005)
            inside -= 1

    await asyncio.gather(*[hold(one if i % 2 else two) for i in range(20)])
    assert overlaps == 0
    assert not await redis.exists(f"{prefix}chanlock:5")


async def test_no_overlap_under_heavy_contention(locks, redis_prefix):
    redis, prefix = redis_prefix
    one, two = locks(), locks(decode=False)  # either kind of client
    inside: dict[int, int] = {5: 0, 6: 0}
    overlaps, done = 0, 0

    async def hold(lock, channel):
        nonlocal overlaps, done
        for _ in range(10):
            async with lock(channel):
                inside[channel] += 1
                overlaps += inside[channel] > 1
                await asyncio.sleep(0)
                inside[channel] -= 1
                done += 1

    await asyncio.gather(*[hold(one if i % 2 else two, 5 + i % 3 // 2) for i in range(24)])
    assert (overlaps, done) == (0, 240)
    await assert_nothing_left(redis, prefix)


async def test_hand_off_alternates_between_two_busy_processes(locks, redis_prefix):
    """Each releases only once the other waits, then asks again at once: with a
    hand-off they take turns; with a free-for-all the releaser would win again."""
    redis, prefix = redis_prefix
    one, two = locks(), locks()
    order: list[str] = []
    finished: set[str] = set()

    async def contender(name, lock, other):
        for _ in range(10):
            async with lock(5):
                order.append(name)
                while other not in finished:
                    if await redis.llen(f"{prefix}chanlock:5:queue"):
                        break
                    await asyncio.sleep(0.002)
        finished.add(name)

    first = asyncio.create_task(contender("one", one, "two"))
    while not order:
        await asyncio.sleep(0.001)
    await asyncio.wait_for(asyncio.gather(first, contender("two", two, "one")), 20)
    assert len(order) == 20
    assert all(a != b for a, b in pairwise(order)), order
    await assert_nothing_left(redis, prefix)


async def test_back_to_back_posts_take_turns(locks, redis_prefix):
    """Two processes re-acquiring right after releasing, with no help from the test:
    mostly turns (a repeat only when a process was too slow to ask again in time)."""
    redis, prefix = redis_prefix
    one, two = locks(), locks()
    order: list[str] = []

    async def contender(name, lock):
        for _ in range(20):
            async with lock(5):
                order.append(name)
                await asyncio.sleep(0.01)

    await asyncio.gather(contender("one", one), contender("two", two))
    repeats = sum(a == b for a, b in pairwise(order))
    assert repeats <= 8, order  # the old polling lock: nearly all repeats
    await assert_nothing_left(redis, prefix)


async def test_a_crashed_holder_blocks_the_channel_at_most_its_ttl(locks, redis_prefix):
    redis, prefix = redis_prefix
    ttl = 0.3
    late, later = locks(ttl=ttl), locks(ttl=ttl)
    order: list[str] = []

    async def post(name, lock):
        async with lock(5):
            order.append(name)

    # a holder that died holding the lock
    await redis.set(f"{prefix}chanlock:5", "deadbeef.1", px=int(ttl * 1000))
    started = time.monotonic()
    first = asyncio.create_task(post("late", late))
    await queued(redis, prefix, 5)
    await asyncio.wait_for(asyncio.gather(first, post("later", later)), 3)
    assert order == ["late", "later"]  # the queue is served in order once the key expired
    assert time.monotonic() - started < ttl + 1.0

    # a process that died while waiting: handed the lock, it blocks at most one ttl more
    holder = late(5)
    await holder.__aenter__()
    await redis.rpush(f"{prefix}chanlock:5:queue", "deadbeef.2")
    started = time.monotonic()
    await holder.__aexit__(None, None, None)
    await asyncio.wait_for(post("after", later), 3)
    assert time.monotonic() - started < ttl + 1.0
    await assert_nothing_left(redis, prefix, ttl)


async def test_a_waiter_that_gives_up_posts_unordered_and_wedges_nothing(locks, redis_prefix, caplog):
    redis, prefix = redis_prefix
    holder_lock, impatient, next_lock = locks(), locks(wait=0.2), locks()
    ran = asyncio.Event()

    async with holder_lock(5):
        with caplog.at_level(logging.WARNING, logger="venn.realtime.locks"):
            async with impatient(5):
                ran.set()  # ran while the lock was still held
        assert "wait timed out" in caplog.text
        assert not await redis.exists(f"{prefix}chanlock:5:queue")
    started = time.monotonic()
    async with next_lock(5):
        assert time.monotonic() - started < 1.0  # ttl is 5 s: nobody was handed a dead lock
    assert ran.is_set()
    await assert_nothing_left(redis, prefix)


async def test_a_cancelled_waiter_passes_the_lock_on(locks, redis_prefix):
    """Cancelled at any point around the hand-off, the lock is never left to it."""
    redis, prefix = redis_prefix
    holder_lock, waiter_lock, next_lock = locks(), locks(), locks()

    async def wait_forever():
        async with waiter_lock(5):
            await asyncio.sleep(10)

    # cancelled while queued: it leaves the queue
    holder = holder_lock(5)
    await holder.__aenter__()
    waiter = asyncio.create_task(wait_forever())
    await queued(redis, prefix, 5)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert not await redis.exists(f"{prefix}chanlock:5:queue")
    await holder.__aexit__(None, None, None)

    # cancelled just before, while or just after the lock is handed to it
    for step in range(12):
        holder = holder_lock(5)
        await holder.__aenter__()
        waiter = asyncio.create_task(wait_forever())
        await queued(redis, prefix, 5)
        release = asyncio.create_task(holder.__aexit__(None, None, None))
        await asyncio.sleep(step * 0.0005)
        waiter.cancel()
        await release
        with pytest.raises(asyncio.CancelledError):
            await waiter
        started = time.monotonic()
        async with next_lock(5):
            assert time.monotonic() - started < 1.0, step
    await assert_nothing_left(redis, prefix)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_without_redis_the_post_goes_ahead(caplog):
    import redis.asyncio as aioredis

    client = aioredis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=0.5)
    lock = RedisChannelLock(client, prefix="venn-test:")
    ran = False
    with caplog.at_level(logging.WARNING, logger="venn.realtime.locks"):
        async with lock(5):
            ran = True
    await client.aclose()
    assert ran
    assert "channel lock unavailable" in caplog.text
