"""Fan-out: R rooms x C clients, S senders at a set rate and at full speed.

Measures delivered messages/s and send→receive latency for Venn (persistence on)
and, in the same run, for two relays without auth or storage: a bare
python-socketio server (this library's ceiling) and a Node `socket.io` server.
The senders run in this process and the receiving clients in RECEIVER_PROCESSES
other processes (`--receiver`), so that no single load process is the ceiling;
every server is a separate process too.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from bench.common import (
    RUNNING_SERVERS,
    cpu_seconds,
    free_port,
    pg_url,
    print_table,
    reset_pg,
    summary_ms,
    venn_server,
    wait_ready,
    write_results,
)

HERE = Path(__file__).parent
SCENARIOS = [(1, 100), (10, 20)]  # (rooms, clients per room)
SENDERS = 4
RATE = 200  # messages/s in the fixed-rate mode, all senders together


@contextlib.contextmanager
def relay(kind: str):
    port = free_port()
    if kind == "python":
        cmd = [sys.executable, str(HERE / "relay_python.py"), str(port)]
    else:
        cmd = ["node", str(HERE / "relay_node.js"), str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=HERE)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, f"{kind} relay", timeout=30)
        yield [base]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def node_ready() -> str | None:
    """Install the Node baseline's packages; None if Node is missing."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node/npm not installed"
    if not (HERE / "node_modules" / "socket.io").exists():
        result = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE, capture_output=True, text=True
        )
        if result.returncode != 0:
            return "npm install failed: " + result.stderr[-300:]
    return None


class Protocol:
    """How a load-generator client speaks to one kind of server."""

    async def setup(self, bases: list[str], rooms: int, clients: int) -> None: ...
    async def connect(self, sio: socketio.AsyncClient, base: str, index: int) -> None: ...
    async def join(self, sio: socketio.AsyncClient, room: int) -> None: ...
    async def send(self, sio: socketio.AsyncClient, room: int, body: str, seq: int) -> None: ...

    @staticmethod
    def body_of(data: dict) -> str:
        return data["message"]["body"]


class RelayProtocol(Protocol):
    kind = "relay"

    def state(self) -> dict:
        return {}

    def load(self, state: dict) -> None:
        pass

    async def connect(self, sio, base, index):
        await sio.connect(base, transports=["websocket"])

    async def join(self, sio, room):
        await sio.call("join", {"room": f"r{room}"})

    async def send(self, sio, room, body, seq):
        await sio.call("send", {"room": f"r{room}", "body": body})


class VennProtocol(Protocol):
    USERS = 20
    kind = "venn"

    def state(self) -> dict:
        return {"tokens": self.tokens, "channels": self.channels}

    def load(self, state: dict) -> None:
        self.tokens, self.channels = state["tokens"], state["channels"]

    async def setup(self, bases, rooms, clients):
        self.tokens: list[str] = []
        self.channels: list[int] = []
        async with aiohttp.ClientSession(bases[0]) as http:
            tag = uuid.uuid4().hex[:6]
            for i in range(self.USERS):
                name = f"b{tag}{i}"
                await http.post("/api/v1/auth/register", json={"username": name, "password": "bench-password"})
                r = await http.post("/api/v1/auth/login", json={"username": name, "password": "bench-password"})
                self.tokens.append((await r.json())["access_token"])
            for room in range(rooms):
                headers = {"Authorization": f"Bearer {self.tokens[0]}"}
                r = await http.post("/api/v1/channels", json={"name": f"fan-{tag}-{room}"}, headers=headers)
                cid = (await r.json())["channel"]["id"]
                self.channels.append(cid)
                for token in self.tokens[1:]:
                    await http.post(f"/api/v1/channels/{cid}/join", headers={"Authorization": f"Bearer {token}"})

    async def connect(self, sio, base, index):
        await sio.connect(base, transports=["websocket"], auth={"token": self.tokens[index % self.USERS]})

    async def join(self, sio, room):
        ack = await sio.call("join_channel", {"channel_id": self.channels[room]})
        if not ack.get("ok"):
            raise RuntimeError(f"join failed: {ack}")

    async def send(self, sio, room, body, seq):
        ack = await sio.call(
            "send_message", {"channel_id": self.channels[room], "body": body, "client_msg_id": uuid.uuid4().hex}
        )
        if not ack.get("ok"):
            raise RuntimeError(f"send failed: {ack}")


