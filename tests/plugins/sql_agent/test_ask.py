"""/ask in a thread: the `sql` plugin in a real (in-memory) Venn, its agent talking to the
scripted OpenAI-compatible server through ChatOpenAI, the demo warehouse behind the guard."""

from __future__ import annotations

import pytest

from tests.plugins.sql_agent.openai_stub_server import call, http_error, text
from venn_plugins.sql_agent import MAX_STEPS, SQLAgentPlugin
from venn_plugins.sql_agent.llm import HOW_TO_CONFIGURE
from venn_plugins.sql_agent.memory import load_history

KEY = "sk-ask-test-key-99aa88bb77cc"
TABLES = ["customers", "orders", "order_items", "products"]
TOP_CUSTOMERS = (
    "SELECT c.name, SUM(oi.quantity * oi.unit_price) AS revenue FROM customers c "
    "JOIN orders o ON o.customer_id = c.customer_id JOIN order_items oi ON oi.order_id = o.order_id "
    "WHERE o.status IN ('shipped', 'completed') "
    "AND o.ordered_at >= date_trunc('month', current_date) - INTERVAL 1 MONTH "
    "AND o.ordered_at < date_trunc('month', current_date) "
    "GROUP BY c.name ORDER BY revenue DESC LIMIT 10"
)


@pytest.fixture
def env(monkeypatch, agent_demo_file, openai_stub):
    """The demo warehouse and the scripted LLM server, whatever the developer's shell has."""
    monkeypatch.setenv("VENN_WAREHOUSE_URL", f"duckdb:///{agent_demo_file}")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("VENN_LLM_MODEL", "stub-model")
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT", raising=False)
    return monkeypatch


async def start(testbot, **config):  # noqa: F811
    return await testbot(SQLAgentPlugin, config={"allowed_tables": TABLES, **config})


def statuses(bot) -> list[dict]:
    return bot.emitted("llm_response")


async def test_ask_posts_the_answer_sql_and_table_with_progress(env, testbot, openai_stub):  # noqa: F811
    openai_stub.script(
        call("list_tables"),
        call("run_query", sql=TOP_CUSTOMERS),
        text("**Top customers last month** are listed below."),
    )
    bot = await start(testbot, max_rows=50)
    (reply,) = await bot.say("/ask Show me the top 10 customers by revenue last month", timeout=60)

    payload = reply.payload
    assert payload["type"] == "sql_result"
    assert payload["question"] == "Show me the top 10 customers by revenue last month"
    assert payload["sql"].endswith("LIMIT 10") and "JOIN" in payload["sql"].upper()
    assert payload["columns"] == ["name", "revenue"] and payload["row_count"] == 10 == len(payload["rows"])
    assert payload["csv_url"] == f"/api/v1/queries/{payload['query_id']}/result.csv"
    assert reply.body.startswith("**Top customers last month** are listed below.")
    assert f"```sql\n{payload['sql']}\n```" in reply.body
    assert "| name | revenue |" in reply.body and payload["rows"][0][0] in reply.body

    events = statuses(bot)
    assert [e["status"] for e in events] == ["thinking", "thinking", "running_sql", "thinking", "done"]
    assert all(e["thread_id"] == bot.thread["id"] and e["query_id"] == payload["query_id"] for e in events)
    assert events[2]["sql"] == TOP_CUSTOMERS
    # the model worked with the thread's tables and the thread's row limit
    system = openai_stub.requests[0].system
    assert all(t in system for t in TABLES) and "50 rows" in system
    assert openai_stub.requests[0].headers["Authorization"] == f"Bearer {KEY}"


async def test_a_follow_up_question_sees_the_earlier_one(env, testbot, openai_stub):  # noqa: F811
    openai_stub.script(
        call("run_query", sql="SELECT COUNT(*) AS n FROM orders WHERE status = 'returned'"),
        text("Some orders were returned."),
        text("About one in twenty."),
    )
    bot = await start(testbot)
    (first,) = await bot.say("/ask How many orders were returned?", timeout=60)
    count = first.payload["rows"][0][0]
    (second,) = await bot.say("/ask What share of all orders is that?", timeout=60)
    assert second.body == "About one in twenty."  # no query ran: a plain answer

    system = openai_stub.last.system
    assert "1. Question: How many orders were returned?" in system
    assert "SQL: SELECT COUNT(*) AS n FROM orders WHERE status = 'returned' LIMIT 100" in system
    assert f"Result: 1 row(s); columns: n; first rows: ({count})" in system
    # both are remembered in the thread's storage, the latest last
    history = await load_history(bot.storage("sql"))
    assert [h["question"] for h in history] == ["How many orders were returned?", "What share of all orders is that?"]
    # another thread starts with no memory
    other = await bot.new_thread("other")
    await bot.enable("sql", {"allowed_tables": TABLES}, thread_id=other["id"])
    openai_stub.script(text("Fresh start."))
    await bot.say("/ask Anything?", thread_id=other["id"], timeout=60)
    assert "Earlier questions" not in openai_stub.last.system


async def test_without_an_llm_ask_says_how_to_configure_one(env, testbot, openai_stub):  # noqa: F811
    env.delenv("OPENAI_BASE_URL")
    env.delenv("OPENAI_API_KEY")
    bot = await start(testbot)
    (reply,) = await bot.say("/ask top customers?", timeout=60)
    assert reply.body == HOW_TO_CONFIGURE
    assert [e["status"] for e in statuses(bot)] == ["error"]
    assert openai_stub.requests == []
    # /sql still works without an LLM
    (table,) = await bot.say("/sql SELECT COUNT(*) AS n FROM customers", timeout=60)
    assert table.payload["columns"] == ["n"]


async def test_a_failing_llm_server_is_reported_in_the_thread(env, testbot, openai_stub):  # noqa: F811
    openai_stub.default = http_error(500, f"upstream exploded (key {KEY})")
    bot = await start(testbot)
    (reply,) = await bot.say("/ask top customers?", timeout=60)
    assert reply.body == "The language model server failed (HTTP 500); try again later."
    events = statuses(bot)
    assert events[0]["status"] == "thinking" and events[-1]["status"] == "error"
    assert events[-1]["message"] == reply.body
    assert all(KEY not in str(e) for e in events)
    assert await load_history(bot.storage("sql")) == []  # a failed question is not remembered


async def test_a_model_that_loops_is_stopped(env, testbot, openai_stub):  # noqa: F811
    openai_stub.default = call("run_query", sql="SELECT * FROM information_schema.tables")
    bot = await start(testbot)
    (reply,) = await bot.say("/ask what tables exist?", timeout=60)
    assert f"did not reach an answer within {MAX_STEPS} steps" in reply.body
    events = statuses(bot)
    assert events[-1]["status"] == "error"
    assert [e["status"] for e in events].count("thinking") == MAX_STEPS == len(openai_stub.requests)
    refusals = [r for r in openai_stub.last.tool_results if r.startswith("Refused by the SQL guard:")]
    assert len(refusals) == len(openai_stub.requests) - 1 >= 2
