"""REST endpoints of the curated knowledge (``knowledge_api``, included in the plugin's router).

* ``GET /api/v1/sql/knowledge`` (``?kind=&q=&warehouse=&thread_id=&limit=&before=``):
  admins list every entry; a member lists, with ``thread_id``, what that thread's
  questions may get (entries over its allowed tables, examples that pass the guard).
* ``POST /api/v1/sql/knowledge``, ``PATCH`` / ``DELETE /api/v1/sql/knowledge/{entry_id}``:
  admins write.
* ``POST /api/v1/queries/{query_id}/verify``: admins save an answered question and
  its SQL as a verified example.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from tortoise.expressions import Q

from venn.api.routing import ApiRouter, Call, page_schema
from venn.db.models import Role
from venn.errors import Conflict, Forbidden, NotFound, ValidationFailed
from venn.schemas import Id, Input
from venn.services.views import iso
from venn_bots.keys import RUNTIME
from venn_bots.service import effective_enablements
from venn_plugins.sql_agent.config import PLUGIN_NAME, SQLConfig
from venn_plugins.sql_agent.guard import SQLGuardError, check_sql, referenced_tables
from venn_plugins.sql_agent.knowledge.models import KnowledgeEntry, KnowledgeKind
from venn_plugins.sql_agent.knowledge.retrieval import MAX_ENTRIES, readable
from venn_plugins.sql_agent.models import QueryStatus, SqlQuery
from venn_plugins.sql_agent.runner import is_table_name
from venn_plugins.sql_agent.warehouse import Warehouse

__all__ = ["knowledge_api"]

knowledge_api = ApiRouter(prefix="/api/v1")

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TableText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
SqlText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Kind = Literal["table", "column", "glossary", "example"]

#: the fields each kind needs (the others must be left out); description is needed
#: by every kind except examples, where it is an optional note
NEEDED: dict[str, tuple[str, ...]] = {
    "table": ("table", "description"),
    "column": ("table", "column", "description"),
    "glossary": ("term", "description"),
    "example": ("question", "sql"),
}
OPTIONAL: dict[str, tuple[str, ...]] = {"example": ("description",)}
CONTENT = ("table", "column", "term", "question", "sql", "description")


class KnowledgeIn(Input):
    kind: Kind
    warehouse: Label | None = Field(None, description="the warehouse's label (default: the running warehouse's)")
    table: TableText | None = None
    column: Name | None = None
    term: Name | None = None
    question: Question | None = None
    sql: SqlText | None = None
    description: Description | None = None


class KnowledgeUpdateIn(Input):
    warehouse: Label | None = None
    table: TableText | None = None
    column: Name | None = None
    term: Name | None = None
    question: Question | None = None
    sql: SqlText | None = None
    description: Description | None = None


class KnowledgeListQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    kind: KnowledgeKind | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = Field(
        None, description="text that the entry contains (any field, case-insensitive)"
    )
    warehouse: Label | None = Field(None, description="admins: the warehouse's label (default: the running one)")
    thread_id: Id | None = Field(None, description="what this thread's questions may get (members: required)")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Id | None = None


# Helpers ---------------------------------------------------------------------------------


def _is_admin(call: Call) -> bool:
    return call.user.role == Role.ADMIN


def _require_admin(call: Call) -> None:
    if not _is_admin(call):
        raise Forbidden("Only admins can change the SQL agent's knowledge.")


def _warehouse(call: Call) -> Warehouse | None:
    """The running warehouse of this process's SQL agent (None when it has none)."""
    runtime = call.request.app.get(RUNTIME)
    plugin = runtime.plugins.get(PLUGIN_NAME) if runtime is not None else None
    return getattr(plugin, "warehouse", None)


async def _thread_config(call: Call, thread_id: int) -> SQLConfig:
    """The SQL agent's config in a thread the caller may read (404 / 403 / 409 as llm-query)."""
    services = call.services
    thread = await services.threads.get_visible(call.user, thread_id)
    channel_id = thread.channel_id
    if not _is_admin(call):
        await services.channels.require_member(call.user, channel_id)
    current = (await effective_enablements(channel_id, thread.id)).get(PLUGIN_NAME)
    if current is None:
        raise Conflict("The SQL agent is not enabled in this thread.", code="plugin_not_enabled")
    try:
        return SQLConfig.model_validate(current.config or {})
    except ValueError:
        raise Conflict("The SQL agent's settings here are not valid; an admin needs to update them.",
                       code="plugin_misconfigured") from None


def _check_fields(kind: str, values: dict[str, Any]) -> None:
    """Each kind's fields: the needed ones present, the others left out (422 naming them)."""
    needed = NEEDED[kind]
    allowed = set(needed) | set(OPTIONAL.get(kind, ()))
    problems = [
        {"field": name, "message": f"required for a {kind} entry"}
        for name in needed if not values.get(name)
    ]
    problems += [
        {"field": name, "message": f"not used by a {kind} entry"}
        for name in CONTENT if name not in allowed and values.get(name) is not None
    ]
    if values.get("table") and not is_table_name(values["table"]):
        problems.append({"field": "table", "message": "not a table name: use TABLE, SCHEMA.TABLE or DB.SCHEMA.TABLE"})
    if problems:
        raise ValidationFailed(problems)


