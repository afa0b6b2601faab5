"""Connecting: the access token in the auth payload, refusals that say why, logout."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest
import socketio
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from tests.helpers import wait_for
from tests.venn.realtime.kit import Sock


class _Backdated(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 10 * 24 * 3600


def expired_token(user_id: int) -> str:
    """An access token signed with the test key ten days ago."""
    serializer = URLSafeTimedSerializer("test-secret-key", salt="venn.access", signer=_Backdated)
    return serializer.dumps({"u": user_id, "v": 0, "n": "x"})


async def refused(sockets, auth) -> dict:
    sock = sockets.new()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sock.connect(auth=auth)
    assert len(sock.connect_errors) == 1
    return sock.connect_errors[0]


async def test_refusals_say_why(client, chat, sockets):
    alice = await chat.user("alice")
    assert await refused(sockets, None) == {
        "message": "Missing access token: connect with auth {token: <access token>}.",
        "data": {"code": "missing_token"},
    }
    assert (await refused(sockets, {"nope": 1}))["data"] == {"code": "missing_token"}
    assert (await refused(sockets, {"token": 12345}))["data"] == {"code": "invalid_token"}
    error = await refused(sockets, {"token": "not.a.token"})
    assert error == {"message": "The token is invalid.", "data": {"code": "invalid_token"}}
    error = await refused(sockets, {"token": expired_token(alice.id)})
    assert error == {"message": "The token has expired.", "data": {"code": "invalid_token"}}
    # a refresh token is not an access token
    assert (await refused(sockets, {"token": alice.refresh_token}))["data"] == {"code": "invalid_token"}
    resp = await client.post("/api/v1/auth/logout", headers=alice.headers)
    assert resp.status == 204
    error = await refused(sockets, {"token": alice.token})
    assert error == {"message": "The token has been revoked.", "data": {"code": "token_revoked"}}


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_connect_and_ping(chat, sockets, transport):
    alice = await chat.user("alice")
    sock = await sockets(alice, transport=transport)
    answer = await sock.ok("ping")
    assert set(answer) == {"ok", "server_time"} and answer["server_time"].endswith("Z")
    assert set(await sock.ok("ping", {})) == {"ok", "server_time"}


async def test_logout_disconnects_every_live_socket_of_the_user(client, chat, sockets):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    tab1, tab2, other = await sockets(alice), await sockets(alice), await sockets(bob)
    resp = await client.post("/api/v1/auth/logout", headers=alice.headers)
    assert resp.status == 204
    await wait_for(lambda: tab1.disconnected.is_set() and tab2.disconnected.is_set())
    assert tab1.of("session_revoked") == [{"user_id": alice.id}]
    assert not other.disconnected.is_set()
    await other.ok("ping")


async def test_socket_metrics(client, chat, sockets):
    alice = await chat.user("alice")
    sock = await sockets(alice)
    await sock.ok("ping")
    text = await (await client.get("/metrics")).text()
    assert "venn_socket_connections 1.0" in text
    assert 'venn_socket_events_total{event="ping",outcome="ok"} 1.0' in text
    await sock.close()

    async def gauge_is_zero():
        return "venn_socket_connections 0.0" in await (await client.get("/metrics")).text()

    await wait_for(gauge_is_zero)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_browser_origins(client, chat, sockets, aiohttp_client, make_settings, database_url):
    from venn.app import create_app

    alice = await chat.user("alice")
    same_origin = str(client.make_url("/")).rstrip("/")
    # by default only the server's own origin (non-browser clients send none)
    await sockets(alice, headers={"Origin": same_origin})
    # (over long-polling too: test_js_client.py; python-socketio's client takes 30 s to
    # give up on any refusal over polling)
    error = await refused_origin(sockets.new(alice), "https://evil.example")
    assert error["data"] == {"code": "origin_not_allowed"}
    assert "https://evil.example" in error["message"] and "VENN_CORS_ORIGINS" in error["message"]
    # VENN_CORS_ORIGINS opens it to the origins listed
    other = await aiohttp_client(
        create_app(make_settings(database_url=database_url, cors_origins="https://chat.example.com"))
    )
    url = str(other.make_url("/"))
    await sockets.new(alice, url=url).connect(headers={"Origin": "https://chat.example.com"})
    error = await refused_origin(sockets.new(alice, url=url), "https://evil.example")
    assert error["data"] == {"code": "origin_not_allowed"}


async def refused_origin(sock, origin: str, **headers: str) -> dict:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sock.connect(headers={"Origin": origin, **headers})
    assert len(sock.connect_errors) == 1
    return sock.connect_errors[0]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_page_origin_behind_a_proxy_on_another_port(aiohttp_client, make_settings, database_url, caplog):
    """nginx on :8980 in front of the server: the page's origin is http://127.0.0.1:8980."""
    from tests.helpers import Chat
    from venn.app import create_app

    page = "http://127.0.0.1:8980"
    plain = await aiohttp_client(create_app(make_settings(database_url=database_url)))
    alice = await Chat(plain).user("alice")
    url = str(plain.make_url("/"))

    def sock():
        from tests.venn.realtime.kit import Sock

        return Sock(url, alice)

    # `proxy_set_header Host $http_host`: the Host the browser sent, port included
    opened = await sock().connect(headers={"Origin": page, "Host": "127.0.0.1:8980"})
    await opened.close()
    # `proxy_set_header Host $host` drops the port: refused, saying so, and logged for the operator
    with caplog.at_level(logging.WARNING, logger="venn.realtime"):
        error = await refused_origin(sock(), page, Host="127.0.0.1")
    assert error["data"] == {"code": "origin_not_allowed"}
    assert any(r.getMessage().startswith("socket refused: origin not allowed") and r.host == "127.0.0.1"
               for r in caplog.records)
    # X-Forwarded-Host is the proxy's word only when the proxy is trusted
    error = await refused_origin(sock(), page, Host="127.0.0.1", **{"X-Forwarded-Host": "127.0.0.1:8980"})
    assert error["data"] == {"code": "origin_not_allowed"}

    behind = await aiohttp_client(
        create_app(make_settings(database_url=database_url, trusted_proxies="127.0.0.1"))
    )
    url = str(behind.make_url("/"))
    opened = await sock().connect(headers={"Origin": page, "Host": "127.0.0.1", "X-Forwarded-Host": "127.0.0.1:8980"})
    await opened.close()


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_socket_logs_name_the_client_behind_a_trusted_proxy(aiohttp_client, make_settings, database_url, caplog):
    from tests.helpers import Chat
    from tests.venn.realtime.kit import Sock
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url=database_url, trusted_proxies="127.0.0.0/8")))
    alice = await Chat(client).user("alice")
    with caplog.at_level(logging.INFO, logger="venn.realtime"):
        sock = await Sock(str(client.make_url("/")), alice).connect(headers={"X-Forwarded-For": "203.0.113.9"})
        await sock.close()
        await wait_for(lambda: any(r.getMessage() == "socket disconnected" for r in caplog.records))
    connected = [r for r in caplog.records if r.getMessage() in ("socket connected", "socket disconnected")]
    assert [r.client_ip for r in connected] == ["203.0.113.9", "203.0.113.9"]


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_revoked_session_is_noticed_without_the_logout_event(client, chat, sockets):
    """The logout event disconnects at once; events and a periodic check back it up."""
    from venn.db.models import User
    from venn.realtime import REALTIME

    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general")
    a, b = await sockets(alice), await sockets(bob)
    # revoke behind the service layer's back: no session_revoked event is published
    await User.filter(id__in=[alice.id, bob.id]).update(token_version=7)
    # an event that touches the database notices it
    error = await a.error("join_channel", {"channel_id": channel["id"]})
    assert error["code"] == "token_revoked"
    await wait_for(lambda: a.disconnected.is_set())
    # the periodic check notices it for a socket that stays quiet
    await client.server.app[REALTIME].heartbeat()
    await wait_for(lambda: b.disconnected.is_set())


