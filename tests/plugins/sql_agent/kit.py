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