#: processes holding the receiving clients (beside this one, which holds the senders)
RECEIVER_PROCESSES = 2
PROTOCOLS = {"relay": RelayProtocol, "venn": VennProtocol}


async def _receiver(kind: str, state: dict, bases: list[str], rooms: int, indices: list[int]) -> None:
    """A receiver process: connect the clients ``indices``, join their rooms, print
    ``ready``; measure between ``go`` and ``stop`` on stdin, then print the latencies."""
    protocol = PROTOCOLS[kind]()
    protocol.load(state)
    latencies: list[float] = []
    measuring = False

    def on_message(data):
        if measuring:
            latencies.append(time.time() - json.loads(protocol.body_of(data))["t"])

    clients = []
    for i in indices:
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("new_message", on_message)
        await protocol.connect(sio, bases[i % len(bases)], i)
        await protocol.join(sio, i % rooms)
        clients.append(sio)
    loop = asyncio.get_running_loop()
    # the collector's full passes over the set-up objects would stall the measuring
    gc.collect()
    gc.freeze()
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)  # go
    measuring = True
    await loop.run_in_executor(None, sys.stdin.readline)  # stop
    measuring = False
    print(json.dumps([round(x, 6) for x in latencies]), flush=True)
    for sio in clients:
        await sio.disconnect()


async def _scenario(
    protocol: Protocol, bases: list[str], rooms: int, per_room: int, mode: str, seconds: float, rate: float = RATE,
    measuring: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """One scenario; ``measuring()`` is called once set-up is over, as the load starts
    (e.g. to attach a profiler to the server)."""
    await protocol.setup(bases, rooms, per_room)
    total = rooms * per_room
    workers = []
    for w in range(RECEIVER_PROCESSES):
        indices = list(range(w, total, RECEIVER_PROCESSES))
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "bench.bench_fanout", "--receiver",
             json.dumps({"kind": protocol.kind, "state": protocol.state(), "bases": bases, "rooms": rooms,
                         "indices": indices})],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=HERE.parent,
        ))
    loop = asyncio.get_running_loop()
    try:
        for worker in workers:
            line = await loop.run_in_executor(None, worker.stdout.readline)
            if line.strip() != "ready":
                raise RuntimeError("a receiver process failed to connect its clients")
        senders = [socketio.AsyncClient(reconnection=False) for _ in range(SENDERS)]
        for i, sio in enumerate(senders):
            await protocol.connect(sio, bases[i % len(bases)], i)
            for room in range(rooms):
                await protocol.join(sio, room)
        await asyncio.sleep(0.5)
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        sent = 0
        stop = time.perf_counter() + seconds
        interval = SENDERS / rate

        async def send(i: int, sio: socketio.AsyncClient, seq: int) -> None:
            nonlocal sent
            room = (i + seq) % rooms
            await protocol.send(sio, room, json.dumps({"t": time.time(), "i": seq}), seq)
            sent += 1

        async def sender(i: int, sio: socketio.AsyncClient) -> None:
            """``full``: each send waits for the previous ack. ``rate``: sends leave on a
            fixed schedule whether or not earlier ones were acked (an open loop, so a
            slow server cannot slow the senders down and hide its latency)."""
            seq = 0
            next_at = time.perf_counter()
            in_flight: set[asyncio.Task] = set()
            while time.perf_counter() < stop:
                if mode == "full":
                    await send(i, sio, seq)
                else:
                    task = asyncio.create_task(send(i, sio, seq))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    next_at += interval
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                seq += 1
            if in_flight:
                await asyncio.wait_for(asyncio.gather(*in_flight), timeout=30)

        if measuring is not None:
            measuring()
        cpu_before = sum(cpu_seconds(pid) for pid in RUNNING_SERVERS)
        start = time.perf_counter()
        await asyncio.gather(*(sender(i, s) for i, s in enumerate(senders)))
        # the Venn servers' CPU while the load ran (relays are not venn_server processes: 0)
        server_cpu = sum(cpu_seconds(pid) for pid in RUNNING_SERVERS) - cpu_before
        await asyncio.sleep(1.0)  # let in-flight deliveries land
        elapsed = time.perf_counter() - start
        latencies: list[float] = []
        for worker in workers:
            worker.stdin.write("stop\n")
            worker.stdin.flush()
        for worker in workers:
            latencies += json.loads(await loop.run_in_executor(None, worker.stdout.readline))
        for sio in senders:
            await sio.disconnect()
    finally:
        for worker in workers:
            try:
                worker.stdin.close()
                worker.wait(timeout=30)
            except Exception:
                worker.kill()
    received = len(latencies)
    expected = sent * per_room
    return {
        "sent_per_s": sent / (elapsed - 1.0),
        "delivered_per_s": received / (elapsed - 1.0),
        "delivered_pct": round(100.0 * received / expected, 1) if expected else 0.0,
        # server CPU per acked message, all server processes together (Venn only)
        "cpu_ms_per_msg": 1000.0 * server_cpu / sent if sent and server_cpu else None,
        **summary_ms(latencies),
    }


