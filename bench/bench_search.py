"""Search: p50/p99 of ``GET /api/v1/search`` over N messages (default 1,000,000) on PostgreSQL.

The messages are made of pseudo-words drawn from a Zipf distribution (a 50,000-word
vocabulary, 4-20 words a message), in 10 channels the searching user is a member of.
Queries come in three bands by how many messages they match: rare words (about a
hundred), mid words (a few thousand) and common words (tens of thousands, every one of
which is ranked), plus two-word phrases. Each round sends every query once through the
server (HTTP, a real process) and once as the bare full-text query by the driver
(the baseline: the same tsquery, rank, order and limit on ``messages`` alone, without
Venn's membership and author joins, views or highlights). Several rounds: the figures
are the medians of the rounds' percentiles. Writes bench/results/search.json and .svg.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench.common import RESULTS, pg_url, print_table, reset_pg, summary_ms, venn_server, write_results
from venn import db
from venn.db.search_index import POSTGRES as SEARCH_INDEX

VOCABULARY = 50_000
CHANNELS = 10
LIMIT = 20
QUERIES_PER_BAND = 40
#: word ranks of each band (rank 1 is the most frequent word)
BANDS = {"rare": (10_000, 30_000), "mid": (500, 1_500), "common": (20, 60)}
RAW = (
    "SELECT id, body, ts_rank(body_tsv, q, 1) AS rank FROM messages, websearch_to_tsquery('simple', $1) q"
    " WHERE body_tsv @@ q AND deleted = false ORDER BY rank DESC, id DESC LIMIT $2"
)
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def word(rank: int) -> str:
    """A pronounceable pseudo-word, distinct for each rank."""
    parts, n = [], rank
    while True:
        n, r = divmod(n, len(_SYLLABLES))
        parts.append(_SYLLABLES[r])
        if n == 0:
            return "".join(parts) + "n"


def _corpus(rows: int, seed: int = 11):
    rng = random.Random(seed)
    weights = list(itertools.accumulate(1 / r for r in range(1, VOCABULARY + 1)))
    words = [word(r) for r in range(1, VOCABULARY + 1)]
    for _ in range(rows):
        yield " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(4, 20)))


def queries(seed: int = 5) -> dict[str, list[str]]:
    rng = random.Random(seed)
    out = {band: [word(rng.randint(lo, hi)) for _ in range(QUERIES_PER_BAND)] for band, (lo, hi) in BANDS.items()}
    out["phrase"] = [f'"{word(rng.randint(1, 30))} {word(rng.randint(1, 30))}"' for _ in range(QUERIES_PER_BAND)]
    return out


async def _load(url: str, rows: int) -> None:
    import asyncpg

    await db.apply_migrations(url)
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    now = datetime.now(UTC)
    await seed(conn)
    # the index is built once after the load (as the migration builds it over existing rows)
    await conn.execute("DROP INDEX ix_message_body_tsv")
    await conn.copy_records_to_table(
        "messages",
        records=((1 + i % CHANNELS, 1, body, "user", now, False, 0) for i, body in enumerate(_corpus(rows))),
        columns=["channel_id", "author_id", "body", "kind", "created_at", "deleted", "reply_count"],
    )
    for statement in SEARCH_INDEX:
        await conn.execute(statement)
    await conn.execute("ANALYZE messages")
    await conn.close()


async def seed(conn: Any) -> None:
    """The writer (user 1) and the CHANNELS channels the messages go in, on a migrated database."""
    now = datetime.now(UTC)
    await conn.execute(
        "INSERT INTO users (id, username, username_key, display_name, role, is_bot, token_version, created_at)"
        " VALUES (1, 'writer', 'writer', 'writer', 'member', false, 0, $1)", now
    )
    for c in range(1, CHANNELS + 1):
        await conn.execute(
            "INSERT INTO channels (id, name, topic, is_private, archived, created_at)"
            " VALUES ($1, $2, '', false, false, $3)", c, f"big{c}", now
        )
    await conn.execute(
        "SELECT setval(pg_get_serial_sequence('users', 'id'), 1);"
        f" SELECT setval(pg_get_serial_sequence('channels', 'id'), {CHANNELS});"
    )


async def _venn_round(http: aiohttp.ClientSession, headers: dict[str, str], qs: list[str]) -> list[float]:
    samples = []
    for q in qs:
        t0 = time.perf_counter()
        r = await http.get("/api/v1/search?" + urlencode({"q": q, "limit": LIMIT}), headers=headers)
        data = await r.json()
        samples.append(time.perf_counter() - t0)
        assert r.status == 200, data
    return samples


async def _raw_round(conn: Any, qs: list[str]) -> list[float]:
    samples = []
    for q in qs:
        t0 = time.perf_counter()
        await conn.fetch(RAW, q, LIMIT + 1)
        samples.append(time.perf_counter() - t0)
    return samples


async def _measure(base: str, url: str, bands: dict[str, list[str]], runs: int) -> dict[str, dict[str, list]]:
    import asyncpg

    rounds: dict[str, dict[str, list]] = {band: {"venn": [], "raw": []} for band in bands}
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    async with aiohttp.ClientSession(base) as http:
        await http.post("/api/v1/auth/register", json={"username": "bencher", "password": "bench-password"})
        r = await http.post("/api/v1/auth/login", json={"username": "bencher", "password": "bench-password"})
        headers = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        for c in range(1, CHANNELS + 1):
            await http.post(f"/api/v1/channels/{c}/join", headers=headers)
        for qs in bands.values():  # warm the caches once, unmeasured
            await _venn_round(http, headers, qs)
            await _raw_round(conn, qs)
        for _ in range(runs):
            for band, qs in bands.items():
                rounds[band]["venn"].append(summary_ms(await _venn_round(http, headers, qs)))
                rounds[band]["raw"].append(summary_ms(await _raw_round(conn, qs)))
    await conn.close()
    return rounds


def _median(summaries: list[dict[str, float]]) -> dict[str, float]:
    return {key: round(statistics.median(s[key] for s in summaries), 3) for key in summaries[0]}


def _hits(url: str, bands: dict[str, list[str]]) -> dict[str, int]:
    """The median number of messages the band's queries match."""
    import asyncpg

    async def count() -> dict[str, int]:
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        out = {}
        for band, qs in bands.items():
            counts = [
                await conn.fetchval(
                    "SELECT count(*) FROM messages WHERE body_tsv @@ websearch_to_tsquery('simple', $1)", q
                )
                for q in qs[:10]
            ]
            out[band] = int(statistics.median(counts))
        await conn.close()
        return out

    return asyncio.run(count())


