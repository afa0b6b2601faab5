"""A `venn serve` that gets SIGTERM ends every socket as a lost connection, after what
was queued for it: python-socketio's client and socket.io-client (under Node)
reconnect by themselves, on websocket and on long-polling, to whatever serves the
address next (in production: another process, through the proxy). A CLOSE or
DISCONNECT packet would be final to python-socketio."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
from pathlib import Path

import pytest
import socketio

from tests.helpers import wait_for
from tests.reliability.kit import Rest, VennProcess, base_env

HERE = Path(__file__).parent


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
async def test_every_client_reconnects_by_itself_after_sigterm(tmp_path, transport, socket_io_client):
    env = base_env(tmp_path)  # SQLite in the data directory, used by one process after the other
    first = VennProcess(env, tmp_path / "first.log").start()
    second = VennProcess(env, tmp_path / "second.log", port=first.port)
    rest = Rest(first.url)
    py = socketio.AsyncClient(reconnection=True, reconnection_delay=0.1, reconnection_delay_max=0.5)
    js = None
    try:
        await first.ready()
        alice, bob = await rest.user(), await rest.user()
        channel = await rest.channel(alice, members=[bob])
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
        await py.connect(first.url, auth={"token": alice["token"]}, transports=[transport], wait_timeout=10)
        js = JsClient(socket_io_client, first.url, bob["token"], transport, channel["id"])
        await js.start()
        await wait_for(lambda: js.of("connected"), timeout=10)
        await wait_for(lambda: py.call("ping", {}, timeout=5))  # joined (the handler's call is done)

        # posted just before the stop: queued for both sockets, and delivered before they close
        status, _ = await rest.request("POST", "/api/v1/messages", alice["token"],
                                       json={"channel_id": channel["id"], "body": "last words"})
        assert status == 201
        first.proc.send_signal(signal.SIGTERM)
        await wait_for(lambda: reasons and js.of("disconnected"))
        assert received == ["last words"]
        assert [line["body"] for line in js.of("received")] == ["last words"]
        # to both clients a lost connection, which they retry, not the server's goodbye
        assert reasons == [py.reason.TRANSPORT_ERROR], reasons
        assert [(d["reason"], d["active"]) for d in js.of("disconnected")] in (
            [("transport close", True)], [("transport error", True)]
        ), js.lines
        assert await asyncio.to_thread(first.proc.wait, 20) == 0
        log = first.log()
        assert "draining" in log and "stopped" in log and "Traceback" not in log, log

        # the address serves again (in production: another process behind the proxy)
        second.start()
        await wait_for(lambda: len(connects) == 2 and len(js.of("connected")) == 2, timeout=30)
        assert connects == [transport, transport]
        assert (await py.call("ping", {}, timeout=5))["ok"] is True
        assert js.of("connected")[-1] == {"step": "connected", "transport": transport, "joined": True}
        status, _ = await rest.request("POST", "/api/v1/messages", alice["token"],
                                       json={"channel_id": channel["id"], "body": "after the restart"})
        assert status == 201
        await wait_for(lambda: "after the restart" in received and len(js.of("received")) == 2)
    finally:
        await py.disconnect()
        if js is not None:
            await js.close()
        await rest.close()
        first.stop()
        second.stop()
