"""The eval's only contact with the knowledge layer (``venn_plugins.sql_agent.knowledge``):
:func:`seed` (the golden set's glossary, stored for the demo warehouse) and :func:`fetch`
(the entries for one question, handed to ``answer_question(..., knowledge=...)``). Kept
in one place so that a change of that layer's API means a change here only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from venn_plugins.sql_agent.knowledge import KnowledgeEntry, KnowledgeHit, KnowledgeKind, retrieve

if TYPE_CHECKING:
    from venn_plugins.sql_agent.eval.golden import KnowledgeEntry as GoldenEntry

__all__ = ["fetch", "seed"]

#: entries retrieved per question
LIMIT = 8


async def seed(entries: Sequence[GoldenEntry], *, warehouse: str) -> None:
    """Store the golden set's glossary as the knowledge of ``warehouse`` (its label), in
    the eval's own database."""
    for entry in entries:
        await KnowledgeEntry.create(
            warehouse=warehouse, kind=KnowledgeKind.GLOSSARY, term=entry.term, description=entry.text
        )


async def fetch(question: str, *, warehouse: str, allowed_tables: Sequence[str], dialect: str) -> list[KnowledgeHit]:
    """The knowledge hits for one question, as ``answer_question(knowledge=...)`` takes them."""
    return await retrieve(
        question, warehouse=warehouse, allowed_tables=list(allowed_tables), dialect=dialect, limit=LIMIT
    )
