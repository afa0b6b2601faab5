"""The agent's per-thread memory: bounded, kept in the plugin's thread storage, survives a restart."""

from __future__ import annotations

import asyncio
import json

from venn.db import apply_migrations, close_database, open_database
from venn_bots.storage import KVStore
from venn_plugins.sql_agent import memory
from venn_plugins.sql_agent.agent import AgentAnswer, render_history
from venn_plugins.sql_agent.warehouse import QueryResult


def answer(n: int, *, rows: int = 2, wide: bool = False) -> AgentAnswer:
    columns = ["region", "revenue"]
    data = [[("x" * 500) if wide else f"region {i}", 1000.5 * i] for i in range(rows)]
    result = QueryResult(columns=columns, rows=data, row_count=rows, truncated=False, elapsed_ms=3)
    return AgentAnswer(
        text=f"Answer number {n}.",
        sql=f"SELECT region, SUM(x) AS revenue FROM orders GROUP BY region /* {n} */ LIMIT 100",
        result=result,
        steps=3,
    )


async def open_db(url: str):
    await apply_migrations(url)
    return await open_database(url)


async def test_history_survives_a_restart_and_keeps_the_last_five(database_url):
    ctx = await open_db(database_url)
    try:
        store = KVStore("sql", "thread", 41)
        assert await memory.load_history(store) == []
        for n in range(1, 8):
            await memory.remember(store, f"question {n}?", answer(n))
        # another thread's memory is separate
        await memory.remember(KVStore("sql", "thread", 42), "other thread", answer(99))
    finally:
        await close_database(ctx)

    ctx = await open_db(database_url)  # a restart: a new connection to the same database
    try:
        history = await memory.load_history(KVStore("sql", "thread", 41))
        assert [h["question"] for h in history] == [f"question {n}?" for n in range(3, 8)]
        last = history[-1]
        assert last["sql"].endswith("/* 7 */ LIMIT 100")
        assert last["answer"] == "Answer number 7."
        assert last["digest"].startswith("2 row(s); columns: region, revenue; first rows: ")
        assert '("region 1", 1000.5)' in last["digest"]
        assert [h["question"] for h in await memory.load_history(KVStore("sql", "thread", 42))] == ["other thread"]
        assert await memory.forget(KVStore("sql", "thread", 41)) == 5
        assert await memory.load_history(KVStore("sql", "thread", 41)) == []
    finally:
        await close_database(ctx)


async def test_entries_are_bounded_whatever_the_result(database_url):
    ctx = await open_db(database_url)
    try:
        store = KVStore("sql", "thread", 7)
        big = answer(1, rows=5000, wide=True)
        await memory.remember(store, "why? " * 1000, big)
        (entry,) = await memory.load_history(store)
        assert len(entry["question"]) <= memory.MAX_QUESTION_CHARS
        assert len(entry["digest"]) <= memory.MAX_DIGEST_CHARS
        assert entry["digest"].startswith("5000 row(s)")
        # the whole memory of a thread stays small, so the prompt does too
        for _ in range(10):
            await memory.remember(store, "why? " * 1000, big)
        stored = await store.items(memory.PREFIX)
        assert len(stored) == memory.MAX_QUESTIONS
        assert len(json.dumps(stored)) < 20_000
        assert len(render_history(await memory.load_history(store))) < 20_000
    finally:
        await close_database(ctx)


async def test_a_question_without_a_query_and_damaged_storage(database_url):
    ctx = await open_db(database_url)
    try:
        store = KVStore("sql", "thread", 8)
        plain = AgentAnswer(text="I can only answer data questions.", sql=None, result=None, steps=1)
        await memory.remember(store, "hello?", plain)
        (entry,) = await memory.load_history(store)
        assert entry["sql"] is None and entry["digest"] == "no query ran"
        await memory.forget(store)
        await store.set(memory.PREFIX + "0001", "junk")
        await store.set(memory.PREFIX + "0002", {"question": "kept", "sql": None, "digest": ""})
        await store.set("other_key", {"question": "not history"})
        assert [h["question"] for h in await memory.load_history(store)] == ["kept"]
    finally:
        await close_database(ctx)


async def test_questions_answered_at_once_are_all_remembered(database_url):
    ctx = await open_db(database_url)
    try:
        store = KVStore("sql", "thread", 9)
        await asyncio.gather(*(memory.remember(store, f"q{n}", answer(n)) for n in range(4)))
        assert sorted(h["question"] for h in await memory.load_history(store)) == ["q0", "q1", "q2", "q3"]
        await asyncio.gather(*(memory.remember(store, f"r{n}", answer(n)) for n in range(4)))
        assert len(await memory.load_history(store)) == memory.MAX_QUESTIONS
        assert len(await store.keys(memory.PREFIX)) == memory.MAX_QUESTIONS
    finally:
        await close_database(ctx)
