"""How cost grows: one Venn process as rooms, idle sockets and stored messages grow.

Three series, each run ``runs`` times and reported as medians with their range:

- ``rooms``: one room of 10, 100, 1,000 members; 4 senders at ROOM_RATE msg/s in all
  (open loop) and at full speed (each sender waits for its ack), on the embedded
  defaults and on PostgreSQL + Redis, beside the bare python-socketio relay in the same
  round (bench_fanout's scenario, receivers in their own processes).
- ``sockets``: 1k, 5k, 10k idle authenticated sockets added step by step to one server
  (embedded defaults): its RSS per socket and a 20-listener room's broadcast latency at
  each step (bench_connections' workers and latency probe).
- ``data``: history pages and searches at 100k, 1M, 10M messages on PostgreSQL, each
  beside its bare SQL query in the same run (bench_history's and bench_search's probes).
  The table grows in place: rows are generated inside PostgreSQL (``generate_series``,
  bench_search's pseudo-words with Zipf-like ranks), the full-text index is dropped while
  loading and built again at each size.

``ceilings`` measures what a fleet of processes would share: Redis PUBLISH of a
Socket.IO-sized packet (redis-benchmark, with subscribers attached) and PostgreSQL
insert rates (bench_persistence). Each part writes bench/results/growth-PART.json;
``python -m bench.plot_growth`` draws them under docs/.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

from bench import bench_connections as conns
from bench import bench_fanout as fanout
from bench import bench_history as history
from bench import bench_persistence as persistence
from bench import bench_search as search
from bench.common import pg_url, print_table, progress, reset_pg, summary_ms, venn_server, write_results

ROOM_RATE = 10  # msg/s into the room: 10,000 deliveries/s at 1,000 members
SIZES = {
    "rooms": ([10, 100, 1000], [10, 100]),
    "sockets": ([1000, 5000, 10000], [1000]),
    "data": ([100_000, 1_000_000, 10_000_000], [100_000]),
}
PARTS = ("rooms", "sockets", "data", "ceilings")
SOCKETS_PER_WORKER = 2500
CHUNK = 250_000  # rows per INSERT while loading
LOADERS = 2  # connections inserting side by side
SEARCH_BANDS = ("rare", "common")
SEARCH_QUERIES = 20  # per band


def redis_url() -> str | None:
    return os.environ.get("VENN_BENCH_REDIS_URL") or os.environ.get("VENN_TEST_REDIS_URL")


def spread(values: list[float]) -> dict[str, Any]:
    """Median and range of one figure over the rounds."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


# -- rooms ---------------------------------------------------------------------------------

def _room_systems() -> list[tuple[str, Any, Any]]:
    systems: list[tuple[str, Any, Any]] = [
        ("python-socketio relay", lambda: fanout.relay("python"), fanout.RelayProtocol),
        ("venn sqlite", lambda: fanout._venn_servers(1, embedded=True), fanout.VennProtocol),
    ]
    if pg_url() and redis_url():
        systems.append(("venn pg+redis", lambda: fanout._venn_servers(1), fanout.VennProtocol))
    else:
        progress("growth: rooms on PostgreSQL + Redis skipped (set VENN_BENCH_DATABASE_URL and VENN_BENCH_REDIS_URL)")
    return systems


