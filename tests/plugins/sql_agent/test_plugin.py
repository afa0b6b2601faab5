"""The ``sql`` plugin in a real Venn (the testbot harness): config, /sql, /ask, audit."""

from __future__ import annotations

import pytest

from tests.plugins.sql_agent.kit import ALL_TABLES
from tests.plugins.sql_agent.openai_stub_server import call, text
from venn.errors import ValidationFailed
from venn_plugins.sql_agent import MAX_TIMEOUT_SECONDS, SQLAgentPlugin
from venn_plugins.sql_agent.models import QueryStatus, SqlQuery, SqlStatement
from venn_plugins.sql_agent.render import BODY_ROWS, PAYLOAD_ROWS

PAYLOAD_KEYS = {
    "type", "query_id", "question", "sql", "columns", "rows", "row_count", "truncated", "elapsed_ms", "csv_url", "chart",
}


@pytest.fixture
async def sqlbot(testbot, sql_env):
    async def start(config=None, **options):
        return await testbot(SQLAgentPlugin, config=config or {"allowed_tables": ALL_TABLES}, **options)

    return start


async def statements(query_id: int) -> list[SqlStatement]:
    return await SqlStatement.filter(query_id=query_id).order_by("id")


# Config ---------------------------------------------------------------------------------


async def test_config_is_validated_when_enabling(testbot, sql_env):
    bot = await testbot(SQLAgentPlugin, enable=False)
    bad = {
        "missing tables": ({}, "config.allowed_tables"),
        "empty tables": ({"allowed_tables": []}, "config.allowed_tables"),
        "not a name": ({"allowed_tables": ["orders; DROP TABLE x"]}, "config.allowed_tables"),
        "four parts": ({"allowed_tables": ["a.b.c.d"]}, "config.allowed_tables"),
        "rows": ({"allowed_tables": ["orders"], "max_rows": 10_001}, "config.max_rows"),
        "no rows": ({"allowed_tables": ["orders"], "max_rows": 0}, "config.max_rows"),
        "timeout": ({"allowed_tables": ["orders"], "timeout_seconds": MAX_TIMEOUT_SECONDS + 1}, "config.timeout_seconds"),
        "unknown": ({"allowed_tables": ["orders"], "max_row": 5}, "config.max_row"),
    }
    for label, (config, field) in bad.items():
        with pytest.raises(ValidationFailed) as failure:
            await bot.enable("sql", config)
        assert field in [f["field"] for f in failure.value.fields], label
    setting = await bot.enable("sql", {"allowed_tables": ["orders", "main.customers", 'demo_warehouse.main."products"']})
    assert setting["config"] == {
        "allowed_tables": ["orders", "main.customers", 'demo_warehouse.main."products"'],
        "max_rows": 100,
        "timeout_seconds": 60,
        "allow_csv": True,
        "daily_token_budget": None,
    }


# /sql -------------------------------------------------------------------------------------


async def test_sql_answers_with_the_sql_a_table_and_the_payload(sqlbot):
    bot = await sqlbot()
    [reply] = await bot.say("/sql SELECT customer_id, name, region FROM customers ORDER BY customer_id LIMIT 3")
    assert reply.author == "sql" and reply.kind == "bot"
    assert "```sql\nSELECT customer_id, name, region FROM customers ORDER BY customer_id LIMIT 3\n```" in reply.body
    assert "| customer_id | name | region |" in reply.body and "| 1 | Amara Tanaka | North America |" in reply.body
    assert "3 rows" in reply.body
    payload = reply.payload
    assert set(payload) == PAYLOAD_KEYS and payload["type"] == "sql_result"
    assert payload["columns"] == ["customer_id", "name", "region"]
    assert payload["rows"][0] == [1, "Amara Tanaka", "North America"] and payload["row_count"] == 3
    assert payload["truncated"] is False and payload["question"] is None
    assert payload["csv_url"] == f"/api/v1/queries/{payload['query_id']}/result.csv"
    # progress went to the thread's room: running_sql with the SQL, then done
    events = bot.emitted("llm_response")
    assert [(e["status"], e["query_id"], e["thread_id"]) for e in events] == [
        ("running_sql", payload["query_id"], bot.thread["id"]),
        ("done", payload["query_id"], bot.thread["id"]),
    ]
    assert events[0]["sql"].startswith("SELECT customer_id")
    # audited: the question and its statement
    query = await SqlQuery.get(id=payload["query_id"])
    assert (query.status, query.source, query.user_id, query.thread_id) == (
        QueryStatus.DONE, "sql", bot.alice.id, bot.thread["id"],
    )
    assert query.rows == payload["rows"] and query.sql == payload["sql"]
    [stmt] = await statements(query.id)
    assert (stmt.kind, stmt.verdict, stmt.row_count, stmt.error) == ("run", "allowed", 3, None)
    assert stmt.sql_run.endswith("LIMIT 3")  # a smaller limit than max_rows is kept


