"""Which curated entries a question gets: BM25 ranking, then the thread's allow-list.

:func:`retrieve` ranks a warehouse's entries against the question with BM25 (the
``bm25s`` library, English stop words and Snowball stemming from ``PyStemmer``; all in
process, no network), then keeps, best first, the entries the thread may see:

* a table's or a column's description only when the table is on the allow-list;
* a verified example only when its SQL passes the guard
  (:func:`venn_plugins.sql_agent.guard.check_sql`) against the allow-list, so an
  example over a table the thread may not read never reaches the model;
* glossary terms always.

:func:`render_knowledge` writes the kept entries as the block of the system prompt.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from venn_plugins.sql_agent.guard import SQLGuardError, check_sql
from venn_plugins.sql_agent.knowledge.models import KnowledgeEntry, KnowledgeKind

__all__ = ["KnowledgeHit", "MAX_PROMPT_CHARS", "readable", "render_knowledge", "retrieve"]

#: entries a warehouse may hold (the REST API refuses more); all are ranked per question
MAX_ENTRIES = 2000
#: characters of the knowledge block in the system prompt (lower-ranked entries are left out)
MAX_PROMPT_CHARS = 6000
#: identifiers are split into words: ``order_items`` also matches "order items"
_IDENTIFIER_JOINTS = re.compile(r"[_.]+")


@dataclass(frozen=True)
class KnowledgeHit:
    """One entry retrieved for a question, with its BM25 score (higher is more relevant)."""

    id: int
    kind: KnowledgeKind
    score: float
    description: str = ""
    table: str | None = None
    column: str | None = None
    term: str | None = None
    question: str | None = None
    sql: str | None = None

    @classmethod
    def of(cls, entry: KnowledgeEntry, score: float) -> KnowledgeHit:
        return cls(
            id=entry.id, kind=KnowledgeKind(entry.kind), score=float(score), description=entry.description or "",
            table=entry.table, column=entry.column, term=entry.term, question=entry.question, sql=entry.sql,
        )

    def prompt_text(self) -> str:
        """The entry as one item of the system prompt's knowledge block."""
        note = self.description.strip()
        if self.kind == KnowledgeKind.TABLE:
            return f"- Table {self.table}: {note}"
        if self.kind == KnowledgeKind.COLUMN:
            return f"- Column {self.table}.{self.column}: {note}"
        if self.kind == KnowledgeKind.GLOSSARY:
            return f'- Term "{self.term}": {note}'
        lines = [f"- Verified example. Question: {self.question}", f"  SQL: {' '.join((self.sql or '').split())}"]
        if note:
            lines.append(f"  Note: {note}")
        return "\n".join(lines)


def render_knowledge(hits: Sequence[KnowledgeHit]) -> str:
    """The hits as prompt lines, in the given order ('' for none)."""
    return "\n".join(hit.prompt_text() for hit in hits)


def _document(entry: KnowledgeEntry) -> str:
    parts: Iterable[str | None] = (entry.table, entry.column, entry.term, entry.question, entry.description, entry.sql)
    text = " ".join(p for p in parts if p)
    return _IDENTIFIER_JOINTS.sub(" ", text)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # type: ignore[import-not-found]  # PyStemmer, untyped

    return Stemmer.Stemmer("english")


def _tokens(texts: list[str]) -> list[list[str]]:
    import bm25s  # type: ignore[import-untyped]

    return bm25s.tokenize(
        [_IDENTIFIER_JOINTS.sub(" ", t) for t in texts], stopwords="en", stemmer=_stemmer(),
        return_ids=False, show_progress=False,
    )


def rank(question: str, entries: Sequence[KnowledgeEntry]) -> list[tuple[KnowledgeEntry, float]]:
    """The entries that share a word (stem) with the question, best BM25 score first."""
    import bm25s

    [query] = _tokens([question])
    if not entries or not query:
        return []
    index = bm25s.BM25()
    index.index(_tokens([_document(e) for e in entries]), show_progress=False)
    scores = index.get_scores(query)
    order = sorted(range(len(entries)), key=lambda i: (-float(scores[i]), entries[i].id))
    return [(entries[i], float(scores[i])) for i in order if scores[i] > 0]


def readable(
    entry: KnowledgeEntry,
    allowed_tables: Sequence[str],
    *,
    dialect: str,
    default_database: str | None = None,
    default_schema: str | None = None,
) -> bool:
    """Whether a thread with this allow-list may see the entry (see the module's doc)."""
    if entry.kind == KnowledgeKind.GLOSSARY:
        return True
    if entry.kind == KnowledgeKind.EXAMPLE:
        sql = entry.sql or ""
    else:
        sql = f"SELECT 1 FROM {entry.table}"
    try:
        check_sql(
            sql, allowed_tables, dialect=dialect, max_rows=1,
            default_database=default_database, default_schema=default_schema,
        )
    except (SQLGuardError, ValueError):
        return False
    return True


def select_hits(
    question: str,
    entries: Sequence[KnowledgeEntry],
    allowed_tables: Sequence[str],
    *,
    dialect: str,
    limit: int = 8,
    default_database: str | None = None,
    default_schema: str | None = None,
    max_chars: int = MAX_PROMPT_CHARS,
) -> list[KnowledgeHit]:
    """Rank, keep what the thread may see, stop at ``limit`` entries or ``max_chars``."""
    hits: list[KnowledgeHit] = []
    used = 0
    for entry, score in rank(question, entries):
        if len(hits) >= limit:
            break
        if not readable(
            entry, allowed_tables, dialect=dialect, default_database=default_database, default_schema=default_schema
        ):
            continue
        hit = KnowledgeHit.of(entry, score)
        size = len(hit.prompt_text()) + 1
        if used + size > max_chars:
            continue  # a long entry gives way; a shorter, lower-ranked one may still fit
        hits.append(hit)
        used += size
    return hits


async def retrieve(
    question: str,
    *,
    warehouse: str,
    allowed_tables: Sequence[str],
    dialect: str,
    limit: int = 8,
    default_database: str | None = None,
    default_schema: str | None = None,
) -> list[KnowledgeHit]:
    """The curated entries of ``warehouse`` (a warehouse's label) most relevant to
    ``question`` that a thread allowed ``allowed_tables`` may see, best first: at most
    ``limit``, and at most :data:`MAX_PROMPT_CHARS` of prompt text. ``dialect`` and the
    default database and schema are the warehouse's (they resolve table names as the
    guard does). Pass the result to ``answer_question(..., knowledge=...)``."""
    if limit < 1 or not question.strip():
        return []
    entries = await KnowledgeEntry.filter(warehouse=warehouse).order_by("id").limit(MAX_ENTRIES)
    # Ranking and the guard are CPU work: off the event loop.
    return await asyncio.to_thread(
        select_hits, question, entries, list(allowed_tables), dialect=dialect, limit=limit,
        default_database=default_database, default_schema=default_schema,
    )