def rooms(sizes: list[int], runs: int, seconds: float, started: float, rate: float = ROOM_RATE,
          modes: tuple[str, ...] = ("rate", "full")) -> dict[str, Any]:
    samples: dict[tuple[str, int, str], list[dict[str, Any]]] = {}
    for round_no in range(1, runs + 1):
        for name, start, protocol_cls in _room_systems():
            for members in sizes:
                for mode in modes:
                    try:
                        with start() as bases:
                            row = asyncio.run(fanout._scenario(
                                protocol_cls(), bases, 1, members, mode, seconds, rate=rate))
                    except Exception as exc:
                        progress(f"growth: rooms round {round_no}: {name} {members} {mode} failed: {exc!r}")
                        continue
                    samples.setdefault((name, members, mode), []).append(row)
                    progress(f"growth: rooms round {round_no}/{runs}: {name}, {members} members, {mode}: "
                             f"{row['delivered_per_s']:,.0f} delivered/s, p99 {row['p99_ms']:,.1f} ms, "
                             f"{row['delivered_pct']} % delivered", started)
    rows = []
    for (name, members, mode), got in samples.items():
        p99, per_s = spread([r["p99_ms"] for r in got]), spread([r["delivered_per_s"] for r in got])
        rows.append({"system": name, "members": members, "mode": mode, "runs": len(got),
                     "sent_per_s": statistics.median(r["sent_per_s"] for r in got),
                     "delivered_per_s": per_s["median"], "delivered_per_s_range": _range(per_s, 0),
                     "delivered_pct": min(r["delivered_pct"] for r in got),
                     "p50_ms": statistics.median(r["p50_ms"] for r in got),
                     "p99_ms": p99["median"], "p99_range": _range(p99, 1), "p99": p99, "per_s": per_s})
    rows.sort(key=lambda r: (r["mode"], r["system"], r["members"]))
    print_table(f"Rooms: one room, 4 senders at {rate:g} msg/s (rate) or as fast as acked (full), {seconds:.0f} s,"
                f" median of {runs} round(s) [range]", rows,
                ["system", "members", "mode", "sent_per_s", "delivered_per_s", "delivered_per_s_range",
                 "delivered_pct", "p50_ms", "p99_ms", "p99_range"])
    return {"rate": rate, "senders": fanout.SENDERS, "seconds": seconds, "runs": runs, "rows": rows,
            "rounds": {f"{k[0]}|{k[1]}|{k[2]}": v for k, v in samples.items()}}


def _range(s: dict[str, Any], digits: int) -> str:
    return f"{s['min']:,.{digits}f}-{s['max']:,.{digits}f}"


# -- idle sockets ----------------------------------------------------------------------------

