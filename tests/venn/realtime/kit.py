"""Socket.IO test kit: a python-socketio ``AsyncClient`` that records what it gets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import socketio

from tests.helpers import Person

FAST_TIMINGS = {
    "VENN_PRESENCE_GRACE_SECONDS": "0.3",
    "VENN_TYPING_TTL_SECONDS": "0.8",
}


class Sock:
    """A python-socketio client that records every event it receives."""

    def __init__(self, url: str, person: Person | None = None) -> None:
        self.url = url
        self.person = person
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.connect_errors: list[Any] = []
        self.disconnected = asyncio.Event()
        self.sio.on("*", self._record)
        self.sio.on("connect_error", self._connect_error)
        self.sio.on("disconnect", self._disconnect)

    async def _record(self, event: str, *args: Any) -> None:
        self.events.append((event, args[0] if len(args) == 1 else args))

    async def _connect_error(self, data: Any = None) -> None:
        self.connect_errors.append(data)

    async def _disconnect(self, *args: Any) -> None:
        self.disconnected.set()

    async def connect(
        self, token: str | None = None, *, auth: Any = ..., transport: str = "websocket", headers: dict | None = None
    ) -> Sock:
        if auth is ...:
            auth = {"token": token if token is not None else self.person.token}
        self.disconnected.clear()
        await self.sio.connect(self.url, auth=auth, transports=[transport], headers=headers or {}, wait_timeout=5)
        return self

    async def call(self, event: str, data: Any = None, timeout: float = 5) -> Any:
        if data is None:
            return await self.sio.call(event, timeout=timeout)
        return await self.sio.call(event, data, timeout=timeout)

    async def ok(self, event: str, data: Any = None) -> dict:
        """Call and insist on ``{ok: true}``."""
        answer = await self.call(event, data)
        assert answer["ok"] is True, answer
        return answer

    async def error(self, event: str, data: Any = None) -> dict:
        """Call and insist on ``{ok: false}``; return the error."""
        answer = await self.call(event, data)
        assert answer["ok"] is False, answer
        assert set(answer) == {"ok", "error"} and {"code", "message"} <= set(answer["error"]), answer
        return answer["error"]

    def of(self, name: str, where: Callable[[Any], bool] = lambda d: True) -> list[Any]:
        return [data for event, data in self.events if event == name and where(data)]

    async def wait(self, name: str, where: Callable[[Any], bool] = lambda d: True, timeout: float = 5) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.of(name, where)
            if found:
                return found[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no {name!r} event in time; got {[e for e, _ in self.events]}")
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()
        # python-socketio leaves its engine.io client open after a refused connect
        await self.sio.eio.disconnect(abort=True)


async def quiet(seconds: float = 0.2) -> None:
    """Let in-flight emits arrive before checking that something did *not* happen."""
    await asyncio.sleep(seconds)