async def test_a_send_from_a_revoked_session_is_refused_and_not_stored(client, chat, sockets):
    """send_message checks the session in the query that checks membership: at once in a
    channel the socket has not posted to since the last change; in one it has, a
    revocation that published no event (written behind the service layer's back) is
    caught by the periodic re-check, which disconnects the socket. Every real revocation
    publishes its event, which drops the kept checks first (test_send_checks.py)."""
    from venn.db.models import Message, User
    from venn.realtime import REALTIME

    alice = await chat.user("alice")
    channel, other = await chat.channel(alice, "general"), await chat.channel(alice, "other")
    a = await sockets(alice)
    sent = await a.ok("send_message", {"channel_id": channel["id"], "body": "before", "client_msg_id": "m1"})
    await User.filter(id=alice.id).update(token_version=3)
    error = await a.error("send_message", {"channel_id": other["id"], "body": "after", "client_msg_id": "m2"})
    assert error["code"] == "token_revoked"
    await wait_for(lambda: a.disconnected.is_set())
    assert [m.body for m in await Message.filter(channel_id=other["id"])] == []
    assert sent["message"]["body"] == "before"

    b = await sockets(await chat.user("bob"))
    bob_channel = await chat.channel(b.person, "bobs")
    await b.ok("send_message", {"channel_id": bob_channel["id"], "body": "kept", "client_msg_id": "b1"})
    await User.filter(id=b.person.id).update(token_version=5)
    await client.server.app[REALTIME].heartbeat()
    await wait_for(lambda: b.disconnected.is_set())
    assert [m.body for m in await Message.filter(channel_id=bob_channel["id"])] == ["kept"]


