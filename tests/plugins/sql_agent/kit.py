"""Shared fixtures of the SQL agent plugin's tests (import them into a test module).

``demo_warehouse_url``: the demo warehouse built once per session, as a DuckDB URL.
``sql_env``: the environment a plugin test runs in: that warehouse (through
``VENN_WAREHOUSE_URL``) and no LLM, whatever the developer's shell has.
"""

from __future__ import annotations

import datetime as dt

import pytest

from venn_plugins.sql_agent.demo import ensure_demo

ALL_TABLES = ["customers", "orders", "order_items", "products"]


@pytest.fixture(scope="session")
def demo_warehouse_url(tmp_path_factory) -> str:
    path, _ = ensure_demo(tmp_path_factory.mktemp("sql-demo"), dt.datetime.now(dt.UTC).date())
    return f"duckdb:///{path}"


@pytest.fixture
def sql_env(monkeypatch, demo_warehouse_url):
    monkeypatch.setenv("VENN_WAREHOUSE_URL", demo_warehouse_url)
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "SNOWFLAKE_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def arrange(client, chat, *, private=False, config=None, enable=True):
    """An admin "boss", "alice", her channel "data" (private: boss is a member too) and a
    thread there with the SQL agent on (``config``, default every demo table)."""
    admin = await chat.user("boss", admin=True)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "data", private=private, members=[admin] if private else ())
    root = await chat.post(alice, channel["id"], "numbers please")
    thread = await chat.thread(alice, channel["id"], root["id"], "sales")
    if enable:
        resp = await client.post(
            f"/api/v1/threads/{thread['id']}/bots",
            json={"plugin": "sql", "config": config or {"allowed_tables": ALL_TABLES}},
            headers=admin.headers,
        )
        assert resp.status == 201, await resp.text()
    return admin, alice, channel, thread
