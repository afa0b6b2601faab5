"""Job queues: an in-process asyncio queue (embedded mode) or a Redis Stream.

A job is plain JSON (ids, names, event data); the worker that runs it loads the
message, thread and channel from the database again.

With Redis every server process adds jobs to one stream and reads it through one
consumer group, so each job goes to exactly one process. A process heartbeats the
jobs it is running; a job whose process died (no heartbeat for ``reclaim_seconds``)
is claimed by another process and run again. A job is marked done (and acknowledged)
after it ran, so a redelivered job that had already finished is not run twice, and
the replies of one that had not are deduplicated by their ``client_msg_id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

log = logging.getLogger("venn.bots.queue")

JOB_FIELD = "job"
JOB_KEY_TTL = 24 * 3600


def new_job_id() -> str:
    return uuid.uuid4().hex


@dataclass
class Job:
    """What a worker needs to run one plugin's handlers for one message or event."""

    id: str
    plugin: str
    #: "message" (new_message: command, mention or message handlers) or "event"
    trigger: str
    #: the plugin-facing event name ("new_message", "thread_created", "bot_enabled", ...)
    event: str
    channel_id: int
    thread_id: int | None = None
    message_id: int | None = None
    #: who caused it: the message's author, the thread's creator, the admin who enabled
    user_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    #: how many bot replies led here (loop guard)
    depth: int = 0
    created_at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Job:
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Delivery:
    """A job handed to this process; ``token`` identifies it in the queue (stream id)."""

    job: Job
    token: str | None = None
    attempt: int = 1


class JobQueue(Protocol):
    #: whether jobs put here are run by this process only (embedded mode)
    local: bool

    async def start(self) -> None: ...

    async def put(self, job: Job) -> bool:
        """Add a job; False when the queue is full (the job is not added)."""

    async def get(self, timeout: float) -> Delivery | None:
        """The next job for this process, or None after ``timeout`` seconds."""

    async def done(self, delivery: Delivery) -> None:
        """The job ran (or was given up): never deliver it again."""

    async def heartbeat(self, deliveries: list[Delivery]) -> None:
        """This process is still running these jobs."""

    async def backlog(self) -> int:
        """Jobs waiting or running."""

    async def close(self) -> None: ...


class MemoryJobQueue:
    """Embedded mode: a bounded asyncio queue in this process."""

    local = True

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[Job] = asyncio.Queue(maxsize=maxsize)

    async def start(self) -> None:
        pass

    async def put(self, job: Job) -> bool:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            return False
        return True

    async def get(self, timeout: float) -> Delivery | None:
        try:
            job = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None
        return Delivery(job)

    async def done(self, delivery: Delivery) -> None:
        pass

    async def heartbeat(self, deliveries: list[Delivery]) -> None:
        pass

    async def backlog(self) -> int:
        return self._queue.qsize()

    def drain(self) -> int:
        """Drop whatever is still queued (at shutdown); returns how many."""
        dropped = 0
        while True:
            try:
                self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return dropped
            dropped += 1

    async def close(self) -> None:
        dropped = self.drain()
        if dropped:
            log.warning("bot jobs dropped at shutdown", extra={"jobs": dropped})


# XADD only while the stream (acknowledged entries are deleted, so its length is the
# backlog: waiting plus running) is below the bound.
_PUT_SCRIPT = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then
  return false
end
return redis.call('XADD', KEYS[1], '*', ARGV[2], ARGV[3])
"""

# Reset the idle time of the entries this consumer still owns (and only those: an
# entry another process took over stays with it).
_HEARTBEAT_SCRIPT = """
local n = 0
for i, id in ipairs(ARGV) do
  if i > 2 then
    local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
    if p[1] and p[1][2] == ARGV[2] then
      redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, id, 'JUSTID')
      n = n + 1
    end
  end
