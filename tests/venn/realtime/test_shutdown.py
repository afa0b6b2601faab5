"""A server that stops (SIGTERM runs aiohttp's shutdown, as here) ends every socket as a
lost connection, after what was queued for it: python-socketio's client and
socket.io-client (under Node) reconnect by themselves, on websocket and on
long-polling, to whatever serves the address next (in production: another process,
through the proxy). A CLOSE or DISCONNECT packet would be final to python-socketio."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
from pathlib import Path

import pytest
import socketio
from aiohttp.test_utils import TestClient, TestServer

from tests.helpers import Chat, wait_for
from venn.app import create_app

HERE = Path(__file__).parent

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JsClient:
    """js_reconnect.cjs under Node; ``lines`` is what it printed, one dict per line."""

    def __init__(self, package: Path, url: str, token: str, transport: str, channel_id: int) -> None:
        self.env = {**os.environ, "SOCKET_IO_CLIENT": str(package), "VENN_URL": url, "VENN_TOKEN": token,
                    "VENN_TRANSPORT": transport, "VENN_CHANNEL_ID": str(channel_id)}
        self.lines: list[dict] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            shutil.which("node"), str(HERE / "js_reconnect.cjs"), env=self.env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def of(self, step: str) -> list[dict]:
        return [line for line in self.lines if line["step"] == step]

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_every_client_reconnects_by_itself_after_a_shutdown(make_settings, database_url, transport,
                                                                   socket_io_client):
    settings = make_settings(database_url=database_url)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    first = TestClient(TestServer(create_app(settings), port=port))
    await first.start_server()
    chat = Chat(first)
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])

    py = socketio.AsyncClient(reconnection=True, reconnection_delay=0.1, reconnection_delay_max=0.5)
    connects: list[str] = []
    reasons: list[str] = []
    received: list[str] = []

    async def on_connect() -> None:
        connects.append(py.transport())
        assert (await py.call("join_channel", {"channel_id": channel["id"]}, timeout=5))["ok"]

    async def on_disconnect(reason=None) -> None:
        reasons.append(str(reason))

    async def on_message(data) -> None:
        received.append(data["message"]["body"])

    py.on("connect", on_connect)
    py.on("disconnect", on_disconnect)
    py.on("new_message", on_message)
    js = JsClient(socket_io_client, url, bob.token, transport, channel["id"])
    second = None
    try:
        await py.connect(url, auth={"token": alice.token}, transports=[transport], wait_timeout=5)
        await js.start()
        await wait_for(lambda: js.of("connected") and py.connected)
        await wait_for(lambda: py.call("ping", {}, timeout=5))  # joined (the handler's call is done)

        # posted just before the stop: queued for both sockets, and delivered before they close
        await chat.post(alice, channel["id"], "last words")
        await first.close()  # the server's shutdown, as on SIGTERM
        await wait_for(lambda: reasons and js.of("disconnected"))
        assert received == ["last words"]
        assert [line["body"] for line in js.of("received")] == ["last words"]
        # to both clients a lost connection, which they retry, not the server's goodbye
        assert reasons == [py.reason.TRANSPORT_ERROR], reasons
        assert [(d["reason"], d["active"]) for d in js.of("disconnected")] in (
            [("transport close", True)], [("transport error", True)]
        ), js.lines

        # the address serves again (in production: another process behind the proxy)
        second = TestClient(TestServer(create_app(settings), port=port))
        await second.start_server()
        await wait_for(lambda: len(connects) == 2 and len(js.of("connected")) == 2, timeout=10)
        assert connects == [transport, transport]
        assert (await py.call("ping", {}, timeout=5))["ok"] is True
        assert js.of("connected")[-1] == {"step": "connected", "transport": transport, "joined": True}
        await Chat(second).post(alice, channel["id"], "after the restart")
        await wait_for(lambda: "after the restart" in received and len(js.of("received")) == 2)
    finally:
        await py.disconnect()
        await js.close()
        await first.close()
        if second is not None:
            await second.close()
