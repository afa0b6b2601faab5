"""The full-text index of message bodies, on either backend.

PostgreSQL: a stored generated column ``messages.body_tsv`` (``to_tsvector('simple', body)``)
with a GIN index. The ``simple`` configuration lower-cases words and nothing more: no
stemming and no stop words, so a search finds the words as typed in any language
(an English stemmer would mangle other languages, and drop words such as "it").

SQLite: an FTS5 table ``messages_fts`` with ``messages`` as its external content (the
bodies are not stored twice), kept in step by triggers on insert, update and delete.
Its tokenizer (``unicode61``, diacritics kept) splits and folds words as PostgreSQL's
``simple`` does for ordinary text.

Deleted messages have an empty body, so they leave the index as they are deleted.
:func:`install_search_index` is run by migration ``0007_search`` and by the in-memory
schema; it indexes the messages already there.
"""

from __future__ import annotations

from typing import Any

POSTGRES = [
    "ALTER TABLE messages ADD COLUMN IF NOT EXISTS body_tsv tsvector"
    " GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED",
    "CREATE INDEX IF NOT EXISTS ix_message_body_tsv ON messages USING GIN (body_tsv)",
]

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5("
    "body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_insert AFTER INSERT ON messages BEGIN"
    " INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_delete AFTER DELETE ON messages BEGIN"
    " INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body); END",
    "CREATE TRIGGER IF NOT EXISTS messages_fts_update AFTER UPDATE OF body ON messages BEGIN"
    " INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);"
    " INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body); END",
    # index the rows already there (an upgrade)
    "INSERT INTO messages_fts (messages_fts) VALUES ('rebuild')",
]


def statements(dialect: str) -> list[str]:
    """The statements that build the index on ``dialect`` ("postgres" or "sqlite")."""
    return POSTGRES if dialect == "postgres" else SQLITE


async def install_search_index(conn: Any) -> None:
    """Build the search index on a Tortoise connection (idempotent)."""
    for statement in statements(conn.capabilities.dialect):
        await conn.execute_query(statement)