end
return n
"""


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class RedisStreamJobQueue:
    """Scale-out mode: a Redis Stream read by one consumer group shared by all processes."""

    local = False

    def __init__(
        self,
        redis: Any,
        *,
        stream: str,
        group: str = "venn-bots",
        consumer: str | None = None,
        maxlen: int = 1000,
        reclaim_seconds: float = 30.0,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.group = group
        self.consumer = consumer or consumer_name()
        self.maxlen = maxlen
        self.reclaim_ms = max(1, int(reclaim_seconds * 1000))
        self._put = redis.register_script(_PUT_SCRIPT)
        self._heartbeat = redis.register_script(_HEARTBEAT_SCRIPT)
        self._next_reclaim = 0.0

    def _job_key(self, job_id: str) -> str:
        return f"{self.stream}:job:{job_id}"

    async def start(self) -> None:
        from redis.exceptions import ResponseError

        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def put(self, job: Job) -> bool:
        entry = await self._put(keys=[self.stream], args=[self.maxlen, JOB_FIELD, job.to_json()])
        return bool(entry)

    async def get(self, timeout: float) -> Delivery | None:
        from redis.exceptions import ResponseError

        try:
            return await self._get(timeout)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # Redis lost the stream or the group (restarted without persistence,
            # flushed): make them again, from the start of whatever the stream holds.
            log.warning("bot job stream or consumer group missing; creating it again", extra={"stream": self.stream})
            await self.start()
            return None

    async def _get(self, timeout: float) -> Delivery | None:
        deadline = time.monotonic() + timeout
        while True:
            entry = await self._reclaim()
            if entry is None:
                block = max(1, int((deadline - time.monotonic()) * 1000))
                result = await self.redis.xreadgroup(
                    self.group, self.consumer, {self.stream: ">"}, count=1, block=block
                )
                entry = result[0][1][0] if result and result[0][1] else None
            if entry is None:
                return None
            delivery = await self._deliver(entry)
            if delivery is not None:
                return delivery
            if time.monotonic() >= deadline:
                return None

    async def _reclaim(self) -> tuple[str, dict[str, str]] | None:
        """A job whose consumer stopped heartbeating, taken over by this process."""
        now = time.monotonic()
        if now < self._next_reclaim:
            return None
        reply = await self.redis.xautoclaim(
            self.stream, self.group, self.consumer, min_idle_time=self.reclaim_ms, start_id="0-0", count=1
        )
        entries = reply[1] if len(reply) > 1 else []
        for entry_id, fields in entries:
            if fields is None:  # deleted while pending (Redis 6.2)
                await self.redis.xack(self.stream, self.group, entry_id)
                continue
            log.warning("bot job reclaimed from a silent worker", extra={"entry": entry_id})
            return entry_id, fields
        # nothing left to take over: look again in a while
        self._next_reclaim = now + max(0.05, self.reclaim_ms / 4000)
        return None

    async def _deliver(self, entry: tuple[str, dict[str, str]]) -> Delivery | None:
        entry_id, fields = entry
        try:
            job = Job.from_json(fields[JOB_FIELD])
        except Exception:
            log.error("unreadable bot job dropped", extra={"entry": entry_id})
            await self._ack(entry_id)
            return None
        key = self._job_key(job.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "attempts", 1)
            pipe.hget(key, "done")
            pipe.expire(key, JOB_KEY_TTL)
            attempts, done, _ = await pipe.execute()
        if done:
            # it ran, and the process died before acknowledging it
            await self._ack(entry_id)
            return None
        return Delivery(job, token=entry_id, attempt=int(attempts))

    async def _ack(self, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.stream, self.group, entry_id)
            pipe.xdel(self.stream, entry_id)
            await pipe.execute()

    async def done(self, delivery: Delivery) -> None:
        key = self._job_key(delivery.job.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "done", "1")
            pipe.expire(key, JOB_KEY_TTL)
            pipe.xack(self.stream, self.group, delivery.token)
            pipe.xdel(self.stream, delivery.token)
            await pipe.execute()

    async def heartbeat(self, deliveries: list[Delivery]) -> None:
        ids = [d.token for d in deliveries if d.token]
        if ids:
            await self._heartbeat(keys=[self.stream], args=[self.group, self.consumer, *ids])

    async def backlog(self) -> int:
        return int(await self.redis.xlen(self.stream))

    async def close(self) -> None:
        """Leave the group if this consumer holds nothing (else others will reclaim)."""
        try:
            pending = await self.redis.xpending_range(
                self.stream, self.group, min="-", max="+", count=1, consumername=self.consumer
            )
            if not pending:
                await self.redis.xgroup_delconsumer(self.stream, self.group, self.consumer)
        except Exception:
            log.debug("could not leave the consumer group", exc_info=True)