async def test_a_turnstile_lets_tickets_through_in_order_whatever_order_they_arrive_in():
    import asyncio

    from venn.realtime.connections import Turnstile

    gate, passed = Turnstile(), []
    tickets = [gate.ticket() for _ in range(5)]

    async def holder(ticket: int, delay: float, give_up: bool = False) -> None:
        await asyncio.sleep(delay)  # the checks before the gate take their own time
        try:
            if give_up:
                return
            await gate.wait(ticket)
            passed.append(ticket)
        finally:
            gate.done(ticket)

    await asyncio.wait_for(asyncio.gather(
        holder(tickets[0], 0.03), holder(tickets[1], 0.0), holder(tickets[2], 0.01, give_up=True),
        holder(tickets[3], 0.02), holder(tickets[4], 0.0),
    ), timeout=5)
    assert passed == [0, 1, 3, 4]
    later = gate.ticket()
    await asyncio.wait_for(gate.wait(later), timeout=1)  # nobody ahead: straight through


@pytest.mark.parametrize("shared", ["memory", "redis"])
async def test_a_user_has_at_most_max_sockets_per_user(aiohttp_client, make_settings, database_url, shared):
    """The cap counts the user's sockets in every process (Redis presence when shared)."""
    from tests.helpers import Chat, require_redis
    from venn.app import create_app

    extra = {"redis_url": require_redis(), "redis_prefix": f"cap{time.time_ns()}:"} if shared == "redis" else {}
    settings = make_settings(database_url=database_url, max_sockets_per_user=2, **extra)
    client = await aiohttp_client(create_app(settings))
    chat = Chat(client)
    alice, bob = await chat.user("alice"), await chat.user("bob")
    url = str(client.make_url("/"))
    first, second = await Sock(url, alice).connect(), await Sock(url, alice).connect()
    third = Sock(url, alice)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await third.connect()
    assert third.connect_errors[0]["data"] == {"code": "too_many_connections"}
    # others are not affected, and closing one socket makes room again
    other = await Sock(url, bob).connect()
    await first.close()
    again = None
    for _ in range(100):  # the server notices the close a moment after the client
        try:
            again = await Sock(url, alice).connect()
            break
        except socketio.exceptions.ConnectionError:
            await asyncio.sleep(0.05)
    assert again is not None
    await again.ok("ping")
    for sock in (second, other, again):
        await sock.close()


async def test_a_slow_reader_is_disconnected_and_can_catch_up(aiohttp_client, make_settings, database_url):
    """A long-polling client that stops polling: packets for it pile up; past
    VENN_SOCKET_QUEUE_LIMIT its session ends (a polling client sees its session gone and
    reconnects), and sync gives it what it missed."""
    from tests.helpers import Chat
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url=database_url, socket_queue_limit=10)))
    chat = Chat(client)
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    base = "/socket.io/?EIO=4&transport=polling"
    opened = await (await client.get(base)).text()
    sid = json.loads(opened[1:])["sid"]
    poll = f"{base}&sid={sid}"
    assert (await client.post(poll, data=f'40{{"token":"{bob.token}"}}')).status == 200
    assert (await client.get(poll)).status == 200  # the connect answer
    assert (await client.post(poll, data=f'421["join_channel",{{"channel_id":{channel["id"]}}}]')).status == 200
    assert "431" in await (await client.get(poll)).text()
    # bob stops polling; alice goes on talking
    for n in range(30):
        await chat.post(alice, channel["id"], f"message {n}")
    # the next poll finds the session gone instead of 30 messages
    resp = await client.get(poll, timeout=aiohttp.ClientTimeout(total=10))
    text = await resp.text()
    assert resp.status == 400 and "message" not in text, text
    # connected again, bob catches up from the last message he had
    sock = await Sock(str(client.make_url("/")), bob).connect()
    answer = await sock.ok("sync", {"cursors": {str(channel["id"]): 0}})
    bodies = [m["body"] for m in answer["channels"][0]["messages"]]
    assert bodies[-1] == "message 29" and len(bodies) == 30
    await sock.close()
