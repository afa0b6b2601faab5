"""What a thread member can do to the chat server through the warehouse, and cannot any
more: memory, time, files and network, result size, odd values, questions left running.
The ``sql`` plugin in a real (in-memory) Venn over the demo warehouse."""

from __future__ import annotations

import datetime as dt
import json

import psutil
import pytest

from tests.plugins.sql_agent.kit import ALL_TABLES
from venn.events import Event
from venn_plugins.sql_agent import LLM_QUERY_EVENT, LOST_QUERY, SQLAgentPlugin
from venn_plugins.sql_agent.models import QuerySource, QueryStatus, SqlQuery
from venn_plugins.sql_agent.render import PAYLOAD_CELL_CHARS

MiB = 1024 * 1024


@pytest.fixture
async def sqlbot(testbot, sql_env):  # noqa: F811
    async def start(config=None, **options):
        return await testbot(SQLAgentPlugin, config={"allowed_tables": ALL_TABLES, **(config or {})}, **options)

    return start


def payload_bytes(reply) -> int:
    return len(json.dumps(reply.payload, ensure_ascii=False, allow_nan=False).encode())


# Memory and time ------------------------------------------------------------------------


async def test_a_huge_list_hits_the_memory_limit_not_the_server(sqlbot):
    bot = await sqlbot({"timeout_seconds": 5})
    await bot.say("/sql SELECT COUNT(*) FROM customers")  # the worker is up
    server = psutil.Process()
    before = server.memory_info().rss
    [reply] = await bot.say("/sql SELECT len(generate_series(1, 200000000))", timeout=60)
    assert "over the warehouse's memory limit (1 GiB)" in reply.body
    assert server.memory_info().rss - before < 100 * MiB  # the server's memory stays where it was
    query = await SqlQuery.filter(sql__contains="generate_series").get()
    assert query.status == QueryStatus.ERROR and "memory limit" in query.error
    # the warehouse is back in service for the next query
    [next_one] = await bot.say("/sql SELECT COUNT(*) AS n FROM orders")
    assert next_one.payload["columns"] == ["n"]


async def test_a_statement_past_its_timeout_is_audited_as_a_timeout(sqlbot):
    bot = await sqlbot({"timeout_seconds": 1})
    [reply] = await bot.say("/sql SELECT COUNT(*) FROM customers a, customers b, customers c, customers d, customers e")
    assert "took longer than 1 s and was stopped" in reply.body
    query = await SqlQuery.get()
    assert query.status == QueryStatus.TIMEOUT and query.finished_at is not None
    assert bot.emitted("llm_response")[-1]["status"] == "error"


async def test_an_extension_function_is_not_downloaded(sqlbot):
    bot = await sqlbot()
    [reply] = await bot.say("/sql SELECT host('http://a.b/c')")
    assert reply.body.startswith("The warehouse could not run it:")
    assert "inet extension" in reply.body and "loads no extensions" in reply.body


# Result size --------------------------------------------------------------------------------


async def test_nested_values_are_compact_text_within_the_byte_limit(sqlbot):
    bot = await sqlbot()
    [reply] = await bot.say("/sql SELECT list(c) AS everyone FROM customers c")
    [[cell]] = reply.payload["rows"]
    assert cell.startswith('[{"customer_id":1,"name":"Amara Tanaka",')  # compact JSON text
    assert cell.endswith("… [cut]") and len(cell) == PAYLOAD_CELL_CHARS + len("… [cut]")
    assert payload_bytes(reply) < 4096
    # the kept rows (the CSV) have more of it, cut at their own cell limit
    query = await SqlQuery.get(id=reply.payload["query_id"])
    kept = query.rows[0][0]
    assert kept.startswith(cell.split("…")[0]) and kept.endswith("… [cut]") and len(kept) == 100_000 + len("… [cut]")


async def test_a_long_cell_is_cut_with_a_marker(sqlbot):
    bot = await sqlbot()
    [reply] = await bot.say("/sql SELECT repeat('A', 1000000) AS a")
    [[cell]] = reply.payload["rows"]
    assert cell == "A" * PAYLOAD_CELL_CHARS + "… [cut: 1,000,000 characters]"
    assert len(reply.body) < 13_000 and payload_bytes(reply) < 2048
    query = await SqlQuery.get(id=reply.payload["query_id"])
    assert query.rows[0][0] == "A" * 100_000 + "… [cut: 1,000,000 characters]"


async def test_the_payload_and_the_csv_have_byte_limits(sqlbot, monkeypatch):
    monkeypatch.setenv("VENN_SQL_MAX_RESULT_BYTES", "64KiB")
    monkeypatch.setenv("VENN_SQL_MAX_CSV_BYTES", "256KiB")
    bot = await sqlbot({"max_rows": 2000})
    [reply] = await bot.say("/sql SELECT order_id, repeat('x', 500) AS filler FROM orders ORDER BY order_id")
    payload = reply.payload
    assert payload_bytes(reply) <= 64 * 1024
    # the kept rows stop at 256 KiB: fewer than the 2,000 asked, and the result says it was cut
    assert 300 < payload["row_count"] < 600 and payload["truncated"] is True
    assert len(payload["rows"]) < payload["row_count"]
    assert payload["rows"] == [[i + 1, "x" * 500] for i in range(len(payload["rows"]))]
    assert "more rows exist: cut at 256 KiB" in reply.body
    query = await SqlQuery.get(id=payload["query_id"])
    assert len(query.rows) == payload["row_count"]
    assert len(json.dumps(query.rows, separators=(",", ":")).encode()) <= 256 * 1024


