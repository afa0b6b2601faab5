"""Fixtures of the SQL agent plugin's tests."""

from __future__ import annotations

import pytest

# Fixtures every test module here may ask for: the demo warehouse and its environment
# (kit.py), and the plugin test kit's `testbot`.
from tests.plugins.sql_agent.kit import demo_warehouse_url, sql_env  # noqa: F401
from tests.plugins.sql_agent.openai_stub_server import OpenAIStub
from venn.config import Settings
from venn_bots.testing import testbot  # noqa: F401
from venn_plugins.sql_agent.settings import SQLSettings


class CoreAndSQLSettings(Settings, SQLSettings):
    """The core's settings and the plugin's in one object, so that a test can hand the
    same settings to ``create_app`` and to ``build_llm`` / ``open_warehouse``."""


@pytest.fixture
def settings_class() -> type[Settings]:
    """``make_settings(openai_base_url=...)`` builds the core's and the plugin's settings."""
    return CoreAndSQLSettings


@pytest.fixture
async def openai_stub():
    """A scripted OpenAI-compatible server on 127.0.0.1 (see openai_stub_server.py); point
    ``OPENAI_BASE_URL`` (or ``Settings.openai_base_url``) at ``openai_stub.base_url``."""
    stub = await OpenAIStub.start()
    try:
        yield stub
    finally:
        await stub.close()


@pytest.fixture(scope="session")
def agent_demo_file(tmp_path_factory):
    """The DuckDB demo warehouse (built for today), once per session; open it with
    ``SQLAlchemyWarehouse(f"duckdb:///{agent_demo_file}")`` or VENN_WAREHOUSE_URL."""
    from venn_plugins.sql_agent.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("agent-warehouse") / "demo.duckdb")
