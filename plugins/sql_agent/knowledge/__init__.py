"""Curated knowledge for the SQL agent: what admins tell it about a warehouse.

Admins keep, per warehouse (its label), descriptions of tables and columns beyond the
warehouse's comments, a glossary of business terms and verified question → SQL
examples (:mod:`.models`), over REST (:mod:`.api`, ``/api/v1/sql/knowledge``) and in the
web client's "SQL knowledge" panel. For each question the agent gets the most relevant
entries the thread may see (:func:`retrieve`) in its system prompt, and the audit
records which (``SqlQuery.knowledge_ids``). See docs/sql-agent.md, "Knowledge".
"""

from __future__ import annotations

from venn_plugins.sql_agent.knowledge.models import KnowledgeEntry, KnowledgeKind
from venn_plugins.sql_agent.knowledge.retrieval import KnowledgeHit, render_knowledge, retrieve

__all__ = ["KnowledgeEntry", "KnowledgeHit", "KnowledgeKind", "render_knowledge", "retrieve"]
