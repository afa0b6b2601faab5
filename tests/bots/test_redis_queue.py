"""The Redis Stream job queue: one delivery per job, bounded, reclaim of a silent worker's jobs."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.helpers import require_redis
from venn_bots.queue import Job, RedisStreamJobQueue

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis():
    import redis.asyncio as aioredis

    client = aioredis.from_url(require_redis(), decode_responses=True)
    stream = f"venn:test:bots:{uuid.uuid4().hex}"
    yield client, stream
    keys = [k async for k in client.scan_iter(f"{stream}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def queue(redis, name, **options):
    client, stream = redis
    q = RedisStreamJobQueue(client, stream=stream, consumer=name, **{"maxlen": 10, "reclaim_seconds": 0.3, **options})
    await q.start()
    return q


def job(n=1):
    return Job(uuid.uuid4().hex, "echo", "message", "new_message", 1, 2, message_id=n, user_id=3, data={"n": n})


async def test_each_job_goes_to_one_consumer_once(redis):
    a, b = await queue(redis, "a"), await queue(redis, "b")
    jobs = [job(i) for i in range(6)]
    for j in jobs:
        assert await a.put(j)
    got = []
    for consumer in (a, b, a, b, a, b):
        delivery = await consumer.get(timeout=0.5)
        got.append(delivery)
        await consumer.done(delivery)
    assert sorted(d.job.message_id for d in got) == list(range(6))
    assert all(d.attempt == 1 for d in got)
    assert got[0].job == jobs[0]  # the job survives the trip as JSON
    assert await a.get(timeout=0.1) is None and await b.get(timeout=0.1) is None
    assert await a.backlog() == 0


async def test_the_queue_is_bounded(redis):
    q = await queue(redis, "a", maxlen=2)
    assert await q.put(job(1)) and await q.put(job(2))
    assert not await q.put(job(3))
    delivery = await q.get(timeout=0.5)
    assert not await q.put(job(4))  # still two: one waiting, one running
    await q.done(delivery)
    assert await q.put(job(5))


async def test_a_silent_workers_job_is_reclaimed_and_counted(redis):
    a, b = await queue(redis, "a"), await queue(redis, "b")
    await a.put(job(1))
    first = await a.get(timeout=0.5)
    assert await b.get(timeout=0.1) is None  # a holds it and it is not idle yet
    await asyncio.sleep(0.4)  # a died: no heartbeat
    second = await b.get(timeout=0.5)
    assert second is not None and second.job.id == first.job.id and second.attempt == 2
    await b.done(second)
    assert await a.backlog() == 0 and await a.get(timeout=0.4) is None


async def test_a_heartbeat_keeps_a_running_job(redis):
    a, b = await queue(redis, "a"), await queue(redis, "b")
    await a.put(job(1))
    delivery = await a.get(timeout=0.5)
    for _ in range(6):
        await asyncio.sleep(0.1)
        await a.heartbeat([delivery])
        assert await b.get(timeout=0.01) is None
    await a.done(delivery)


async def test_a_heartbeat_does_not_take_back_a_reclaimed_job(redis):
    client, stream = redis
    a, b = await queue(redis, "a"), await queue(redis, "b")
    await a.put(job(1))
    old = await a.get(timeout=0.5)
    await asyncio.sleep(0.4)
    new = await b.get(timeout=0.5)
    await a.heartbeat([old])  # a woke up late
    [pending] = await client.xpending_range(stream, "venn-bots", min="-", max="+", count=10)
    assert pending["consumer"] == "b"
    await b.done(new)


async def test_a_job_that_finished_before_its_worker_died_is_not_run_again(redis):
    client, stream = redis
    a, b = await queue(redis, "a"), await queue(redis, "b")
    await a.put(job(1))
    delivery = await a.get(timeout=0.5)
    await client.hset(a._job_key(delivery.job.id), "done", "1")  # it ran; the ack was lost
    await asyncio.sleep(0.4)
    assert await b.get(timeout=0.3) is None
    assert await a.backlog() == 0
