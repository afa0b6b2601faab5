"""The curated knowledge over REST: admins write, thread members read what their thread's
questions may get, outsiders get nothing; the "verified" action (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.plugins.sql_agent.kit import arrange as kit_arrange
from venn_plugins.sql_agent.knowledge import KnowledgeEntry
from venn_plugins.sql_agent.models import QuerySource, QueryStatus, SqlQuery

URL = "/api/v1/sql/knowledge"
ORDERS_ONLY = {"allowed_tables": ["orders", "order_items"]}

GLOSSARY = {"kind": "glossary", "term": "active customer", "description": "ordered in the last 90 days"}
ORDERS = {"kind": "table", "table": "orders", "description": "One row per order; cancelled ones included."}
STATUS = {"kind": "column", "table": "orders", "column": "status", "description": "returned means refunded"}
SECRET_TABLE = {"kind": "table", "table": "customers", "description": "the secret customer notes"}
SECRET_EXAMPLE = {
    "kind": "example", "question": "Which customers are in Europe?",
    "sql": "SELECT name FROM customers WHERE region = 'the secret region'",
}
ORDERS_EXAMPLE = {
    "kind": "example", "question": "How many orders were returned?",
    "sql": "SELECT COUNT(*) AS n FROM orders WHERE status = 'returned'", "description": "count, not revenue",
}


@pytest.fixture
def env(sql_env):
    return sql_env


async def arrange(client, chat, **options):
    """kit.arrange, with the orders tables only by default."""
    options.setdefault("config", ORDERS_ONLY)
    return await kit_arrange(client, chat, **options)


async def add(client, admin, body) -> dict:
    resp = await client.post(URL, json=body, headers=admin.headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def listing(client, person, **params) -> dict:
    resp = await client.get(URL, params={k: str(v) for k, v in params.items()}, headers=person.headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_admins_write_entries_of_the_running_warehouse_and_list_them(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat)
    glossary = await add(client, admin, GLOSSARY)
    assert glossary["kind"] == "glossary" and glossary["term"] == "active customer"
    assert glossary["created_by"] == {"id": admin.id, "username": "boss"}
    label = glossary["warehouse"]
    assert label and label == (await listing(client, admin))["warehouse"]
    example = await add(client, admin, ORDERS_EXAMPLE)
    column = await add(client, admin, STATUS)

    page = await listing(client, admin)
    assert [e["id"] for e in page["entries"]] == [column["id"], example["id"], glossary["id"]]  # newest first
    assert page["has_more"] is False
    assert [e["id"] for e in (await listing(client, admin, kind="example"))["entries"]] == [example["id"]]
    assert [e["id"] for e in (await listing(client, admin, q="REFUNDED"))["entries"]] == [column["id"]]
    first = await listing(client, admin, limit=2)
    assert len(first["entries"]) == 2 and first["has_more"] is True
    rest = await listing(client, admin, limit=2, before=first["entries"][-1]["id"])
    assert [e["id"] for e in rest["entries"]] == [glossary["id"]]

    resp = await client.patch(f"{URL}/{column['id']}", json={"description": "returned: refunded in full"},
                              headers=admin.headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["description"] == "returned: refunded in full"
    resp = await client.delete(f"{URL}/{glossary['id']}", headers=admin.headers)
    assert resp.status == 204
    assert await KnowledgeEntry.filter(id=glossary["id"]).count() == 0
    resp = await client.delete(f"{URL}/{glossary['id']}", headers=admin.headers)
    assert resp.status == 404
    # another warehouse's entries are kept apart
    other = await add(client, admin, {**GLOSSARY, "warehouse": "Snowflake account xy123"})
    assert other["id"] not in [e["id"] for e in (await listing(client, admin))["entries"]]
    assert [e["id"] for e in (await listing(client, admin, warehouse="Snowflake account xy123"))["entries"]] == [
        other["id"]
    ]


async def test_members_only_read_and_only_what_their_thread_may_see(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat)
    seen = [await add(client, admin, body) for body in (GLOSSARY, ORDERS, STATUS, ORDERS_EXAMPLE)]
    for body in (SECRET_TABLE, SECRET_EXAMPLE):
        await add(client, admin, body)

    resp = await client.get(URL, params={"thread_id": thread["id"]}, headers=alice.headers)
    assert resp.status == 200
    text = await resp.text()
    assert "secret" not in text  # the customers table is not on this thread's allow-list
    assert sorted(e["id"] for e in (await resp.json())["entries"]) == sorted(e["id"] for e in seen)

    # a member writes nothing
    for method, url, body in (
        ("POST", URL, GLOSSARY), ("PATCH", f"{URL}/{seen[0]['id']}", {"description": "mine"}),
        ("DELETE", f"{URL}/{seen[0]['id']}", None),
    ):
        resp = await client.request(method, url, json=body, headers=alice.headers)
        assert resp.status == 403, (method, await resp.text())
        assert (await resp.json())["error"]["code"] == "forbidden"
    assert (await KnowledgeEntry.get(id=seen[0]["id"])).description == GLOSSARY["description"]
    # and lists nothing without naming the thread
    resp = await client.get(URL, headers=alice.headers)
    assert resp.status == 403


async def test_outsiders_get_nothing(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat, private=True)
    await add(client, admin, ORDERS_EXAMPLE)
    eve = await chat.user("eve")
    resp = await client.get(URL, params={"thread_id": thread["id"]}, headers=eve.headers)
    assert resp.status == 404  # a private channel's thread does not exist for outsiders
    assert "returned" not in await resp.text()
    resp = await client.get(URL, params={"thread_id": 999_999}, headers=alice.headers)
    assert resp.status == 404

    # a public channel's thread: visible, but not to those who did not join
    public = await chat.channel(alice, "open-data")
    root = await chat.post(alice, public["id"], "more numbers")
    open_thread = await chat.thread(alice, public["id"], root["id"])
    resp = await client.post(f"/api/v1/threads/{open_thread['id']}/bots",
                             json={"plugin": "sql", "config": ORDERS_ONLY}, headers=admin.headers)
    assert resp.status == 201
    resp = await client.get(URL, params={"thread_id": open_thread["id"]}, headers=eve.headers)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "not_a_member"

    # a thread without the SQL agent has no knowledge to read
    root = await chat.post(alice, public["id"], "no sql here")
    plain = await chat.thread(alice, public["id"], root["id"])
    resp = await client.get(URL, params={"thread_id": plain["id"]}, headers=alice.headers)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "plugin_not_enabled"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"kind": "glossary", "term": "active customer"}, {"description"}),
        ({"kind": "table", "description": "x"}, {"table"}),
        ({"kind": "column", "table": "orders", "description": "x"}, {"column"}),
        ({"kind": "example", "question": "How many?"}, {"sql"}),
        ({"kind": "glossary", "term": "t", "description": "d", "sql": "SELECT 1"}, {"sql"}),
        ({"kind": "table", "table": "not a table!", "description": "x"}, {"table"}),
        ({"kind": "example", "question": "q", "sql": "DELETE FROM orders"}, {"sql"}),
        ({"kind": "example", "question": "q", "sql": "SELECT 1; SELECT 2"}, {"sql"}),
        ({"kind": "lesson", "description": "x"}, {"kind"}),
        ({"kind": "glossary", "term": "t", "description": "d", "colour": "red"}, {"colour"}),
        ({"kind": "glossary", "term": "t", "description": "x" * 4001}, {"description"}),
        ({"kind": "glossary", "term": "   ", "description": "d"}, {"term"}),
    ],
)
async def test_bodies_that_do_not_fit_are_refused_naming_the_fields(env, client, chat, body, fields):
    admin = await chat.user("boss", admin=True)
    resp = await client.post(URL, json=body, headers=admin.headers)
    assert resp.status == 422, await resp.text()
    error = (await resp.json())["error"]
    assert error["code"] == "validation_error"
    assert {f["field"] for f in error["fields"]} == fields
    assert await KnowledgeEntry.all().count() == 0


async def test_an_example_with_a_write_is_refused_with_the_guards_reason(env, client, chat):
    admin = await chat.user("boss", admin=True)
    example = await add(client, admin, ORDERS_EXAMPLE)
    resp = await client.patch(f"{URL}/{example['id']}", json={"sql": "DROP TABLE orders"}, headers=admin.headers)
    assert resp.status == 422
    [field] = (await resp.json())["error"]["fields"]
    assert field["field"] == "sql" and "DROP" in field["message"] and "not allowed" in field["message"]
    assert (await KnowledgeEntry.get(id=example["id"])).sql == ORDERS_EXAMPLE["sql"]
    resp = await client.patch(f"{URL}/{example['id']}", json={"question": None}, headers=admin.headers)
    assert resp.status == 422 and (await resp.json())["error"]["fields"][0]["field"] == "question"
    resp = await client.patch(f"{URL}/{example['id']}", json={"kind": "glossary"}, headers=admin.headers)
    assert resp.status == 422
    resp = await client.patch(f"{URL}/999999", json={"description": "x"}, headers=admin.headers)
    assert resp.status == 404


async def answered(thread, user, **fields) -> SqlQuery:
    values = {
        "thread_id": thread["id"], "channel_id": thread["channel_id"], "user_id": user.id, "username": user.username,
        "source": QuerySource.ASK, "question": "How many orders were returned last month?",
        "status": QueryStatus.DONE, "sql": "SELECT COUNT(*) AS n FROM orders WHERE status = 'returned' LIMIT 100",
        "columns": ["n"], "rows": [[42]], "row_count": 1,
    }
    values.update(fields)
    return await SqlQuery.create(**values)


async def test_an_admin_saves_an_answer_as_a_verified_example(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat)
    query = await answered(thread, alice)
    url = f"/api/v1/queries/{query.id}/verify"
    resp = await client.post(url, headers=alice.headers)
    assert resp.status == 403
    assert await KnowledgeEntry.all().count() == 0

    resp = await client.post(url, headers=admin.headers)
    assert resp.status == 201, await resp.text()
    entry = await resp.json()
    assert entry["kind"] == "example" and entry["source_query_id"] == query.id
    assert entry["question"] == query.question and entry["sql"] == query.sql
    # saving it again gives the same example
    resp = await client.post(url, headers=admin.headers)
    assert resp.status == 200 and (await resp.json())["id"] == entry["id"]
    assert await KnowledgeEntry.all().count() == 1
    # thread members now read it
    page = await listing(client, alice, thread_id=thread["id"])
    assert [e["id"] for e in page["entries"]] == [entry["id"]]

    failed = await answered(thread, alice, status=QueryStatus.ERROR, sql=None)
    command = await answered(thread, alice, source=QuerySource.SQL, question="")
    for bad in (failed, command):
        resp = await client.post(f"/api/v1/queries/{bad.id}/verify", headers=admin.headers)
        assert resp.status == 409 and (await resp.json())["error"]["code"] == "not_verifiable"
    resp = await client.post("/api/v1/queries/999999/verify", headers=admin.headers)
    assert resp.status == 404
