"""Every Redis key and pub/sub channel Venn uses starts with VENN_REDIS_PREFIX, so that two
deployments can share one Redis.

A server on the test Redis runs chat over sockets (messages, typing, presence), a bot
job through the Redis stream (and the enable that announces the change to every
process) and rate limits, while ``MONITOR`` records every command sent to this test's
Redis database; Redis itself (``COMMAND GETKEYS``) says which arguments are keys.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Self

import pytest

from tests.helpers import Chat, require_redis

pytestmark = pytest.mark.redis

#: pub/sub commands: their arguments after the name are channels (or patterns), not keys
PUBSUB = {"PUBLISH": 1, "SPUBLISH": 1, "SUBSCRIBE": None, "UNSUBSCRIBE": None, "PSUBSCRIBE": None,
          "PUNSUBSCRIBE": None, "SSUBSCRIBE": None, "SUNSUBSCRIBE": None}
_LINE = re.compile(r"^\d+\.\d+ \[(\d+) ([^\]]*)\] (.*)$", re.DOTALL)
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|.)")


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        seq = match.group(1)
        if seq.startswith("x") and len(seq) == 3:
            return chr(int(seq[1:], 16))
        return {"n": "\n", "r": "\r", "t": "\t", "a": "\a", "b": "\b"}.get(seq, seq)

    return _ESCAPE.sub(one, text)


class Monitor:
    """Every command Redis receives for database ``db`` while it runs (``MONITOR``)."""

    def __init__(self, url: str, db: int) -> None:
        import redis.asyncio as aioredis

        self._client = aioredis.from_url(url)
        self.db = db
        self.commands: list[list[str]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._monitor = self._client.monitor()
        await self._monitor.__aenter__()
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        while True:
            raw = await self._monitor.connection.read_response()
            line = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
            match = _LINE.match(line)
            if match and int(match.group(1)) == self.db:
                self.commands.append([_unescape(a) for a in _ARG.findall(match.group(3))])

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        await self._monitor.__aexit__(*exc)
        await self._client.aclose()


async def names_used(redis, commands: list[list[str]]) -> tuple[set[str], set[str]]:
    """The keys and the pub/sub channels the commands name."""
    from redis.exceptions import ResponseError

    keys: set[str] = set()
    channels: set[str] = set()
    for command in commands:
        name = command[0].upper()
        if name in PUBSUB:
            count = PUBSUB[name]
            channels.update(command[1 : 1 + count] if count else command[1:])
            continue
        try:
            found = await redis.command_getkeys(*command)
        except ResponseError:  # no key arguments (PING, CLIENT SETINFO, SCRIPT LOAD, ...)
            continue
        keys.update(k.decode() if isinstance(k, bytes) else k for k in found)
    return keys, channels


async def test_every_key_and_channel_carries_the_prefix(aiohttp_client, make_settings, tmp_path, monkeypatch):
    import redis.asyncio as aioredis

    from tests.venn.realtime.kit import Sock
    from venn.app import create_app

    url = require_redis()
    monkeypatch.delenv("VENN_BOT_STREAM", raising=False)  # derived from the prefix
    prefix = f"vdop{uuid.uuid4().hex[:8]}:"
    redis = aioredis.from_url(url, decode_responses=True)
    db = int((await redis.client_info())["db"])
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'venn.db'}",
        redis_url=url,
        redis_prefix=prefix,
        plugins_disabled="sql",
        presence_grace_seconds=0.2,
        typing_ttl_seconds=0.5,
    )
    try:
        async with Monitor(url, db) as monitor:
            client = await aiohttp_client(create_app(settings))
            chat = Chat(client)
            # rate limits: every login and every message counts
            alice, bob = await chat.user("alice", admin=True), await chat.user("bob")
            channel = await chat.channel(alice, "general", members=[bob])
            socket_url = str(client.make_url("/"))
            a, b = Sock(socket_url, alice), Sock(socket_url, bob)
            await b.connect()
            await b.ok("join_channel", {"channel_id": channel["id"]})
            # presence: alice comes online
            await a.connect()
            await b.wait("user_status", lambda d: d["user_id"] == alice.id and d["status"] == "online")
            await a.ok("join_channel", {"channel_id": channel["id"]})
            # a bot enabled (announced to every process) answers through the job stream
            resp = await client.post(
                f"/api/v1/channels/{channel['id']}/bots", json={"plugin": "echo"}, headers=alice.headers
            )
            assert resp.status == 201, await resp.text()
            await a.ok("typing", {"channel_id": channel["id"]})
            await b.wait("typing_indicator", lambda d: d["typing"] is True)
            await a.ok("send_message", {"channel_id": channel["id"], "body": "hello", "client_msg_id": "m1"})
            await b.wait("new_message", lambda d: d["message"]["author"]["username"] != "alice", timeout=10)
            # typing ends by itself; alice leaves and goes offline
            await a.ok("typing", {"channel_id": channel["id"]})
            await b.wait("typing_indicator", lambda d: d["typing"] is False)
            await a.close()
            await b.wait("user_status", lambda d: d["user_id"] == alice.id and d["status"] == "offline")
            await b.close()
            await client.close()
        keys, channels = await names_used(redis, monitor.commands)
    finally:
        leftover = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if leftover:
            await redis.delete(*leftover)
        await redis.aclose()

    assert [k for k in keys if not k.startswith(prefix)] == []
    assert [c for c in channels if not c.startswith(prefix)] == []
    # the run did use every kind of key and channel (the check above is not empty-handed)
    for family in ("presence:", "typing:", "chanlock:", "rl:login:", "rl:msg:", "bots:jobs"):
        assert any(k.startswith(prefix + family) for k in keys), (family, sorted(keys))
    assert {f"{prefix}socketio", f"{prefix}bots:jobs:settings-changed"} <= channels, sorted(channels)
