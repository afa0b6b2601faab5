"""The curated knowledge in the agent's prompt: retrieval ranks the entry that answers the
question first, the model is given what the thread may see (asserted from the requests
the scripted OpenAI-compatible server receives), and the audit names the entries used."""

from __future__ import annotations

import json

import pytest

from tests.plugins.sql_agent.openai_stub_server import call, text
from venn_plugins.sql_agent import SQLAgentPlugin
from venn_plugins.sql_agent.knowledge import KnowledgeEntry, KnowledgeHit, KnowledgeKind, retrieve
from venn_plugins.sql_agent.knowledge.retrieval import MAX_PROMPT_CHARS, render_knowledge, select_hits
from venn_plugins.sql_agent.models import SqlQuery

KEY = "sk-knowledge-test-key-1a2b3c"
ORDER_TABLES = ["orders", "order_items"]


@pytest.fixture
def env(monkeypatch, agent_demo_file, openai_stub):
    monkeypatch.setenv("VENN_WAREHOUSE_URL", f"duckdb:///{agent_demo_file}")
    monkeypatch.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("VENN_LLM_MODEL", "stub-model")
    monkeypatch.delenv("SNOWFLAKE_ACCOUNT", raising=False)
    return monkeypatch


async def start(testbot, tables=ORDER_TABLES):  # noqa: F811
    bot = await testbot(SQLAgentPlugin, config={"allowed_tables": tables})
    return bot, bot.runtime.plugins["sql"].warehouse.label


async def entry(warehouse: str, kind: str, **fields) -> KnowledgeEntry:
    return await KnowledgeEntry.create(warehouse=warehouse, kind=KnowledgeKind(kind), **fields)


def everything_sent(openai_stub) -> str:
    """Every request's whole body as text: what the model could read."""
    return "\n".join(json.dumps(r.body) for r in openai_stub.requests)


async def test_the_knowledge_changes_what_the_model_is_given(env, testbot, openai_stub):  # noqa: F811
    openai_stub.script(text("I do not know what active means here."), text("Active customers ordered lately."))
    bot, label = await start(testbot)
    question = "/ask How many active customers ordered last month?"
    await bot.say(question, timeout=60)
    assert "active customer" not in openai_stub.requests[0].system.lower()

    term = await entry(label, "glossary", term="active customer", description="ordered in the last 90 days")
    status = await entry(label, "column", table="orders", column="ordered_at", description="when the customer ordered, UTC")
    await entry(label, "glossary", term="churn", description="accounts lost within a year")
    await entry("another warehouse", "glossary", term="active customer", description="logged in this week")
    await bot.say(question, timeout=60)

    system = openai_stub.requests[1].system
    assert 'Term "active customer": ordered in the last 90 days' in system
    assert "Column orders.ordered_at: when the customer ordered, UTC" in system
    assert "churn" not in system and "logged in this week" not in system
    assert system.index("active customer") < system.index("orders.ordered_at")  # best first
    first, second = await SqlQuery.all().order_by("id")
    assert first.knowledge_ids == []
    assert second.knowledge_ids == [term.id, status.id]


async def test_retrieval_ranks_the_entry_that_answers_the_question_first(env, testbot):  # noqa: F811
    bot, label = await start(testbot)
    await entry(label, "table", table="orders", description="One row per order, cancelled ones included.")
    await entry(label, "glossary", term="revenue", description="quantity times unit price, completed orders only")
    items = await entry(label, "table", table="order_items", description="The lines of an order: product, quantity.")
    returned = await entry(
        label, "example", question="How much revenue did returned orders lose last month?",
        sql="SELECT SUM(i.quantity * i.unit_price) FROM orders o JOIN order_items i USING (order_id) "
        "WHERE o.status = 'returned'",
    )
    await entry(label, "glossary", term="churn", description="accounts lost within a year")

    hits = await retrieve("revenue we lose to returned orders each month", warehouse=label,
                          allowed_tables=ORDER_TABLES, dialect="duckdb")
    assert hits[0].id == returned.id and hits[0].kind == KnowledgeKind.EXAMPLE
    assert hits[0].score > hits[1].score > 0
    assert "churn" not in render_knowledge(hits)
    # identifiers match the words they are made of, and plural the singular
    hits = await retrieve("which products are in the order items", warehouse=label,
                          allowed_tables=ORDER_TABLES, dialect="duckdb")
    assert hits[0].id == items.id
    assert len(await retrieve("revenue", warehouse=label, allowed_tables=ORDER_TABLES, dialect="duckdb",
                              limit=1)) == 1
    assert await retrieve("weather in Lisbon", warehouse=label, allowed_tables=ORDER_TABLES, dialect="duckdb") == []
    assert await retrieve("revenue", warehouse="another", allowed_tables=ORDER_TABLES, dialect="duckdb") == []


