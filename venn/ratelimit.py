"""Fixed-window rate limits, in memory or in Redis (shared by all processes)."""

from __future__ import annotations

import math
import time
from typing import Protocol

from venn.errors import RateLimited


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: int = 60) -> int | None:
        """Count one hit; return None if allowed, else seconds until the window resets."""

    async def over(self, key: str, limit: int, window: int = 60) -> int | None:
        """Without counting: None if ``key`` is within ``limit``, else seconds until the window resets."""

    async def close(self) -> None: ...


class MemoryRateLimiter:
    """Counters in this process only (embedded mode)."""

    def __init__(self, clock=time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._last_sweep = 0.0

    async def hit(self, key: str, limit: int, window: int = 60) -> int | None:
        now = self._clock()
        self._sweep(now, window)
        start, count = self._windows.get(key, (now, 0))
        if now - start >= window:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count)
        if count > limit:
            return max(1, math.ceil(start + window - now))
        return None

    async def over(self, key: str, limit: int, window: int = 60) -> int | None:
        now = self._clock()
        start, count = self._windows.get(key, (now, 0))
        if now - start >= window or count < limit:
            return None
        return max(1, math.ceil(start + window - now))

    def _sweep(self, now: float, window: int) -> None:
        if now - self._last_sweep < window:
            return
        self._last_sweep = now
        for key, (start, _) in list(self._windows.items()):
            if now - start >= window:
                del self._windows[key]

    async def close(self) -> None:
        self._windows.clear()


#: count a hit and keep the counter for the window: one command, one round trip
_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class RedisRateLimiter:
    """Counters in Redis, so that every server process shares them.

    Keys are ``<prefix><key>:<window number>``; the app's prefix is ``<VENN_REDIS_PREFIX>rl:``.
    """

    def __init__(self, redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._hit = redis.register_script(_HIT)

    async def hit(self, key: str, limit: int, window: int = 60) -> int | None:
        bucket = int(time.time() // window)
        rkey = f"{self._prefix}{key}:{bucket}"
        count = await self._hit(keys=[rkey], args=[window + 1])
        if int(count) > limit:
            return max(1, math.ceil((bucket + 1) * window - time.time()))
        return None

    async def over(self, key: str, limit: int, window: int = 60) -> int | None:
        bucket = int(time.time() // window)
        count = await self._redis.get(f"{self._prefix}{key}:{bucket}")
        if count is None or int(count) < limit:
            return None
        return max(1, math.ceil((bucket + 1) * window - time.time()))

    async def close(self) -> None:
        return None


async def enforce(limiter: RateLimiter, key: str, limit: int, window: int = 60, message: str | None = None) -> None:
    """Raise :class:`RateLimited` when ``key`` is over ``limit`` hits per ``window`` s."""
    retry_after = await limiter.hit(key, limit, window)
    if retry_after is not None:
        raise RateLimited(retry_after, message)