def svg(results: list[dict[str, Any]], rows: int) -> str:
    """A bar chart of p50 and p99 per band, Venn beside the bare query."""
    width, height, left, top, bottom = 720, 360, 70, 40, 60
    peak = max(r["p99_ms"] for r in results) or 1
    bands = list(dict.fromkeys(r["band"] for r in results))
    slot = (width - left - 20) / len(bands)
    colours = {("venn", "p50_ms"): "#3b6fd8", ("venn", "p99_ms"): "#9db7ec",
               ("raw", "p50_ms"): "#555555", ("raw", "p99_ms"): "#b5b5b5"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif"'
        ' font-size="12">',
        '<rect width="100%" height="100%" fill="#fff"/>',
        f'<text x="{left}" y="20" font-size="14">Search at {rows:,} messages (PostgreSQL): p50 and p99, ms</text>',
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#000"/>',
    ]
    plot = height - top - bottom
    for i, band in enumerate(bands):
        x0 = left + i * slot + 10
        bar = (slot - 30) / 4
        k = 0
        for system in ("venn", "raw"):
            row = next(r for r in results if r["band"] == band and r["key"] == system)
            for stat in ("p50_ms", "p99_ms"):
                h = plot * row[stat] / peak
                x = x0 + k * bar
                y = height - bottom - h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 2:.1f}" height="{h:.1f}"'
                             f' fill="{colours[(system, stat)]}"/>')
                parts.append(f'<text x="{x + bar / 2 - 1:.1f}" y="{y - 3:.1f}" text-anchor="middle"'
                             f' font-size="9">{row[stat]:.1f}</text>')
                k += 1
        parts.append(f'<text x="{x0 + 2 * bar:.1f}" y="{height - bottom + 16}" text-anchor="middle">{band}</text>')
    legend = [("Venn p50", "#3b6fd8"), ("Venn p99", "#9db7ec"), ("bare query p50", "#555555"),
              ("bare query p99", "#b5b5b5")]
    for i, (label, colour) in enumerate(legend):
        x = left + i * 150
        parts.append(f'<rect x="{x}" y="{height - 24}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="{height - 14}">{label}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def run(rows: int = 1_000_000, runs: int = 5) -> dict[str, Any] | None:
    pg = pg_url()
    if not pg:
        print("search: skipped (set VENN_BENCH_DATABASE_URL or VENN_TEST_DATABASE_URL: it runs on PostgreSQL)")
        return None
    reset_pg(pg)
    t0 = time.perf_counter()
    asyncio.run(_load(pg, rows))
    load_s = round(time.perf_counter() - t0, 1)
    bands = queries()
    with venn_server({"DATABASE_URL": pg}) as base:
        rounds = asyncio.run(_measure(base, pg, bands, runs))
    hits = _hits(pg, bands)
    results: list[dict[str, Any]] = []
    for band in bands:
        venn, raw = _median(rounds[band]["venn"]), _median(rounds[band]["raw"])
        results += [
            {"band": band, "hits": hits[band], "key": "venn", "system": "Venn GET /search (HTTP)", **venn},
            {"band": band, "hits": hits[band], "key": "raw", "system": "bare full-text query", **raw,
             "p99_ratio": round(venn["p99_ms"] / raw["p99_ms"], 2) if raw["p99_ms"] else None},
        ]
    print_table(
        f"Search: {LIMIT} results per query over {rows:,} messages (PostgreSQL; {QUERIES_PER_BAND} queries a band,"
        f" median of {runs} rounds; load and index {load_s} s)",
        results, ["band", "hits", "system", "p50_ms", "p95_ms", "p99_ms", "p99_ratio"],
    )
    result = {"rows": rows, "runs": runs, "limit": LIMIT, "queries_per_band": QUERIES_PER_BAND, "load_s": load_s,
              "results": results, "rounds": rounds}
    write_results("search", result)
    (RESULTS / "search.svg").write_text(svg(results, rows))
    return result


if __name__ == "__main__":
    run()