async def test_an_example_over_a_forbidden_table_never_reaches_the_model(env, testbot, openai_stub):  # noqa: F811
    openai_stub.script(
        call("run_query", sql="SELECT COUNT(*) AS n FROM orders WHERE status = 'returned'"),
        text("Some orders were returned."),
    )
    bot, label = await start(testbot)
    forbidden = [
        await entry(label, "example", question="How many customers returned orders?",
                    sql="SELECT COUNT(DISTINCT c.customer_id) FROM customers c JOIN orders o USING (customer_id) "
                    "WHERE o.status = 'forbidden-returned'"),
        # a CTE named like an allowed table does not launder the forbidden one
        await entry(label, "example", question="How many returned orders per customer?",
                    sql="WITH orders AS (SELECT * FROM customers) SELECT 'laundered-returned' FROM orders"),
        await entry(label, "table", table="customers", description="returned customers: secret notes"),
        await entry(label, "column", table="main.customers", column="email",
                    description="returned mail: secret addresses"),
    ]
    allowed = await entry(label, "example", question="How many orders were returned?",
                          sql="SELECT COUNT(*) AS n FROM orders WHERE status = 'returned'")

    (reply,) = await bot.say("/ask How many orders were returned?", timeout=60)

    assert reply.payload["rows"]
    sent = everything_sent(openai_stub)
    for needle in ("forbidden-returned", "laundered-returned", "secret notes", "secret addresses"):
        assert needle not in sent
    assert "SQL: SELECT COUNT(*) AS n FROM orders WHERE status = 'returned'" in openai_stub.requests[0].system
    query = await SqlQuery.get(id=reply.payload["query_id"])
    assert query.knowledge_ids == [allowed.id]
    assert not set(query.knowledge_ids) & {e.id for e in forbidden}


async def test_the_prompt_block_is_bounded_best_first(env, testbot):  # noqa: F811
    bot, label = await start(testbot)
    long = [await entry(label, "glossary", term=f"margin {n}", description="margin " + "x" * 1500) for n in range(8)]
    short = await entry(label, "glossary", term="gross margin", description="revenue minus cost")
    entries = await KnowledgeEntry.all()
    hits = select_hits("gross margin", entries, ORDER_TABLES, dialect="duckdb", limit=20)
    assert hits[0].id == short.id
    assert len(render_knowledge(hits)) <= MAX_PROMPT_CHARS
    assert 1 < len(hits) < 1 + len(long)  # the long ones that did not fit were left out


async def test_answer_question_takes_the_hits_as_given(openai_stub, make_settings, agent_demo_file):
    """The eval harness's door: retrieve() elsewhere, answer_question(knowledge=...) here."""
    from venn_plugins.sql_agent.agent import answer_question
    from venn_plugins.sql_agent.llm import build_llm
    from venn_plugins.sql_agent.runner import GuardedSQL
    from venn_plugins.sql_agent.warehouse import SQLAlchemyWarehouse

    openai_stub.script(text("Done."), text("Again."))
    llm = build_llm(make_settings(openai_api_key=KEY, openai_base_url=openai_stub.base_url, llm_model="stub-model"))
    warehouse = SQLAlchemyWarehouse(f"duckdb:///{agent_demo_file}")
    try:
        hits = [
            KnowledgeHit(id=7, kind=KnowledgeKind.EXAMPLE, score=3.5, question="Orders last week?",
                         sql="SELECT COUNT(*)\n  FROM orders", description="weeks start on Monday"),
            KnowledgeHit(id=9, kind=KnowledgeKind.TABLE, score=1.0, table="orders", description="one row per order"),
        ]

        async def quiet(status, data):
            return None

        await answer_question("Orders last week?", llm=llm, sql=GuardedSQL(warehouse, ["orders"]), history=[],
                              on_status=quiet, knowledge=hits)
        await answer_question("Orders last week?", llm=llm, sql=GuardedSQL(warehouse, ["orders"]), history=[],
                              on_status=quiet)
    finally:
        await warehouse.close()
    with_knowledge, without = openai_stub.requests[0].system, openai_stub.requests[1].system
    assert (
        "- Verified example. Question: Orders last week?\n  SQL: SELECT COUNT(*) FROM orders\n"
        "  Note: weeks start on Monday\n- Table orders: one row per order"
    ) in with_knowledge
    assert "Verified example" not in without and "admins" not in without