def _systems() -> list[tuple[str, Any]]:
    systems: list[tuple[str, Any]] = [
        ("python-socketio relay", lambda: relay("python"), RelayProtocol),
    ]
    reason = node_ready()
    if reason is None:
        systems.append(("node socket.io relay", lambda: relay("node"), RelayProtocol))
    else:
        print(f"fanout: Node baseline skipped ({reason})")
    systems.append(("venn sqlite", lambda: _venn_servers(1, embedded=True), VennProtocol))
    # the uvloop lever, measured in the same run: the same server on asyncio's own loop
    systems.append(
        ("venn sqlite, asyncio loop", lambda: _venn_servers(1, embedded=True, loop="asyncio"), VennProtocol)
    )
    pg, redis = pg_url(), os.environ.get("VENN_BENCH_REDIS_URL") or os.environ.get("VENN_TEST_REDIS_URL")
    if pg and redis:
        systems.append(("venn pg+redis x1", lambda: _venn_servers(1), VennProtocol))
        systems.append(("venn pg+redis x2", lambda: _venn_servers(2), VennProtocol))
    else:
        print("fanout: PostgreSQL+Redis runs skipped (set VENN_TEST_DATABASE_URL and VENN_TEST_REDIS_URL)")
    return systems


@contextlib.contextmanager
def _venn_servers(count: int, embedded: bool = False, loop: str = "auto"):
    with contextlib.ExitStack() as stack:
        env: dict[str, str] = {"VENN_EVENT_LOOP": loop}
        if not embedded:
            url = pg_url()
            reset_pg(url)
            redis_url = os.environ.get("VENN_BENCH_REDIS_URL") or os.environ["VENN_TEST_REDIS_URL"]
            env.update(DATABASE_URL=url, REDIS_URL=redis_url)
        yield [stack.enter_context(venn_server(env)) for _ in range(count)]


#: the issue's targets, as ratios to the baselines of the same run
FULL_TARGETS = {"x_py_relay": 0.7, "x_node_relay": 0.5}
RATE_P99_TARGET = 1.5  # Venn's p99 at the fixed rate over the python-socketio relay's
SCALE_TARGET = 1.6  # two processes' delivered/s over one's
_MEDIAN_KEYS = ("sent_per_s", "delivered_per_s", "delivered_pct", "p50_ms", "p95_ms", "p99_ms",
                "x_py_relay", "x_node_relay", "p99_x_py_relay", "cpu_ms_per_msg")


