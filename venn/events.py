"""In-process event bus: the service layer publishes, transports subscribe.

Every change (message posted, edited, deleted, thread created, ...) is published
once, by the process that made it, after it is committed. The Socket.IO layer
turns events into room emits (fanned out to other processes by python-socketio's
Redis manager); the bot runtime turns them into jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("venn.events")


@dataclass(frozen=True)
class Event:
    """``name`` is the client-facing event name (``new_message``, ...)."""

    name: str
    data: dict[str, Any]
    channel_id: int | None = None
    thread_id: int | None = None
    #: users to address directly (their private rooms), e.g. for membership changes
    user_ids: tuple[int, ...] = ()
    #: the service-level object the event is about, for in-process subscribers (bots)
    context: dict[str, Any] = field(default_factory=dict, compare=False)


Subscriber = Callable[[Event], Awaitable[None]]


class EventBus:
    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.remove(subscriber)

    async def publish(self, event: Event) -> None:
        """Deliver to every subscriber; one failing subscriber does not stop the others."""
        for subscriber in list(self._subscribers):
            try:
                await subscriber(event)
            except Exception:
                log.exception("event subscriber failed", extra={"event": event.name})
