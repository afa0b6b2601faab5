"""History: p50/p99 of history pages over a channel of N messages (default 1,000,000).

Pages are fetched over HTTP from a real server (this process is the client), at
random `before` cursors, on PostgreSQL and SQLite. Baseline in the same run: the
same keyset query sent straight to the database by its driver.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import pg_url, print_table, reset_pg, summary_ms, venn_server, write_results
from venn import db

PAGE = 50
REQUESTS = 400
QUERY = (
    "SELECT id, body FROM messages WHERE channel_id = {c} AND thread_id IS NULL AND id < {b} "
    "ORDER BY id DESC LIMIT {n}"
)


async def _prepare(url: str) -> None:
    await db.apply_migrations(url)


def _load_sqlite(path: str, rows: int) -> None:
    conn = sqlite3.connect(path)
    now = datetime.now(UTC).isoformat(sep=" ")
    conn.execute(
        "INSERT INTO users (id, username, username_key, display_name, role, is_bot, token_version, created_at)"
        " VALUES (1, 'reader', 'reader', 'reader', 'member', 0, 0, ?)", (now,)
    )
    conn.execute(
        "INSERT INTO channels (id, name, topic, is_private, archived, created_at) VALUES (1, 'big', '', 0, 0, ?)",
        (now,),
    )
    conn.execute("INSERT INTO memberships (user_id, channel_id, role, joined_at) VALUES (1, 1, 'member', ?)", (now,))
    conn.executemany(
        "INSERT INTO messages (channel_id, author_id, body, kind, created_at, deleted, reply_count)"
        " VALUES (1, 1, ?, 'user', ?, 0, 0)",
        ((f"message number {i}", now) for i in range(rows)),
    )
    conn.commit()
    conn.close()


async def _load_pg(url: str, rows: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    now = datetime.now(UTC)
    await conn.execute(
        "INSERT INTO users (id, username, username_key, display_name, role, is_bot, token_version, created_at)"
        " VALUES (1, 'reader', 'reader', 'reader', 'member', false, 0, $1)", now
    )
    await conn.execute(
        "INSERT INTO channels (id, name, topic, is_private, archived, created_at)"
        " VALUES (1, 'big', '', false, false, $1)",
        now,
    )
    await conn.execute(
        "INSERT INTO memberships (user_id, channel_id, role, joined_at) VALUES (1, 1, 'member', $1)", now
    )
    await conn.copy_records_to_table(
        "messages",
        records=((1, 1, f"message number {i}", "user", now, False, 0) for i in range(rows)),
        columns=["channel_id", "author_id", "body", "kind", "created_at", "deleted", "reply_count"],
    )
    await conn.execute("SELECT setval(pg_get_serial_sequence('users', 'id'), 1); ANALYZE messages;")
    await conn.close()


async def _login_and_page(base: str, rows: int, lowest: int = PAGE + 1) -> list[float]:
    """``REQUESTS`` pages of channel 1 before random ids in [lowest, rows]."""
    async with aiohttp.ClientSession(base) as http:
        # the reader was inserted without a password: give it one through the CLI path
        r = await http.post("/api/v1/auth/register", json={"username": "bencher", "password": "bench-password"})
        r = await http.post("/api/v1/auth/login", json={"username": "bencher", "password": "bench-password"})
        token = (await r.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        await http.post("/api/v1/channels/1/join", headers=headers)
        rng = random.Random(7)
        samples = []
        for _ in range(REQUESTS):
            before = rng.randint(lowest, rows)
            t0 = time.perf_counter()
            r = await http.get(f"/api/v1/messages/channel/1?limit={PAGE}&before={before}", headers=headers)
            data = await r.json()
            samples.append(time.perf_counter() - t0)
            assert len(data["messages"]) == PAGE, data
        return samples


async def _raw_pg(url: str, rows: int, lowest: int = PAGE + 1) -> list[float]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    rng = random.Random(7)
    samples = []
    for _ in range(REQUESTS):
        before = rng.randint(lowest, rows)
        t0 = time.perf_counter()
        await conn.fetch(QUERY.format(c="$1", b="$2", n="$3"), 1, before, PAGE + 1)
        samples.append(time.perf_counter() - t0)
    await conn.close()
    return samples


def _raw_sqlite(path: str, rows: int) -> list[float]:
    conn = sqlite3.connect(path)
    rng = random.Random(7)
    samples = []
    for _ in range(REQUESTS):
        before = rng.randint(PAGE + 1, rows)
        t0 = time.perf_counter()
        conn.execute(QUERY.format(c="?", b="?", n="?"), (1, before, PAGE + 1)).fetchall()
        samples.append(time.perf_counter() - t0)
    conn.close()
    return samples


#: the issue's bound on a history page at a million messages, on PostgreSQL
TARGET_P99_MS = 10.0


def _median_rows(samples: list[dict[str, float]]) -> dict[str, Any]:
    out: dict[str, Any] = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
    p99s = [s["p99_ms"] for s in samples]
    out["p99_range"] = f"{min(p99s):.2f}-{max(p99s):.2f}"
    return out


def _measure(backend: str, url: str, rows: int, runs: int, load_s: float, raw) -> list[dict[str, Any]]:
    """Venn's pages and the raw query, ``runs`` rounds taking turns; medians of the rounds."""
    venn_runs, raw_runs = [], []
    with venn_server({"DATABASE_URL": url}) as base:
        for _ in range(runs):
            venn_runs.append(summary_ms(asyncio.run(_login_and_page(base, rows))))
            raw_runs.append(summary_ms(raw()))
    venn, bare = _median_rows(venn_runs), _median_rows(raw_runs)
    return [
        {"backend": backend, "system": "Venn GET page (HTTP)", **venn, "load_s": round(load_s, 1)},
        {"backend": backend, "system": "raw keyset query", **bare, "p99_ratio": venn["p99_ms"] / bare["p99_ms"]},
    ]


