"""The SQL agent's memory of a thread: its last few questions, their SQL and a digest.

Kept in the plugin's thread storage (:class:`venn_bots.storage.KVStore`, in the database), so
a follow-up question sees the earlier ones after a restart too. Each question is one key,
``agent_history/<time>-<random>`` (so two questions answered at once in one thread, even
by two server processes, never overwrite each other), and the oldest keys beyond the
last :data:`MAX_QUESTIONS` are deleted. Each field is clipped, so the prompt stays small
whatever the thread asked before.
"""

from __future__ import annotations

import datetime
import json
import secrets
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from venn_bots.storage import KVStore
    from venn_plugins.sql_agent.agent import AgentAnswer
    from venn_plugins.sql_agent.warehouse import QueryResult

#: the prefix of the storage keys of the history (one key per question)
PREFIX = "agent_history/"
#: questions remembered per thread
MAX_QUESTIONS = 5
MAX_QUESTION_CHARS = 500
MAX_SQL_CHARS = 2_000
MAX_DIGEST_CHARS = 600
MAX_ANSWER_CHARS = 400
#: rows of a result kept in its digest
DIGEST_ROWS = 3


def _clip(text: str, limit: int, *, collapse: bool = True) -> str:
    text = " ".join(str(text).split()) if collapse else str(text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _value(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 40 else value[:39] + "…", ensure_ascii=False)
    return json.dumps(value, default=str, ensure_ascii=False)


def digest(result: QueryResult | None) -> str:
    """A short text about a result: row count, columns and the first few rows."""
    if result is None:
        return "no query ran"
    head = f"{result.row_count} row(s)" + (" (cut at the row limit)" if result.truncated else "")
    text = f"{head}; columns: {', '.join(result.columns)}"
    if result.rows:
        rows = "; ".join("(" + ", ".join(_value(v) for v in row) + ")" for row in result.rows[:DIGEST_ROWS])
        more = " …" if result.row_count > DIGEST_ROWS else ""
        text += f"; first rows: {rows}{more}"
    return _clip(text, MAX_DIGEST_CHARS)


def _valid(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("question"), str)


async def load_history(store: KVStore) -> list[dict[str, Any]]:
    """The thread's remembered questions, oldest first:
    ``[{"question", "sql", "digest", "answer", "at"}]`` (``sql`` may be None)."""
    items = await store.items(PREFIX)  # ordered by key: oldest first
    return [dict(item) for item in items.values() if _valid(item)][-MAX_QUESTIONS:]


async def remember(store: KVStore, question: str, answer: AgentAnswer) -> None:
    """Add a question and its answer to the thread's memory, keeping the last :data:`MAX_QUESTIONS`."""
    entry = {
        "question": _clip(question.strip(), MAX_QUESTION_CHARS),
        "sql": _clip(answer.sql, MAX_SQL_CHARS, collapse=False) if answer.sql else None,
        "digest": digest(answer.result),
        "answer": _clip(answer.text.strip(), MAX_ANSWER_CHARS) if answer.text else "",
        "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    await store.set(f"{PREFIX}{time.time_ns():020d}-{secrets.token_hex(4)}", entry)
    keys = await store.keys(PREFIX)
    for key in keys[:-MAX_QUESTIONS]:
        await store.delete(key)


async def forget(store: KVStore) -> int:
    """Clear the thread's memory; returns how many questions were forgotten."""
    keys = await store.keys(PREFIX)
    for key in keys:
        await store.delete(key)
    return len(keys)
