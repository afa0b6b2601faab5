"""Behind a reverse proxy: the client's address from X-Forwarded-For, only when the
proxy is one of VENN_TRUSTED_PROXIES (the test client connects from 127.0.0.1)."""

from __future__ import annotations

import logging
from ipaddress import ip_network

import pytest

from venn.proxies import forwarded_client, origin_matches_host

TRUSTED = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


@pytest.mark.parametrize(
    "peer, forwarded_for, client",
    [
        # no proxy trusted, or a peer that is not one: the header is the client's word
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        # the proxy appended the address it saw; what the client wrote before it is ignored
        ("10.0.0.2", ["6.6.6.6, 203.0.113.9"], "203.0.113.9"),
        # through two trusted proxies (and a header split over two lines)
        ("10.0.0.2", ["6.6.6.6, 203.0.113.9", "10.0.0.7"], "203.0.113.9"),
        # a trusted proxy with no header, or an empty one
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", [" "], "10.0.0.2"),
        # every hop trusted: the left-most reached
        ("10.0.0.2", ["10.1.1.1, 10.0.0.7"], "10.1.1.1"),
        # an unreadable hop stops the walk at the last trusted address
        ("10.0.0.2", ["203.0.113.9, junk, 10.0.0.7"], "10.0.0.7"),
        # ports and brackets as some proxies write them; IPv6; IPv4 seen on a dual-stack socket
        ("10.0.0.2", ["203.0.113.9:4711"], "203.0.113.9"),
        ("fd00::1", ["[2001:db8::5]:443"], "2001:db8::5"),
        ("::ffff:10.0.0.2", ["203.0.113.9"], "203.0.113.9"),
        (None, ["203.0.113.9"], "unknown"),
    ],
)
def test_client_address_walks_the_header_from_the_right(peer, forwarded_for, client):
    assert forwarded_client(peer, forwarded_for, TRUSTED) == client


def test_nothing_is_trusted_by_default():
    assert forwarded_client("10.0.0.2", ["203.0.113.9"], []) == "10.0.0.2"


@pytest.mark.parametrize(
    "origin, host, same",
    [
        ("http://127.0.0.1:8980", "127.0.0.1:8980", True),
        ("http://127.0.0.1:8980", "127.0.0.1", False),  # nginx's $host drops the port
        ("https://chat.example.com", "chat.example.com", True),
        ("https://chat.example.com", "Chat.Example.com:443", True),
        ("http://chat.example.com", "chat.example.com:443", False),
        ("https://chat.example.com", "chat.example.com:8443", False),
        ("https://chat.example.com.evil.example", "chat.example.com", False),
        ("http://[::1]:8000", "[::1]:8000", True),
        ("null", "chat.example.com", False),
        ("https://chat.example.com", "", False),
        ("https://chat.example.com", "chat.example.com:notaport", False),
    ],
)
def test_origin_against_the_public_host(origin, host, same):
    assert origin_matches_host(origin, host) is same


async def _logins(client, forwarded_for: str, times: int) -> list[int]:
    statuses = []
    for _ in range(times):
        resp = await client.post(
            "/api/v1/auth/login",
            json={"username": "alice", "password": "wrong-password"},
            headers={"X-Forwarded-For": forwarded_for},
        )
        statuses.append(resp.status)
    return statuses


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_login_limit_counts_each_client_behind_a_trusted_proxy(aiohttp_client, make_settings, database_url):
    from venn.app import create_app

    settings = make_settings(database_url=database_url, rate_limit_logins_per_minute=3, trusted_proxies="127.0.0.1")
    client = await aiohttp_client(create_app(settings))
    resp = await client.post("/api/v1/auth/register", json={"username": "alice", "password": "correct-horse"})
    assert resp.status == 201
    # someone guessing alice's password is stopped ...
    assert await _logins(client, "203.0.113.9", 4) == [401, 401, 401, 429]
    # ... even when sending a made-up address of their own before the proxy's
    assert await _logins(client, "198.51.100.77, 203.0.113.9", 1) == [429]
    # ... but alice, from her own address, still logs in
    resp = await client.post(
        "/api/v1/auth/login",
        json={"username": "alice", "password": "correct-horse"},
        headers={"X-Forwarded-For": "192.0.2.44"},
    )
    assert resp.status == 200


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_forwarded_for_from_an_untrusted_peer_is_ignored(aiohttp_client, make_settings, database_url):
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url=database_url, rate_limit_logins_per_minute=3)))
    # a client cannot dodge the limit by naming a new address each time
    statuses = [(await _logins(client, f"203.0.113.{n}", 1))[0] for n in range(4)]
    assert statuses == [401, 401, 401, 429]


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("trusted, logged", [("127.0.0.1", "203.0.113.9"), ("", "127.0.0.1")])
async def test_the_access_log_names_the_client(aiohttp_client, make_settings, database_url, caplog, trusted, logged):
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url=database_url, trusted_proxies=trusted)))
    with caplog.at_level(logging.INFO, logger="venn.http"):
        resp = await client.get("/api/v1/users/me", headers={"X-Forwarded-For": "203.0.113.9"})
    assert resp.status == 401
    [record] = [r for r in caplog.records if r.name == "venn.http" and r.getMessage().startswith("GET ")]
    assert record.client_ip == logged  # type: ignore[attr-defined]
