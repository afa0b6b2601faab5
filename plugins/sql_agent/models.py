"""The SQL agent's audit: every question (or /sql) and every statement, allowed or refused.

Tables in the plugin's own Tortoise app ``sql``, created by its migrations
(``plugins/sql_agent/migrations``). Thread, channel and user are plain columns,
not foreign keys: the audit outlives deleted threads and accounts.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class QuerySource(StrEnum):
    ASK = "ask"  # /ask or a mention
    SQL = "sql"  # /sql typed by a user
    API = "api"  # POST /api/v1/threads/{id}/llm-query
    DESCRIBE = "describe"  # /describe TABLE


class QueryStatus(StrEnum):
    QUEUED = "queued"  # accepted over REST, waiting for a worker
    RUNNING = "running"
    DONE = "done"
    REFUSED = "refused"
    ERROR = "error"
    TIMEOUT = "timeout"  # a statement, or the whole question, ran past its time and was stopped


class Verdict(StrEnum):
    ALLOWED = "allowed"
    REFUSED = "refused"


class StatementKind(StrEnum):
    RUN = "run"  # executed
    CHECK = "check"  # the guard's dry run only
    DESCRIBE = "describe"  # a table's columns and sample rows


class SqlQuery(Model):
    """One question (or SQL command) in a thread, with the result kept for CSV download."""

    id = fields.BigIntField(primary_key=True)
    thread_id = fields.BigIntField(null=True)
    channel_id = fields.BigIntField()
    user_id = fields.BigIntField(null=True)
    #: kept as text too, so the entry still says who after the account is gone
    username = fields.CharField(max_length=32, default="")
    source = fields.CharEnumField(QuerySource, max_length=8)
    question = fields.TextField(default="")
    status = fields.CharEnumField(QueryStatus, max_length=16, default=QueryStatus.RUNNING)
    #: the last statement that ran (as run, with its LIMIT)
    sql = fields.TextField(null=True)
    columns: fields.JSONField[list[str] | None] = fields.JSONField(null=True)
    #: the kept rows (at most the thread's max_rows, itself at most 10,000)
    rows: fields.JSONField[list[list[Any]] | None] = fields.JSONField(null=True)
    row_count = fields.IntField(default=0)
    truncated = fields.BooleanField(default=False)
    elapsed_ms = fields.IntField(default=0)
    error = fields.TextField(null=True)
    allow_csv = fields.BooleanField(default=True)
    # GET /queries/{id}/chart.png and .svg draw it again from the kept rows.
    #: the chart drawn with the result: type, x, y and color (charts.Chart), null for none
    chart: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)
    #: ids of the curated knowledge entries put in the agent's prompt (migration 0003_knowledge)
    knowledge_ids: fields.JSONField[list[int] | None] = fields.JSONField(null=True)
    #: the language model's tokens for this question, summed over its model calls
    #: (LangChain's usage_metadata); 0 for /sql and /describe, and for rows older than the
    #: columns (the database's default)
    prompt_tokens = fields.IntField(default=0, db_default=0)
    completion_tokens = fields.IntField(default=0, db_default=0)
    total_tokens = fields.IntField(default=0, db_default=0)

    class Meta:
        table = "sql_queries"
        table_description = "A question or SQL command in a thread: who, what, the final SQL and its result."
        indexes = (
            Index(fields=("thread_id", "id"), name="ix_sql_query_thread"),
            Index(fields=("user_id", "id"), name="ix_sql_query_user"),
        )


class SqlStatement(Model):
    """One statement the guard saw for a query: its verdict, and what running it gave."""

    id = fields.BigIntField(primary_key=True)
    query: fields.ForeignKeyRelation[SqlQuery] = fields.ForeignKeyField(
        "sql.SqlQuery", related_name="statements", on_delete=fields.CASCADE
    )
    query_id: int  # the column behind ``query``, set by Tortoise
    kind = fields.CharEnumField(StatementKind, max_length=16)
    #: the statement as written (by the model or the user)
    sql = fields.TextField()
    #: what the guard made of it (with its LIMIT), null when refused
    sql_run = fields.TextField(null=True)
    verdict = fields.CharEnumField(Verdict, max_length=16)
    reason = fields.TextField(null=True)
    row_count = fields.IntField(null=True)
    elapsed_ms = fields.IntField(null=True)
    error = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sql_statements"
        table_description = "A statement checked by the SQL guard for a query: verdict, reason, rows, time, error."
        indexes = (Index(fields=("verdict", "id"), name="ix_sql_statement_verdict"),)
