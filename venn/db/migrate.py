"""Applying migrations: once, whoever starts first, on a schema this version knows.

Any number of ``venn migrate`` and ``venn serve`` may start together on one database:
each takes the migration lock (a PostgreSQL advisory lock, or a file lock beside a
SQLite database), then applies what is still missing, so every migration runs once
and every process comes up. Before applying anything it checks that the database has
no migration this code does not know (a newer Venn already ran there): a process then
refuses to start rather than run on a schema it does not understand.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib
import logging
import pkgutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import asyncpg
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate as tortoise_migrate

log = logging.getLogger("venn.db")

#: the PostgreSQL advisory lock key of migrations ("venn-mig" as a 64-bit integer)
ADVISORY_LOCK_KEY = int.from_bytes(b"venn-mig", "big")
RECORDS_TABLE = "tortoise_migrations"


class SchemaError(Exception):
    """The database's schema cannot be used by this version (the message says why)."""


@contextlib.asynccontextmanager
async def migration_lock(database_url: str) -> AsyncIterator[None]:
    """Held while migrating: one process at a time per database."""
    parsed = urlparse(database_url)
    if parsed.scheme in {"postgres", "postgresql"}:
        conn = await asyncpg.connect(database_url, timeout=10)
        try:
            await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
        finally:
            await conn.close()
        return
    if database_url == "sqlite://:memory:":
        yield
        return
    path = Path(parsed.path + ".migrate-lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        # flock blocks the event loop while another process migrates: this runs before
        # the server serves anything, so there is nothing else to wait on.
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


async def migrate_locked(
    database_url: str, config: dict[str, Any], adopt: dict[tuple[str, str], tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    """Under the migration lock: adopt renamed records, refuse an unknown (newer)
    schema, apply what is missing. Returns the ``(app, name)`` pairs applied."""
    applied: list[tuple[str, str]] = []

    def progress(event: str, app: str, name: str) -> None:
        if event == "apply_done":
            applied.append((app, name))
            log.info("migration applied", extra={"app": app, "migration": name})

    async with migration_lock(database_url):
        try:
            await Tortoise.init(config=config)
            records = await _records(connections.get("default"), adopt or {})
            check_known(config, records)
        finally:
            await Tortoise.close_connections()
            await Tortoise._reset_apps()
        try:
            await tortoise_migrate(config=config, app_labels=list(config["apps"]), progress=progress)
        finally:
            await Tortoise.close_connections()
            await Tortoise._reset_apps()
    return applied


async def _records(conn: Any, adopt: dict[tuple[str, str], tuple[str, str]]) -> set[tuple[str, str]]:
    """The applied migration records, after renaming those another layout made."""
    postgres = conn.capabilities.dialect == "postgres"
    try:
        _, rows = await conn.execute_query(f'SELECT "app", "name" FROM "{RECORDS_TABLE}"')
    except Exception:  # a new database: no records table yet
        return set()
    records = {(row["app"], row["name"]) for row in rows}
    for (old_app, old_name), (new_app, new_name) in adopt.items():
        if (old_app, old_name) in records and (new_app, new_name) not in records:
            marks = [f"${i}" for i in range(1, 5)] if postgres else ["?"] * 4
            await conn.execute_query(
                f'UPDATE "{RECORDS_TABLE}" SET "app" = {marks[0]}, "name" = {marks[1]} '
                f'WHERE "app" = {marks[2]} AND "name" = {marks[3]}',
                [new_app, new_name, old_app, old_name],
            )
            records.discard((old_app, old_name))
            records.add((new_app, new_name))
            log.info("migration record adopted", extra={"old": f"{old_app}.{old_name}", "new": f"{new_app}.{new_name}"})
    return records


def known_migrations(module: str) -> set[str]:
    """The names of the migrations in a migrations package."""
    package = importlib.import_module(module)
    return {info.name for info in pkgutil.iter_modules(package.__path__) if not info.name.startswith("_")}


def check_known(config: dict[str, Any], records: set[tuple[str, str]]) -> None:
    """Raise :class:`SchemaError` when an app of ours has a migration we do not know."""
    unknown = []
    for label, app in config["apps"].items():
        if not app.get("migrations"):
            continue
        known = known_migrations(app["migrations"])
        unknown += [f"{label}.{name}" for (a, name) in sorted(records) if a == label and name not in known]
    if unknown:
        raise SchemaError(
            "The database has migrations this version of Venn does not know ("
            + ", ".join(unknown)
            + "): a newer version ran on it. Run that version, or restore a backup taken before the upgrade."
        )
