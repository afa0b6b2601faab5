"""Deployment test kit: nginx run from the shipped deploy/ files, and load clients that
reconnect by themselves (python-socketio's own reconnection; socket.io-client under
Node, tests/reliability/deploy_client.cjs)."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import socketio

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
RENDER = DEPLOY / "render.py"
JS_CLIENT = Path(__file__).with_name("deploy_client.cjs")


def find_nginx() -> str | None:
    """Debian's nginx binary (in /usr/sbin, often not on a user's PATH)."""
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


def render(templates: list[Path], out: Path, **values: str) -> None:
    """Fill deploy templates with deploy/render.py, as docs/deploy.md says."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VENN_")} | values
    result = subprocess.run(
        [sys.executable, str(RENDER), "--out", str(out), *map(str, templates)],
        env=env, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr


class Nginx:
    """nginx as the current user, its pid, logs and temp files in ``root``, serving the
    site files rendered there; ``root/nginx.conf`` is only the main context around them."""

    def __init__(self, binary: str, root: Path, sites: list[str]) -> None:
        self.binary, self.root, self.sites = binary, root, sites
        self.proc: subprocess.Popen | None = None

    def write_main_config(self) -> Path:
        user = ""
        if os.geteuid() == 0:  # the master would hand the workers to "nobody"
            user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
        temp = "\n".join(
            f"    {kind}_temp_path {self.root / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        includes = "\n".join(f"    include {self.root / site};" for site in self.sites)
        conf = self.root / "nginx.conf"
        conf.write_text(
            f"""{user}
daemon off;
worker_processes 1;
pid {self.root / "nginx.pid"};
error_log {self.root / "error.log"} info;
events {{ worker_connections 1024; }}
http {{
    access_log {self.root / "access.log"};
{temp}
{includes}
}}
"""
        )
        return conf

    def command(self, *extra: str) -> list[str]:
        conf = self.write_main_config()
        return [self.binary, "-p", f"{self.root}/", "-c", str(conf), "-e", str(self.root / "error.log"), *extra]

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def log(self) -> str:
        path = self.root / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class PyClient:
    """python-socketio's AsyncClient sending to one channel, reconnecting by itself.

    On every connect it joins the channel and syncs from the cursor it held, then sends
    as fast as acks come back; a message without an ack is sent again with the same
    ``client_msg_id`` once the client is back. It never calls ``connect`` again: the
    library's reconnection is what is under test.
    """

    def __init__(self, name: str, url: str, token: str, channel_id: int, transports: list[str] | None,
                 pause: float = 0.0) -> None:
        self.name, self.url, self.token, self.channel_id = name, url, token, channel_id
        self.transports, self.pause = transports, pause
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1)
        self.view: dict[int, dict] = {}
        self.acked: dict[str, int] = {}  # client_msg_id -> message id
        self.unacked: tuple[str, str] | None = None
        self.seq = 0
        self.connects = 0
        self.synced = 0  # the connection number of the last completed catch-up
        self.disconnects: list[str] = []
        self.errors: list[str] = []
        self.ready = asyncio.Event()
        self.stopping = False
        self._tasks: set[asyncio.Task] = set()
        self._sender: asyncio.Task | None = None
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("new_message", self._on_message)
        self.sio.on("message_updated", self._on_message)

    @property
    def cursor(self) -> int:
        return max(self.view, default=0)

    def _see(self, message: dict) -> None:
        if message.get("channel_id") == self.channel_id and message.get("thread_id") is None:
            self.view[message["id"]] = message

    async def _on_message(self, data: dict) -> None:
        self._see(data["message"])

    async def _on_connect(self) -> None:
        self.connects += 1
        task = asyncio.create_task(self._catch_up(self.connects, self.cursor))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.ready.clear()
        self.disconnects.append(str(reason))

    async def _catch_up(self, connection: int, cursor: int) -> None:
        try:
            answer = await self.sio.call("join_channel", {"channel_id": self.channel_id}, timeout=5)
            assert answer.get("ok"), answer
            await self.sync(cursor)
        except Exception as exc:  # the connection went again: the next connect catches up
            self.errors.append(f"catch-up: {exc!r}")
            return
        if connection == self.connects and self.sio.connected:
            self.synced = connection
            self.ready.set()

    async def sync(self, cursor: int) -> None:
        while True:
            answer = await self.sio.call("sync", {"cursors": {str(self.channel_id): cursor}, "limit": 200}, timeout=5)
            assert answer.get("ok"), answer
            entry = answer["channels"][0]
            assert "error" not in entry, entry
            for message in entry["updates"] + entry["messages"]:
                self._see(message)
            if entry["messages"]:
                cursor = entry["messages"][-1]["id"]
            if not entry["has_more"]:
                return

    async def start(self) -> None:
        await self.sio.connect(self.url, auth={"token": self.token}, transports=self.transports, wait_timeout=10)
        self._sender = asyncio.create_task(self._send_loop())

    async def _send_loop(self) -> None:
        while not (self.stopping and self.unacked is None):
            await self.ready.wait()
            if self.unacked is None:
                self.seq += 1
                self.unacked = (f"{self.name}-{self.seq}", f"{self.name} message {self.seq}")
            cmid, body = self.unacked
            try:
                answer = await self.sio.call(
                    "send_message", {"channel_id": self.channel_id, "body": body, "client_msg_id": cmid}, timeout=3
                )
            except Exception:  # no ack: the connection went away; send it again once back
                await asyncio.sleep(0.05)
                continue
            if answer.get("ok"):
                self.acked[cmid] = answer["message"]["id"]
                self._see(answer["message"])
                self.unacked = None
            else:
                self.errors.append(str(answer["error"]))
                await asyncio.sleep(float(answer["error"].get("retry_after", 0.2)))
            if self.pause:
                await asyncio.sleep(self.pause)

    async def finish(self) -> None:
        """Stop sending once the message in flight is acked, then sync a last time."""
        self.stopping = True
        assert self._sender is not None
        await self._sender
        await self.ready.wait()
        await self.sync(self.cursor)

    async def close(self) -> None:
        for task in [self._sender, *self._tasks]:
            if task is not None and not task.done():
                task.cancel()
        with contextlib.suppress(Exception):
            await self.sio.disconnect()


class JsClients:
    """Several socket.io-client load clients in one Node process (deploy_client.cjs)."""

    def __init__(self, package: Path, url: str, channel_id: int, specs: list[dict], pause_ms: int = 0) -> None:
        self.package, self.url, self.channel_id, self.specs, self.pause_ms = package, url, channel_id, specs, pause_ms
        self.names = [spec["name"] for spec in specs]
        self.synced: dict[str, int] = {}  # client -> connection number of its last catch-up
        self.acked: dict[str, int] = {}
        self.done: dict[str, dict] = {}
        self.lines: list[dict] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task | None = None

    async def start(self) -> None:
        env = {
            **os.environ,
            "SOCKET_IO_CLIENT": str(self.package),
            "VENN_URL": self.url,
            "VENN_CHANNEL_ID": str(self.channel_id),
            "VENN_CLIENTS": json.dumps(self.specs),
            "VENN_PAUSE_MS": str(self.pause_ms),
        }
        node = shutil.which("node")
        assert node is not None
        self.proc = await asyncio.create_subprocess_exec(
            node, str(JS_CLIENT), env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = json.loads(raw)
            self.lines.append(line)
            step, client = line["step"], line.get("client")
            if step == "synced":
                self.synced[client] = line["connects"]
            elif step == "acked":
                self.acked[line["cmid"]] = line["id"]
            elif step == "done":
                self.done[client] = line

    def acked_by(self, name: str) -> int:
        return sum(1 for cmid in self.acked if cmid.startswith(name + "-"))

    async def finish(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"stop\n")
        await self.proc.stdin.drain()
        code = await self.proc.wait()
        assert self._reader is not None
        await self._reader
        stderr = (await self.proc.stderr.read()).decode() if self.proc.stderr else ""
        assert code == 0, f"{self.lines[-5:]}\n{stderr}"

    async def close(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()


async def wait_until(condition, timeout: float, what: str, state=None) -> None:
    """Wait (at most ``timeout`` seconds) until ``condition()`` holds; the failure says
    ``what`` was awaited and, if given, ``state()``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}" + (f"\n{state()}" if state else ""))
        await asyncio.sleep(0.02)


def scrape(url: str, metric: str) -> float:
    """One sample of ``metric`` from a process's /metrics (read directly, not through nginx)."""
    import urllib.request

    with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(metric + " ") or line.startswith(metric + "{"):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{metric} not in {url}/metrics")


def wait_port(port: int, proc: subprocess.Popen, timeout: float, log) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on port {port}:\n{log()[-3000:]}")
        time.sleep(0.05)
