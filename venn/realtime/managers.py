"""Socket.IO client managers: delivery of emits, plus Venn's control messages.

With ``REDIS_URL`` the manager is python-socketio's Redis manager: every emit
reaches the sockets of every process. Processes also tell each other to act on
their own sockets (disconnect a user who logged out, take a user who left a
channel out of its rooms) with *control messages*: an emit of
:data:`CONTROL_EVENT` that the manager hands to the server's ``on_control`` in
every process instead of sending it to clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from venn.realtime.sio_compat import DirectEmit, ResilientRedisManager

CONTROL_EVENT = "venn:control"
CONTROL_ROOM = "venn:control"

OnControl = Callable[[Any], Awaitable[None]]


class LocalManager(DirectEmit):
    """python-socketio's in-process manager, plus control messages."""

    def __init__(self, on_control: OnControl) -> None:
        super().__init__()
        self.on_control = on_control

    async def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if event == CONTROL_EVENT:
            await self.on_control(data)
            return None
        return await super().emit(
            event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs
        )


class RedisManager(ResilientRedisManager):
    """python-socketio's Redis manager, plus control messages (handled in every process).

    Emits published while this process was not subscribed (or could not publish)
    never reach its sockets, so once the subscription is back ``on_resubscribed``
    runs: it makes the sockets reconnect, and clients catch up with ``sync``.
    """

    def __init__(
        self,
        url: str,
        channel: str,
        on_control: OnControl,
        on_resubscribed: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(url, channel=channel)
        self.on_control = on_control
        self.on_resubscribed = on_resubscribed

    async def intercept(self, event: Any, data: Any) -> bool:
        if event != CONTROL_EVENT:
            return False
        await self.on_control(data[0] if isinstance(data, list) and data else data)
        return True

    async def resubscribed(self) -> None:
        if self.on_resubscribed is not None:
            await self.on_resubscribed()
