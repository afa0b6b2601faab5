"""A per-channel lock in Redis, so that posts to one channel are persisted and
published one at a time across every process: ``new_message`` then reaches every
client in id order, whichever process each message was posted through.

The lock is a FIFO queue with direct hand-off, each step one Lua script:

* ``chanlock:<channel>`` holds the holder's token (``PX ttl``); ``…:queue`` lists
  the waiters' tokens, oldest first. A token is ``<process>.<random>``.
* acquire: take the lock if it is free and nobody waits, else join the queue. If
  the lock is free but waiters are queued (a holder crashed and its key expired),
  it goes to the oldest waiter, not to the newcomer.
* release (by the holder only): hand the lock straight to the oldest waiter (set
  the key to its token, so the releaser cannot barge back in) and push that token
  onto its process's ``chanlock:wake:<process>`` list; if nobody waits, delete it.
* each process has one task blocked in ``BLPOP`` on its wake list while it has
  waiters (one pooled connection, however many waiters), which wakes them.
  Waiters re-run acquire at most every :attr:`RedisChannelLock.recheck` seconds
  (sooner when the holder's key is about to expire), so a crashed holder or a lost
  wake-up costs little; a waiter that gives up or is cancelled leaves the queue in
  the same script that checks whether it was handed the lock meanwhile.

Limits: a process that dies *while waiting* leaves its token queued; when its turn
comes the lock is handed to it and the channel waits one ``ttl`` (5 s), once. The
scripts write the wake lists without declaring them as keys, so this is for a
single Redis (or a primary with replicas), not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator

log = logging.getLogger("venn.realtime.locks")

# ARGV[1] token, ARGV[2] ttl (ms), ARGV[3] wake key prefix: shared by both scripts.
_WAKE = """
local function hand_to(token)
  redis.call('SET', KEYS[1], token, 'PX', ARGV[2])
  local wake = ARGV[3] .. string.match(token, '^[^.]*')
  redis.call('RPUSH', wake, token)
  redis.call('PEXPIRE', wake, ARGV[2])
end
"""

# → {1} acquired, or {0, the holder's PTTL in ms} queued (ARGV[5] == '1': give up instead).
_ACQUIRE = (
    _WAKE
    + """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return {1} end
if not holder then
  local head = redis.call('LPOP', KEYS[2])
  if not head or head == ARGV[1] then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
    return {1}
  end
  hand_to(head)
end
if ARGV[5] == '1' then
  redis.call('LREM', KEYS[2], 0, ARGV[1])
  return {0, 0}
end
if not redis.call('LPOS', KEYS[2], ARGV[1]) then redis.call('RPUSH', KEYS[2], ARGV[1]) end
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {0, redis.call('PTTL', KEYS[1])}
"""
)

# Leave the queue; if holding the lock, hand it to the next waiter (or delete it).
_RELEASE = (
    _WAKE
    + """
redis.call('LREM', KEYS[2], 0, ARGV[1])
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local nxt = redis.call('LPOP', KEYS[2])
if nxt then hand_to(nxt) else redis.call('DEL', KEYS[1]) end
return 1
"""
)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisChannelLock:
    """``async with lock(channel_id): ...``, first come first served across processes.

    Held at most ``ttl`` seconds (a crashed holder cannot block a channel), waited
    for at most ``wait`` seconds. If Redis cannot be reached or the wait runs out,
    the post goes ahead unordered (and a warning is logged) rather than failing.
    """

    #: a waiter re-runs acquire after this many seconds without a wake-up
    recheck = 0.2

    def __init__(self, redis, *, prefix: str, ttl: float = 5.0, wait: float = 5.0) -> None:
        self._redis = redis
        self._prefix = f"{prefix}chanlock:"
        self._ttl_ms = max(1, int(ttl * 1000))
        self._queue_ttl_ms = self._ttl_ms + int(wait * 1000) + 1000
        self._wait = wait
        self._process = secrets.token_hex(6)
        self._wake_prefix = f"{self._prefix}wake:"
        self._acquire_script = redis.register_script(_ACQUIRE)
        self._release_script = redis.register_script(_RELEASE)
        self._waiting: dict[str, asyncio.Future[None]] = {}  # token → set when handed the lock
        self._listener: asyncio.Task[None] | None = None

    def __call__(self, channel_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        return self._hold(channel_id)

    @contextlib.asynccontextmanager
    async def _hold(self, channel_id: int) -> AsyncIterator[None]:
        keys = [f"{self._prefix}{channel_id}", f"{self._prefix}{channel_id}:queue"]
        token = f"{self._process}.{secrets.token_hex(8)}"
        acquired = False
        try:
            acquired = await self._acquire(keys, token)
        except Exception:
            log.warning("channel lock unavailable; posting unordered", extra={"channel_id": channel_id}, exc_info=True)
        try:
            yield
        finally:
            if acquired:
                try:
                    await self._release(keys, token)
                except Exception:
                    log.warning("channel lock release failed", extra={"channel_id": channel_id}, exc_info=True)

    async def _release(self, keys: list[str], token: str) -> None:
        await self._release_script(keys=keys, args=[token, self._ttl_ms, self._wake_prefix])

    async def _try(self, keys: list[str], token: str, give_up: bool) -> tuple[bool, int]:
        """One acquire script: (acquired, the holder's remaining ms when queued)."""
        args = [token, self._ttl_ms, self._wake_prefix, self._queue_ttl_ms, int(give_up)]
        result = await self._acquire_script(keys=keys, args=args)
        return result[0] == 1, (int(result[1]) if len(result) > 1 else 0)

    async def _acquire(self, keys: list[str], token: str) -> bool:
        deadline = time.monotonic() + self._wait
        woken = asyncio.get_running_loop().create_future()
        self._waiting[token] = woken
        give_up = False
        try:
            while True:
                acquired, pttl = await self._try(keys, token, give_up)
                if acquired:
                    return True
                if give_up:
                    log.warning("channel lock wait timed out; posting unordered", extra={"key": keys[0]})
                    return False
                self._listen()
                soon = pttl / 1000 + 0.005 if pttl >= 0 else self.recheck  # the holder's key expires
                timeout = max(0.0, min(self.recheck, soon, deadline - time.monotonic()))
                await asyncio.wait([woken], timeout=timeout)
                if woken.done():
                    return True
                give_up = time.monotonic() >= deadline
        except BaseException:
            # Cancelled, or Redis failed, while queued: leave the queue, and pass the
            # lock on if it was handed over meanwhile, so that it is not wedged.
            with contextlib.suppress(Exception):
                await self._release(keys, token)
            raise
        finally:
            del self._waiting[token]

    def _listen(self) -> None:
        """Start this process's wake-up task unless it is running."""
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._wake_ups())

    async def _wake_ups(self) -> None:
        """Wake the waiters handed the lock; ends once nobody waits."""
        key = f"{self._wake_prefix}{self._process}"
        try:
            while self._waiting:
                popped = await self._redis.blpop([key], timeout=self.recheck)
                if popped:
                    woken = self._waiting.get(_text(popped[1]))
                    if woken is not None and not woken.done():
                        woken.set_result(None)
        except Exception:
            if self._waiting:  # otherwise: closing down
                log.warning("channel lock wake-ups failed; waiters re-check instead", exc_info=True)