async def test_values_json_cannot_carry_become_text(sqlbot):
    bot = await sqlbot()
    [reply] = await bot.say(
        "/sql SELECT 170141183460469231731687303715884105727::HUGEINT AS huge, "
        "18446744073709551615::UBIGINT AS ubig, 12345678901234567890123.45::DECIMAL(38,2) AS big_decimal, "
        "19.99::DECIMAL(10,2) AS price, 'nan'::DOUBLE AS nan, -'inf'::DOUBLE AS minus_inf, "
        "INTERVAL 3 DAY + INTERVAL 2 HOUR AS span, '\\x00\\xff'::BLOB AS blob, [1.5, 'inf'::DOUBLE] AS list"
    )
    assert reply.payload is not None, reply.body
    assert reply.payload["rows"] == [[
        "170141183460469231731687303715884105727", "18446744073709551615", "12345678901234567890123.45",
        19.99, "nan", "-inf", "3 days, 2:00:00", "AP8=", '[1.5,"inf"]',
    ]]
    json.dumps(reply.payload, allow_nan=False)  # strict JSON, as browsers parse it
    assert (await SqlQuery.get(id=reply.payload["query_id"])).status == QueryStatus.DONE


# Questions left running ---------------------------------------------------------------------


async def test_a_redelivered_question_that_was_running_is_closed(sqlbot):
    bot = await sqlbot()
    # The first attempt set it running, then its process died.
    query = await SqlQuery.create(
        thread_id=bot.thread["id"], channel_id=bot.channel["id"], user_id=bot.alice.id, username="alice",
        source=QuerySource.API, question="How many customers?", status=QueryStatus.RUNNING,
    )
    await bot.runtime.dispatch(Event(
        LLM_QUERY_EVENT, {"query_id": query.id, "question": query.question},
        channel_id=bot.channel["id"], thread_id=bot.thread["id"], context={"user": bot.alice},
    ))
    await bot.settle()
    await query.refresh_from_db()
    assert query.status == QueryStatus.ERROR and query.error == LOST_QUERY and query.finished_at is not None
    [reply] = bot.replies
    assert reply.body == f"@alice asked: How many customers?\n\n{LOST_QUERY}"
    assert bot.emitted("llm_response")[-1] == {
        "thread_id": bot.thread["id"], "query_id": query.id, "status": "error", "message": LOST_QUERY,
        "message_id": reply.id, "plugin": "sql", "channel_id": bot.channel["id"],
    }


async def test_queries_lost_with_their_process_are_closed_when_the_plugin_starts(sqlbot):
    bot = await sqlbot()
    plugin = bot.runtime.plugins["sql"]
    await plugin.teardown()
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    rows = {}
    for name, status in (("lost", QueryStatus.RUNNING), ("never_ran", QueryStatus.QUEUED),
                         ("answered", QueryStatus.DONE), ("running_now", QueryStatus.RUNNING)):
        rows[name] = await SqlQuery.create(
            thread_id=bot.thread["id"], channel_id=bot.channel["id"], user_id=bot.alice.id,
            source=QuerySource.API, question=name, status=status,
        )
        if name != "running_now":
            await SqlQuery.filter(id=rows[name].id).update(created_at=old)
    await plugin.setup(bot.runtime)
    statuses = {q.question: (q.status, q.error) for q in await SqlQuery.all()}
    assert statuses == {
        "lost": (QueryStatus.ERROR, LOST_QUERY),
        "never_ran": (QueryStatus.ERROR, LOST_QUERY),
        "answered": (QueryStatus.DONE, None),
        "running_now": (QueryStatus.RUNNING, None),  # may still be answered
    }


# Settings ----------------------------------------------------------------------------------


def test_the_limits_are_settings_with_errors_naming_the_variable(monkeypatch):
    from venn.config import SettingsError, read_settings
    from venn_plugins.sql_agent.settings import SQLSettings

    def load_settings(**overrides):
        return read_settings(SQLSettings, **overrides)

    defaults = load_settings(_env_file=None)
    assert (defaults.warehouse_memory_limit, defaults.sql_max_result_bytes, defaults.sql_max_csv_bytes) == (
        1024**3, 1024**2, 20 * 1024**2,
    )
    monkeypatch.setenv("VENN_WAREHOUSE_MEMORY_LIMIT", "512MB")
    monkeypatch.setenv("VENN_SQL_MAX_RESULT_BYTES", "256 KiB")
    monkeypatch.setenv("VENN_SQL_MAX_CSV_BYTES", "1048576")
    chosen = load_settings(_env_file=None)
    assert (chosen.warehouse_memory_limit, chosen.sql_max_result_bytes, chosen.sql_max_csv_bytes) == (
        512_000_000, 256 * 1024, 1024**2,
    )
    for variable, bad in (("VENN_WAREHOUSE_MEMORY_LIMIT", "lots"), ("VENN_WAREHOUSE_MEMORY_LIMIT", "1MiB"),
                          ("VENN_SQL_MAX_RESULT_BYTES", "1TB"), ("VENN_SQL_MAX_CSV_BYTES", "-5")):
        monkeypatch.setenv(variable, bad)
        with pytest.raises(SettingsError, match=variable):
            load_settings(_env_file=None)
        monkeypatch.delenv(variable)
