"""Shared pieces of the benchmarks: a server subprocess, statistics, tables, results."""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
#: pid of the server process :func:`venn_server` started last (for memory readings)
LAST_SERVER_PID: int | None = None
#: pids of the :func:`venn_server` processes running now (for CPU readings)
RUNNING_SERVERS: list[int] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * pct / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def summary_ms(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99/mean of durations given in seconds, in milliseconds."""
    return {
        "p50_ms": round(percentile(samples, 50) * 1000, 3),
        "p95_ms": round(percentile(samples, 95) * 1000, 3),
        "p99_ms": round(percentile(samples, 99) * 1000, 3),
        "mean_ms": round(statistics.fmean(samples) * 1000, 3) if samples else float("nan"),
    }


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def print_table(title: str, rows: list[dict[str, Any]], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print(f"\n{title}")
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 100 else f"{value:,.0f}"
    return "" if value is None else str(value)


def write_results(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **data}, indent=2, default=str))
    return path


def wait_ready(base: str, proc: subprocess.Popen, what: str, timeout: float = 60.0) -> None:
    """Wait until the server process at ``base`` answers ``/readyz``; raise if it dies or
    does not answer within ``timeout`` seconds."""
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=1):
                return
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                detail = proc.stderr.read() if proc.poll() is not None and proc.stderr is not None else ""
                raise RuntimeError(f"{what} did not start" + (f": {detail}" if detail else "")) from None
            time.sleep(0.1)


@contextmanager
def venn_server(
    env: dict[str, str] | None = None, *, port: int | None = None, python: str = sys.executable
) -> Iterator[str]:
    """A real Venn server process (``python -m venn serve``: another checkout's interpreter
    runs that checkout's code); yields its base URL."""
    port = port or free_port()
    data_dir = tempfile.mkdtemp(prefix="venn-bench-")
    full_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VENN_")},
        "VENN_DATA_DIR": data_dir,
        "SECRET_KEY": "bench-secret",
        "VENN_LOG_LEVEL": "WARNING",
        "VENN_RATE_LIMIT_MESSAGES_PER_MINUTE": "100000000",
        "VENN_RATE_LIMIT_LOGINS_PER_MINUTE": "100000000",
        # set-up signs up hundreds of load clients from one address, which the sign-up cap
        # refuses; their passwords are hashed cheaply (set-up time, not what is measured)
        "VENN_REGISTRATIONS_PER_ADDRESS_PER_MINUTE": "100000000",
        "VENN_FAILED_LOGINS_PER_ADDRESS_PER_MINUTE": "100000000",
        "VENN_PASSWORD_HASHING": "cheapest",
        # a load generator's socket sends far faster than a person (the default guard is 50/s)
        "VENN_SOCKET_EVENTS_PER_SECOND": "100000",
        "VENN_MAX_SOCKETS_PER_USER": "1000000",
        "VENN_SOCKET_QUEUE_LIMIT": "0",
        # Redis pub/sub channels are not scoped by db number: a prefix of this run's own keeps
        # its broadcasts apart from other servers sharing the Redis (its own processes share it)
        "VENN_REDIS_PREFIX": f"bench{os.getpid()}:",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [python, "-m", "venn", "serve", "--port", str(port)],
        env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    global LAST_SERVER_PID
    LAST_SERVER_PID = proc.pid
    RUNNING_SERVERS.append(proc.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, "server")
        yield base
    finally:
        RUNNING_SERVERS.remove(proc.pid)
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux /proc; 0.0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def progress(what: str, started: float | None = None) -> None:
    """One line of progress for long runs (flushed at once, with the minutes so far)."""
    elapsed = f" [{(time.perf_counter() - started) / 60:.1f} min]" if started is not None else ""
    print(f"{what}{elapsed}", flush=True)


def pg_url() -> str | None:
    return os.environ.get("VENN_BENCH_DATABASE_URL") or os.environ.get("VENN_TEST_DATABASE_URL")


def reset_pg(url: str) -> None:
    import asyncio

    import asyncpg

    async def reset() -> None:
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
        finally:
            await conn.close()

    asyncio.run(reset())
