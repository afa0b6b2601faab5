"""Who is online: a user is online while at least one of their sockets is connected.

The Socket.IO layer reports each socket as it connects and disconnects. A user
becomes *online* with their first socket, in any process; when their last socket
leaves they are scheduled to go *offline* after a grace period, so that a page
reload (disconnect, then reconnect a moment later) does not flap.

Each implementation keeps an *announced* state per user: :meth:`connected`
returns True only when the user goes from offline to online, and :meth:`sweep`
returns the users that go from online to offline, each exactly once across all
processes, so that the caller broadcasts every change once. REST reads the same
announced state (:meth:`statuses`).

- :class:`MemoryPresence`: this process's sockets (embedded mode, one process).
- :class:`RedisPresence`: shared by every process. Each socket has an entry with
  an expiry that its process refreshes (:meth:`refresh`, a heartbeat); the
  sockets of a process that died stop being refreshed, expire, and are reaped by
  whichever process sweeps next.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Protocol

ONLINE = "online"
OFFLINE = "offline"


class Presence(Protocol):
    async def connected(self, user_id: int, sid: str) -> bool:
        """Record a socket; True if the user was offline before (announce them online)."""

    async def disconnected(self, user_id: int, sid: str, grace: float = 0.0) -> bool:
        """Forget a socket; True if the user has no socket left.

        The user is then due to go offline ``grace`` seconds later, unless a socket
        of theirs connects meanwhile; :meth:`sweep` reports it.
        """

    async def refresh(self, sockets: Iterable[tuple[int, str]]) -> list[int]:
        """Heartbeat for this process's live sockets ``(user_id, sid)``.

        Returns the users to announce online again (their entries had expired).
        """

    async def sweep(self) -> list[int]:
        """Users that just went offline (grace elapsed, no socket left): announce them."""

    async def is_online(self, user_id: int) -> bool: ...

    async def socket_count(self, user_id: int) -> int:
        """The user's live sockets, in every process."""

    async def statuses(self, user_ids: list[int]) -> dict[int, str]: ...

    async def close(self) -> None: ...


class MemoryPresence:
    """Presence of this process's sockets (embedded mode)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._sockets: dict[int, set[str]] = defaultdict(set)
        self._online: set[int] = set()
        self._pending: dict[int, float] = {}

    async def connected(self, user_id: int, sid: str) -> bool:
        self._sockets[user_id].add(sid)
        self._pending.pop(user_id, None)
        if user_id in self._online:
            return False
        self._online.add(user_id)
        return True

    async def disconnected(self, user_id: int, sid: str, grace: float = 0.0) -> bool:
        sockets = self._sockets.get(user_id)
        if sockets is not None:
            sockets.discard(sid)
            if sockets:
                return False
            del self._sockets[user_id]
        if user_id in self._online:
            self._pending[user_id] = self._clock() + grace
        return True

    async def refresh(self, sockets: Iterable[tuple[int, str]]) -> list[int]:
        return []

    async def sweep(self) -> list[int]:
        now = self._clock()
        gone = []
        for user_id, due in list(self._pending.items()):
            if due > now:
                continue
            del self._pending[user_id]
            if not self._sockets.get(user_id) and user_id in self._online:
                self._online.discard(user_id)
                gone.append(user_id)
        return gone

    async def is_online(self, user_id: int) -> bool:
        return user_id in self._online

    async def socket_count(self, user_id: int) -> int:
        return len(self._sockets.get(user_id, ()))

    async def statuses(self, user_ids: list[int]) -> dict[int, str]:
        return {uid: ONLINE if uid in self._online else OFFLINE for uid in user_ids}

    async def close(self) -> None:
        self._sockets.clear()
        self._online.clear()
        self._pending.clear()


# Atomically: drop the user's expired socket entries; if none is left and the user
# was announced online, un-announce them (1) so that exactly one process says so.
_SETTLE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then
  return redis.call('SREM', KEYS[2], ARGV[2])
end
return 0
"""


