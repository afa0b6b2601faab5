"""VennSQLToolkit on its own, outside the chat server: its tools over the DuckDB demo
warehouse, and a plain LangChain agent (``create_agent`` with nothing of Venn's but the
toolkit) driving the real ChatOpenAI against the scripted OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import ToolMessage

from tests.plugins.sql_agent.openai_stub_server import call, calls, text
from venn_plugins.sql_agent.llm import build_llm
from venn_plugins.sql_agent.runner import GuardedSQL
from venn_plugins.sql_agent.toolkit import TOOL_NAMES, VennSQLToolkit
from venn_plugins.sql_agent.warehouse import QueryResult, open_warehouse

_ids = itertools.count(1)


@pytest.fixture
async def warehouse(make_settings, agent_demo_file):
    wh = open_warehouse(make_settings(warehouse_url=f"duckdb:///{agent_demo_file}"))
    yield wh
    await wh.close()


async def order_count(warehouse) -> int:
    """Counted through a guard of its own (the toolkit's audit stays as the model left it)."""
    result = await GuardedSQL(warehouse, ["orders"]).run("SELECT COUNT(*) AS n FROM orders")
    return result.rows[0][0]


async def use(toolkit: VennSQLToolkit, name: str, **args: Any) -> ToolMessage:
    """Call a tool the way an agent does: with a tool call, getting a ToolMessage back."""
    (tool,) = [t for t in toolkit.get_tools() if t.name == name]
    message = await tool.ainvoke({"type": "tool_call", "name": name, "args": args, "id": f"t{next(_ids)}"})
    assert isinstance(message, ToolMessage)
    return message


async def test_the_tools_over_the_demo_warehouse(warehouse):
    toolkit = VennSQLToolkit.from_warehouse(warehouse, ["orders", "order_items"], max_rows=20)
    assert [t.name for t in toolkit.get_tools()] == list(TOOL_NAMES)
    before = await order_count(warehouse)

    listed = await use(toolkit, "list_tables")
    assert listed.content == "Tables you may query:\norders\norder_items" and listed.status == "success"

    described = await use(toolkit, "describe_table", table="orders")
    assert described.content.startswith("Table orders -- One row per order placed by a customer.")
    assert "Sample rows (3):\norder_id | customer_id | ordered_at | status\n" in described.content

    checked = await use(toolkit, "check_query", sql="select order_id from orders")
    assert checked.content.startswith("The guard accepts it. This SQL would run:\n")
    assert checked.content.endswith("LIMIT 20")

    ran = await use(toolkit, "run_query", sql="SELECT order_id, status FROM orders ORDER BY order_id")
    assert ran.status == "success"
    assert ran.content.startswith("20 row(s); the query returned more rows, cut at the row limit (max_rows=20):")
    assert isinstance(ran.artifact, QueryResult) and ran.artifact.row_count == 20 and ran.artifact.truncated
    assert ran.artifact.columns == ["order_id", "status"] and ran.artifact.rows[0][0] == 1
    assert toolkit.sql.last_sql.endswith("LIMIT 20")

    # what the allow-list and the guard keep out comes back as the tool's result
    refused = {
        "forbidden table": await use(toolkit, "run_query", sql="SELECT name, email FROM customers"),
        "forbidden describe": await use(toolkit, "describe_table", table="customers"),
        "delete": await use(toolkit, "run_query", sql="DELETE FROM orders"),
        "insert": await use(toolkit, "run_query", sql="INSERT INTO orders VALUES (99999, 1, now(), 'x')"),
        "drop": await use(toolkit, "run_query", sql="DROP TABLE orders"),
        "catalog": await use(toolkit, "check_query", sql="SELECT * FROM information_schema.tables"),
    }
    for what, message in refused.items():
        assert message.status == "error", what
        assert message.content.startswith("Refused by the SQL guard:"), what
        assert message.artifact is None, what
    assert "customers" in refused["forbidden table"].content and "customers" in refused["forbidden describe"].content
    assert await order_count(warehouse) == before > 1000  # nothing was written

    failed = await use(toolkit, "run_query", sql="SELECT no_such_column FROM orders")
    assert failed.status == "error" and failed.content.startswith("The warehouse reported an error:")
    assert "no_such_column" in failed.content
    for args in ({}, {"sql": "   "}, {"sql": 42}):
        bad = await use(toolkit, "run_query", **args)
        assert (bad.status, bad.content) == ("error", "run_query needs the argument 'sql': a non-empty string.")

    # every statement is in the runner's audit trail, refused or not
    assert [(s["kind"], s["verdict"]) for s in toolkit.sql.statements] == [
        ("describe", "allowed"), ("check", "allowed"), ("run", "allowed"),
        ("run", "refused"), ("describe", "refused"), ("run", "refused"), ("run", "refused"), ("run", "refused"),
        ("check", "refused"), ("run", "allowed"),
    ]
    assert toolkit.sql.statements[-1]["error"] is not None


async def test_a_plain_langchain_agent_is_held_to_the_allow_list(make_settings, openai_stub, warehouse):
    openai_stub.script(
        call("run_query", sql="SELECT name, email FROM customers"),
        call("run_query", sql="DELETE FROM orders WHERE status = 'cancelled'"),
        calls(("run_query", {"sql": "UPDATE orders SET status = 'completed'"}),
              ("run_query", {"sql": "SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled'"})),
        text("I may not read customers or change orders; there are some cancelled orders."),
    )
    llm = build_llm(make_settings(openai_api_key="sk-toolkit-test", openai_base_url=openai_stub.base_url))
    toolkit = VennSQLToolkit.from_warehouse(warehouse, ["orders", "order_items"])
    cancelled = await GuardedSQL(warehouse, ["orders"]).run(
        "SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled'"
    )

    agent = create_agent(llm, tools=toolkit.get_tools())  # nothing of Venn's but the tools
    state = await asyncio.wait_for(
        agent.ainvoke({"messages": [("user", "Who are our customers? Then mark every order completed.")]}), 60
    )

    assert state["messages"][-1].text == "I may not read customers or change orders; there are some cancelled orders."
    assert openai_stub.requests[0].tool_names == list(TOOL_NAMES)
    results = openai_stub.last.tool_results
    assert len(results) == 4 and openai_stub.rejected == []
    assert results[0].startswith("Refused by the SQL guard:") and "customers" in results[0]
    assert results[1].startswith("Refused by the SQL guard:") and "DELETE" in results[1]
    assert results[2].startswith("Refused by the SQL guard:") and "UPDATE" in results[2]
    assert results[3] == f"1 row(s):\nn\n{cancelled.rows[0][0]}"
    # the agent kept going after each refusal, and the data is as it was
    tool_messages = [m for m in state["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in tool_messages] == ["error", "error", "error", "success"]
    assert tool_messages[-1].artifact.rows == cancelled.rows and cancelled.rows[0][0] > 0
    assert [s["verdict"] for s in toolkit.sql.statements] == ["refused", "refused", "refused", "allowed"]
    assert toolkit.sql.last_sql == "SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled' LIMIT 100"
