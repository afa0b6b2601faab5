"""A value read from the database and kept in memory while it can be trusted.

For data read on every message but changed rarely (which event subscriptions exist):
with one process the copy is kept until a change here drops it; with several processes
sharing Redis it is kept only while this process is subscribed to the announcements of
the others' changes (a Redis pub/sub channel), and dropped on each. While that
subscription is down (Redis away), nothing is kept and every read goes to the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger("venn.shared_cache")

T = TypeVar("T")


class SharedCache(Generic[T]):
    def __init__(self, load: Callable[[], Awaitable[T]]) -> None:
        self._load = load
        self._value: T | None = None
        self._held = False
        self._generation = 0
        #: the copy may be kept: the only process, or hearing the others' changes
        self.trusted = True
        self._redis: Any = None
        self._channel = ""

    def use(self, redis: Any, channel: str) -> None:
        """At start, one of many processes sharing ``redis``: changes are announced on
        ``channel``, and nothing is kept until :meth:`hear_changes` is listening."""
        self._redis, self._channel, self.trusted = redis, channel, False
        self.forget()

    async def get(self) -> T:
        if self._held and self.trusted:
            return self._value  # type: ignore[return-value]
        generation = self._generation
        value = await self._load()
        if self.trusted and generation == self._generation:  # no change while reading
            self._value, self._held = value, True
        return value

    def forget(self) -> None:
        self._value, self._held = None, False
        self._generation += 1

    async def changed(self) -> None:
        """A change was committed: forget the copy here and in every process."""
        self.forget()
        if self._redis is not None:
            try:
                await self._redis.publish(self._channel, "1")
            except Exception:
                log.warning("could not announce a change to other processes", extra={"channel": self._channel})

    async def hear_changes(self) -> None:
        """With Redis (a task): hear the other processes' changes, reconnecting as needed."""
        delay = 0.5
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                self.trusted = True
                self.forget()  # changes may have been missed meanwhile
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.forget()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("not hearing changes; retrying", extra={"channel": self._channel, "error": str(exc)[:200]})
            finally:
                self.trusted = False
                self.forget()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
