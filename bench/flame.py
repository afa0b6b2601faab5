"""Where a server's CPU goes under the fan-out load: py-spy samples, summed by layer.

``python -m bench.flame [--system venn|relay] [--rooms 1x100] [--mode full] [--seconds 8] [--postgres]``

Runs one fan-out scenario (``bench.bench_fanout``) against one server process and
records that process with py-spy (sampling, from outside: the server runs
unmodified) from the moment the load starts. Prints the busy samples summed by
layer (the outermost frame of interest in each stack decides) and the functions
with the most own time, writes the collapsed stacks and a JSON summary under
bench/results/.

py-spy is a development dependency; it needs permission to read the server's memory
(root, or ``kernel.yama.ptrace_scope`` 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench import common
from bench.bench_fanout import RelayProtocol, VennProtocol, _scenario, _venn_servers, relay
from bench.common import RESULTS

#: (layer, what a frame's file path contains); the first match from the top of the
#: list wins for a frame, the innermost frame of a known layer names the sample
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("database driver (sqlite3 / asyncpg)", ("sqlite3/", "aiosqlite/", "asyncpg/")),
    ("ORM (Tortoise, pypika)", ("tortoise/", "pypika")),
    ("Redis client", ("redis/",)),
    ("JSON (orjson, json)", ("orjson", "json/")),
    ("pydantic", ("pydantic",)),
    ("websocket frames (aiohttp)", ("aiohttp/",)),
    ("engine.io", ("engineio/",)),
    ("Socket.IO", ("socketio/",)),
    ("Venn: real time", ("venn/realtime/",)),
    ("Venn: services", ("venn/services/", "venn/files/", "venn/events.py", "venn/db/")),
    ("Venn: bots and plugins", ("venn_bots/", "bots/", "venn_plugins/")),
    ("Venn: other", ("venn/",)),
    ("event loop (asyncio, uvloop)", ("asyncio/", "uvloop/")),
)


def _layer(frame: str) -> str | None:
    path = frame[frame.rfind("(") + 1:] if "(" in frame else frame
    for name, needles in LAYERS:
        if any(n in path for n in needles):
            return name
    return None


def summarize(collapsed: str) -> dict[str, Any]:
    """Busy samples by layer (a sample counts for the innermost frame with a known
    layer) and by function (own time: the innermost frame)."""
    layers: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = main = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        if "threading.py" not in frames[0]:  # not a worker thread: the event loop's
            main += count
        functions[frames[-1].strip()] += count
        for frame in reversed(frames):
            layer = _layer(frame)
            if layer is not None:
                layers[layer] += count
                break
        else:
            layers["other (interpreter, C code)"] += count
    return {
        "samples": total,
        "main_thread_samples": main,
        "layers": [{"layer": k, "share": v / total} for k, v in layers.most_common()] if total else [],
        "functions": [{"function": k, "share": v / total} for k, v in functions.most_common(25)] if total else [],
    }


def run(system: str, rooms: str, mode: str, seconds: float, postgres: bool, rate: int) -> dict[str, Any]:
    if shutil.which("py-spy") is None and not (Path(sys.executable).parent / "py-spy").exists():
        raise SystemExit("py-spy is not installed (make install-dev)")
    spy_bin = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    count, per_room = (int(x) for x in rooms.split("x"))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"flame-{system}-{'pg' if postgres else 'sqlite' if system == 'venn' else 'py'}-{rooms}-{mode}"
    out = RESULTS / f"{stem}.txt"
    spy: subprocess.Popen | None = None

    def start_spy() -> None:
        nonlocal spy
        pid = common.LAST_SERVER_PID
        args = [spy_bin, "record", "--pid", str(pid), "--rate", str(rate), "--duration", str(int(seconds)),
                "--format", "raw", "--output", str(out), "--nonblocking"]
        spy = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    protocol: RelayProtocol | VennProtocol
    if system == "relay":
        start, protocol = (lambda: relay("python")), RelayProtocol()
    else:
        start, protocol = (lambda: _venn_servers(1, embedded=not postgres)), VennProtocol()
    with start() as bases:
        if system == "relay":
            # relay() does not go through common.venn_server; find its pid by port
            common.LAST_SERVER_PID = _pid_listening(bases[0])
        result = asyncio.run(_scenario(protocol, bases, count, per_room, mode, seconds, measuring=start_spy))
        if spy is not None:
            try:
                spy.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=30)
    if spy is None or spy.returncode != 0 or not out.exists():
        detail = spy.stderr.read() if spy is not None and spy.stderr is not None else ""
        raise SystemExit(f"py-spy failed: {detail.strip()[:500]}")
    summary = summarize(out.read_text())
    # samples are taken ``rate`` times a second: busy samples over that is a share of a core
    summary["event_loop_busy"] = summary["main_thread_samples"] / (rate * seconds)
    summary["other_threads_busy"] = (summary["samples"] - summary["main_thread_samples"]) / (rate * seconds)
    summary.update(system=system, rooms=rooms, mode=mode, postgres=postgres, seconds=seconds,
                   delivered_per_s=result["delivered_per_s"], p99_ms=result["p99_ms"])
    (RESULTS / f"{stem}.json").write_text(json.dumps({"machine": common.machine(), **summary}, indent=2))
    _print(summary)
    return summary


def _pid_listening(base: str) -> int:
    port = int(base.rsplit(":", 1)[1])
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True).stdout
    marker = "pid="
    if marker not in out:
        raise SystemExit(f"no process found listening on port {port}")
    return int(out.split(marker, 1)[1].split(",", 1)[0])


def _print(summary: dict[str, Any]) -> None:
    print(f"\nflame: {summary['system']} {summary['rooms']} {summary['mode']}"
          f"{' (PostgreSQL)' if summary['postgres'] else ''}: {summary['samples']} busy samples, "
          f"{summary['delivered_per_s']:,.0f} delivered/s; the event loop's thread busy "
          f"{summary['event_loop_busy'] * 100:.0f} % of the time, other threads "
          f"{summary['other_threads_busy'] * 100:.0f} % of a core")
    print("  busy time by layer:")
    for row in summary["layers"]:
        print(f"    {row['share'] * 100:5.1f} %  {row['layer']}")
    print("  functions with the most own time:")
    for row in summary["functions"][:15]:
        print(f"    {row['share'] * 100:5.1f} %  {row['function']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flame", description=__doc__.split("\n\n")[0])
    parser.add_argument("--system", choices=("venn", "relay"), default="venn")
    parser.add_argument("--rooms", default="1x100", help="RxC: rooms x clients per room")
    parser.add_argument("--mode", choices=("full", "rate"), default="full")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL + Redis (VENN_BENCH_DATABASE_URL)")
    args = parser.parse_args(argv)
    if args.postgres and not (common.pg_url() and (os.environ.get("VENN_BENCH_REDIS_URL")
                                                   or os.environ.get("VENN_TEST_REDIS_URL"))):
        raise SystemExit("--postgres needs VENN_BENCH_DATABASE_URL and VENN_BENCH_REDIS_URL")
    run(args.system, args.rooms, args.mode, args.seconds, args.postgres, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
