"""The agent end to end: the real ChatOpenAI against a scripted OpenAI-compatible server on
127.0.0.1, the real GuardedSQL over the DuckDB demo warehouse."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from typing import Any

import pytest

from tests.plugins.sql_agent.openai_stub_server import Reply, call, calls, http_error, text
from venn_plugins.sql_agent.agent import LAST_STEP_NOTE, AgentError, answer_question
from venn_plugins.sql_agent.llm import build_llm
from venn_plugins.sql_agent.runner import GuardedSQL
from venn_plugins.sql_agent.toolkit import MAX_ROWS_SHOWN, render_result
from venn_plugins.sql_agent.warehouse import QueryResult, SQLAlchemyWarehouse

KEY = "sk-agent-test-key-5f1e2d3c4b5a"
ALL_TABLES = ["customers", "products", "orders", "order_items"]
TOOLS = ["list_tables", "describe_table", "check_query", "run_query", "suggest_chart"]

TOP_CUSTOMERS = """
SELECT c.name, SUM(oi.quantity * oi.unit_price) AS revenue
FROM customers AS c
JOIN orders AS o ON o.customer_id = c.customer_id
JOIN order_items AS oi ON oi.order_id = o.order_id
WHERE o.status IN ('shipped', 'completed')
  AND o.ordered_at >= date_trunc('month', current_date) - INTERVAL 1 MONTH
  AND o.ordered_at < date_trunc('month', current_date)
