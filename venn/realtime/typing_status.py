"""Typing indicators: who is typing where, throttled, ending by themselves.

A ``typing`` event starts (or keeps alive) an indicator for one user in one
channel stream or thread. Others are told ``typing: true`` when it starts and
again at most every ``throttle`` seconds while it goes on; they are told
``typing: false`` when the user sends a message, says they stopped, or ``ttl``
seconds pass without another ``typing`` event. State is in this process
(:class:`MemoryTyping`) or in Redis (:class:`RedisTyping`), so that whichever
process notices the expiry first announces it, once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Typist:
    """One user typing in one place (a channel stream, or a thread of it)."""

    channel_id: int
    thread_id: int | None
    user_id: int
    username: str

    def encode(self) -> str:
        # usernames are [A-Za-z0-9_.-], so "|" cannot occur in them
        return f"{self.channel_id}|{self.thread_id or 0}|{self.user_id}|{self.username}"

    @classmethod
    def decode(cls, value: str) -> Typist:
        channel, thread, user, username = value.split("|", 3)
        return cls(int(channel), int(thread) or None, int(user), username)

    def event(self, typing: bool) -> dict:
        """The ``typing_indicator`` payload."""
        return {
            "channel_id": self.channel_id,
            "thread_id": self.thread_id,
            "user": {"id": self.user_id, "username": self.username},
            "typing": typing,
        }


class TypingStore(Protocol):
    async def touch(self, who: Typist, ttl: float, throttle: float) -> bool:
        """Start or extend an indicator; True if others should be told (again)."""

    async def stop(self, who: Typist) -> bool:
        """End an indicator now; True if there was one (tell others it stopped)."""

    async def expired(self) -> list[Typist]:
        """Indicators whose time ran out, each returned once (tell others they stopped)."""


class MemoryTyping:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        # who -> [expires_at, last_broadcast_at]
        self._active: dict[Typist, list[float]] = {}

    async def touch(self, who: Typist, ttl: float, throttle: float) -> bool:
        now = self._clock()
        entry = self._active.get(who)
        if entry is None:
            self._active[who] = [now + ttl, now]
            return True
        entry[0] = now + ttl
        if now - entry[1] >= throttle:
            entry[1] = now
            return True
        return False

    async def stop(self, who: Typist) -> bool:
        return self._active.pop(who, None) is not None

    async def expired(self) -> list[Typist]:
        now = self._clock()
        gone = [who for who, (expires_at, _) in self._active.items() if expires_at <= now]
        for who in gone:
            del self._active[who]
        return gone


#: forget a typist (every post does this): one command, one round trip
_STOP = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return removed
"""


class RedisTyping:
    """Keys (under ``prefix``, ``VENN_REDIS_PREFIX``): ``typing:active`` (a sorted set of
    typists by expiry) and a short-lived ``typing:thr:<typist>`` per typist that
    throttles re-broadcasts."""

    def __init__(self, redis, *, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._redis = redis
        self._active = f"{prefix}typing:active"
        self._thr = f"{prefix}typing:thr:"
        self._clock = clock
        self._stop = redis.register_script(_STOP)

    async def touch(self, who: Typist, ttl: float, throttle: float) -> bool:
        member = who.encode()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._active, {member: self._clock() + ttl})
            pipe.set(self._thr + member, "1", nx=True, px=max(1, int(throttle * 1000)))
            added, throttle_free = await pipe.execute()
        return bool(int(added)) or bool(throttle_free)

    async def stop(self, who: Typist) -> bool:
        member = who.encode()
        return int(await self._stop(keys=[self._active, self._thr + member], args=[member])) == 1

    async def expired(self, batch: int = 500) -> list[Typist]:
        due = await self._redis.zrangebyscore(self._active, "-inf", self._clock(), start=0, num=batch)
        gone = []
        for member in due:
            if int(await self._redis.zrem(self._active, member)) == 1:
                try:
                    gone.append(Typist.decode(member))
                except ValueError:
                    continue
        return gone