def _sockets_round(sizes: list[int], started: float, round_no: int) -> list[dict[str, Any]]:
    """One server; idle sockets added up to each size in turn, measured at each step."""
    conns.raise_fd_limit(max(sizes) + 1024)  # inherited by the server process
    out = []
    workers: list[subprocess.Popen] = []
    with venn_server() as base:
        from bench import common

        pid = common.LAST_SERVER_PID
        assert pid is not None
        tokens, channel_id = asyncio.run(conns._setup(base))
        asyncio.run(conns._latency(base, tokens, channel_id))  # warm-up: a new server's first sends are slow
        probe = asyncio.run(conns._latency(base, tokens, channel_id))
        time.sleep(1.0)
        rss0 = conns.rss_kib(pid)
        out.append({"idle_sockets": 0, "rss_mib": rss0 / 1024, **probe})
        held = 0
        try:
            for size in sizes:
                t0 = time.perf_counter()
                new = []
                while held < size:
                    count = min(SOCKETS_PER_WORKER, size - held)
                    new.append(subprocess.Popen(
                        [sys.executable, "-m", "bench.bench_connections", "--worker", base, json.dumps(tokens),
                         str(count)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
                    held += count
                workers += new
                reports = [json.loads(p.stdout.readline() or "{}") for p in new]  # type: ignore[union-attr]
                failed = sum(r.get("failed", 0) for r in reports) + sum(1 for r in reports if not r)
                connect_s = time.perf_counter() - t0
                time.sleep(2.0)
                rss = conns.rss_kib(pid)
                probe = asyncio.run(conns._latency(base, tokens, channel_id))
                out.append({"idle_sockets": size, "failed": failed, "rss_mib": rss / 1024,
                            "kib_per_socket": (rss - rss0) / size, "connect_s": connect_s, **probe})
                progress(f"growth: sockets round {round_no}: {size:,} idle ({failed} failed), "
                         f"{(rss - rss0) / size:.1f} KiB/socket, p99 {probe['p99_ms']:.1f} ms", started)
        finally:
            for p in workers:
                p.stdin.close()  # type: ignore[union-attr]
            for p in workers:
                p.wait(timeout=120)
    return out


def sockets(sizes: list[int], runs: int, started: float) -> dict[str, Any]:
    rounds = [_sockets_round(sizes, started, n) for n in range(1, runs + 1)]
    rows = []
    for step in range(len(rounds[0])):
        got = [r[step] for r in rounds if len(r) > step]
        p99 = spread([g["p99_ms"] for g in got])
        row = {"idle_sockets": got[0]["idle_sockets"], "runs": len(got),
               "rss_mib": statistics.median(g["rss_mib"] for g in got),
               "delivered_pct": min(g["delivered_pct"] for g in got),
               "p50_ms": statistics.median(g["p50_ms"] for g in got),
               "p99_ms": p99["median"], "p99_range": _range(p99, 1), "p99": p99}
        if step:
            kib = spread([g["kib_per_socket"] for g in got])
            row.update(kib_per_socket=kib["median"], kib_range=_range(kib, 1), kib=kib,
                       failed=sum(g["failed"] for g in got))
        rows.append(row)
    print_table(f"Idle sockets on one process (embedded): memory, and a {conns.LISTENERS}-listener room at "
                f"{conns.RATE} msg/s; median of {runs} round(s) [range]", rows,
                ["idle_sockets", "failed", "rss_mib", "kib_per_socket", "kib_range", "delivered_pct", "p50_ms",
                 "p99_ms", "p99_range"])
    return {"listeners": conns.LISTENERS, "rate": conns.RATE, "runs": runs, "rows": rows, "rounds": rounds}


# -- stored messages (PostgreSQL) ---------------------------------------------------------------

def _syllable(x: str) -> str:
    return f"substr('bdfgklmnprstvz', ({x}) / 5 + 1, 1) || substr('aeiou', ({x}) % 5 + 1, 1)"


#: bench_search.word(r) in SQL (up to three syllables: ranks below 70**3)
WORD_SQL = (f"({_syllable('r % 70')} || CASE WHEN r >= 70 THEN {_syllable('(r / 70) % 70')} ELSE '' END"
            f" || CASE WHEN r >= 4900 THEN {_syllable('r / 4900')} ELSE '' END || 'n')")
#: rows $1..$2 (0-based) into channels 1..10 round robin, 4-20 words each; floor(V**u) for a
#: uniform u has P(rank) close to 1/rank, the Zipf law bench_search's corpus follows.
#: (``0 * g`` ties the subqueries to the row, so they are drawn again for each one)
INSERT_SQL = f"""
INSERT INTO messages (channel_id, author_id, body, kind, created_at, deleted, reply_count)
SELECT 1 + g % {search.CHANNELS}, 1,
  (SELECT string_agg({WORD_SQL}, ' ') FROM (
     SELECT least({search.VOCABULARY}, floor(exp(random() * ln({search.VOCABULARY + 1})))::int + 0 * g::int) AS r
     FROM generate_series(1, 4 + floor(random() * 17)::int + 0 * g::int)) ranks),
  'user', now(), false, 0
FROM generate_series($1::bigint, $2::bigint) g
"""


async def _connect(url: str) -> Any:
    import asyncpg

    return await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))


async def _grow(url: str, have: int, want: int, started: float) -> float:
    """Insert rows ``have``..``want``-1 and rebuild the index; returns the seconds it took."""
    t0 = time.perf_counter()
    conn = await _connect(url)
    if have == 0:
        from venn import db

        await db.apply_migrations(url)
        await search.seed(conn)
        ranks = [1, 69, 70, 4899, 4900, search.VOCABULARY]
        got = await conn.fetch(f"SELECT {WORD_SQL} AS w FROM unnest($1::int[]) r", ranks)
        if [g["w"] for g in got] != [search.word(r) for r in ranks]:
            raise RuntimeError("WORD_SQL no longer spells bench_search.word")
    await conn.execute("DROP INDEX IF EXISTS ix_message_body_tsv")
    chunks = [(lo, min(lo + CHUNK, want) - 1) for lo in range(have, want, CHUNK)]
    done = have

    async def loader() -> None:
        nonlocal done
        c = await _connect(url)
        try:
            while chunks:
                lo, hi = chunks.pop(0)
                await c.execute(INSERT_SQL, lo, hi)
                done += hi - lo + 1
                progress(f"growth: data: {done:,} / {want:,} messages", started)
        finally:
            await c.close()

    await asyncio.gather(*(loader() for _ in range(LOADERS)))
    progress(f"growth: data: building the full-text index over {want:,} messages", started)
    await conn.execute("SET maintenance_work_mem = '1GB'")
    for statement in search.SEARCH_INDEX:
        await conn.execute(statement)
    # settle the table now rather than have autovacuum wake up in the middle of a measurement
    await conn.execute("VACUUM ANALYZE messages")
    size = await conn.fetchval("SELECT pg_total_relation_size('messages')")
    await conn.close()
    progress(f"growth: data: {want:,} messages loaded and indexed ({size / 2**30:.2f} GiB)", started)
    return time.perf_counter() - t0


def _data_size(url: str, rows: int, runs: int, started: float) -> list[dict[str, Any]]:
    lowest = history.PAGE * search.CHANNELS + 1  # the paged channel (1) has a page below every cursor
    full = search.queries()
    bands = {band: full[band][:SEARCH_QUERIES] for band in SEARCH_BANDS}
    hist: dict[str, list[dict[str, float]]] = {"venn": [], "raw": []}
    with venn_server({"DATABASE_URL": url}) as base:
        progress(f"growth: data: {rows:,} messages: searching ({runs} rounds)", started)
        found = asyncio.run(search._measure(base, url, bands, runs))
        progress(f"growth: data: {rows:,} messages: paging history ({runs} rounds)", started)
        for _ in range(runs):
            hist["venn"].append(summary_ms(asyncio.run(history._login_and_page(base, rows, lowest))))
            hist["raw"].append(summary_ms(asyncio.run(history._raw_pg(url, rows, lowest))))
    hits = search._hits(url, bands)
    out = []
    series = [("history", "Venn GET page (HTTP)", hist["venn"], None),
              ("history", "raw keyset query", hist["raw"], None)]
    for band in bands:
        series += [(f"search {band}", "Venn GET /search (HTTP)", found[band]["venn"], hits[band]),
                   (f"search {band}", "bare full-text query", found[band]["raw"], hits[band])]
    for what, system, summaries, hit in series:
        p99 = spread([s["p99_ms"] for s in summaries])
        out.append({"messages": rows, "what": what, "system": system, "hits": hit,
                    "p50_ms": statistics.median(s["p50_ms"] for s in summaries),
                    "p99_ms": p99["median"], "p99_range": _range(p99, 2), "p99": p99})
    return out


def data(sizes: list[int], runs: int, started: float) -> dict[str, Any] | None:
    url = pg_url()
    if not url:
        progress("growth: data skipped (set VENN_BENCH_DATABASE_URL: it runs on PostgreSQL)")
        return None
    reset_pg(url)
    rows, loads, have = [], [], 0
    for size in sizes:
        seconds = asyncio.run(_grow(url, have, size, started))
        loads.append({"messages": size, "added": size - have, "load_s": round(seconds, 1)})
        have = size
        rows += _data_size(url, size, runs, started)
    print_table(f"History pages ({history.PAGE} messages, {history.REQUESTS} random cursors in one of "
                f"{search.CHANNELS} channels) and searches ({SEARCH_QUERIES} queries a band, {search.LIMIT} results)"
                f" on PostgreSQL; median of {runs} round(s) [range of p99]", rows,
                ["messages", "what", "system", "hits", "p50_ms", "p99_ms", "p99_range"])
    print_table("Loading (rows generated in PostgreSQL, index rebuilt, VACUUM ANALYZE)", loads,
                ["messages", "added", "load_s"])
    return {"runs": runs, "page": history.PAGE, "requests": history.REQUESTS, "channels": search.CHANNELS,
            "queries_per_band": SEARCH_QUERIES, "rows": rows, "loads": loads}


# -- what a fleet shares -------------------------------------------------------------------------

def packet_bytes() -> bytes:
    """A pickled Socket.IO emit of a new message, as python-socketio's Redis manager publishes it."""
    message = {"id": 123456789, "channel_id": 4242, "thread_id": None, "kind": "user", "deleted": False,
               "body": "a typical chat line of about sixty characters, give or take.", "reply_count": 0,
               "created_at": "2026-12-02T17:20:00.123456+00:00", "edited_at": None, "client_msg_id": uuid.uuid4().hex,
               "author": {"id": 4242, "username": "someone", "display_name": "Some One", "is_bot": False},
               "reactions": [], "attachments": [], "mentions": []}
    return pickle.dumps({"method": "emit", "event": "new_message", "data": {"message": message}, "namespace": "/",
                         "room": "channel:4242", "skip_sid": None, "callback": None, "host_id": uuid.uuid4().hex})


def _redis_publish(url: str, subscribers: int, requests: int) -> float:
    """PUBLISH/s of packet_bytes() from 32 connections (no pipelining) with ``subscribers``
    redis-cli clients reading the channel."""
    channel = f"growth-bench-{os.getpid()}"
    subs = [subprocess.Popen(["redis-cli", "-u", url, "subscribe", channel], stdout=subprocess.DEVNULL)
            for _ in range(subscribers)]
    try:
        time.sleep(0.5)
        host, port = url.split("//", 1)[1].split("/")[0].split(":")
        out = subprocess.run(
            ["redis-benchmark", "-h", host, "-p", port, "-c", "32", "-n", str(requests), "--csv", "PUBLISH",
             channel, "x" * len(packet_bytes())],  # its length, as argv cannot carry the pickle's NUL bytes
            capture_output=True, text=True, check=True).stdout
        return float(out.strip().splitlines()[-1].split(",")[1].strip('"'))
    finally:
        for s in subs:
            s.terminate()
            s.wait(timeout=10)


def ceilings(quick: bool, started: float) -> dict[str, Any]:
    result: dict[str, Any] = {"packet_bytes": len(packet_bytes())}
    url = redis_url()
    if url and shutil.which("redis-benchmark") and shutil.which("redis-cli"):
        rates = []
        for subscribers in (0, 1, 4, 16):
            per_s = spread([_redis_publish(url, subscribers, 20_000 if quick else 100_000) for _ in range(3)])
            rates.append({"subscribers": subscribers, "publish_per_s": per_s["median"],
                          "publish_range": _range(per_s, 0),
                          "delivered_per_s": per_s["median"] * subscribers})
            progress(f"growth: Redis: {per_s['median']:,.0f} PUBLISH/s with {subscribers} subscribers", started)
        result["redis"] = rates
        print_table(f"Redis PUBLISH of a {len(packet_bytes())}-byte packet, 32 connections (median of 3)", rates,
                    ["subscribers", "publish_per_s", "publish_range", "delivered_per_s"])
    pg = pg_url()
    if pg:
        seconds = 3.0 if quick else 5.0
        reset_pg(pg)
        with venn_server({"DATABASE_URL": pg}) as base:
            venn = asyncio.run(persistence._venn(base, seconds))
        single = asyncio.run(persistence._raw(pg, seconds, batched=False))
        batched = asyncio.run(persistence._raw(pg, seconds, batched=True))
        result["postgres"] = [
            {"system": "Venn HTTP post, acked (one process)", **venn},
            {"system": f"asyncpg single-row INSERT, {persistence.SENDERS} connections", **single},
            {"system": f"asyncpg executemany x{persistence.BATCH}", **batched},
        ]
        print_table(f"PostgreSQL inserts, {seconds:.0f} s each", result["postgres"],
                    ["system", "rows_per_s", "p50_ms", "p99_ms"])
    return result


def run(quick: bool = False, runs: int = 3, parts: tuple[str, ...] = PARTS, rate: float = ROOM_RATE,
        members: list[int] | None = None) -> dict[str, Any]:
    """The ``parts`` in turn. ``rate`` other than ROOM_RATE runs the rooms' fixed-rate mode
    alone (``members``: other room sizes) and writes growth-rooms-RATE.json beside the main one."""
    started = time.perf_counter()
    pick = 1 if quick else 0
    results: dict[str, Any] = {}
    for part in parts:
        progress(f"growth: {part}", started)
        if part == "rooms":
            modes = ("rate", "full") if rate == ROOM_RATE else ("rate",)
            results[part] = rooms(members or SIZES["rooms"][pick], runs, 2.0 if quick else 5.0, started, rate, modes)
        elif part == "sockets":
            results[part] = sockets(SIZES["sockets"][pick], runs, started)
        elif part == "data":
            results[part] = data(SIZES["data"][pick], runs, started)
        else:
            results[part] = ceilings(quick, started)
        if results[part] is not None:
            name = f"growth-{part}" if part != "rooms" or rate == ROOM_RATE else f"growth-rooms-{rate:g}"
            write_results(name, {"quick": quick, **results[part]})
    progress("growth: done", started)
    return results


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.bench_growth")
    parser.add_argument("parts", nargs="*", choices=PARTS, help="which series (all by default)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=ROOM_RATE, help="rooms: msg/s of the fixed-rate mode")
    parser.add_argument("--members", type=int, nargs="+", help="rooms: room sizes")
    args = parser.parse_args()
    run(quick=args.quick, runs=args.runs, parts=tuple(args.parts) or PARTS, rate=args.rate, members=args.members)
