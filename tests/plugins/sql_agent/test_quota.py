"""How much may be asked: questions per person and minute, token usage in the audit, and
a thread's daily token budget. Through the plugin in a real Venn (the testbot harness),
over REST (SQLite and PostgreSQL), and with the rate limiter in Redis."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import pytest

from tests.helpers import require_redis, wait_for
from tests.plugins.sql_agent.kit import ALL_TABLES
from tests.plugins.sql_agent.openai_stub_server import call, http_error, text
from venn_plugins.sql_agent import SQLAgentPlugin
from venn_plugins.sql_agent.models import QueryStatus, SqlQuery

TOO_FAST = "You are asking questions faster than this server allows (2 a minute); ask again in "


@pytest.fixture
def env(sql_env, openai_stub):
    """The demo warehouse, the scripted LLM server, and 2 questions a minute per person."""
    sql_env.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    sql_env.setenv("VENN_SQL_QUESTIONS_PER_MINUTE", "2")
    return sql_env


async def start(testbot, **config):  # noqa: F811
    return await testbot(SQLAgentPlugin, config={"allowed_tables": ALL_TABLES, **config})


# Questions per minute ---------------------------------------------------------------------


async def test_a_person_asking_too_fast_is_told_when_to_ask_again(env, testbot, openai_stub):  # noqa: F811
    openai_stub.default = text("Fine.")
    bot = await start(testbot)
    assert [r.body for r in await bot.say("/ask one?")] == ["Fine."]
    assert [r.body for r in await bot.say("@sql two?")] == ["Fine."]  # a mention is a question too
    [slow_down] = await bot.say("/ask three?")
    assert slow_down.body.startswith(TOO_FAST) and slow_down.body.endswith(" s.")
    assert 1 <= int(slow_down.body.removeprefix(TOO_FAST).removesuffix(" s.")) <= 60
    [asked] = [m for m in await bot.history() if m["body"] == "/ask three?"]
    assert slow_down.message["reply_to"] == asked["id"]
    # no agent ran and nothing was audited for it
    assert len(openai_stub.requests) == 2
    assert [q.question for q in await SqlQuery.all().order_by("id")] == ["one?", "two?"]
    # /sql, /tables and /describe are no questions; another person has a count of their own
    [table] = await bot.say("/sql SELECT 1 AS n")
    assert table.payload["rows"] == [[1]]
    bob = await bot.user("bob")
    assert [r.body for r in await bot.say("/ask four?", user=bob)] == ["Fine."]


# Token usage -------------------------------------------------------------------------------


async def test_each_question_records_its_token_usage(env, testbot, openai_stub):  # noqa: F811
    openai_stub.script(
        dataclasses.replace(call("run_query", sql="SELECT COUNT(*) AS n FROM customers"), usage=(120, 30)),
        text("There are 900.", usage=(200, 40)),
        # a question that fails half-way still counts what it used
        dataclasses.replace(call("list_tables"), usage=(50, 10)),
        http_error(500),
        http_error(500),  # the client's one retry
    )
    bot = await start(testbot)
    [answer] = await bot.say("/ask how many customers?", timeout=60)
    [failed] = await bot.say("/ask and orders?", timeout=60)
    assert answer.body.startswith("There are 900.") and "failed (HTTP 500)" in failed.body
    done, error = await SqlQuery.all().order_by("id")
    assert (done.status, done.prompt_tokens, done.completion_tokens, done.total_tokens) == (
        QueryStatus.DONE, 320, 70, 390,
    )
    assert (error.status, error.prompt_tokens, error.completion_tokens, error.total_tokens) == (
        QueryStatus.ERROR, 50, 10, 60,
    )
    # /sql uses no model
    await bot.say("/sql SELECT 1 AS n")
    assert (await SqlQuery.all().order_by("-id").first()).total_tokens == 0


# The daily token budget -------------------------------------------------------------------


async def test_a_spent_budget_stops_questions_before_any_model_call(env, testbot, openai_stub):  # noqa: F811
    env.setenv("VENN_SQL_QUESTIONS_PER_MINUTE", "100")
    openai_stub.default = text("Fine.")  # 10 + 5 tokens a call
    bot = await start(testbot, daily_token_budget=40)
    for n in range(3):  # 15, 30, 45: each started under the budget
        assert [r.body for r in await bot.say(f"/ask question {n}?")] == ["Fine."]
    calls = len(openai_stub.requests)
    [stopped] = await bot.say("@sql one more?")
    assert stopped.body.startswith(
        "This thread has used its daily token budget (45 of 40 tokens today, UTC): ask again after 00:00 UTC (in "
    )
    assert stopped.body.endswith("or ask an admin to raise its daily_token_budget.")
    assert len(openai_stub.requests) == calls  # no model call
    last = await SqlQuery.all().order_by("-id").first()
    assert (last.status, last.error, last.total_tokens) == (QueryStatus.REFUSED, stopped.body, 0)
    assert bot.emitted("llm_response")[-1]["status"] == "error"
    # /sql still works; another thread has its own budget
    [table] = await bot.say("/sql SELECT 2 AS n")
    assert table.payload["rows"] == [[2]]
    other = await bot.new_thread("other")
    await bot.enable("sql", {"allowed_tables": ALL_TABLES, "daily_token_budget": 40}, thread_id=other["id"])
    assert [r.body for r in await bot.say("/ask here?", thread_id=other["id"])] == ["Fine."]
    # yesterday's questions do not count today; an admin can raise the budget
    yesterday = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    await SqlQuery.filter(thread_id=bot.thread["id"]).update(created_at=yesterday)
    assert [r.body for r in await bot.say("/ask a new day?")] == ["Fine."]
    await bot.configure("sql", {"daily_token_budget": 10})
    [stopped] = await bot.say("/ask again?")
    assert "(15 of 10 tokens today, UTC)" in stopped.body
    await bot.configure("sql", {"daily_token_budget": None})
    assert [r.body for r in await bot.say("/ask no limit?")] == ["Fine."]


# Over REST -----------------------------------------------------------------------------------


async def arrange(client, chat, config):
    admin = await chat.user("boss", admin=True)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "data")
    root = await chat.post(alice, channel["id"], "numbers please")
    thread = await chat.thread(alice, channel["id"], root["id"], "sales")
    resp = await client.post(
        f"/api/v1/threads/{thread['id']}/bots", json={"plugin": "sql", "config": config}, headers=admin.headers
    )
    assert resp.status == 201, await resp.text()
    return admin, alice, thread


async def bot_replies(client, person, thread_id, count):
    async def replies():
        resp = await client.get(f"/api/v1/threads/{thread_id}/messages", headers=person.headers)
        found = [m for m in (await resp.json())["messages"] if m["kind"] == "bot"]
        return found if len(found) >= count else None

    return await wait_for(replies, timeout=30)


async def test_llm_query_limits_usage_and_budget_over_rest(env, openai_stub, client, chat):
    openai_stub.default = text("Fine.", usage=(30, 6))
    admin, alice, thread = await arrange(client, chat, {"allowed_tables": ALL_TABLES, "daily_token_budget": 70})
    url = f"/api/v1/threads/{thread['id']}/llm-query"
    for n in range(2):
        resp = await client.post(url, json={"question": f"q{n}"}, headers=alice.headers)
        assert resp.status == 202, await resp.text()
    resp = await client.post(url, json={"question": "q2"}, headers=alice.headers)
    assert resp.status == 429
    error = (await resp.json())["error"]
    assert error["code"] == "rate_limited" and error["message"].startswith(TOO_FAST)
    assert 1 <= int(resp.headers["Retry-After"]) <= 60 and error["retry_after"] == int(resp.headers["Retry-After"])
    # /ask counts against the same limit
    resp = await client.post(
        "/api/v1/messages", json={"channel_id": thread["channel_id"], "body": "/ask q3?", "thread_id": thread["id"]},
        headers=alice.headers,
    )
    replies = await bot_replies(client, alice, thread["id"], 3)
    [slow_down] = [m for m in replies if m["body"].startswith(TOO_FAST)]
    assert slow_down["reply_to"] == (await resp.json())["message"]["id"]
    # the answers over REST answer no message of the thread
    answers = [m for m in replies if m["body"].endswith("Fine.")]
    assert len(answers) == 2 and all(m["reply_to"] is None for m in answers)
    assert await SqlQuery.all().count() == 2

    # the audit shows each question's tokens
    resp = await client.get("/api/v1/admin/queries", headers=admin.headers)
    queries = (await resp.json())["queries"]
    assert [q["usage"] for q in queries] == [{"prompt_tokens": 30, "completion_tokens": 6, "total_tokens": 36}] * 2

    # 72 of 70 tokens: the thread's next question is refused at once, by anyone
    bob = await chat.user("bob")
    resp = await client.post(f"/api/v1/channels/{thread['channel_id']}/join", headers=bob.headers)
    assert resp.status in (200, 201, 204), await resp.text()
    resp = await client.post(url, json={"question": "q4"}, headers=bob.headers)
    assert resp.status == 409
    error = (await resp.json())["error"]
    assert error["code"] == "token_budget_spent" and "(72 of 70 tokens today, UTC)" in error["message"]
    midnight = dt.datetime.now(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    left = (midnight + dt.timedelta(days=1) - dt.datetime.now(dt.UTC)).total_seconds()
    assert 0 < error["retry_after"] <= left + 1
    assert await SqlQuery.all().count() == 2


@pytest.fixture
async def shared_limits():
    """The rate limiter's counters in Redis (this helper's own database), cleared."""
    import redis.asyncio as aioredis

    url = require_redis()
    client = aioredis.from_url(url, decode_responses=True)

    async def clear() -> None:
        keys = [key async for key in client.scan_iter(match="venn:rl:sql-questions:*")]
        if keys:
            await client.delete(*keys)

    await clear()
    yield url, client
    await clear()
    await client.aclose()


async def test_the_limit_holds_across_processes(env, shared_limits, aiohttp_client, make_settings, tmp_path):
    """Another server process counts in the same Redis: its questions count here."""
    from tests.helpers import Chat
    from venn.app import create_app
    from venn.ratelimit import RedisRateLimiter
    from venn_plugins.sql_agent.quota import question_wait

    url, redis = shared_limits
    settings = make_settings(
        database_url=f"sqlite:///{tmp_path / 'venn.db'}", redis_url=url, redis_prefix=f"venntest-h12-{time.time_ns()}:"
    )
    client = await aiohttp_client(create_app(settings))
    chat = Chat(client)
    _, alice, thread = await arrange(client, chat, {"allowed_tables": ALL_TABLES})
    if time.time() % 60 > 50:  # Redis counts per clock minute: start in a fresh one
        await wait_for(lambda: time.time() % 60 < 50, timeout=15, interval=0.5)
    other_process = RedisRateLimiter(redis, f"{settings.redis_prefix}rl:")  # as another process makes it
    assert await question_wait(other_process, alice.id, 2) is None
    assert await question_wait(other_process, alice.id, 2) is None
    resp = await client.post(
        f"/api/v1/threads/{thread['id']}/llm-query", json={"question": "one more?"}, headers=alice.headers
    )
    assert resp.status == 429 and (await resp.json())["error"]["code"] == "rate_limited"
    await client.close()


def test_the_question_limit_is_a_setting(monkeypatch):
    from venn.config import SettingsError, read_settings
    from venn_plugins.sql_agent.settings import SQLSettings

    monkeypatch.delenv("VENN_SQL_QUESTIONS_PER_MINUTE", raising=False)
    assert read_settings(SQLSettings, _env_file=None).sql_questions_per_minute == 10
    monkeypatch.setenv("VENN_SQL_QUESTIONS_PER_MINUTE", "3")
    assert read_settings(SQLSettings, _env_file=None).sql_questions_per_minute == 3
    for bad in ("0", "many", "-1"):
        monkeypatch.setenv("VENN_SQL_QUESTIONS_PER_MINUTE", bad)
        with pytest.raises(SettingsError, match="VENN_SQL_QUESTIONS_PER_MINUTE"):
            read_settings(SQLSettings, _env_file=None)
