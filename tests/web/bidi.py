"""A minimal WebDriver BiDi client for Firefox (which speaks BiDi natively), enough to
drive the page from a test: navigate, evaluate JavaScript, take a screenshot.

Playwright's Python package drives only its own patched Firefox builds, so the
system's Firefox is driven here directly over its remote-debugging websocket.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

from tests.web.kit import free_port


def firefox_path() -> str | None:
    """The Firefox to use: ``VENN_FIREFOX``, else firefox-esr or firefox on the PATH."""
    explicit = os.environ.get("VENN_FIREFOX")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    return shutil.which("firefox-esr") or shutil.which("firefox")


class Firefox:
    """A headless Firefox with one tab, driven over WebDriver BiDi."""

    def __init__(self, executable: str) -> None:
        self.executable = executable
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="venn-firefox-")
        self.proc: subprocess.Popen | None = None
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future] = {}
        self.reader: asyncio.Task | None = None
        self.context = ""

    async def start(self, width: int = 1200, height: int = 760) -> Firefox:
        self.proc = subprocess.Popen(
            [self.executable, "--headless", "--no-remote", "--profile", self.profile,
             f"--remote-debugging-port={self.port}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        self.http = aiohttp.ClientSession()
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            try:
                self.ws = await self.http.ws_connect(f"ws://127.0.0.1:{self.port}/session")
                break
            except aiohttp.ClientError:
                if self.proc.poll() is not None or asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("Firefox did not open its WebDriver BiDi port") from None
                await asyncio.sleep(0.2)
        self.reader = asyncio.create_task(self._read())
        await self.command("session.new", {"capabilities": {}})
        tree = await self.command("browsingContext.getTree", {})
        self.context = tree["contexts"][0]["context"]
        await self.command(
            "browsingContext.setViewport", {"context": self.context, "viewport": {"width": width, "height": height}}
        )
        return self

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            future = self.pending.pop(data.get("id"), None)
            if future is not None and not future.done():
                future.set_result(data)

    async def command(self, method: str, params: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        number = next(self.ids)
        future = asyncio.get_running_loop().create_future()
        self.pending[number] = future
        await self.ws.send_str(json.dumps({"id": number, "method": method, "params": params}))
        answer = await asyncio.wait_for(future, timeout)
        if answer.get("type") == "error":
            raise AssertionError(f"{method}: {answer.get('error')}: {answer.get('message')}")
        return answer["result"]

    async def goto(self, url: str) -> None:
        await self.command("browsingContext.navigate", {"context": self.context, "url": url, "wait": "complete"})

    async def js(self, expression: str) -> Any:
        """Evaluate ``expression`` in the page (promises awaited); its value, as JSON-like data."""
        result = await self.command(
            "script.evaluate",
            {"expression": expression, "target": {"context": self.context}, "awaitPromise": True},
        )
        if result.get("type") == "exception":
            raise AssertionError(f"page script failed: {result['exceptionDetails'].get('text')}")
        return _value(result.get("result", {}))

    async def until(self, expression: str, timeout: float = 10) -> Any:
        """Wait until ``expression`` is truthy in the page."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.js(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"not true in time: {expression}")
            await asyncio.sleep(0.1)

    async def screenshot(self, path: Path) -> None:
        shot = await self.command("browsingContext.captureScreenshot", {"context": self.context})
        path.write_bytes(base64.b64decode(shot["data"]))

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self.http is not None:
            await self.http.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        shutil.rmtree(self.profile, ignore_errors=True)


def _value(remote: dict[str, Any]) -> Any:
    """A BiDi remote value as plain data (primitives, arrays and objects)."""
    kind, value = remote.get("type"), remote.get("value")
    if kind in ("undefined", "null"):
        return None
    if kind == "array":
        return [_value(v) for v in value or []]
    if kind == "object":
        return {k: _value(v) for k, v in value or []}
    return value
