"""Fixtures of the real-time tests: real servers on 127.0.0.1, python-socketio clients.

``sockets`` opens clients against the ``client`` fixture's server (a real TCP
server running the app of ``tests/conftest.py``); they are closed after the test.
Timings (presence grace, typing expiry) are shortened through the environment.
"""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher

from tests.helpers import Person
from tests.venn.realtime.kit import FAST_TIMINGS, Sock


@pytest.fixture(autouse=True)
def fast_realtime(monkeypatch):
    for name, value in FAST_TIMINGS.items():
        monkeypatch.setenv(name, value)
    # Cheap password hashing: these tests make many accounts and test no passwords.
    monkeypatch.setattr(
        "venn.security.passwords._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


@pytest.fixture
async def sockets(client):
    """``await sockets(person)`` → a connected :class:`Sock`; ``sockets.new(person)`` unconnected."""
    opened: list[Sock] = []
    url = str(client.make_url("/"))

    class Factory:
        url_ = url

        def new(self, person: Person | None = None, *, url: str | None = None) -> Sock:
            sock = Sock(url or self.url_, person)
            opened.append(sock)
            return sock

        async def __call__(self, person: Person, **options: Any) -> Sock:
            return await self.new(person).connect(**options)

    yield Factory()
    for sock in opened:
        try:
            await sock.close()
        except Exception:
            pass
