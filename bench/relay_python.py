"""Baseline for the fan-out benchmark: a bare python-socketio relay (no auth, no storage).

`python bench/relay_python.py PORT`. Events: `join` {room}, `send` {room, body}
(acked, then broadcast to the room as `new_message` {message: {body}}).
"""

from __future__ import annotations

import sys

import socketio
from aiohttp import web

sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")


@sio.event
async def join(sid, data):
    await sio.enter_room(sid, data["room"])
    return {"ok": True}


@sio.event
async def send(sid, data):
    await sio.emit("new_message", {"message": {"body": data["body"]}}, room=data["room"])
    return {"ok": True}


async def healthz(request):
    return web.json_response({"status": "ok"})


def main() -> None:
    app = web.Application()
    sio.attach(app)
    app.router.add_get("/readyz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
