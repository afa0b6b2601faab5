"""The official JavaScript client (socket.io-client, under Node) against a real server.

The package is installed with npm into ``test-artifacts/node/`` (ignored by git) on
first use (the ``socket_io_client`` fixture). Skipped, saying so, only where node or
npm is not installed.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


async def test_official_javascript_client(client, chat, sockets, socket_io_client):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    b = await sockets(bob)
    await b.ok("join_channel", {"channel_id": channel["id"]})
    env = {
        **os.environ,
        "VENN_URL": str(client.make_url("/")).rstrip("/"),
        "VENN_TOKEN": alice.token,
        "VENN_CHANNEL_ID": str(channel["id"]),
        "SOCKET_IO_CLIENT": str(socket_io_client),
    }
    proc = await asyncio.create_subprocess_exec(
        shutil.which("node"), str(HERE / "js_client.cjs"), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    steps: dict[str, dict] = {}
    try:
        while True:
            line = await asyncio.wait_for(proc.stdout.readline(), 20)
            if not line:
                break
            step = json.loads(line)
            steps[step["step"]] = step
            assert step["step"] != "failed", step
            if step["step"] == "ready":
                # python → javascript
                await b.ok(
                    "send_message", {"channel_id": channel["id"], "body": "from python", "client_msg_id": "py-1"}
                )
        assert await asyncio.wait_for(proc.wait(), 10) == 0, (await proc.stderr.read()).decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

    assert steps["refused"]["message"] == "The token is invalid."
    assert steps["refused"]["data"] == {"code": "invalid_token"}
    # a page on an origin the server does not accept: an error the page can show, no retry loop
    for transport in ("websocket", "polling"):
        refusal = steps[f"origin_{transport}"]
        assert refusal["data"] == {"code": "origin_not_allowed"}, refusal
        assert "https://elsewhere.example" in refusal["message"] and "VENN_CORS_ORIGINS" in refusal["message"]
        assert refusal["active"] is False
    assert steps["joined"]["ok"] is True and steps["joined"]["channel"]["id"] == channel["id"]
    assert steps["bad"]["ok"] is False and steps["bad"]["error"]["code"] == "validation_error"
    sent = steps["sent"]
    assert sent["ok"] is True and sent["created"] is True and sent["message"]["body"] == "from javascript"
    # javascript → python, and back
    got = await b.wait("new_message", lambda d: d["message"]["client_msg_id"] == "js-1")
    assert got["message"] == sent["message"]
    assert steps["received"]["message"]["body"] == "from python"