async def test_max_rows_clamps_the_limit_and_marks_the_result_truncated(sqlbot):
    bot = await sqlbot({"allowed_tables": ALL_TABLES, "max_rows": 5})
    [reply] = await bot.say("/sql SELECT customer_id FROM customers ORDER BY customer_id LIMIT 500")
    payload = reply.payload
    assert payload["sql"].endswith("LIMIT 5")
    assert payload["row_count"] == 5 and len(payload["rows"]) == 5 and payload["truncated"] is True
    assert "cut at the limit of 5" in reply.body
    # the warehouse ran it with one row more, to know the result was cut (the audit has it)
    [stmt] = await statements(payload["query_id"])
    assert stmt.sql_run.endswith("LIMIT 6") and stmt.row_count == 5
    [reply] = await bot.say("/sql SELECT customer_id FROM customers ORDER BY customer_id")
    assert reply.payload["sql"].endswith("LIMIT 5") and reply.payload["truncated"] is True


async def test_body_shows_the_first_rows_and_the_payload_keeps_all(sqlbot):
    bot = await sqlbot({"allowed_tables": ALL_TABLES, "max_rows": 1000})
    [reply] = await bot.say("/sql SELECT product_id, name FROM products ORDER BY product_id")
    rows = reply.payload["rows"]
    assert len(rows) > BODY_ROWS and reply.payload["truncated"] is False
    table_lines = [line for line in reply.body.splitlines() if line.startswith("| ") and line[2:5] not in ("pro", "---")]
    assert len(table_lines) == BODY_ROWS
    assert f"the first {BODY_ROWS} shown" in reply.body


async def test_a_large_result_is_not_broadcast_whole_but_kept_for_the_csv(sqlbot):
    bot = await sqlbot({"allowed_tables": ALL_TABLES, "max_rows": PAYLOAD_ROWS + 500})
    [reply] = await bot.say("/sql SELECT order_id, product_id FROM order_items ORDER BY order_id, product_id")
    payload = reply.payload
    assert payload["row_count"] == PAYLOAD_ROWS + 500 and payload["truncated"] is True
    assert len(payload["rows"]) == PAYLOAD_ROWS
    query = await SqlQuery.get(id=payload["query_id"])
    assert len(query.rows) == PAYLOAD_ROWS + 500  # what the CSV download serves
    assert query.rows[:PAYLOAD_ROWS] == payload["rows"]


async def test_refusals_say_why_and_are_audited(sqlbot):
    bot = await sqlbot({"allowed_tables": ["customers"]})
    [drop] = await bot.say("/sql DROP TABLE customers")
    assert drop.body.startswith("Refused: ") and "DROP" in drop.body and drop.payload is None
    [forbidden] = await bot.say("/sql SELECT c.name FROM customers c JOIN orders o ON o.customer_id = c.customer_id")
    assert forbidden.body.startswith("Refused: ") and "orders" in forbidden.body.lower()
    queries = await SqlQuery.all().order_by("id")
    assert [q.status for q in queries] == [QueryStatus.REFUSED, QueryStatus.REFUSED]
    for query, reply in zip(queries, (drop, forbidden), strict=True):
        [stmt] = await statements(query.id)
        assert stmt.verdict == "refused" and stmt.sql_run is None
        assert reply.body == f"Refused: {stmt.reason}" and query.error == stmt.reason
    assert bot.emitted("llm_response")[-1]["status"] == "error"
    # a string that merely contains DROP is fine
    [ok] = await bot.say("/sql SELECT name FROM customers WHERE name <> 'DROP TABLE customers' LIMIT 1")
    assert ok.payload["row_count"] == 1


async def test_warehouse_errors_are_answered_and_audited(sqlbot):
    bot = await sqlbot()
    [reply] = await bot.say("/sql SELECT no_such_column FROM customers")
    assert reply.body.startswith("The warehouse could not run it:") and "no_such_column" in reply.body
    query = await SqlQuery.get()
    assert query.status == QueryStatus.ERROR
    [stmt] = await statements(query.id)
    assert stmt.verdict == "allowed" and "no_such_column" in stmt.error


