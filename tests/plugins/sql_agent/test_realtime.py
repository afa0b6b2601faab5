"""The thread flow with real sockets: /sql sent over Socket.IO, progress and result live."""

from __future__ import annotations

import pytest

from tests.plugins.sql_agent.kit import ALL_TABLES
from tests.plugins.sql_agent.openai_stub_server import call, text
from tests.venn.realtime.kit import Sock


@pytest.fixture
def llm_env(sql_env, openai_stub):
    sql_env.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    return openai_stub


@pytest.fixture
async def socks(client):
    opened: list[Sock] = []

    async def connect(person):
        sock = Sock(str(client.make_url("/")), person)
        opened.append(sock)
        return await sock.connect()

    yield connect
    for sock in opened:
        await sock.close()


def is_bot_answer(data) -> bool:
    return data["message"]["kind"] == "bot"


async def test_sql_and_ask_over_sockets(llm_env, client, chat, socks):
    admin = await chat.user("boss", admin=True)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "data", private=True, members=[admin])
    root = await chat.post(alice, channel["id"], "numbers")
    thread = await chat.thread(alice, channel["id"], root["id"], "sales")
    resp = await client.post(
        f"/api/v1/threads/{thread['id']}/bots",
        json={"plugin": "sql", "config": {"allowed_tables": ALL_TABLES, "max_rows": 10}},
        headers=admin.headers,
    )
    assert resp.status == 201

    sock = await socks(alice)
    await sock.ok("join_thread", {"thread_id": thread["id"]})
    await sock.ok(
        "send_message",
        {"channel_id": channel["id"], "thread_id": thread["id"], "client_msg_id": "q1",
         "body": "/sql SELECT region, COUNT(*) AS customers FROM customers GROUP BY region ORDER BY customers DESC"},
    )
    answer = (await sock.wait("new_message", is_bot_answer, timeout=15))["message"]
    done = await sock.wait("llm_response", lambda d: d["status"] == "done", timeout=15)
    assert done["message_id"] == answer["id"]  # done follows the answer and names it
    progress = sock.of("llm_response", lambda d: d["status"] in ("running_sql", "done"))
    assert [d["status"] for d in progress] == ["running_sql", "done"]
    assert progress[0]["thread_id"] == thread["id"] and progress[0]["sql"].startswith("SELECT region")
    payload = answer["payload"]
    assert answer["author"]["username"] == "sql" and answer["thread_id"] == thread["id"]
    assert payload["type"] == "sql_result" and payload["columns"] == ["region", "customers"]
    assert payload["row_count"] == 5 and sum(r[1] for r in payload["rows"]) == 900
    assert progress[0]["query_id"] == payload["query_id"]
    assert "| region | customers |" in answer["body"]

    # /ask: thinking, running_sql, thinking, the answer, then done
    llm_env.script(
        call("run_query", sql="SELECT COUNT(*) AS n FROM orders WHERE status = 'pending'"),
        text("Some orders are still pending."),
    )
    await sock.ok(
        "send_message",
        {"channel_id": channel["id"], "thread_id": thread["id"], "client_msg_id": "q2",
         "body": "/ask how many orders are pending?"},
    )
    second = (await sock.wait(
        "new_message", lambda d: is_bot_answer(d) and d["message"]["id"] != answer["id"], timeout=15
    ))["message"]
    assert second["body"].startswith("Some orders are still pending.")
    await sock.wait("llm_response", lambda d: d["status"] == "done" and d.get("message_id") == second["id"], timeout=15)
    statuses = [d["status"] for d in sock.of("llm_response", lambda d: d["query_id"] == second["payload"]["query_id"])]
    assert statuses == ["thinking", "running_sql", "thinking", "done"]

    # the result as CSV for a member; an outsider can neither join the thread nor read it
    resp = await client.get(payload["csv_url"], headers=alice.headers)
    assert resp.status == 200 and (await resp.text()).startswith("region,customers\r\n")
    eve = await chat.user("eve")
    eve_sock = await socks(eve)
    assert (await eve_sock.error("join_thread", {"thread_id": thread["id"]}))["code"] == "not_found"
    assert (await client.get(payload["csv_url"], headers=eve.headers)).status == 404
    assert eve_sock.of("llm_response") == [] and eve_sock.of("new_message") == []
