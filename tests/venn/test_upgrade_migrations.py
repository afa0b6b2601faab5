"""Upgrading a database in use: the migrations that add columns (the core's
``0002_reply_to``, the SQL agent's ``0004_usage``) apply to a schema that has rows,
on SQLite and PostgreSQL, through ``venn migrate``."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.reliability.kit import base_env, fetch_rows

ROOT = Path(__file__).resolve().parents[2]
ADDED = {
    ("venn", "0002_reply_to"): ("messages", ["reply_to_id"]),
    ("sql", "0004_usage"): ("sql_queries", ["prompt_tokens", "completion_tokens", "total_tokens"]),
}


def venn_migrate(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "venn", "migrate"], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


def execute(database_url: str, statements: list[str]) -> None:
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url[len("sqlite:///"):]) as conn:
            for statement in statements:
                conn.execute(statement)
        return
    import psycopg

    with psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


async def test_the_new_columns_are_added_to_a_database_in_use(tmp_path, database_url):
    env = base_env(tmp_path, DATABASE_URL=database_url)
    first = venn_migrate(env)
    assert first.returncode == 0, first.stderr
    # As the database was before these migrations: without their columns and records, with a row.
    undo = [f"DELETE FROM tortoise_migrations WHERE app = '{app}' AND name = '{name}'" for app, name in ADDED]
    undo += [f"ALTER TABLE {table} DROP COLUMN {column}" for table, columns in ADDED.values() for column in columns]
    undo.append(
        "INSERT INTO sql_queries (channel_id, username, source, question, status, row_count, truncated, elapsed_ms,"
        " allow_csv, created_at) VALUES (1, 'alice', 'ask', 'an old question', 'done', 0, false, 0, true,"
        " '2025-01-01 00:00:00+00:00')"
    )
    execute(database_url, undo)

    upgraded = venn_migrate(env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "applied venn.0002_reply_to" in upgraded.stdout and "applied sql.0004_usage" in upgraded.stdout
    assert await fetch_rows(
        database_url, "SELECT question, prompt_tokens, completion_tokens, total_tokens FROM sql_queries"
    ) == [("an old question", 0, 0, 0)]
    assert await fetch_rows(database_url, "SELECT reply_to_id FROM messages") == []
    again = venn_migrate(env)
    assert again.returncode == 0 and "0 migrations applied" in again.stdout, again.stdout + again.stderr


async def test_channels_made_before_direct_messages_keep_their_kind(tmp_path, database_url):
    """``0003_direct_messages`` gives existing channels the kind they had: public or private."""
    env = base_env(tmp_path, DATABASE_URL=database_url)
    assert venn_migrate(env).returncode == 0
    undo = ["DELETE FROM tortoise_migrations WHERE app = 'venn' AND name = '0003_direct_messages'"]
    if database_url.startswith("sqlite:///"):  # SQLite drops no column that an index uses
        indexes = await fetch_rows(
            database_url, "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '%dm_key%'"
        )
        undo += [f'DROP INDEX "{name}"' for (name,) in indexes]
    undo += ["ALTER TABLE channels DROP COLUMN dm_key", "ALTER TABLE channels DROP COLUMN kind"]
    undo += [
        "INSERT INTO channels (name, topic, is_private, archived, created_at) VALUES"
        f" ('{name}', '', {private}, false, '2025-01-01 00:00:00+00:00')"
        for name, private in (("open", "false"), ("secret", "true"))
    ]
    execute(database_url, undo)

    upgraded = venn_migrate(env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "applied venn.0003_direct_messages" in upgraded.stdout
    rows = await fetch_rows(database_url, "SELECT name, kind, dm_key FROM channels ORDER BY name")
    assert rows == [("open", "public", None), ("secret", "private", None)]


#: the search index as 0007_search makes it, undone: as a database was before the upgrade
UNDO_SEARCH = {
    "postgres": ["DROP INDEX ix_message_body_tsv", "ALTER TABLE messages DROP COLUMN body_tsv"],
    "sqlite": [
        "DROP TRIGGER messages_fts_insert", "DROP TRIGGER messages_fts_update", "DROP TRIGGER messages_fts_delete",
        "DROP TABLE messages_fts",
    ],
}
FOUND = {
    "postgres": "SELECT id FROM messages WHERE body_tsv @@ websearch_to_tsquery('simple', '{q}') ORDER BY id",
    "sqlite": "SELECT rowid FROM messages_fts WHERE messages_fts MATCH '{q}' ORDER BY rowid",
}


async def test_the_search_index_is_built_for_the_messages_already_there(tmp_path, database_url):
    env = base_env(tmp_path, DATABASE_URL=database_url)
    first = venn_migrate(env)
    assert first.returncode == 0, first.stderr
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    no = "0" if backend == "sqlite" else "false"
    execute(database_url, [
        "DELETE FROM tortoise_migrations WHERE app = 'venn' AND name = '0007_search'",
        *UNDO_SEARCH[backend],
        "INSERT INTO users (id, username, username_key, display_name, role, is_bot, token_version, created_at)"
        f" VALUES (1, 'old', 'old', 'old', 'member', {no}, 0, '2025-01-01 00:00:00+00:00')",
        "INSERT INTO channels (id, name, topic, is_private, archived, created_at)"
        f" VALUES (1, 'old', '', {no}, {no}, '2025-01-01 00:00:00+00:00')",
        *(
            "INSERT INTO messages (id, channel_id, author_id, body, kind, created_at, deleted, reply_count)"
            f" VALUES ({i}, 1, 1, '{body}', 'user', '2025-01-01 00:00:00+00:00', {no}, 0)"
            for i, body in ((1, "an old message about otters"), (2, "another old one"))
        ),
    ])

    upgraded = venn_migrate(env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "applied venn.0007_search" in upgraded.stdout
    assert await fetch_rows(database_url, FOUND[backend].format(q="otters")) == [(1,)]
    assert await fetch_rows(database_url, FOUND[backend].format(q="old")) == [(1,), (2,)]
    if backend == "postgres":  # the index the issue names: GIN over the tsvector
        [(definition,)] = await fetch_rows(
            database_url, "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_message_body_tsv'"
        )
        assert "USING gin (body_tsv)" in definition
    # and it follows changes made after the upgrade
    execute(database_url, ["UPDATE messages SET body = 'now about beavers' WHERE id = 1"])
    assert await fetch_rows(database_url, FOUND[backend].format(q="otters")) == []
    assert await fetch_rows(database_url, FOUND[backend].format(q="beavers")) == [(1,)]