def run(quick: bool = False, runs: int = 3) -> dict[str, Any]:
    """Every scenario ``runs`` times (the systems take turns within each round, so a
    noisy minute hits them alike); ratios are taken within a round, then the median."""
    seconds = 2.0 if quick else 5.0
    systems = _systems()
    rounds: list[list[dict[str, Any]]] = []
    for round_no in range(1, runs + 1):
        rows = []
        for name, start, protocol_cls in systems:
            for rooms, per_room in SCENARIOS:
                for mode in ("rate", "full"):
                    try:
                        with start() as bases:
                            result = asyncio.run(_scenario(protocol_cls(), bases, rooms, per_room, mode, seconds))
                    except Exception as exc:
                        print(f"fanout: {name} {rooms}x{per_room} {mode} failed: {exc!r}")
                        continue
                    print(f"fanout: round {round_no}/{runs}: {name} {rooms}x{per_room} {mode}: "
                          f"{result['delivered_per_s']:,.0f} delivered/s, p99 {result['p99_ms']:,.1f} ms", flush=True)
                    rows.append({"system": name, "rooms": f"{rooms}x{per_room}", "mode": mode, **result})
        _ratios(rows)
        rounds.append(rows)
    rows = _medians(rounds)
    for row in rows:
        row["verdict"] = _verdict(row)
    print_table(
        f"Fan-out: {SENDERS} senders, {RATE} msg/s (rate) or as fast as acked (full), {seconds:.0f} s, "
        f"median of {runs} run(s)",
        rows,
        ["system", "rooms", "mode", "sent_per_s", "delivered_per_s", "delivered_pct", "p50_ms", "p99_ms",
         "x_py_relay", "x_py_relay_range", "x_node_relay", "p99_x_py_relay", "cpu_ms_per_msg", "verdict"],
    )
    scaling = _scaling(rows)
    for line in scaling:
        print(f"fanout: {line['rooms']} full: two processes deliver {line['x_one_process']:.2f}x one "
              f"(target {SCALE_TARGET}x: {line['verdict']}); server CPU per message "
              f"{line['cpu_ms_per_msg_x1'] or 0:.2f} ms on one process, {line['cpu_ms_per_msg_x2'] or 0:.2f} ms on two")
    result = {"senders": SENDERS, "rate": RATE, "seconds": seconds, "runs": runs, "rows": rows,
              "scaling": scaling, "rounds": rounds}
    result["targets"] = targets(result)
    write_results("fanout", result)
    return result


def _ratios(rows: list[dict[str, Any]]) -> None:
    """Each row over the baselines of the same round."""
    baseline = {(r["rooms"], r["mode"]): r for r in rows if r["system"] == "python-socketio relay"}
    node = {(r["rooms"], r["mode"]): r for r in rows if r["system"] == "node socket.io relay"}
    for row in rows:
        key = (row["rooms"], row["mode"])
        if key in baseline:
            row["x_py_relay"] = row["delivered_per_s"] / baseline[key]["delivered_per_s"]
            if baseline[key]["p99_ms"]:
                row["p99_x_py_relay"] = row["p99_ms"] / baseline[key]["p99_ms"]
        if key in node:
            row["x_node_relay"] = row["delivered_per_s"] / node[key]["delivered_per_s"]


