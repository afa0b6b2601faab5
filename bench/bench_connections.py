"""Connections: N idle authenticated Socket.IO connections on one server process.

Measures the server's memory per connection (RSS delta / N), the connect rate, and
the send→receive latency of a small room (a sender and 20 listeners) before and
with the idle connections attached. The idle sockets are held by separate worker
processes (``python -m bench.bench_connections --worker ...``), never by the
server's event loop or by the process that measures latency.
"""

from __future__ import annotations

import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import aiohttp
import socketio

from bench.common import print_table, summary_ms, venn_server, write_results

USERS = 20
LISTENERS = 20
MESSAGES = 200
RATE = 100  # messages/s while measuring latency


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(max(soft, wanted), hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def _setup(base: str) -> tuple[list[str], int]:
    tokens: list[str] = []
    tag = uuid.uuid4().hex[:6]
    async with aiohttp.ClientSession(base) as http:
        for i in range(USERS):
            name = f"k{tag}{i}"
            await http.post("/api/v1/auth/register", json={"username": name, "password": "bench-password"})
            r = await http.post("/api/v1/auth/login", json={"username": name, "password": "bench-password"})
            tokens.append((await r.json())["access_token"])
        headers = {"Authorization": f"Bearer {tokens[0]}"}
        r = await http.post("/api/v1/channels", json={"name": f"conn-{tag}"}, headers=headers)
        cid = (await r.json())["channel"]["id"]
        for token in tokens[1:]:
            await http.post(f"/api/v1/channels/{cid}/join", headers={"Authorization": f"Bearer {token}"})
    return tokens, cid


async def _latency(base: str, tokens: list[str], channel_id: int) -> dict[str, float]:
    latencies: list[float] = []

    def on_message(data):
        latencies.append(time.time() - json.loads(data["message"]["body"])["t"])

    listeners = []
    for i in range(LISTENERS):
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("new_message", on_message)
        await sio.connect(base, transports=["websocket"], auth={"token": tokens[i % USERS]})
        await sio.call("join_channel", {"channel_id": channel_id})
        listeners.append(sio)
    sender = socketio.AsyncClient(reconnection=False)
    await sender.connect(base, transports=["websocket"], auth={"token": tokens[0]})
    next_at = time.perf_counter()
    for _ in range(MESSAGES):
        await sender.call("send_message", {"channel_id": channel_id, "body": json.dumps({"t": time.time()}),
                                           "client_msg_id": uuid.uuid4().hex})
        next_at += 1 / RATE
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    await asyncio.sleep(1.0)
    for sio in listeners + [sender]:
        await sio.disconnect()
    return {**summary_ms(latencies), "delivered_pct": round(100 * len(latencies) / (MESSAGES * LISTENERS), 1)}


async def _worker(base: str, tokens: list[str], count: int, concurrency: int = 50) -> None:
    """Open ``count`` idle sockets, print one JSON line, hold them until stdin closes."""
    raise_fd_limit(count + 256)
    clients: list[socketio.AsyncClient] = []
    failures = 0
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        nonlocal failures
        async with gate:
            sio = socketio.AsyncClient(reconnection=False)
            try:
                await sio.connect(base, transports=["websocket"], auth={"token": tokens[i % len(tokens)]},
                                  wait_timeout=30)
                clients.append(sio)
            except Exception:
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    print(json.dumps({"connected": len(clients), "failed": failures, "seconds": time.perf_counter() - started}),
          flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for sio in clients:
        try:
            await sio.disconnect()
        except Exception:
            pass


def _once(n: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One server, ``n`` idle sockets: memory per socket, and a small room's latency
    before and with them."""
    workers = 1 if n <= 1000 else 4
    raise_fd_limit(n + 1024)  # inherited by the server process
    env = {"VENN_SOCKET_EVENTS_PER_SECOND": "100000"}
    with venn_server(env) as base:
        from bench import common

        pid = common.LAST_SERVER_PID
        tokens, channel_id = asyncio.run(_setup(base))
        before = asyncio.run(_latency(base, tokens, channel_id))
        time.sleep(1.0)
        rss_before = rss_kib(pid)
        per_worker = [n // workers + (1 if i < n % workers else 0) for i in range(workers)]
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.bench_connections", "--worker", base, json.dumps(tokens), str(count)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )
            for count in per_worker
        ]
        reports = [json.loads(p.stdout.readline() or "{}") for p in procs]
        connect_seconds = time.perf_counter() - started
        connected = sum(r.get("connected", 0) for r in reports)
        time.sleep(2.0)
        rss_after = rss_kib(pid)
        with_idle = asyncio.run(_latency(base, tokens, channel_id))
        for p in procs:
            p.stdin.close()
        for p in procs:
            p.wait(timeout=120)
    kib_per_conn = (rss_after - rss_before) / connected if connected else float("nan")
    summary = {
        "connections": n, "connected": connected, "failed": sum(r.get("failed", 0) for r in reports),
        "connect_per_s": connected / connect_seconds, "rss_before_mib": rss_before / 1024,
        "rss_after_mib": rss_after / 1024, "kib_per_connection": kib_per_conn,
        "target_kib": 40, "met": kib_per_conn < 40,
    }
    rows = [{"idle_sockets": 0, **before}, {"idle_sockets": connected, **with_idle}]
    rows[1]["p99_ratio"] = with_idle["p99_ms"] / before["p99_ms"] if before["p99_ms"] else float("nan")
    return summary, rows


#: the issue's bound on a server's memory per idle socket
TARGET_KIB = 40


def run(quick: bool = False, connections: int | None = None, runs: int = 3) -> dict[str, Any]:
    """``runs`` times (a fresh server each): the medians, with a verdict on memory."""
    n = connections or (500 if quick else 5000)
    got = [_once(n) for _ in range(runs)]
    kibs = [summary["kib_per_connection"] for summary, _ in got]
    summary = dict(got[len(got) // 2][0])
    summary.update(kib_per_connection=statistics.median(kibs), kib_range=f"{min(kibs):.1f}-{max(kibs):.1f}",
                   runs=runs, met=statistics.median(kibs) < TARGET_KIB)
    print_table(f"Connections: {n} idle authenticated sockets on one process, median of {runs} run(s)", [summary],
                ["connected", "failed", "connect_per_s", "rss_before_mib", "rss_after_mib", "kib_per_connection",
                 "kib_range", "target_kib", "met"])
    rows = []
    for index in (0, 1):
        series = [r[index] for _, r in got]
        row = {"idle_sockets": series[0]["idle_sockets"], "runs": runs}
        for key in ("delivered_pct", "p50_ms", "p95_ms", "p99_ms", "p99_ratio"):
            values = [r[key] for r in series if r.get(key) is not None]
            if values:
                row[key] = statistics.median(values)
        rows.append(row)
    print_table(
        f"Broadcast latency: 1 sender at {RATE} msg/s into {LISTENERS} listeners, with and without idle sockets "
        f"(median of {runs})",
        rows,
        ["idle_sockets", "delivered_pct", "p50_ms", "p95_ms", "p99_ms", "p99_ratio"],
    )
    verdict = "met" if summary["met"] else f"missed: >= {TARGET_KIB} KiB"
    result = {"summary": summary, "latency": rows, "runs": [s for s, _ in got], "targets": [{
        "target": f"idle socket < {TARGET_KIB} KiB of server memory ({n:,} sockets)",
        "measured": f"{summary['kib_per_connection']:.1f} KiB (median of {runs}, range {summary['kib_range']})",
        "verdict": verdict,
    }]}
    write_results("connections", result)
    return result

if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--worker":
        asyncio.run(_worker(sys.argv[2], json.loads(sys.argv[3]), int(sys.argv[4])))
    else:
        run(quick="--quick" in sys.argv)
