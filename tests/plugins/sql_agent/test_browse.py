"""Looking before asking: /tables, /describe and /forget in a real Venn (the testbot harness)."""

from __future__ import annotations

import pytest

from tests.plugins.sql_agent.openai_stub_server import text
from venn_plugins.sql_agent import SQLAgentPlugin
from venn_plugins.sql_agent.memory import load_history
from venn_plugins.sql_agent.models import QueryStatus, SqlQuery, SqlStatement


@pytest.fixture
async def sqlbot(testbot, sql_env):  # noqa: F811
    async def start(tables=("customers", "main.orders")):
        return await testbot(SQLAgentPlugin, config={"allowed_tables": list(tables)})

    return start


async def test_tables_lists_the_allowed_ones_with_descriptions_and_row_counts(sqlbot):
    bot = await sqlbot()
    [reply] = await bot.say("/tables")
    assert await SqlQuery.all().count() == 0  # no question, nothing audited
    [orders] = await bot.say("/sql SELECT COUNT(*) AS n FROM orders")
    assert reply.body == (
        "Tables you can ask about here (2):\n"
        "- customers: One row per customer account. · 900 rows\n"
        f"- main.orders: One row per order placed by a customer. · {orders.payload['rows'][0][0]:,} rows\n"
        "/describe TABLE shows a table's columns."
    )


async def test_describe_shows_columns_types_and_comments_through_the_guard(sqlbot):
    bot = await sqlbot()
    [reply] = await bot.say("/describe customers")
    lines = reply.body.splitlines()
    assert lines[0] == "customers: One row per customer account."
    assert lines[2:4] == ["| column | type | comment |", "| --- | --- | --- |"]
    assert "| customer_id | INTEGER |" in reply.body and "| name | VARCHAR |" in reply.body
    assert any(line.startswith("| region | VARCHAR | ") and len(line) > 30 for line in lines)  # with its comment
    # audited as a describe, like the agent's own
    [query] = await SqlQuery.all()
    assert (query.source, query.status, query.question, query.total_tokens) == ("describe", QueryStatus.DONE, "customers", 0)
    [stmt] = await SqlStatement.filter(query_id=query.id)
    assert (stmt.kind, stmt.verdict, stmt.sql) == ("describe", "allowed", "customers")

    # a table that is not allowed here is refused by the guard, and audited
    [refused] = await bot.say("/describe products")
    assert refused.body.startswith("Refused: ") and "products" in refused.body
    query = await SqlQuery.all().order_by("-id").first()
    assert query.status == QueryStatus.REFUSED
    [stmt] = await SqlStatement.filter(query_id=query.id)
    assert stmt.verdict == "refused" and refused.body == f"Refused: {stmt.reason}"
    [usage] = await bot.say("/describe")
    assert usage.body == "Usage: /describe TABLE (one of: customers, main.orders)"
    [weird] = await bot.say("/describe customers; DROP TABLE x")
    assert weird.body.startswith("Refused: ") and "is not a table name" in weird.body


async def test_forget_clears_the_threads_memory(sqlbot, sql_env, openai_stub, testbot):  # noqa: F811
    sql_env.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    openai_stub.default = text("An answer.")
    bot = await sqlbot()
    await bot.say("/ask how many customers?")
    await bot.say("/ask and orders?")
    assert "1. Question: how many customers?" in openai_stub.last.system
    [forgot] = await bot.say("/forget")
    assert forgot.body == "Forgot 2 earlier questions of this thread: the next question starts without them."
    assert await load_history(bot.storage("sql")) == []
    await bot.say("/ask fresh?")
    assert "Earlier questions" not in openai_stub.last.system
    await bot.say("/forget")
    [nothing] = await bot.say("/forget")
    assert nothing.body == "There is nothing to forget: no earlier questions of this thread are remembered."
