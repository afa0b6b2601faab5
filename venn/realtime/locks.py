"""A per-channel lock in Redis, so that posts to one channel are persisted and
published one at a time across every process: ``new_message`` then reaches every
client in id order, whichever process each message was posted through."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator

log = logging.getLogger("venn.realtime.locks")

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisChannelLock:
    """``async with lock(channel_id): ...``.

    Held at most ``ttl`` seconds (a crashed holder cannot block a channel), waited
    for at most ``wait`` seconds. If Redis cannot be reached or the wait runs out,
    the post goes ahead unordered (and a warning is logged) rather than failing.
    """

    def __init__(self, redis, *, prefix: str = "venn:", ttl: float = 5.0, wait: float = 5.0) -> None:
        self._redis = redis
        self._prefix = f"{prefix}chanlock:"
        self._ttl_ms = int(ttl * 1000)
        self._wait = wait
        self._release = redis.register_script(_RELEASE)

    def __call__(self, channel_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        return self._hold(channel_id)

    @contextlib.asynccontextmanager
    async def _hold(self, channel_id: int) -> AsyncIterator[None]:
        key = f"{self._prefix}{channel_id}"
        token = secrets.token_hex(8)
        acquired = False
        try:
            acquired = await self._acquire(key, token)
        except Exception:
            log.warning("channel lock unavailable; posting unordered", extra={"channel_id": channel_id}, exc_info=True)
        try:
            yield
        finally:
            if acquired:
                try:
                    await self._release(keys=[key], args=[token])
                except Exception:
                    log.warning("channel lock release failed", extra={"channel_id": channel_id}, exc_info=True)

    async def _acquire(self, key: str, token: str) -> bool:
        deadline = time.monotonic() + self._wait
        delay = 0.001
        while True:
            if await self._redis.set(key, token, nx=True, px=self._ttl_ms):
                return True
            if time.monotonic() >= deadline:
                log.warning("channel lock wait timed out; posting unordered", extra={"key": key})
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.02)
