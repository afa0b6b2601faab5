"""The eval's only contact with the knowledge layer (``venn_plugins.sql_agent.knowledge``).

Kept in one place so that a change of that layer's API means a change here only:
:func:`check_available` (is it installed?), :func:`seed` (the golden set's glossary,
stored for the demo warehouse) and :func:`fetch` (the entries for one question, handed
to ``answer_question(..., knowledge=...)``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from venn_plugins.sql_agent.eval.golden import KnowledgeEntry

__all__ = ["KnowledgeUnavailable", "check_available", "fetch", "seed"]

#: entries retrieved per question
LIMIT = 8
#: the knowledge layer (imported by name: the eval runs without it too)
MODULE = "venn_plugins.sql_agent.knowledge"


class KnowledgeUnavailable(Exception):
    """The knowledge layer is not installed; ``str()`` says so."""


def _layer() -> ModuleType:
    try:
        return importlib.import_module(MODULE)
    except ImportError:
        raise KnowledgeUnavailable(
            f"--with-knowledge needs the SQL agent's knowledge layer ({MODULE}), "
            "which this installation does not have."
        ) from None


def check_available() -> None:
    """Raise :class:`KnowledgeUnavailable` when the knowledge layer cannot be imported."""
    _layer()


async def seed(entries: Sequence[KnowledgeEntry], *, warehouse: str) -> None:
    """Store the golden set's glossary as the knowledge of ``warehouse`` (its label), in
    the eval's own database."""
    layer = _layer()
    for entry in entries:
        await layer.KnowledgeEntry.create(
            warehouse=warehouse, kind=layer.KnowledgeKind.GLOSSARY, term=entry.term, description=entry.text
        )


async def fetch(question: str, *, warehouse: str, allowed_tables: Sequence[str], dialect: str) -> list[Any]:
    """The knowledge hits for one question, as ``answer_question(knowledge=...)`` takes them."""
    hits = await _layer().retrieve(
        question, warehouse=warehouse, allowed_tables=list(allowed_tables), dialect=dialect, limit=LIMIT
    )
    return list(hits)