def _medians(rounds: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for rows in rounds:
        for row in rows:
            groups.setdefault((row["system"], row["rooms"], row["mode"]), []).append(row)
    out = []
    for (system, rooms, mode), rows in groups.items():
        merged: dict[str, Any] = {"system": system, "rooms": rooms, "mode": mode, "runs": len(rows)}
        for key in _MEDIAN_KEYS:
            values = [r[key] for r in rows if r.get(key) is not None]
            if values:
                merged[key] = statistics.median(values)
        ratios = [r["x_py_relay"] for r in rows if r.get("x_py_relay") is not None]
        if len(ratios) > 1:
            merged["x_py_relay_range"] = f"{min(ratios):.2f}-{max(ratios):.2f}"
        out.append(merged)
    return out


def _verdict(row: dict[str, Any]) -> str:
    if not row["system"].startswith("venn"):
        return ""
    if row["mode"] == "full":
        missed = [f"{key} < {want}" for key, want in FULL_TARGETS.items() if row.get(key, 0.0) < want]
    else:
        missed = []
        if row.get("p99_x_py_relay", float("inf")) > RATE_P99_TARGET:
            missed.append(f"p99 > {RATE_P99_TARGET}x relay")
        if row.get("delivered_pct", 0.0) < 100.0:
            missed.append("lost messages")
    return "met" if not missed else "missed: " + ", ".join(missed)


#: cores two server processes and the load generators need before their scaling means
#: anything (two servers, PostgreSQL and Redis, three load processes)
SCALE_CORES = 8


def _scaling(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Two processes over one at full speed, and each setup's server CPU per message."""
    by = {(r["system"], r["rooms"]): r for r in rows if r["mode"] == "full"}
    out = []
    for (system, rooms), two in by.items():
        one = by.get(("venn pg+redis x1", rooms))
        if system == "venn pg+redis x2" and one and one["delivered_per_s"]:
            cores = os.cpu_count() or 1
            ratio = two["delivered_per_s"] / one["delivered_per_s"]
            if cores < SCALE_CORES:
                verdict = f"not measurable here ({cores} cores): see the CPU per message"
            else:
                verdict = "met" if ratio >= SCALE_TARGET else f"missed: < {SCALE_TARGET}x"
            out.append({"rooms": rooms, "x_one_process": ratio, "cores": cores, "verdict": verdict,
                        "cpu_ms_per_msg_x1": one.get("cpu_ms_per_msg"),
                        "cpu_ms_per_msg_x2": two.get("cpu_ms_per_msg")})
    return out


def targets(result: dict[str, Any]) -> list[dict[str, str]]:
    """The issue's fan-out targets with what this run measured (medians) and a verdict."""
    out = []
    for row in result["rows"]:
        if not row["system"].startswith("venn") or "asyncio loop" in row["system"]:
            continue
        if row["mode"] == "full":
            measured = (f"{row.get('x_py_relay', float('nan')):.2f}x py relay, "
                        f"{row.get('x_node_relay', float('nan')):.2f}x node relay")
            target = f">= {FULL_TARGETS['x_py_relay']}x py relay, >= {FULL_TARGETS['x_node_relay']}x node relay"
        else:
            measured = (f"p99 {row.get('p99_x_py_relay', float('nan')):.2f}x the relay's, "
                        f"{row.get('delivered_pct', 0):.0f} % delivered")
            target = f"p99 <= {RATE_P99_TARGET}x the relay's, 100 % delivered"
        out.append({"target": f"fan-out {row['system']} {row['rooms']} {row['mode']}: {target}",
                    "measured": measured + f" (median of {row['runs']})", "verdict": row["verdict"]})
    for line in result["scaling"]:
        cpu = (f"; server CPU per message {line['cpu_ms_per_msg_x1'] or 0:.2f} ms (one process), "
               f"{line['cpu_ms_per_msg_x2'] or 0:.2f} ms (two together)")
        out.append({"target": f"two processes deliver >= {SCALE_TARGET}x one ({line['rooms']} full)",
                    "measured": f"{line['x_one_process']:.2f}x{cpu}", "verdict": line["verdict"]})
    return out

if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--receiver":
        spec = json.loads(sys.argv[2])
        asyncio.run(_receiver(spec["kind"], spec["state"], spec["bases"], spec["rooms"], spec["indices"]))
    else:
        run(quick="--quick" in sys.argv)
