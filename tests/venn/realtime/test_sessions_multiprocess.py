"""Ending a session, or changing the password, on one of two processes sharing
PostgreSQL and Redis disconnects that session's sockets on both processes at once,
and leaves the user's other session connected."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.helpers import Chat
from tests.venn.realtime.kit import Sock
from tests.venn.realtime.test_multiprocess import Http, own_database, two_servers  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


async def _login(session: aiohttp.ClientSession, url: str, person, agent: str) -> dict:
    async with session.post(
        f"{url}/api/v1/auth/login",
        json={"username": person.username, "password": person.password},
        headers={"User-Agent": agent},
    ) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _connected(url: str, token: str) -> Sock:
    sock = Sock(url)
    await sock.connect(token)
    return sock


async def test_an_ended_session_is_disconnected_on_both_processes(two_servers):  # noqa: F811
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        alice = await Chat(Http(session, url1)).user("alice")
        phone = await _login(session, url2, alice, "phone")
        socks = [
            await _connected(url1, phone["access_token"]),
            await _connected(url2, phone["access_token"]),
            await _connected(url1, alice.token),
            await _connected(url2, alice.token),
        ]
        try:
            async with session.get(f"{url1}/api/v1/users/me/sessions", headers=_bearer(phone["access_token"])) as resp:
                phone_id = next(s["id"] for s in (await resp.json())["sessions"] if s["current"])
            async with session.delete(f"{url2}/api/v1/users/me/sessions/{phone_id}", headers=alice.headers) as resp:
                assert resp.status == 204, await resp.text()
            for sock in socks[:2]:
                await asyncio.wait_for(sock.disconnected.wait(), 5)
                assert sock.of("session_revoked")
            for sock in socks[2:]:
                await sock.ok("ping")
                assert not sock.disconnected.is_set()
        finally:
            for sock in socks:
                await sock.close()


async def test_a_password_change_disconnects_the_other_sessions_on_both_processes(two_servers):  # noqa: F811
    (url1, url2), _ = two_servers
    async with aiohttp.ClientSession() as session:
        alice = await Chat(Http(session, url1)).user("alice")
        old = await _login(session, url1, alice, "old laptop")
        others = [await _connected(url1, old["access_token"]), await _connected(url2, old["access_token"])]
        own = [await _connected(url1, alice.token), await _connected(url2, alice.token)]
        try:
            async with session.patch(
                f"{url1}/api/v1/users/me",
                json={"password": "another-horse-1", "current_password": alice.password},
                headers=alice.headers,
            ) as resp:
                assert resp.status == 200, await resp.text()
            for sock in others:
                await asyncio.wait_for(sock.disconnected.wait(), 5)
            for sock in own:
                await sock.ok("ping")
            async with session.get(f"{url2}/api/v1/users/me", headers=_bearer(old["access_token"])) as resp:
                assert resp.status == 401
        finally:
            for sock in others + own:
                await sock.close()
