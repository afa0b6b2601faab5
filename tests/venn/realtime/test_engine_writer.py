"""What clients see of the way Venn hands packets to engine.io's writers
(``venn/realtime/sio_compat.py``: broadcasts put straight into each session's queue):
every broadcast once and in
order on every socket, a slow reader still cut off, a client that stops answering
pings still timed out.
"""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp

from tests.helpers import Chat, wait_for
from tests.venn.realtime.kit import Sock

POLLING = "/socket.io/?EIO=4&transport=polling"


async def connections_gauge(client) -> str:
    text = await (await client.get("/metrics")).text()
    return next(line for line in text.splitlines() if line.startswith("venn_socket_connections "))


async def test_many_broadcasts_arrive_once_and_in_order_on_every_socket(client, chat, sockets):
    """Sends that overlap (no waiting for acks) queue several broadcasts for a socket at
    once, which its writer takes together: each socket gets every message once, in
    the channel's order. (Websockets only: python-engineio's client drops a long poll
    answering more than 16 packets at once, which engine.io's server sends in a burst.)"""
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    a, b = await sockets(alice), await sockets(bob)
    c = await sockets(carol)
    for sock in (a, b, c):
        await sock.ok("join_channel", {"channel_id": channel["id"]})
    count = 150
    answers = await asyncio.gather(*(
        a.ok("send_message", {"channel_id": channel["id"], "body": f"n{n} " + "x" * (n * 7), "client_msg_id": f"m{n}"})
        for n in range(count)
    ))
    ids = sorted(answer["message"]["id"] for answer in answers)
    for sock in (a, b, c):
        await wait_for(lambda sock=sock: len(sock.of("new_message")) >= count)
        assert [m["message"]["id"] for m in sock.of("new_message")] == ids
    history = await (await client.get(f"/api/v1/messages/channel/{channel['id']}?limit=200",
                                      headers=bob.headers)).json()
    assert sorted(m["id"] for m in history["messages"]) == ids


async def test_a_websocket_client_that_stops_reading_is_cut_off(aiohttp_client, make_settings, database_url, caplog):
    """A websocket client that stops reading: once the connection is backed up, packets
    pile up in its queue, and past VENN_SOCKET_QUEUE_LIMIT its session ends, while a
    client that reads gets everything."""
    from venn.app import create_app

    settings = make_settings(database_url=database_url, socket_queue_limit=10, max_message_length=100_000)
    client = await aiohttp_client(create_app(settings))
    chat = Chat(client)
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    reader = await Sock(str(client.make_url("/")), carol).connect()
    await reader.ok("join_channel", {"channel_id": channel["id"]})
    # bob speaks engine.io over a raw websocket, then never reads again
    ws = await client.ws_connect("/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str()).startswith("0")
    await ws.send_str("40" + json.dumps({"token": bob.token}))
    assert (await ws.receive_str()).startswith("40")
    await ws.send_str("421" + json.dumps(["join_channel", {"channel_id": channel["id"]}]))
    assert (await ws.receive_str()).startswith("431")
    assert await connections_gauge(client) == "venn_socket_connections 2.0"
    caplog.set_level(logging.WARNING, logger="venn.realtime")
    sent = 0
    while "slow reader disconnected" not in caplog.text:
        assert sent < 600, "a reader that stopped reading was never cut off"
        await chat.post(alice, channel["id"], f"{sent} " + "y" * 90_000)
        sent += 1
    await wait_for(lambda: len(reader.of("new_message")) == sent, timeout=20)
    assert [m["message"]["body"].split()[0] for m in reader.of("new_message")] == [str(n) for n in range(sent)]
    assert await connections_gauge(client) == "venn_socket_connections 1.0"
    await ws.close()
    await reader.close()


async def test_a_long_polling_client_that_stops_answering_pings_is_timed_out(client, chat, sockets):
    """A client that keeps polling but never answers a ping while broadcasts flow to it
    loses its session once its ping time-out passes; one that answers stays."""
    from venn.realtime import REALTIME

    eio = client.app[REALTIME].sio.eio
    eio.ping_interval, eio.ping_timeout = 0.3, 0.6  # before the first connection: seconds, not a minute
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    carol_sock = await sockets(carol)
    await carol_sock.ok("join_channel", {"channel_id": channel["id"]})
    opened = await (await client.get(POLLING)).text()
    poll = f"{POLLING}&sid={json.loads(opened[1:])['sid']}"
    assert (await client.post(poll, data="40" + json.dumps({"token": bob.token}))).status == 200
    assert (await (await client.get(poll)).text()).startswith("40")
    join = "421" + json.dumps(["join_channel", {"channel_id": channel["id"]}])
    assert (await client.post(poll, data=join)).status == 200
    assert "431" in await (await client.get(poll)).text()

    async def talk() -> None:
        for n in range(200):
            await chat.post(alice, channel["id"], f"m{n}")
            await asyncio.sleep(0.05)

    talker = asyncio.create_task(talk())
    received: list[str] = []
    ended = False
    try:
        for _ in range(200):
            resp = await client.get(poll, timeout=aiohttp.ClientTimeout(total=10))
            if resp.status != 200:  # the session is gone ...
                ended = True
                break
            packets = (await resp.text()).split("\x1e")
            received += packets
            if "1" in packets:  # ... or this is engine.io's CLOSE
                ended = True
                break
    finally:
        talker.cancel()
    assert ended, "a client that never answered a ping was not timed out"
    assert "2" in received and any(p.startswith("42") for p in received)  # pinged, and broadcasts reached it
    await carol_sock.ok("ping")  # the client that answers pings is still connected
    await wait_for(lambda: connections_gauge(client))
    assert await connections_gauge(client) == "venn_socket_connections 1.0"