async def test_a_statement_past_the_thread_timeout_is_stopped(sqlbot):
    # the handler's own timeout is longer than timeout_seconds, so the thread is told why
    bot = await sqlbot({"allowed_tables": ALL_TABLES, "timeout_seconds": 1}, handler_timeout=0.5)
    [reply] = await bot.say(
        "/sql SELECT COUNT(*) FROM customers a, customers b, customers c, customers d, customers e"
    )
    assert "took longer than 1 s" in reply.body
    assert [j.outcome for j in bot.jobs][-1] == "ok"


async def test_empty_sql_gets_the_usage(sqlbot):
    bot = await sqlbot({"allowed_tables": ["customers"]})
    [reply] = await bot.say("/sql")
    assert reply.body == "Usage: /sql SELECT ... (a read-only query over: customers)"
    assert await SqlQuery.all().count() == 0


# /ask ---------------------------------------------------------------------------------


async def test_ask_without_an_llm_says_how_to_configure_one(sqlbot):
    bot = await sqlbot()
    for text_ in ("/ask top 10 customers by revenue last month", "@sql top 10 customers by revenue last month"):
        [reply] = await bot.say(text_)
        assert "OPENAI_API_KEY" in reply.body and "OPENAI_BASE_URL" in reply.body and "VENN_LLM_MODEL" in reply.body
    assert [q.status for q in await SqlQuery.all()] == [QueryStatus.ERROR, QueryStatus.ERROR]


async def test_ask_runs_the_agent_with_progress_events_and_audit(testbot, sql_env, openai_stub):
    sql_env.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    openai_stub.script(
        call("describe_table", table="customers"),
        call("run_query", sql="DROP TABLE customers"),
        call("run_query", sql="SELECT name, region FROM customers ORDER BY customer_id"),
        text("The first customers are Amara Tanaka and Fatima King."),
    )
    bot = await testbot(SQLAgentPlugin, config={"allowed_tables": ALL_TABLES, "max_rows": 2})
    [reply] = await bot.say("/ask who are our first customers?")
    assert reply.body.startswith("The first customers are Amara Tanaka and Fatima King.")
    assert "```sql\nSELECT name, region FROM customers ORDER BY customer_id LIMIT 2\n```" in reply.body
    assert reply.payload["question"] == "who are our first customers?"
    assert reply.payload["rows"] == [["Amara Tanaka", "North America"], ["Fatima King", "Latin America"]]
    assert reply.payload["truncated"] is True
    statuses = [e["status"] for e in bot.emitted("llm_response")]
    assert statuses[0] == "thinking" and statuses[-1] == "done" and statuses.count("running_sql") == 2
    # the model saw the guard's refusal as a tool result
    assert any("DROP" in r for r in openai_stub.requests[2].tool_results)
    query = await SqlQuery.get(id=reply.payload["query_id"])
    assert query.status == QueryStatus.DONE and query.source == "ask"
    audit = [(s.kind, s.verdict) for s in await statements(query.id)]
    assert audit == [("describe", "allowed"), ("run", "refused"), ("run", "allowed")]
    # a follow-up sees the earlier question (memory in the plugin's thread storage)
    openai_stub.script(text("Still the same two."))
    [follow] = await bot.say("@sql and who came next?")
    assert follow.body == "Still the same two."
    assert "who are our first customers?" in openai_stub.requests[-1].system


async def test_an_internal_failure_closes_the_query_as_an_error(sqlbot, monkeypatch):
    async def broken(self, ctx, query, text, sql, result):
        raise RuntimeError("rendering broke")

    monkeypatch.setattr(SQLAgentPlugin, "_answer", broken)  # a bug after the query ran
    bot = await sqlbot(strict=False)
    [notice] = await bot.say("/sql SELECT name FROM customers LIMIT 1")
    assert notice.body.startswith("Sorry, sql ran into an error.") and "rendering broke" not in notice.body
    query = await SqlQuery.get()
    assert query.status == QueryStatus.ERROR and query.error == "The SQL agent ran into an internal error."
    assert bot.emitted("llm_response")[-1]["status"] == "error"


def test_cells_cannot_break_the_markdown_table():
    from venn_plugins.sql_agent.render import markdown_table

    table = markdown_table(["a|b", "c"], [["x | y", "line\nbreak"], [None, 1234.5]])
    assert table.splitlines() == [
        "| a\\|b | c |",
        "| --- | --- |",
        "| x \\| y | line break |",
        "| NULL | 1,234.50 |",
    ]