def _check_example_sql(sql: str, warehouse: Warehouse) -> None:
    """An example's SQL must be one read-only query the guard could let run (in the
    warehouse's dialect, over whatever tables it names); 422 with the guard's reason."""
    options: dict[str, Any] = {
        "dialect": warehouse.dialect,
        "default_database": warehouse.default_database,
        "default_schema": warehouse.default_schema,
    }
    try:
        tables = referenced_tables(sql, **options)
        check_sql(sql, sorted(tables) or ["venn_no_table"], max_rows=1, **options)
    except (SQLGuardError, ValueError) as exc:
        raise ValidationFailed([{"field": "sql", "message": str(exc)}]) from None


async def _validated(call: Call, kind: str, values: dict[str, Any]) -> None:
    _check_fields(kind, values)
    running = _warehouse(call)
    # Examples for another warehouse than the running one cannot be checked in its
    # dialect here; the guard still checks them against each thread when retrieved.
    if kind == "example" and running is not None and values["warehouse"] == running.label:
        await asyncio.to_thread(_check_example_sql, values["sql"], running)


def _readable_only(
    entries: list[KnowledgeEntry], config: SQLConfig, warehouse: Warehouse, limit: int
) -> list[KnowledgeEntry]:
    """The first ``limit`` entries a thread with ``config`` may see."""
    kept = []
    for entry in entries:
        if readable(entry, config.allowed_tables, dialect=warehouse.dialect,
                    default_database=warehouse.default_database, default_schema=warehouse.default_schema):
            kept.append(entry)
            if len(kept) >= limit:
                break
    return kept


def entry_view(e: KnowledgeEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "warehouse": e.warehouse,
        "kind": str(e.kind),
        "table": e.table,
        "column": e.column,
        "term": e.term,
        "question": e.question,
        "sql": e.sql,
        "description": e.description,
        "source_query_id": e.source_query_id,
        "created_by": {"id": e.created_by_id, "username": e.created_by},
        "created_at": iso(e.created_at),
        "updated_at": iso(e.updated_at),
    }


async def _room_for_one_more(warehouse: str) -> None:
    if await KnowledgeEntry.filter(warehouse=warehouse).count() >= MAX_ENTRIES:
        raise Conflict(f"This warehouse already has {MAX_ENTRIES} knowledge entries; delete some first.",
                       code="knowledge_full")


# GET /sql/knowledge ----------------------------------------------------------------------


@knowledge_api.get(
    "/sql/knowledge", query=KnowledgeListQuery, response="SqlKnowledgePage", errors=(403, 404, 409), tag="sql",
)
async def list_knowledge(call: Call):
    """The SQL agent's curated knowledge (admins: all; members: what a thread's questions may get)."""
    q = call.query(KnowledgeListQuery)
    if q.thread_id is None and not _is_admin(call):
        raise Forbidden("Pass thread_id: members read the knowledge a thread's questions may get.")
    running = _warehouse(call)
    thread: tuple[SQLConfig, Warehouse] | None = None
    if q.thread_id is not None:
        config = await _thread_config(call, q.thread_id)
        if running is None:
            return {"entries": [], "has_more": False, "warehouse": None}
        thread = (config, running)
        label: str | None = running.label  # a thread's questions use the running warehouse
    else:
        label = q.warehouse or (running.label if running is not None else None)
    rows = KnowledgeEntry.all()
    if label is not None:
        rows = rows.filter(warehouse=label)
    if q.kind is not None:
        rows = rows.filter(kind=q.kind)
    if q.before is not None:
        rows = rows.filter(id__lt=q.before)
    if q.q:
        rows = rows.filter(
            Q(table__icontains=q.q) | Q(column__icontains=q.q) | Q(term__icontains=q.q)
            | Q(question__icontains=q.q) | Q(sql__icontains=q.q) | Q(description__icontains=q.q)
        )
    if thread is None:
        found = await rows.order_by("-id").limit(q.limit + 1)
    else:
        # what a thread may see is decided by the guard, entry by entry (a warehouse
        # holds at most MAX_ENTRIES); CPU work, off the event loop
        every = await rows.order_by("-id").limit(MAX_ENTRIES)
        found = await asyncio.to_thread(_readable_only, every, *thread, q.limit + 1)
    return {
        "entries": [entry_view(e) for e in found[: q.limit]],
        "has_more": len(found) > q.limit,
        "warehouse": label,
    }


# POST /sql/knowledge ---------------------------------------------------------------------