class RedisPresence:
    """Presence shared by every server process through Redis.

    Keys (under ``prefix``, ``VENN_REDIS_PREFIX``): ``presence:s:<uid>`` a sorted set of
    the user's socket ids scored by expiry; ``presence:all`` every socket
    (``<uid>:<sid>``) by expiry, for reaping; ``presence:online`` the users announced
    online; ``presence:pending`` users due to go offline, scored by due time.
    """

    def __init__(
        self,
        redis,
        *,
        prefix: str,
        socket_ttl: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = redis
        self._p = f"{prefix}presence:"
        self.socket_ttl = socket_ttl
        self._clock = clock
        self._settle = redis.register_script(_SETTLE)

    def _skey(self, user_id: int) -> str:
        return f"{self._p}s:{user_id}"

    async def connected(self, user_id: int, sid: str) -> bool:
        expiry = self._clock() + self.socket_ttl
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(self._skey(user_id), {sid: expiry})
            pipe.expire(self._skey(user_id), int(self.socket_ttl * 2) + 1)
            pipe.zadd(f"{self._p}all", {f"{user_id}:{sid}": expiry})
            pipe.zrem(f"{self._p}pending", str(user_id))
            pipe.sadd(f"{self._p}online", str(user_id))
            results = await pipe.execute()
        return int(results[-1]) == 1

    async def disconnected(self, user_id: int, sid: str, grace: float = 0.0) -> bool:
        now = self._clock()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._skey(user_id), sid)
            pipe.zrem(f"{self._p}all", f"{user_id}:{sid}")
            pipe.zcount(self._skey(user_id), now, "+inf")
            results = await pipe.execute()
        if int(results[-1]) > 0:
            return False
        await self._redis.zadd(f"{self._p}pending", {str(user_id): now + grace})
        return True

    async def refresh(self, sockets: Iterable[tuple[int, str]]) -> list[int]:
        sockets = list(sockets)
        if not sockets:
            return []
        expiry = self._clock() + self.socket_ttl
        async with self._redis.pipeline(transaction=False) as pipe:
            for user_id, sid in sockets:
                pipe.zadd(self._skey(user_id), {sid: expiry})
                pipe.expire(self._skey(user_id), int(self.socket_ttl * 2) + 1)
                pipe.zadd(f"{self._p}all", {f"{user_id}:{sid}": expiry})
            results = await pipe.execute()
        # A socket whose entry had to be re-added was reaped (this process stalled
        # past the expiry): make sure its user is announced online again.
        revived = {uid for (uid, _), added in zip(sockets, results[::3], strict=True) if int(added)}
        back = []
        for user_id in sorted(revived):
            if int(await self._redis.sadd(f"{self._p}online", str(user_id))) == 1:
                back.append(user_id)
        return back

    async def sweep(self, batch: int = 1000) -> list[int]:
        now = self._clock()
        # Sockets of processes that stopped refreshing them (crashed): reap each once.
        expired = await self._redis.zrangebyscore(f"{self._p}all", "-inf", now, start=0, num=batch)
        for member in expired:
            if int(await self._redis.zrem(f"{self._p}all", member)) != 1:
                continue
            uid, _, sid = member.partition(":")
            await self._redis.zrem(self._skey(int(uid)), sid)
            await self._redis.zadd(f"{self._p}pending", {uid: now}, nx=True)
        gone = []
        due = await self._redis.zrangebyscore(f"{self._p}pending", "-inf", now, start=0, num=batch)
        for uid in due:
            if int(await self._redis.zrem(f"{self._p}pending", uid)) != 1:
                continue  # another process settles this one
            settled = await self._settle(keys=[self._skey(int(uid)), f"{self._p}online"], args=[now, uid])
            if int(settled) == 1:
                gone.append(int(uid))
        return gone

    async def is_online(self, user_id: int) -> bool:
        return bool(await self._redis.sismember(f"{self._p}online", str(user_id)))

    async def socket_count(self, user_id: int) -> int:
        return int(await self._redis.zcount(self._skey(user_id), self._clock(), "+inf"))

    async def statuses(self, user_ids: list[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for uid in user_ids:
                pipe.sismember(f"{self._p}online", str(uid))
            flags = await pipe.execute()
        return {uid: ONLINE if flag else OFFLINE for uid, flag in zip(user_ids, flags, strict=True)}

    async def close(self) -> None:
        # The Redis client belongs to the app, which closes it.
        return None
