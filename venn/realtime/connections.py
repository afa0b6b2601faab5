"""This process's live sockets: who each one is, what it joined, its flood budget."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field

from venn.db.models import Channel, User


class TokenBucket:
    """``rate`` events a second on average, bursts of up to ``burst``."""

    __slots__ = ("rate", "burst", "tokens", "stamp", "_clock")

    def __init__(self, rate: float, burst: float, clock=time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self._clock = clock
        self.stamp = clock()

    def take(self) -> bool:
        now = self._clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Turnstile:
    """Lets tasks through one point in the order they took their tickets, whatever
    order they reach it in (a socket's posts are checked side by side, then queued in
    the order they arrived)."""

    __slots__ = ("_issued", "_serving", "_finished", "_waiting")

    def __init__(self) -> None:
        self._issued = 0
        self._serving = 0
        self._finished: set[int] = set()
        self._waiting: dict[int, asyncio.Future] = {}

    def ticket(self) -> int:
        ticket, self._issued = self._issued, self._issued + 1
        return ticket

    async def wait(self, ticket: int) -> None:
        """Until every earlier ticket is done."""
        if ticket != self._serving:
            future = self._waiting[ticket] = asyncio.get_running_loop().create_future()
            try:
                await future
            finally:
                self._waiting.pop(ticket, None)

    def done(self, ticket: int) -> None:
        """The ticket's holder went through (or gave up): the next may go. Idempotent."""
        if ticket < self._serving:
            return
        self._finished.add(ticket)
        while self._serving in self._finished:
            self._finished.discard(self._serving)
            self._serving += 1
        following = self._waiting.get(self._serving)
        if following is not None and not following.done():
            following.set_result(None)


@dataclass
class SocketState:
    sid: str
    user_id: int
    username: str
    token_version: int
    bucket: TokenBucket
    #: the client's address (behind VENN_TRUSTED_PROXIES, the one they forwarded), for logs
    client_ip: str = "unknown"
    #: the personal access token it signed in with (None: a session's access token)
    personal_token_id: int | None = None
    #: the sign-in its access token belongs to (None: a personal access token, or a
    #: token issued before sessions existed)
    session_id: int | None = None
    #: signed in with a token of scope ``read`` only: events that change anything are refused
    read_only: bool = False
    #: channel rooms this socket joined
    channels: set[int] = field(default_factory=set)
    #: thread rooms this socket joined: thread id -> its channel id
    threads: dict[int, int] = field(default_factory=dict)
    #: events that change state run one at a time, in the order they arrived
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: posts are checked side by side, then join their channels' order in arrival order
    sends: Turnstile = field(default_factory=Turnstile)
    #: when the last flood warning was logged (logs are throttled too)
    last_flood_log: float = 0.0
    #: channels this socket's posts passed the database's checks for: channel id -> the
    #: sender and channel as checked. Later posts there skip the check query; an entry
    #: goes when the membership, the channel or the sender changes (control messages,
    #: heard by every process) and at each heartbeat (in case one was lost).
    may_post: dict[int, tuple[User, Channel]] = field(default_factory=dict)


class Connections:
    def __init__(self) -> None:
        self._by_sid: dict[str, SocketState] = {}
        self._by_user: dict[int, set[str]] = defaultdict(set)

    def add(self, state: SocketState) -> None:
        self._by_sid[state.sid] = state
        self._by_user[state.user_id].add(state.sid)

    def remove(self, sid: str) -> SocketState | None:
        state = self._by_sid.pop(sid, None)
        if state is not None:
            sids = self._by_user.get(state.user_id)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del self._by_user[state.user_id]
        return state

    def get(self, sid: str) -> SocketState | None:
        return self._by_sid.get(sid)

    def of_user(self, user_id: int) -> list[SocketState]:
        return [self._by_sid[sid] for sid in self._by_user.get(user_id, ()) if sid in self._by_sid]

    def all(self) -> list[SocketState]:
        return list(self._by_sid.values())

    def __len__(self) -> int:
        return len(self._by_sid)
