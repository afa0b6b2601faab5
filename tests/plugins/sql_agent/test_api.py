"""The SQL agent over REST: llm-query, result CSV and the admin audit (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from tests.helpers import wait_for
from tests.plugins.sql_agent.kit import arrange
from tests.plugins.sql_agent.openai_stub_server import call, text
from venn_plugins.sql_agent.models import SqlQuery


@pytest.fixture
def env(sql_env):
    return sql_env


async def bot_replies(client, person, thread_id, count=1):
    async def replies():
        resp = await client.get(f"/api/v1/threads/{thread_id}/messages", headers=person.headers)
        found = [m for m in (await resp.json())["messages"] if m["kind"] == "bot"]
        return found if len(found) >= count else None

    return await wait_for(replies, timeout=15)


async def run_sql(client, chat, person, channel, thread, sql, count=1):
    await chat.post(person, channel["id"], f"/sql {sql}", thread_id=thread["id"])
    return (await bot_replies(client, person, thread["id"], count))[-1]


async def test_enabling_with_a_bad_config_is_refused_with_the_fields(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat, enable=False)
    resp = await client.post(
        f"/api/v1/threads/{thread['id']}/bots",
        json={"plugin": "sql", "config": {"allowed_tables": ["ok", "not a table!"], "max_rows": 0}},
        headers=admin.headers,
    )
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "validation_error"
    assert {f["field"] for f in error["fields"]} == {"config.allowed_tables", "config.max_rows"}
    resp = await client.post(f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "sql"}, headers=admin.headers)
    assert resp.status == 422
    assert [f["field"] for f in (await resp.json())["error"]["fields"]] == ["config.allowed_tables"]


async def test_llm_query_checks_access_and_enablement(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat, private=True, enable=False)
    url = f"/api/v1/threads/{thread['id']}/llm-query"
    resp = await client.post(url, json={"question": "revenue?"}, headers=alice.headers)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "plugin_not_enabled"
    resp = await client.post(
        f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "sql", "config": {"allowed_tables": ["orders"]}},
        headers=admin.headers,
    )
    assert resp.status == 201
    eve = await chat.user("eve")
    resp = await client.post(url, json={"question": "revenue?"}, headers=eve.headers)
    assert resp.status == 404  # a private channel's thread does not exist for outsiders
    resp = await client.post("/api/v1/threads/999999/llm-query", json={"question": "x"}, headers=alice.headers)
    assert resp.status == 404
    resp = await client.post(url, json={"question": "   "}, headers=alice.headers)
    assert resp.status == 422
    resp = await client.post(url, json={"question": "x" * 4001}, headers=alice.headers)
    assert resp.status == 422
    assert await SqlQuery.all().count() == 0


@pytest.fixture
def stub_env(sql_env, openai_stub):
    """The environment with the scripted OpenAI-compatible server as the LLM (set before
    the app starts: list it before ``client``)."""
    sql_env.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    return openai_stub


async def test_llm_query_answers_in_the_thread_like_ask(stub_env, client, chat):
    stub_env.script(
        call("run_query", sql="SELECT COUNT(*) AS customers FROM customers"),
        text("There are 900 customers."),
    )
    admin, alice, channel, thread = await arrange(client, chat)
    resp = await client.post(
        f"/api/v1/threads/{thread['id']}/llm-query", json={"question": "How many customers?"}, headers=alice.headers
    )
    assert resp.status == 202, await resp.text()
    accepted = await resp.json()
    assert set(accepted) == {"query_id", "status"} and accepted["status"] == "queued"
    [reply] = await bot_replies(client, alice, thread["id"])
    assert reply["body"].startswith("@alice asked: How many customers?\n\nThere are 900 customers.")
    assert reply["payload"]["query_id"] == accepted["query_id"]
    assert reply["payload"]["rows"] == [[900]] and reply["payload"]["question"] == "How many customers?"
    query = await SqlQuery.get(id=accepted["query_id"])
    assert query.status == "done" and query.source == "api" and query.user_id == alice.id


async def test_llm_query_without_an_llm_says_how_to_configure(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat)
    resp = await client.post(
        f"/api/v1/threads/{thread['id']}/llm-query", json={"question": "revenue by region"}, headers=alice.headers
    )
    assert resp.status == 202
    [reply] = await bot_replies(client, alice, thread["id"])
    assert reply["body"].startswith("@alice asked: revenue by region") and "OPENAI_BASE_URL" in reply["body"]
    assert (await SqlQuery.get(id=(await resp.json())["query_id"])).status == "error"


async def test_result_csv(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat, private=True)
    reply = await run_sql(
        client, chat, alice, channel, thread,
        "SELECT customer_id, name, '=1+1' AS formula, NULL AS nothing FROM customers ORDER BY customer_id LIMIT 3",
    )
    url = reply["payload"]["csv_url"]
    resp = await client.get(url, headers=alice.headers)
    assert resp.status == 200
    assert resp.content_type == "text/csv" and resp.charset == "utf-8"
    assert resp.headers["Content-Disposition"] == f'attachment; filename="venn-query-{reply["payload"]["query_id"]}.csv"'
    rows = list(csv.reader(io.StringIO(await resp.text())))
    assert rows == [
        ["customer_id", "name", "formula", "nothing"],
        ["1", "Amara Tanaka", "'=1+1", ""],  # a formula-like text stays text in a spreadsheet
        ["2", "Fatima King", "'=1+1", ""],
        ["3", "Mateo Shah", "'=1+1", ""],
    ]
    # someone outside the private channel cannot read it, nor learn it exists
    eve = await chat.user("eve")
    resp = await client.get(url, headers=eve.headers)
    assert resp.status == 404
    assert (await client.get(url)).status == 401
    assert (await client.get("/api/v1/queries/424242/result.csv", headers=alice.headers)).status == 404


async def test_csv_refused_when_the_thread_turns_it_off(env, client, chat):
    admin, alice, channel, thread = await arrange(
        client, chat, config={"allowed_tables": ["customers"], "allow_csv": False}
    )
    reply = await run_sql(client, chat, alice, channel, thread, "SELECT name FROM customers LIMIT 1")
    assert reply["payload"]["csv_url"] is None
    resp = await client.get(f"/api/v1/queries/{reply['payload']['query_id']}/result.csv", headers=alice.headers)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "csv_not_allowed"
    # turned off later: earlier results are no longer downloadable either
    resp = await client.patch(
        f"/api/v1/threads/{thread['id']}/bots/sql", json={"config": {"allow_csv": True}}, headers=admin.headers
    )
    assert resp.status == 200
    ok = await run_sql(client, chat, alice, channel, thread, "SELECT name FROM customers LIMIT 1", count=2)
    assert (await client.get(ok["payload"]["csv_url"], headers=alice.headers)).status == 200
    await client.patch(
        f"/api/v1/threads/{thread['id']}/bots/sql", json={"config": {"allow_csv": False}}, headers=admin.headers
    )
    assert (await client.get(ok["payload"]["csv_url"], headers=alice.headers)).status == 403


async def test_admin_audit_lists_questions_with_statements_and_filters(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat, config={"allowed_tables": ["customers"]})
    bob = await chat.user("bob")
    resp = await client.post(f"/api/v1/channels/{channel['id']}/members", json={"user_id": bob.id}, headers=alice.headers)
    assert resp.status == 201
    await run_sql(client, chat, alice, channel, thread, "SELECT name FROM customers LIMIT 2")
    await run_sql(client, chat, bob, channel, thread, "SELECT * FROM orders", count=2)
    await run_sql(client, chat, alice, channel, thread, "DELETE FROM customers", count=3)

    resp = await client.get("/api/v1/admin/queries", headers=alice.headers)
    assert resp.status == 403
    resp = await client.get("/api/v1/admin/queries", headers=admin.headers)
    assert resp.status == 200
    page = await resp.json()
    assert page["has_more"] is False
    queries = page["queries"]
    assert [q["user"]["username"] for q in queries] == ["alice", "bob", "alice"]  # newest first
    delete, orders, ok = queries
    assert ok["status"] == "done" and ok["source"] == "sql" and ok["row_count"] == 2
    [stmt] = ok["statements"]
    assert stmt["verdict"] == "allowed" and stmt["kind"] == "run" and stmt["sql_run"].endswith("LIMIT 2")
    assert orders["status"] == "refused" and "orders" in orders["statements"][0]["reason"].lower()
    assert delete["statements"][0]["verdict"] == "refused" and delete["statements"][0]["sql_run"] is None

    async def ids(**params):
        resp = await client.get("/api/v1/admin/queries", params=params, headers=admin.headers)
        assert resp.status == 200, await resp.text()
        return [q["id"] for q in (await resp.json())["queries"]]

    assert await ids(user_id=bob.id) == [orders["id"]]
    assert await ids(verdict="refused") == [delete["id"], orders["id"]]
    assert await ids(verdict="allowed") == [ok["id"]]
    assert await ids(status="done", thread_id=thread["id"]) == [ok["id"]]
    assert await ids(thread_id=thread["id"] + 1000) == []
    now = dt.datetime.now(dt.UTC)
    assert await ids(since=(now - dt.timedelta(minutes=5)).isoformat()) == [delete["id"], orders["id"], ok["id"]]
    assert await ids(until=(now - dt.timedelta(minutes=5)).isoformat()) == []
    # keyset paging, newest first
    resp = await client.get("/api/v1/admin/queries", params={"limit": 2}, headers=admin.headers)
    first = await resp.json()
    assert [q["id"] for q in first["queries"]] == [delete["id"], orders["id"]] and first["has_more"] is True
    assert await ids(limit=2, before=orders["id"]) == [ok["id"]]
    resp = await client.get("/api/v1/admin/queries", params={"verdict": "maybe"}, headers=admin.headers)
    assert resp.status == 422
