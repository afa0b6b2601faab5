"""Database set-up: Tortoise configuration, migrations, open and close."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as tortoise_migrate

APP_LABEL = "venn"
#: Modules whose models belong to Venn's single Tortoise app. Later layers (bots,
#: plugins) add their tables to the same app so that one migration history covers all.
MODEL_MODULES = ["venn.db.models", "venn_bots.models", "venn_plugins.sql_agent.models"]
MIGRATIONS_MODULE = "venn.db.migrations"
MEMORY_URL = "sqlite://:memory:"

log = logging.getLogger("venn.db")


class PooledConnection(asyncpg.Connection):
    """A pooled PostgreSQL connection handed back without a reset query.

    asyncpg resets a connection on its way back to the pool (unlock advisory locks,
    close cursors, unlisten, reset settings): one more round trip after every query.
    Venn leaves no such state on pooled connections, and an open transaction is still
    rolled back on release.
    """

    def get_reset_query(self) -> str:
        return ""


def tortoise_config(database_url: str, *, pool_max: int = 20) -> dict[str, Any]:
    """The Tortoise ORM configuration for a DATABASE_URL (SQLite or PostgreSQL)."""
    parsed = urlparse(database_url)
    if parsed.scheme == "sqlite":
        if database_url != "sqlite://:memory:":
            Path(parsed.path).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers run beside the single writer; a busy timeout rides out
        # short write locks instead of failing.
        connection: Any = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": ":memory:" if database_url == "sqlite://:memory:" else parsed.path,
                "journal_mode": "wal",
                "journal_size_limit": 16384,
                "foreign_keys": "ON",
            },
        }
    else:
        connection = {
            "engine": "tortoise.backends.asyncpg",
            "credentials": {
                "host": parsed.hostname or "127.0.0.1",
                "port": parsed.port or 5432,
                "user": parsed.username or "postgres",
                "password": parsed.password,
                "database": (parsed.path or "/").lstrip("/") or "postgres",
                "minsize": 1,
                "maxsize": pool_max,
                # A down database must fail requests fast, not hang them.
                "timeout": 5,
                "command_timeout": 30,
                "connection_class": PooledConnection,
            },
        }
    return {
        "connections": {"default": connection},
        "apps": {
            APP_LABEL: {
                "models": list(MODEL_MODULES),
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def apply_migrations(database_url: str) -> None:
    """Bring the schema up to date (idempotent). Leaves no connection open."""
    config = tortoise_config(database_url, pool_max=2)
    try:
        await tortoise_migrate(config=config, app_labels=[APP_LABEL])
    finally:
        await Tortoise.close_connections()
        await _reset()


async def open_database(database_url: str) -> TortoiseContext:
    """Initialise Tortoise for the app: models loaded, connections made lazily."""
    # Tortoise caches generated INSERT statements by connection name, not by backend:
    # a process that opened SQLite before PostgreSQL (the test suite does) must not
    # reuse SQLite's statements.
    EXECUTOR_CACHE.clear()
    ctx = await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)
    return ctx


async def create_schema() -> None:
    """Create every table directly from the models (only for ``sqlite://:memory:``,
    which cannot outlive the connection that the migration runner would close)."""
    await Tortoise.generate_schemas(safe=True)


async def close_database(ctx: TortoiseContext) -> None:
    await ctx.close_connections()
    await _reset()


async def ping() -> None:
    """Raise if the database cannot answer a trivial query."""
    await connections.get("default").execute_query("SELECT 1")


async def _reset() -> None:
    try:
        await Tortoise._reset_apps()
    except Exception:  # pragma: no cover - best effort clean-up
        log.debug("tortoise reset failed", exc_info=True)
