"""Bad input on every event: an error ack (nothing for unknown events), a log line,
and a socket that stays usable; the server never falls over."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest
import socketio

from tests.venn.realtime.kit import quiet

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])

GOOD = {
    "join_channel": {"channel_id": 1},
    "leave_channel": {"channel_id": 1},
    "join_thread": {"thread_id": 1},
    "leave_thread": {"thread_id": 1},
    "send_message": {"channel_id": 1, "body": "hi", "client_msg_id": "c1"},
    "edit_message": {"message_id": 1, "body": "hi"},
    "delete_message": {"message_id": 1},
    "typing": {"channel_id": 1},
    "mark_read": {"channel_id": 1, "message_id": 1},
    "sync": {"cursors": {"1": 0}},
    "ping": {},
}
ID_FIELDS = {
    "join_channel": "channel_id", "leave_channel": "channel_id", "join_thread": "thread_id",
    "leave_thread": "thread_id", "send_message": "channel_id", "edit_message": "message_id",
    "delete_message": "message_id", "typing": "channel_id", "mark_read": "message_id",
}
BAD_IDS = ["1", 1.5, True, 0, -3, 2**63, None, [1], {"id": 1}]
NOT_OBJECTS = ["a string", 42, [1, 2], True]


@pytest.mark.parametrize("event", sorted(GOOD))
async def test_bad_payloads_on_every_event(chat, sockets, event, caplog):
    caplog.set_level(logging.INFO, logger="venn.realtime.events")
    alice = await chat.user("alice")
    a = await sockets(alice)
    bad: list = [*NOT_OBJECTS, {**GOOD[event], "unexpected": 1}]
    if event != "ping":
        bad += [None, {}]
    if event in ID_FIELDS:
        bad += [{**GOOD[event], ID_FIELDS[event]: value} for value in BAD_IDS]
    if "body" in GOOD[event]:
        bad += [{**GOOD[event], "body": value} for value in (None, 5, ["x"], "x" * 100_001)]
    if event == "send_message":
        bad += [{**GOOD[event], "client_msg_id": value} for value in ("", "has space", "x" * 65, 7)]
        bad += [{k: v for k, v in GOOD[event].items() if k != "client_msg_id"}]
    if event == "typing":
        bad += [{**GOOD[event], "typing": "yes"}]
    for payload in bad:
        error = await a.error(event, payload)
        assert error["code"] == "validation_error", (payload, error)
        assert error["fields"] and "Traceback" not in str(error)
    assert "socket event refused" in caplog.text
    await a.ok("ping")


async def test_two_arguments_and_binary_data_are_refused(chat, sockets):
    alice = await chat.user("alice")
    a = await sockets(alice)
    answer = await a.sio.call("ping", ({}, {}), timeout=5)
    assert answer["ok"] is False and answer["error"]["code"] == "validation_error"
    answer = await a.call("typing", {"channel_id": 1, "blob": b"\x00\x01"})
    assert answer["ok"] is False and answer["error"]["code"] == "validation_error"
    await a.ok("ping")


async def test_oversized_payloads(client, chat, sockets, settings):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    a = await sockets(alice)
    # over VENN_MAX_BODY_BYTES: refused, the socket lives on
    big = {"channel_id": channel["id"], "body": "x" * (settings.max_body_bytes + 10), "client_msg_id": "big"}
    error = await a.error("send_message", big)
    assert error["code"] == "payload_too_large"
    # within it, but longer than a message may be: the service's rule
    long = {**big, "body": "x" * (settings.max_message_length + 1)}
    assert (await a.error("send_message", long))["code"] == "validation_error"
    await a.ok("ping")
    # far over the engine's limit: that connection is closed, nothing else is hurt
    b = await sockets(alice)
    await b.sio.emit("ping", {"junk": "x" * (5 * 1024 * 1024)})
    await asyncio.wait_for(b.disconnected.wait(), 5)
    await a.ok("ping")


async def test_unknown_events_get_no_answer(chat, sockets, caplog):
    caplog.set_level(logging.INFO, logger="venn.realtime.events")
    alice = await chat.user("alice")
    a = await sockets(alice)
    with pytest.raises(socketio.exceptions.TimeoutError):
        await a.sio.call("no_such_event", {"x": 1}, timeout=0.3)
    await a.sio.emit("another_unknown", "data")
    # reserved names sent by hand do not fake a connect or a disconnect
    await a.sio.emit("connect", {"token": "x"})
    await a.sio.emit("disconnect", "bye")
    await quiet()
    assert "unknown socket event ignored" in caplog.text
    await a.ok("ping")
    assert a.sio.connected


async def test_flood_is_refused_then_the_socket_recovers(client, chat, sockets):
    alice = await chat.user("alice")
    a = await sockets(alice)
    answers = await asyncio.gather(*[a.call("ping") for _ in range(300)])
    codes = [x["error"]["code"] for x in answers if not x["ok"]]
    assert codes and set(codes) == {"rate_limited"}
    assert sum(1 for x in answers if x["ok"]) >= 200  # the burst
    refused = next(x for x in answers if not x["ok"])
    assert refused["error"]["retry_after"] == 1
    await asyncio.sleep(0.2)
    await a.ok("ping")
    text = await (await client.get("/metrics")).text()
    assert 'venn_socket_events_total{event="ping",outcome="flood"}' in text




async def test_garbage_packets_do_not_hurt_the_server(client, chat, sockets):
    """Raw engine.io/socket.io frames no real client would send."""
    alice = await chat.user("alice")
    a = await sockets(alice)
    url = str(client.make_url("/socket.io/?EIO=4&transport=websocket")).replace("http", "ws", 1)
    garbage = ["42", "42[", "42[]", "42[1]", '42[{"a":1}]', '42[null]', "4x", "49", "2probe", "", "42/nope,[\"ping\"]",
               '40{"token": 5}', '41', '43[]', '45-["ping"]', '42["ping"]']
    async with aiohttp.ClientSession() as session:
        for frame in garbage:
            async with session.ws_connect(url) as ws:
                await ws.receive(timeout=5)  # engine.io open packet
                await ws.send_str(f'40{{"token":"{alice.token}"}}')
                await ws.receive(timeout=5)  # socket.io connect answer
                await ws.send_str(frame)
                await asyncio.sleep(0.02)
    await a.ok("ping")
    b = await sockets(alice)
    await b.ok("ping")


async def test_unreadable_payloads_get_a_validation_error_ack(client, chat, sockets, caplog):
    """A payload that is not JSON, or is nested thousands deep, is answered through its ack."""
    alice = await chat.user("alice")
    url = str(client.make_url("/socket.io/?EIO=4&transport=websocket")).replace("http", "ws", 1)
    deep = "[" * 5000 + "]" * 5000
    frames = {"7": f'427["send_message",{deep}]', "8": '428["send_message",{"channel_id":1,', "9": f"429{deep}"}
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive(timeout=5)  # engine.io open packet
        await ws.send_str(f'40{{"token":"{alice.token}"}}')
        await ws.receive(timeout=5)  # socket.io connect answer
        for ack_id, frame in frames.items():
            await ws.send_str(frame)
            answer = (await ws.receive(timeout=5)).data
            assert answer.startswith(f"43{ack_id}["), answer
            error = json.loads(answer[len(f"43{ack_id}"):])[0]["error"]
            assert error["code"] == "validation_error" and error["fields"][0]["field"] == "payload"
        await ws.send_str('421["ping",{}]')
        assert json.loads((await ws.receive(timeout=5)).data[3:])[0]["ok"] is True
    assert "Traceback" not in caplog.text and "RecursionError" not in caplog.text
