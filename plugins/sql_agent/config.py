"""The SQL agent's per-place configuration (what an admin sets when enabling it) and
its limits, apart from the plugin class so that its REST routes can read them."""

from __future__ import annotations

from pydantic import Field, field_validator

from venn_bots import PluginConfig
from venn_plugins.sql_agent.runner import is_table_name

__all__ = ["LLM_QUERY_EVENT", "PLUGIN_NAME", "SQLConfig"]

#: the plugin's name (its bot user, its Tortoise app, VENN_PLUGINS_DISABLED)
PLUGIN_NAME = "sql"
MAX_ROWS_LIMIT = 10_000
MAX_TIMEOUT_SECONDS = 300
MAX_TABLES = 200
#: the runtime's backstop for /sql: one statement's timeout and some slack
SQL_HANDLER_TIMEOUT = MAX_TIMEOUT_SECONDS + 30
#: the runtime's backstop for /ask: the agent has its own, shorter budget (:func:`ask_budget`)
ASK_HANDLER_TIMEOUT = 3 * MAX_TIMEOUT_SECONDS + 60
#: the agent's model calls per question
MAX_STEPS = 8
#: the event the REST endpoint's jobs carry (see venn_plugins.sql_agent.api)
LLM_QUERY_EVENT = "llm_query"
#: where admins (and the web client's form) find the warehouse's tables
TABLES_URL = "/api/v1/sql/tables"
MAX_DAILY_TOKEN_BUDGET = 1_000_000_000


class SQLConfig(PluginConfig):
    """What an admin sets when enabling the SQL agent in a thread or channel."""

    allowed_tables: list[str] = Field(
        min_length=1,
        max_length=MAX_TABLES,
        description="Tables the agent may read: TABLE, SCHEMA.TABLE or DB.SCHEMA.TABLE.",
        # the web client's form offers the warehouse's tables to tick (docs/plugins.md)
        json_schema_extra={"x-venn-options": TABLES_URL},
    )
    max_rows: int = Field(100, ge=1, le=MAX_ROWS_LIMIT, description="Rows a query returns at most.")
    timeout_seconds: int = Field(
        60, ge=1, le=MAX_TIMEOUT_SECONDS, description="Seconds one statement may run in the warehouse."
    )
    allow_csv: bool = Field(True, description="Thread members may download results as CSV.")
    daily_token_budget: int | None = Field(
        None,
        ge=1,
        le=MAX_DAILY_TOKEN_BUDGET,
        description="Language-model tokens the questions of a thread may use per UTC day (none: no limit).",
    )

    @field_validator("allowed_tables")
    @classmethod
    def _check_tables(cls, value: list[str]) -> list[str]:
        names: list[str] = []
        for raw in value:
            name = str(raw).strip()
            if not is_table_name(name):
                raise ValueError(f"{name[:80]!r} is not a table name: use TABLE, SCHEMA.TABLE or DB.SCHEMA.TABLE")
            if name not in names:
                names.append(name)
        return names