GROUP BY c.name
ORDER BY revenue DESC
LIMIT 10
"""


class Statuses(list):
    """Records on_status calls."""

    async def __call__(self, status: str, data: dict[str, Any]) -> None:
        self.append((status, data))

    @property
    def names(self) -> list[str]:
        return [s for s, _ in self]


@pytest.fixture
async def warehouse(agent_demo_file):
    wh = SQLAlchemyWarehouse(f"duckdb:///{agent_demo_file}")
    yield wh
    await wh.close()


@pytest.fixture
def llm(make_settings, openai_stub):
    return build_llm(make_settings(openai_api_key=KEY, openai_base_url=openai_stub.base_url, llm_model="stub-model"))


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


async def ask(question: str, *, llm, sql: GuardedSQL, history=None, statuses=None, **kw) -> Any:
    return await asyncio.wait_for(
        answer_question(
            question,
            llm=llm,
            sql=sql,
            history=history or [],
            on_status=statuses if statuses is not None else Statuses(),
            **kw,
        ),
        60,
    )


async def test_list_describe_run_answer(llm, openai_stub, warehouse):
    openai_stub.script(
        call("list_tables"),
        call("describe_table", table="orders"),
        call("run_query", sql=TOP_CUSTOMERS),
        text("Your top customer last month was the first row of the table."),
    )
    sql = GuardedSQL(warehouse, ALL_TABLES, max_rows=100)
    statuses = Statuses()
    answer = await ask("Show me the top 10 customers by revenue last month", llm=llm, sql=sql,
                       statuses=statuses, today=today())

    assert answer.text == "Your top customer last month was the first row of the table."
    assert answer.steps == 4
    assert answer.sql == sql.last_sql and "LIMIT 10" in answer.sql and "JOIN" in answer.sql.upper()
    result = answer.result
    assert result.columns == ["name", "revenue"] and result.row_count == 10 and not result.truncated
    revenues = [row[1] for row in result.rows]
    assert revenues == sorted(revenues, reverse=True) and revenues[-1] > 0

    first, second, third, fourth = openai_stub.requests
    # what the model is told: dialect, allowed tables, today's date, the row limit
    system = first.system
    assert "duckdb" in system and today().isoformat() in system and "100 rows" in system
    assert all(t in system for t in ALL_TABLES)
    assert first.messages[-1] == {"role": "user", "content": "Show me the top 10 customers by revenue last month"}
    assert first.tool_names == TOOLS and first.body["temperature"] == 0
    assert first.headers["Authorization"] == f"Bearer {KEY}"
    # what the tools answered
    assert second.tool_results == ["Tables you may query:\n" + "\n".join(ALL_TABLES)]
    described = third.tool_results[-1]
    assert "Table orders -- One row per order placed by a customer." in described
    assert "- ordered_at TIMESTAMP -- When the order was placed (UTC)." in described
    assert "Sample rows (3):\norder_id | customer_id | ordered_at | status\n" in described
    ran = fourth.tool_results[-1]
    assert ran.startswith("10 row(s):\nname | revenue\n")
    assert result.rows[0][0] in ran
    # progress: a "thinking" per model call, "running_sql" before the statement
    assert statuses.names == ["thinking", "thinking", "thinking", "running_sql", "thinking"]
    assert statuses[3][1] == {"sql": TOP_CUSTOMERS.strip()}
    assert [s["verdict"] for s in sql.statements] == ["allowed", "allowed"]  # describe, run


async def test_forbidden_table_drop_and_bad_sql_go_back_to_the_model(llm, openai_stub, warehouse):
    openai_stub.script(
        call("run_query", sql="SELECT email FROM customers"),
        call("run_query", sql="DROP TABLE orders"),
        call("describe_table", table="customers"),
        call("run_query", sql="SELECT no_such_column FROM orders"),
        call("run_query", sql="SELECT COUNT(*) AS n FROM orders"),
        text("There are many orders."),
    )
    sql = GuardedSQL(warehouse, ["orders", "order_items"], max_rows=100)
    statuses = Statuses()
    answer = await ask("How many orders are there?", llm=llm, sql=sql, statuses=statuses)

    assert answer.text == "There are many orders." and answer.steps == 6
    assert answer.sql == "SELECT COUNT(*) AS n FROM orders LIMIT 100"
    (count,) = answer.result.rows[0]
    assert count > 1000  # the DROP never ran
    results = openai_stub.last.tool_results
    assert len(results) == 5
    assert results[0].startswith("Refused by the SQL guard:") and "customers" in results[0]
    assert results[1].startswith("Refused by the SQL guard:") and "DROP" in results[1]
    assert results[2].startswith("Refused by the SQL guard:") and "customers" in results[2]
    assert results[3].startswith("The warehouse reported an error:") and "no_such_column" in results[3]
    assert results[4] == f"1 row(s):\nn\n{count}"
    # the model saw each refusal before its next step
    for n, request in enumerate(openai_stub.requests[1:], 1):
        assert len(request.tool_results) == n
    assert [(s["kind"], s["verdict"]) for s in sql.statements] == [
        ("run", "refused"), ("run", "refused"), ("describe", "refused"), ("run", "allowed"), ("run", "allowed"),
    ]
    assert statuses.names.count("thinking") == 6 and statuses.names.count("running_sql") == 4


async def test_a_model_that_never_answers_hits_the_step_limit(llm, openai_stub, warehouse):
    openai_stub.default = call("list_tables")
    statuses = Statuses()
    with pytest.raises(AgentError) as info:
        await ask("Loop forever", llm=llm, sql=GuardedSQL(warehouse, ["orders"]), statuses=statuses, max_steps=3)
    assert str(info.value) == (
        "The model did not reach an answer within 3 steps; try a simpler or more specific question."
    )
    assert info.value.steps == 3
    assert len(openai_stub.requests) == 3
    assert statuses.names == ["thinking"] * 3
    # before its last call the model is told to answer now
    assert not openai_stub.requests[1].tool_results[-1].endswith(LAST_STEP_NOTE)
    assert openai_stub.requests[2].tool_results[-1].endswith(LAST_STEP_NOTE)


async def test_history_is_in_the_prompt_of_a_follow_up(llm, openai_stub, warehouse):
    history = [
        {"question": "How many orders last month?", "sql": "SELECT COUNT(*) AS n FROM orders LIMIT 100",
         "digest": "1 row(s); columns: n; first rows: (412)", "answer": "There were 412 orders."},
    ]
    openai_stub.script(text("That is 412 orders, as before."))
    answer = await ask("And how many is that per day?", llm=llm, sql=GuardedSQL(warehouse, ["orders"]),
                       history=history, today=dt.date(2026, 3, 15))
    assert answer.sql is None and answer.result is None and answer.steps == 1
    system = openai_stub.last.system
    assert "2026-03-15" in system
    assert "1. Question: How many orders last month?" in system
    assert "SQL: SELECT COUNT(*) AS n FROM orders LIMIT 100" in system
    assert "Result: 1 row(s); columns: n; first rows: (412)" in system
    assert [m["role"] for m in openai_stub.last.messages] == ["system", "user"]


async def test_check_query_and_several_calls_in_one_step(llm, openai_stub, warehouse):
    openai_stub.script(
        calls(("describe_table", {"table": "orders"}), ("describe_table", {"table": "order_items"}),
              ("check_query", {"sql": "select * from orders"}), ("check_query", {"sql": "select * from customers"})),
        text("Checked."),
    )
    sql = GuardedSQL(warehouse, ["orders", "order_items"], max_rows=25)
    statuses = Statuses()
    answer = await ask("What can I ask?", llm=llm, sql=sql, statuses=statuses)
    assert answer.steps == 2 and answer.sql is None
    results = openai_stub.last.tool_results
    assert results[0].startswith("Table orders") and results[1].startswith("Table order_items")
    assert results[2].startswith("The guard accepts it. This SQL would run:\n") and results[2].endswith("LIMIT 25")
    assert results[3].startswith("Refused by the SQL guard:") and "customers" in results[3]
    assert statuses.names == ["thinking", "thinking"]  # a check runs nothing
    assert [(s["kind"], s["verdict"]) for s in sql.statements][-2:] == [("check", "allowed"), ("check", "refused")]


async def test_bad_tool_calls_go_back_to_the_model(llm, openai_stub, warehouse):
    openai_stub.script(
        call("run_query", '{"sql": "SELECT 1'),  # arguments that are not JSON
        call("drop_everything"),
        call("run_query", sql="   "),
        call("run_query", sql="SELECT COUNT(*) AS n FROM orders"),
        text("Done."),
    )
    answer = await ask("Count orders", llm=llm, sql=GuardedSQL(warehouse, ["orders"]))
    assert answer.steps == 5 and answer.result.columns == ["n"]
    results = openai_stub.last.tool_results
    assert results[0] == "The arguments of run_query are not valid JSON: send a JSON object."
    assert results[1].startswith("There is no tool named 'drop_everything'.")
    assert results[2] == "run_query needs the argument 'sql': a non-empty string."


async def test_tool_calls_without_ids_are_answered(llm, openai_stub, warehouse):
    nameless = Reply(tool_calls=[{"type": "function", "function": {"name": "list_tables", "arguments": "{}"}}])
    openai_stub.script(nameless, text("Two tables."))
    answer = await ask("Which tables?", llm=llm, sql=GuardedSQL(warehouse, ["orders", "order_items"]))
    assert answer.text == "Two tables." and openai_stub.rejected == []
    assert openai_stub.last.tool_results == ["Tables you may query:\norders\norder_items"]


async def test_what_the_model_reads_is_bounded(llm, openai_stub, warehouse):
    openai_stub.script(
        call("run_query", sql="SELECT order_id, status FROM orders ORDER BY order_id"),
        text("Here they are."),
    )
    answer = await ask("List the orders", llm=llm, sql=GuardedSQL(warehouse, ["orders"], max_rows=500))
    assert answer.result.row_count == 500 and answer.result.truncated  # the thread gets them all
    shown = openai_stub.last.tool_results[0]
    head, columns, *rows = shown.split("\n")
    assert head == (
        "500 row(s); the query returned more rows, cut at the row limit (max_rows=500); "
        f"showing the first {MAX_ROWS_SHOWN}:"
    )
    assert columns == "order_id | status" and len(rows) == MAX_ROWS_SHOWN
    assert rows[0].startswith("1 | ")


def test_rendering_for_the_model():
    result = QueryResult(
        columns=["id", "note"],
        rows=[[i, ("line one\nline | two " + "x" * 300) if i == 0 else None] for i in range(80)],
        row_count=80, truncated=True, elapsed_ms=1,
    )
    head, columns, first, second, *rest = render_result(result, max_rows=80).split("\n")
    assert head == (
        "80 row(s); the query returned more rows, cut at the row limit (max_rows=80); "
        f"showing the first {MAX_ROWS_SHOWN}:"
    )
    assert columns == "id | note"
    assert first.startswith("0 | line one line \\| two xxx") and first.endswith("…") and len(first) < 140
    assert second == "1 | NULL" and len(rest) == MAX_ROWS_SHOWN - 2
    empty = QueryResult(columns=["a", "b"], rows=[], row_count=0, truncated=False, elapsed_ms=1)
    assert render_result(empty) == "0 rows. Columns: a, b"


async def test_llm_server_errors_become_clear_agent_errors(make_settings, openai_stub, warehouse, caplog):
    caplog.set_level(logging.DEBUG)
    llm = build_llm(make_settings(openai_api_key=KEY, openai_base_url=openai_stub.base_url))
    sql = GuardedSQL(warehouse, ["orders"])

    openai_stub.default = http_error(500, f"internal error while using key {KEY}")
    with pytest.raises(AgentError) as info:
        await ask("q", llm=llm, sql=sql)
    assert str(info.value) == "The language model server failed (HTTP 500); try again later."
    assert len(openai_stub.requests) == 1 + llm.max_retries  # retried, but boundedly

    openai_stub.default = http_error(401, f"Incorrect API key provided: {KEY}")
    with pytest.raises(AgentError) as info:
        await ask("q", llm=llm, sql=sql)
    assert "HTTP 401" in str(info.value) and "OPENAI_API_KEY" in str(info.value)
    assert KEY not in str(info.value) and info.value.__cause__ is None and info.value.__context__ is not None
    logged = [r.getMessage() + (logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
              for r in caplog.records]
    assert any("HTTP 401" in line for line in logged) and not any(KEY in line for line in logged)

    openai_stub.default = http_error(404, "The model `nope` does not exist")
    with pytest.raises(AgentError, match="check VENN_LLM_MODEL"):
        await ask("q", llm=llm, sql=sql)


async def test_an_unreachable_llm_server(make_settings, warehouse, caplog):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = build_llm(make_settings(openai_api_key=KEY, openai_base_url=f"http://127.0.0.1:{port}/v1"))
    statuses = Statuses()
    with pytest.raises(AgentError) as info:
        await ask("q", llm=llm, sql=GuardedSQL(warehouse, ["orders"]), statuses=statuses)
    assert str(info.value) == (
        "Could not reach the language model server: check OPENAI_BASE_URL and that the server is running."
    )
    assert statuses.names == ["thinking"]
    assert all(KEY not in r.getMessage() for r in caplog.records)


async def test_a_slow_llm_server_times_out(make_settings, openai_stub, warehouse):
    openai_stub.default = http_error(500, "never sent", delay=5)
    settings = make_settings(openai_api_key=KEY, openai_base_url=openai_stub.base_url)
    llm = build_llm(settings, timeout=0.5, max_retries=0)
    with pytest.raises(AgentError, match="did not answer in time"):
        await ask("q", llm=llm, sql=GuardedSQL(warehouse, ["orders"]))


async def test_max_steps_must_be_positive(llm, warehouse):
    with pytest.raises(ValueError):
        await ask("q", llm=llm, sql=GuardedSQL(warehouse, ["orders"]), max_steps=0)