def run(rows: int = 1_000_000, runs: int = 3) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    # SQLite
    path = str(Path(tempfile.mkdtemp(prefix="venn-hist-")) / "venn.db")
    url = f"sqlite:///{path}"
    asyncio.run(_prepare(url))
    t0 = time.perf_counter()
    _load_sqlite(path, rows)
    results += _measure("sqlite", url, rows, runs, time.perf_counter() - t0, lambda: _raw_sqlite(path, rows))
    # PostgreSQL
    pg = pg_url()
    targets = []
    if pg:
        reset_pg(pg)
        asyncio.run(_prepare(pg))
        t0 = time.perf_counter()
        asyncio.run(_load_pg(pg, rows))
        load_s = time.perf_counter() - t0
        measured = _measure("postgres", pg, rows, runs, load_s, lambda: asyncio.run(_raw_pg(pg, rows)))
        results += measured
        p99 = measured[0]["p99_ms"]
        if rows >= 1_000_000:
            verdict = "met" if p99 < TARGET_P99_MS else f"missed: >= {TARGET_P99_MS:.0f} ms"
        else:
            verdict = f"not judged: {rows:,} messages (the target is at 1,000,000)"
        targets.append({
            "target": f"history page p99 < {TARGET_P99_MS:.0f} ms at 1M messages on PostgreSQL",
            "measured": f"{p99:.1f} ms at {rows:,} messages (median of {runs}, range {measured[0]['p99_range']})",
            "verdict": verdict,
        })
    else:
        print("history: PostgreSQL part skipped (set VENN_BENCH_DATABASE_URL or VENN_TEST_DATABASE_URL)")
    print_table(
        f"History: {PAGE}-message pages at random cursors over {rows:,} messages ({REQUESTS} requests), "
        f"median of {runs} round(s)",
        results, ["backend", "system", "p50_ms", "p95_ms", "p99_ms", "p99_range", "p99_ratio"],
    )
    result = {"rows": rows, "page": PAGE, "requests": REQUESTS, "runs": runs, "results": results, "targets": targets}
    write_results("history", result)
    return result

if __name__ == "__main__":
    run()