@knowledge_api.post(
    "/sql/knowledge", body=KnowledgeIn, status=201, response="SqlKnowledgeEntry", errors=(403, 409), tag="sql",
)
async def create_knowledge(call: Call):
    """Add an entry to the SQL agent's knowledge (admins)."""
    _require_admin(call)
    body: KnowledgeIn = call.body
    values = body.model_dump(exclude={"kind"})
    if values["warehouse"] is None:
        running = _warehouse(call)
        if running is None:
            raise Conflict("No warehouse is running: name the entry's warehouse.", code="no_warehouse")
        values["warehouse"] = running.label
    await _validated(call, body.kind, values)
    await _room_for_one_more(values["warehouse"])
    values["description"] = values["description"] or ""
    entry = await KnowledgeEntry.create(
        kind=KnowledgeKind(body.kind), created_by_id=call.user.id, created_by=call.user.username, **values
    )
    return entry_view(entry)


# PATCH /sql/knowledge/{entry_id} ---------------------------------------------------------


@knowledge_api.patch(
    r"/sql/knowledge/{entry_id:\d+}", body=KnowledgeUpdateIn, response="SqlKnowledgeEntry",
    errors=(403, 404, 409), tag="sql",
)
async def update_knowledge(call: Call):
    """Change an entry of the SQL agent's knowledge (admins; the fields given)."""
    _require_admin(call)
    entry = await KnowledgeEntry.get_or_none(id=call.path_id("entry_id"))
    if entry is None:
        raise NotFound("No such knowledge entry.")
    changes = call.body.model_dump(exclude_unset=True)
    values = {name: getattr(entry, name) for name in ("warehouse", *CONTENT)}
    values.update(changes)
    if changes.get("warehouse") is None:
        values["warehouse"] = entry.warehouse  # null: unchanged
    await _validated(call, str(entry.kind), values)
    if values["warehouse"] != entry.warehouse:
        await _room_for_one_more(values["warehouse"])
    for name, value in values.items():
        setattr(entry, name, value if value is not None or name != "description" else "")
    await entry.save()
    return entry_view(entry)


# DELETE /sql/knowledge/{entry_id} --------------------------------------------------------


@knowledge_api.delete(r"/sql/knowledge/{entry_id:\d+}", status=204, errors=(403, 404), tag="sql")
async def delete_knowledge(call: Call):
    """Remove an entry of the SQL agent's knowledge (admins)."""
    _require_admin(call)
    deleted = await KnowledgeEntry.filter(id=call.path_id("entry_id")).delete()
    if not deleted:
        raise NotFound("No such knowledge entry.")
    return None


# POST /queries/{query_id}/verify ---------------------------------------------------------


@knowledge_api.post(
    r"/queries/{query_id:\d+}/verify", status=201, response="SqlKnowledgeEntry", errors=(403, 404, 409),
    extra_statuses={200: "The question was saved as an example before: that example"}, tag="sql",
)
async def verify_query(call: Call):
    """Save an answered question and its SQL as a verified example (admins)."""
    _require_admin(call)
    query = await SqlQuery.get_or_none(id=call.path_id("query_id"))
    if query is None:
        raise NotFound("No such query.")
    if query.status != QueryStatus.DONE or not query.sql:
        raise Conflict("Only a question answered with a query can be saved as an example.", code="not_verifiable")
    if not query.question.strip():
        raise Conflict("This was a /sql command, without a question: add it as an example with one instead.",
                       code="not_verifiable")
    running = _warehouse(call)
    if running is None:
        raise Conflict("No warehouse is running.", code="no_warehouse")
    saved = await KnowledgeEntry.get_or_none(
        warehouse=running.label, kind=KnowledgeKind.EXAMPLE, source_query_id=query.id
    )
    if saved is not None:
        return 200, entry_view(saved)
    await _room_for_one_more(running.label)
    entry = await KnowledgeEntry.create(
        warehouse=running.label, kind=KnowledgeKind.EXAMPLE, question=query.question.strip()[:4000], sql=query.sql,
        source_query_id=query.id, created_by_id=call.user.id, created_by=call.user.username,
    )
    return entry_view(entry)


# OpenAPI schemas -------------------------------------------------------------------------

_TEXT_OR_NULL = {"type": ["string", "null"]}
_TS = {"type": ["string", "null"], "format": "date-time"}

knowledge_api.schemas.update(
    {
        "SqlKnowledgeEntry": {
            "type": "object",
            "required": ["id", "warehouse", "kind", "description", "created_by", "created_at"],
            "properties": {
                "id": {"type": "integer"},
                "warehouse": {"type": "string", "description": "the warehouse's label"},
                "kind": {"type": "string", "enum": [k.value for k in KnowledgeKind]},
                "table": _TEXT_OR_NULL,
                "column": _TEXT_OR_NULL,
                "term": _TEXT_OR_NULL,
                "question": _TEXT_OR_NULL,
                "sql": _TEXT_OR_NULL,
                "description": {"type": "string"},
                "source_query_id": {"type": ["integer", "null"]},
                "created_by": {
                    "type": "object",
                    "properties": {"id": {"type": ["integer", "null"]}, "username": {"type": "string"}},
                },
                "created_at": _TS,
                "updated_at": _TS,
            },
        },
        "SqlKnowledgePage": page_schema(
            "entries",
            "SqlKnowledgeEntry",
            warehouse={**_TEXT_OR_NULL, "description": "the warehouse listed (null: every one)"},
        ),
    }
)
