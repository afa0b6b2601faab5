"""The fan-out layer alone: server CPU per delivery of Venn's Socket.IO server classes
(``venn.realtime.sio_compat``), no database, no auth, before and after a change.

``python -m bench.bench_writer [--before OTHER/.venv/bin/python] [--broadcasts 2000] [--burst 1] [--runs 5]``

A server process builds the same ``SocketServer`` + ``DirectEmit`` pair as ``venn serve``
(from whichever checkout its interpreter runs), 100 raw websocket clients join one room
from another process, and the server broadcasts N messages in bursts of B per turn of
its loop, then waits until every queue is empty; what is reported is the server's CPU
time per delivery. ``--before`` runs the same against another checkout, taking turns,
and reports the ratio (median of the rounds, with the range). End-to-end fan-out on a
shared two-core box moves too much to show a change of this layer; this isolates it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from typing import Any

from bench.common import free_port, progress, write_results

CLIENTS = 100


async def _server(port: int) -> None:
    import socketio  # noqa: F401  (the server's checkout's)
    from aiohttp import web

    from venn.realtime import sio_compat as compat

    sio = compat.SocketServer(async_mode="aiohttp", client_manager=compat.DirectEmit(), logger=False,
                              engineio_logger=False)
    compat.guard_websockets(sio, set())

    @sio.on("connect")
    async def connect(sid, environ, auth=None):
        await sio.enter_room(sid, "room")

    app = web.Application()
    sio.attach(app)
    payload = {"message": {"id": 1, "body": "x" * 200, "author": {"id": 3, "username": "alice"}}}

    async def go(request: web.Request) -> web.Response:
        count, burst = int(request.query["n"]), int(request.query["b"])
        started = time.process_time()
        for _ in range(0, count, burst):
            for _ in range(burst):
                await sio.emit("new_message", payload, room="room")
            await asyncio.sleep(0)
        while compat.queued_packets(sio):
            await asyncio.sleep(0)
        return web.json_response({"cpu": time.process_time() - started})

    app.router.add_get("/go", go)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


async def _clients(port: int, count: int) -> None:
    import aiohttp

    got = [0] * count
    async with aiohttp.ClientSession() as session:
        sockets = []
        for _ in range(count):
            ws = await session.ws_connect(f"http://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket")
            await ws.receive_str()  # engine.io OPEN
            await ws.send_str("40")  # Socket.IO CONNECT
            await ws.receive_str()
            sockets.append(ws)

        async def read(index: int, ws: Any) -> None:
            async for msg in ws:
                if msg.data == "2":
                    await ws.send_str("3")  # pong
                elif msg.data.startswith("42"):
                    got[index] += 1

        tasks = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for task in tasks:
            task.cancel()
        print(json.dumps(sum(got)), flush=True)


def _once(python: str, broadcasts: int, burst: int) -> tuple[float, int]:
    """µs of server CPU per delivery, and the deliveries the clients counted."""
    port = free_port()
    server = subprocess.Popen([python, "-m", "bench.bench_writer", "--serve", str(port)], stdout=subprocess.PIPE,
                              text=True)
    try:
        if server.stdout is None or server.stdout.readline().strip() != "ready":
            raise RuntimeError("the writer bench server did not start")
        clients = subprocess.Popen([sys.executable, "-m", "bench.bench_writer", "--clients", str(port)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert clients.stdin is not None and clients.stdout is not None
        if clients.stdout.readline().strip() != "ready":
            raise RuntimeError("the writer bench clients did not connect")
        base = f"http://127.0.0.1:{port}/go"
        urllib.request.urlopen(f"{base}?n=50&b=1", timeout=120).read()  # warm up
        cpu = json.loads(urllib.request.urlopen(f"{base}?n={broadcasts}&b={burst}", timeout=600).read())["cpu"]
        time.sleep(0.5)
        clients.stdin.write("\n")
        clients.stdin.flush()
        got = json.loads(clients.stdout.readline())
        clients.wait(timeout=30)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return cpu / (broadcasts * CLIENTS) * 1e6, got


def run(before: str | None = None, broadcasts: int = 2000, burst: int = 1, runs: int = 5) -> dict[str, Any]:
    sides = {"after": sys.executable, **({"before": before} if before else {})}
    samples: dict[str, list[float]] = {side: [] for side in sides}
    for round_no in range(1, runs + 1):
        for side in (list(sides) if round_no % 2 else list(reversed(sides))):
            us, got = _once(sides[side], broadcasts, burst)
            samples[side].append(us)
            progress(f"writer: round {round_no}/{runs} {side}: {us:.2f} us server CPU a delivery "
                     f"({got:,} of {(broadcasts + 50) * CLIENTS:,} delivered, warm-up included)")
    result: dict[str, Any] = {"clients": CLIENTS, "broadcasts": broadcasts, "burst": burst, "runs": runs,
                              "us_per_delivery": {s: statistics.median(v) for s, v in samples.items()},
                              "samples": samples}
    line = f"writer: burst {burst}: {result['us_per_delivery']['after']:.2f} us a delivery"
    if before:
        ratios = [a / b for a, b in zip(samples["after"], samples["before"], strict=True)]
        result["x_before"] = statistics.median(ratios)
        line += (f" against {result['us_per_delivery']['before']:.2f} before: {result['x_before']:.2f}x "
                 f"(range {min(ratios):.2f}-{max(ratios):.2f})")
    print(line + f", median of {runs}")
    write_results(f"writer-burst{burst}", result)
    return result


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--serve":
        import uvloop

        uvloop.run(_server(int(argv[1])))
        return 0
    if argv and argv[0] == "--clients":
        asyncio.run(_clients(int(argv[1]), CLIENTS))
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench.bench_writer", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", help="the Python of another checkout, to compare with")
    parser.add_argument("--broadcasts", type=int, default=2000)
    parser.add_argument("--burst", type=int, default=1, help="broadcasts per turn of the server's loop")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    run(args.before, args.broadcasts, args.burst, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
