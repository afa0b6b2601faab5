"""Who is online: a user is online while at least one of their sockets is connected."""

from __future__ import annotations

from collections import defaultdict
from typing import Protocol


class Presence(Protocol):
    async def connected(self, user_id: int, sid: str) -> bool:
        """Record a socket; True if the user was offline before."""

    async def disconnected(self, user_id: int, sid: str) -> bool:
        """Forget a socket; True if the user has no socket left."""

    async def is_online(self, user_id: int) -> bool: ...

    async def statuses(self, user_ids: list[int]) -> dict[int, str]: ...

    async def close(self) -> None: ...


class MemoryPresence:
    """Presence of this process's sockets (embedded mode)."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[str]] = defaultdict(set)

    async def connected(self, user_id: int, sid: str) -> bool:
        was_offline = not self._sockets.get(user_id)
        self._sockets[user_id].add(sid)
        return was_offline

    async def disconnected(self, user_id: int, sid: str) -> bool:
        sockets = self._sockets.get(user_id)
        if sockets is None:
            return True
        sockets.discard(sid)
        if not sockets:
            del self._sockets[user_id]
            return True
        return False

    async def is_online(self, user_id: int) -> bool:
        return bool(self._sockets.get(user_id))

    async def statuses(self, user_ids: list[int]) -> dict[int, str]:
        return {uid: "online" if self._sockets.get(uid) else "offline" for uid in user_ids}

    async def close(self) -> None:
        self._sockets.clear()
