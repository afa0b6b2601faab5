"""Where the send path spends its time: cProfile of a Venn server under a send load.

``python -m bench.profile_send [--messages N] [--listeners L] [--postgres]``
starts `venn serve` under cProfile (embedded SQLite, or PostgreSQL from
VENN_BENCH_DATABASE_URL / VENN_TEST_DATABASE_URL with --postgres), sends N messages
over one socket into a channel that L other sockets joined, stops the server with
SIGINT so that the profile is written, and prints the functions that cost the most
(own time and cumulative), grouped by package.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import aiohttp
import socketio

from bench.common import RESULTS, free_port, pg_url, reset_pg, wait_ready


async def _load(base: str, messages: int, listeners: int) -> float:
    tag = uuid.uuid4().hex[:6]
    async with aiohttp.ClientSession(base) as http:
        tokens = []
        for i in range(2):
            name = f"p{tag}{i}"
            await http.post("/api/v1/auth/register", json={"username": name, "password": "bench-password"})
            r = await http.post("/api/v1/auth/login", json={"username": name, "password": "bench-password"})
            tokens.append((await r.json())["access_token"])
        r = await http.post("/api/v1/channels", json={"name": f"prof-{tag}"},
                            headers={"Authorization": f"Bearer {tokens[0]}"})
        cid = (await r.json())["channel"]["id"]
        await http.post(f"/api/v1/channels/{cid}/join", headers={"Authorization": f"Bearer {tokens[1]}"})
    received = 0

    def on_message(data):
        nonlocal received
        received += 1

    socks = []
    for _ in range(listeners):
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("new_message", on_message)
        await sio.connect(base, transports=["websocket"], auth={"token": tokens[1]})
        await sio.call("join_channel", {"channel_id": cid})
        socks.append(sio)
    sender = socketio.AsyncClient(reconnection=False)
    await sender.connect(base, transports=["websocket"], auth={"token": tokens[0]})
    started = time.perf_counter()
    for i in range(messages):
        ack = await sender.call("send_message", {"channel_id": cid, "body": json.dumps({"i": i}),
                                                 "client_msg_id": uuid.uuid4().hex})
        assert ack["ok"], ack
    elapsed = time.perf_counter() - started
    deadline = time.time() + 10
    while received < messages * listeners and time.time() < deadline:
        await asyncio.sleep(0.05)
    for sio in socks + [sender]:
        await sio.disconnect()
    return elapsed


def _package(filename: str) -> str:
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    if "/venn/" in filename or "/bots/" in filename or "/plugins/" in filename:
        for name in ("venn", "venn_bots", "venn_plugins"):
            if f"/{name}/" in filename:
                return name
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins"
    return "stdlib"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_send")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--listeners", type=int, default=20)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="venn-prof-")
    prof_path = Path(data_dir) / "send.prof"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VENN_")},
        "VENN_DATA_DIR": data_dir, "SECRET_KEY": "bench-secret", "VENN_LOG_LEVEL": "WARNING",
        "VENN_RATE_LIMIT_MESSAGES_PER_MINUTE": "100000000", "VENN_RATE_LIMIT_LOGINS_PER_MINUTE": "100000000",
        "VENN_SOCKET_EVENTS_PER_SECOND": "100000",
    }
    if args.postgres:
        url = pg_url()
        if not url:
            print("--postgres needs VENN_BENCH_DATABASE_URL or VENN_TEST_DATABASE_URL")
            return 2
        reset_pg(url)
        env["DATABASE_URL"] = url
    proc = subprocess.Popen(
        [sys.executable, "-m", "cProfile", "-o", str(prof_path), "-m", "venn", "serve", "--port", str(port)], env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, "server")
        elapsed = asyncio.run(_load(base, args.messages, args.listeners))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    stats = pstats.Stats(str(prof_path))
    raw = stats.stats  # type: ignore[attr-defined]
    total = sum(tt for (_, _, tt, _, _) in raw.values())
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _, _), (_, _, tt, _, _) in raw.items():
        by_package[_package(filename)] += tt
    print(f"\nSend path profile: {args.messages} messages over one socket, {args.listeners} listeners, "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}; {args.messages / elapsed:,.0f} acked sends/s under cProfile")
    print("\nown time by package (whole server process, including idle waits in the event loop)")
    for name, tt in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]:
        print(f"  {name:<28} {tt:8.2f} s  {100 * tt / total:5.1f} %")
    rows = sorted(raw.items(), key=lambda kv: -kv[1][2])
    print(f"\ntop {args.top} functions by own time")
    for (filename, line, func), (_, calls, tt, ct, _) in rows[: args.top]:
        where = filename.split("site-packages/")[-1].replace(os.getcwd() + "/", "")
        print(f"  {tt:7.2f} s own  {ct:7.2f} s cum  {calls:>9}  {func} ({where}:{line})")
    interesting = [kv for kv in raw.items() if "/venn/" in kv[0][0] and "/site-packages/" not in kv[0][0]]
    print(f"\ntop {args.top} Venn functions by cumulative time")
    for (filename, line, func), (_, calls, _, ct, _) in sorted(interesting, key=lambda kv: -kv[1][3])[: args.top]:
        print(f"  {ct:7.2f} s cum  {calls:>9}  {func} ({filename.split('/work/main/')[-1]}:{line})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    dest = RESULTS / ("send_profile_pg.prof" if args.postgres else "send_profile.prof")
    dest.write_bytes(prof_path.read_bytes())
    print(f"\nprofile written to {dest} (open with python -m pstats or snakeviz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
