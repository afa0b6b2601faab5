"""Database set-up: Tortoise configuration, migrations, open and close."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import asyncpg
from tortoise import Tortoise, connections
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext

if TYPE_CHECKING:
    from venn.extension import Extension

APP_LABEL = "venn"
#: The core's models and migration history (Tortoise app ``venn``). Each plugin with
#: tables is an app of its own, labelled with its name (see :func:`tortoise_config`).
MODEL_MODULES = ["venn.db.models"]
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


def tortoise_config(
    database_url: str, *, pool_max: int = 20, extensions: Sequence[type[Extension]] = ()
) -> dict[str, Any]:
    """The Tortoise ORM configuration for a DATABASE_URL (SQLite or PostgreSQL): the
    core's app ``venn`` and one app per plugin that has models."""
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
    apps: dict[str, Any] = {
        APP_LABEL: {"models": list(MODEL_MODULES), "default_connection": "default", "migrations": MIGRATIONS_MODULE}
    }
    for ext in extensions:
        if ext.models:
            apps[ext.name] = {"models": list(ext.models), "default_connection": "default"}
            if ext.migrations:
                apps[ext.name]["migrations"] = ext.migrations
    return {
        "connections": {"default": connection},
        "apps": apps,
        "use_tz": True,
        "timezone": "UTC",
    }


async def apply_migrations(
    database_url: str, extensions: Sequence[type[Extension]] | None = None
) -> list[tuple[str, str]]:
    """Bring the schema up to date (idempotent; safe with many processes at once) and
    return the ``(app, migration)`` pairs applied. ``extensions``: the plugins whose
    tables to migrate (default: every installed one). Leaves no connection open."""
    from venn.db.migrate import migrate_locked
    from venn.extensions import discover_extensions

    installed = discover_extensions().enabled
    if extensions is None:
        extensions = installed
    # Records that an older layout kept under another app are renamed for every
    # installed plugin, enabled or not (a disabled plugin's old record is not "unknown").
    adopt = {old: (ext.name, new) for ext in installed for old, new in ext.adopts_migrations.items()}
    config = tortoise_config(database_url, pool_max=2, extensions=extensions)
    return await migrate_locked(database_url, config, adopt)


async def open_database(
    database_url: str, extensions: Sequence[type[Extension]] | None = None
) -> TortoiseContext:
    """Initialise Tortoise for the app: models loaded, connections made lazily."""
    # Tortoise caches generated INSERT statements by connection name, not by backend:
    # a process that opened SQLite before PostgreSQL (the test suite does) must not
    # reuse SQLite's statements.
    EXECUTOR_CACHE.clear()
    if extensions is None:
        from venn.extensions import discover_extensions

        extensions = discover_extensions().enabled
    ctx = await Tortoise.init(
        config=tortoise_config(database_url, extensions=extensions), _enable_global_fallback=True
    )
    return ctx


async def create_schema() -> None:
    """Create every table directly from the models (only for ``sqlite://:memory:``,
    which cannot outlive the connection that the migration runner would close)."""
    from venn.db.search_index import install_search_index

    await Tortoise.generate_schemas(safe=True)
    await install_search_index(connections.get("default"))


async def close_database(ctx: TortoiseContext) -> None:
    await ctx.close_connections()
    await _reset()


async def ping() -> None:
    """Raise if the database cannot answer a trivial query."""
    await connections.get("default").execute_query("SELECT 1")


async def reset() -> None:
    """Forget Tortoise's apps and models (after closing its connections)."""
    await _reset()


async def _reset() -> None:
    try:
        await Tortoise._reset_apps()
    except Exception:  # pragma: no cover - best effort clean-up
        log.debug("tortoise reset failed", exc_info=True)
