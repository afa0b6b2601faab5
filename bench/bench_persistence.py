"""Persistence: acknowledged messages/s into PostgreSQL through Venn, beside raw asyncpg.

Venn is driven over HTTP by this process (a separate process from the server):
S senders each post, wait for the 201, and post again. Baselines in the same run,
on the same database: asyncpg single-row INSERTs from S concurrent connections,
and batched INSERTs (executemany, 100 rows a call).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import asyncpg

from bench.common import pg_url, print_table, reset_pg, summary_ms, venn_server, write_results

SENDERS = 16
BATCH = 100


async def _venn(base: str, seconds: float) -> dict[str, Any]:
    async with aiohttp.ClientSession(base) as http:
        tokens = []
        for i in range(SENDERS):
            await http.post("/api/v1/auth/register", json={"username": f"sender{i}", "password": "bench-password"})
            r = await http.post("/api/v1/auth/login", json={"username": f"sender{i}", "password": "bench-password"})
            tokens.append((await r.json())["access_token"])
        r = await http.post(
            "/api/v1/channels", json={"name": "bench"}, headers={"Authorization": f"Bearer {tokens[0]}"}
        )
        channel_id = (await r.json())["channel"]["id"]
        for token in tokens[1:]:
            await http.post(f"/api/v1/channels/{channel_id}/join", headers={"Authorization": f"Bearer {token}"})
        latencies: list[float] = []
        stop = time.perf_counter() + seconds

        async def sender(token: str) -> None:
            headers = {"Authorization": f"Bearer {token}"}
            n = 0
            while time.perf_counter() < stop:
                n += 1
                t0 = time.perf_counter()
                r = await http.post(
                    "/api/v1/messages", json={"channel_id": channel_id, "body": f"message {n}"}, headers=headers
                )
                await r.read()
                if r.status == 201:
                    latencies.append(time.perf_counter() - t0)

        start = time.perf_counter()
        await asyncio.gather(*(sender(t) for t in tokens))
        elapsed = time.perf_counter() - start
    return {"rows_per_s": len(latencies) / elapsed, "acked": len(latencies), **summary_ms(latencies)}


async def _raw(url: str, seconds: float, batched: bool) -> dict[str, Any]:
    dsn = url.replace("postgres://", "postgresql://", 1)
    setup = await asyncpg.connect(dsn)
    await setup.execute(
        "DROP TABLE IF EXISTS bench_raw; CREATE TABLE bench_raw (id BIGSERIAL PRIMARY KEY, channel_id BIGINT NOT NULL,"
        " author_id BIGINT NOT NULL, body TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());"
        " CREATE INDEX ON bench_raw (channel_id, id);"
    )
    await setup.close()
    pool = await asyncpg.create_pool(dsn, min_size=SENDERS, max_size=SENDERS)
    rows = 0
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def writer(author: int) -> None:
        nonlocal rows
        async with pool.acquire() as conn:
            n = 0
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                if batched:
                    await conn.executemany(
                        "INSERT INTO bench_raw (channel_id, author_id, body) VALUES ($1, $2, $3)",
                        [(1, author, f"message {n + i}") for i in range(BATCH)],
                    )
                    n += BATCH
                    rows += BATCH
                else:
                    await conn.execute(
                        "INSERT INTO bench_raw (channel_id, author_id, body) VALUES ($1, $2, $3)",
                        1,
                        author,
                        f"message {n}",
                    )
                    n += 1
                    rows += 1
                latencies.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(writer(i) for i in range(SENDERS)))
    elapsed = time.perf_counter() - start
    await pool.close()
    return {"rows_per_s": rows / elapsed, "acked": rows, **summary_ms(latencies)}


def run(seconds: float = 10.0) -> dict[str, Any]:
    url = pg_url()
    if not url:
        print(
            "persistence: skipped (set VENN_BENCH_DATABASE_URL or VENN_TEST_DATABASE_URL"
            " to a PostgreSQL database it may wipe)"
        )
        return {"skipped": "no PostgreSQL"}
    reset_pg(url)
    with venn_server({"DATABASE_URL": url}) as base:
        venn = asyncio.run(_venn(base, seconds))
    single = asyncio.run(_raw(url, seconds, batched=False))
    batched = asyncio.run(_raw(url, seconds, batched=True))
    rows = [
        {"system": "Venn (HTTP POST, acked, PostgreSQL)", **venn, "ratio": 1.0},
        {"system": "asyncpg single-row INSERT", **single, "ratio": venn["rows_per_s"] / single["rows_per_s"]},
        {"system": f"asyncpg executemany x{BATCH}", **batched, "ratio": venn["rows_per_s"] / batched["rows_per_s"]},
    ]
    print_table(
        f"Persistence: {SENDERS} concurrent senders, {seconds:.0f} s each (ratio = Venn / row)",
        rows, ["system", "rows_per_s", "p50_ms", "p99_ms", "ratio"],
    )
    result = {"senders": SENDERS, "seconds": seconds, "rows": rows}
    write_results("persistence", result)
    return result


if __name__ == "__main__":
    run()
