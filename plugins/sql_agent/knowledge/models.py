"""The curated knowledge of a warehouse: what admins tell the agent beyond the comments.

One table, ``sql_knowledge``, in the plugin's Tortoise app ``sql`` (migration
``0003_knowledge``). An entry belongs to a warehouse by its label
(:attr:`venn_plugins.sql_agent.warehouse.Warehouse.label`), so knowledge written for
one warehouse never reaches questions over another.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

__all__ = ["KnowledgeEntry", "KnowledgeKind"]


class KnowledgeKind(StrEnum):
    TABLE = "table"  # what a table holds: table + description
    COLUMN = "column"  # what a column means: table + column + description
    GLOSSARY = "glossary"  # a business term: term + description ("active customer": ...)
    EXAMPLE = "example"  # a verified question and its SQL (+ an optional note in description)


class KnowledgeEntry(Model):
    """One curated entry; which of ``table``, ``column``, ``term``, ``question`` and ``sql``
    are set depends on ``kind``."""

    id = fields.BigIntField(primary_key=True)
    #: the warehouse's label, as the running warehouse reports it
    warehouse = fields.CharField(max_length=200)
    kind = fields.CharEnumField(KnowledgeKind, max_length=16)
    table = fields.CharField(max_length=400, null=True)
    column = fields.CharField(max_length=200, null=True)
    term = fields.CharField(max_length=200, null=True)
    question = fields.TextField(null=True)
    sql = fields.TextField(null=True)
    description = fields.TextField(default="")
    #: the audited question an example was saved from (POST /queries/{id}/verify)
    source_query_id = fields.BigIntField(null=True)
    created_by_id = fields.BigIntField(null=True)
    #: kept as text too, so the entry still says who after the account is gone
    created_by = fields.CharField(max_length=32, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sql_knowledge"
        table_description = "Curated knowledge of a warehouse for the SQL agent: descriptions, terms, examples."
        indexes = (Index(fields=("warehouse", "kind", "id"), name="ix_sql_knowledge_warehouse"),)
