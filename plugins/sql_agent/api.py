"""REST endpoints of the SQL agent (the plugin's ``router``, mounted by the core).

* ``POST /api/v1/threads/{thread_id}/llm-query`` ``{question}`` → ``202 {query_id, status}``:
  what ``/ask`` does, for that thread. The question becomes a bot job (the ``llm_query``
  event of the ``sql`` plugin), so it runs on the bot runtime's workers with the same
  timeout, concurrency, queue and retry rules as ``/ask``; progress and the answer
  arrive in the thread (``llm_response`` events, then the bot's message).
* ``GET /api/v1/queries/{query_id}/result.csv``: a result as CSV, for members of its
  channel, when the thread's config allows CSV.
* ``GET /api/v1/queries/{query_id}/chart.png`` and ``chart.svg``: a result's chart drawn
  on the server (vl-convert), for members of its channel.
* ``GET /api/v1/admin/queries``: the audit (admins): questions with their statements
  and token usage, newest first, filtered by thread, user, verdict, status and time,
  paged with ``before``.
* ``GET /api/v1/sql/tables``: the warehouse's tables, with descriptions and row counts
  (admins): what ``allowed_tables`` can name; the web client's form offers them.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from tortoise.expressions import Subquery

from venn.api.routing import ApiRouter, Call, page_schema
from venn.db.models import Role
from venn.errors import Conflict, Forbidden, NotFound, RateLimited, Unavailable
from venn.events import Event
from venn.schemas import Id, Input
from venn.services.views import iso
from venn_bots.keys import RUNTIME
from venn_bots.service import effective_enablements
from venn_plugins.sql_agent.charts import Chart
from venn_plugins.sql_agent.config import LLM_QUERY_EVENT, PLUGIN_NAME, SQLConfig
from venn_plugins.sql_agent.models import QuerySource, QueryStatus, SqlQuery, SqlStatement, Verdict
from venn_plugins.sql_agent.quota import budget_spent, question_wait, rate_limited_text
from venn_plugins.sql_agent.render import DEFAULT_PAYLOAD_BYTES, chart_spec

__all__ = ["sql_api"]

sql_api = ApiRouter(prefix="/api/v1")
PLUGIN = PLUGIN_NAME
MAX_QUESTION = 4000


class LlmQueryIn(Input):
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION)]


class AdminQueriesQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Id | None = None
    thread_id: Id | None = None
    user_id: Id | None = None
    verdict: Verdict | None = Field(None, description="queries with at least one statement of this verdict")
    status: QueryStatus | None = None
    since: dt.datetime | None = Field(None, description="created at or after (ISO 8601)")
    until: dt.datetime | None = Field(None, description="created before (ISO 8601)")


# POST /threads/{id}/llm-query ---------------------------------------------------------


@sql_api.post(
    r"/threads/{thread_id:\d+}/llm-query", body=LlmQueryIn, status=202, response="LlmQueryAccepted",
    errors=(403, 404, 409, 429), tag="sql",
)
async def llm_query(call: Call):
    """Ask the SQL agent a question in a thread (as /ask does); the answer comes in the thread."""
    services = call.services
    thread = await services.threads.get_visible(call.user, call.path_id("thread_id"))
    await services.channels.require_member(call.user, thread.channel_id)
    runtime = call.request.app[RUNTIME]
    enabled = await effective_enablements(thread.channel_id, thread.id)
    if PLUGIN not in enabled or PLUGIN not in runtime.plugins:
        raise Conflict("The SQL agent is not enabled in this thread.", code="plugin_not_enabled")
    try:
        config = SQLConfig.model_validate(enabled[PLUGIN].config or {})
    except ValueError:
        raise Conflict("The SQL agent's settings here are not valid; an admin needs to update them.",
                       code="plugin_misconfigured") from None
    # The same limits as /ask: questions per person and minute, the thread's daily tokens.
    per_minute = int(runtime.plugins[PLUGIN].settings.sql_questions_per_minute)
    wait = await question_wait(services.limiter, call.user.id, per_minute)
    if wait is not None:
        raise RateLimited(wait, rate_limited_text(wait, per_minute))
    spent = await budget_spent(config.daily_token_budget, thread.channel_id, thread.id)
    if spent is not None:
        raise Conflict(spent.text, code="token_budget_spent", retry_after=spent.retry_after)
    body: LlmQueryIn = call.body
    query = await SqlQuery.create(
        thread_id=thread.id,
        channel_id=thread.channel_id,
        user_id=call.user.id,
        username=call.user.username,
        source=QuerySource.API,
        question=body.question,
        status=QueryStatus.QUEUED,
        allow_csv=config.allow_csv,
    )
    event = Event(
        LLM_QUERY_EVENT,
        {"query_id": query.id, "question": body.question},
        channel_id=thread.channel_id,
        thread_id=thread.id,
        context={"user": call.user},
    )
    # The runtime's own submission: the job queue (memory or Redis), its bounds and the
    # "busy" notice in the thread when it is full.
    jobs = await runtime.dispatch(event)
    if not jobs:  # pragma: no cover - enabled and loaded, checked above
        query.status = QueryStatus.ERROR
        query.error = "the SQL agent could not take the question"
        await query.save(update_fields=["status", "error"])
        raise Conflict("The SQL agent is not enabled in this thread.", code="plugin_not_enabled")
    return {"query_id": query.id, "status": str(query.status)}


# GET /queries/{id}/result.csv -------------------------------------------------------


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A text cell starting like a formula is kept as text by spreadsheets.
    if isinstance(value, str) and text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


async def _members_query(call: Call) -> tuple[SqlQuery, int]:
    """The query of the path and its channel, for members of that channel; 404 for
    anyone else (outsiders learn nothing, not even that the query exists)."""
    query = await SqlQuery.get_or_none(id=call.path_id("query_id"))
    if query is None:
        raise NotFound("No such query.")
    services = call.services
    try:
        if query.thread_id is not None:
            thread = await services.threads.get_visible(call.user, query.thread_id)
            channel_id = thread.channel_id
        else:
            channel_id = query.channel_id
        await services.channels.require_member(call.user, channel_id)
    except (NotFound, Forbidden):
        raise NotFound("No such query.") from None
    return query, channel_id


@sql_api.get(r"/queries/{query_id:\d+}/result.csv", errors=(403, 404), tag="sql")
async def query_result_csv(call: Call):
    """A query's result as CSV (members of its channel, when the thread allows CSV)."""
    query, channel_id = await _members_query(call)
    current = (await effective_enablements(channel_id, query.thread_id)).get(PLUGIN)
    allowed_now = bool((current.config or {}).get("allow_csv", True)) if current is not None else True
    if not query.allow_csv or not allowed_now:
        raise Forbidden("CSV downloads are turned off in this thread.", code="csv_not_allowed")
    if query.status != QueryStatus.DONE or query.columns is None:
        raise NotFound("This query has no result to download.", code="no_result")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_cell(c) for c in query.columns])
    for row in query.rows or []:
        writer.writerow([_csv_cell(v) for v in row])
    return web.Response(
        body=out.getvalue().encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="venn-query-{query.id}.csv"'},
    )


# GET /queries/{id}/chart.png and chart.svg ---------------------------------------------

#: PNG pixels per chart pixel (a 640 x 320 chart is a 1280 x 640 image: sharp on dense screens)
PNG_SCALE = 2
# vl-convert runs Vega in its own JavaScript runtime, a few hundred milliseconds of CPU a
# chart: never on the event loop, and at most two at a time per process.
_drawing = ThreadPoolExecutor(max_workers=2, thread_name_prefix="venn-sql-chart")


def _draw(spec: dict[str, Any], kind: str) -> bytes:
    import vl_convert

    # Venn's specifications carry their data inline: no data, image or font is fetched.
    if kind == "png":
        return bytes(vl_convert.vegalite_to_png(spec, scale=PNG_SCALE, allowed_base_urls=[]))
    return str(vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])).encode("utf-8")


async def _query_chart(call: Call, kind: str) -> web.Response:
    query, _ = await _members_query(call)
    chart = Chart.from_dict(query.chart)
    settings = call.plugin_settings(PLUGIN)
    max_bytes = int(getattr(settings, "sql_max_result_bytes", DEFAULT_PAYLOAD_BYTES))
    spec = None
    if query.status == QueryStatus.DONE and query.columns is not None:
        # the payload's chart, drawn again from the kept rows (the same rows, the same bounds)
        spec = chart_spec(chart, query.columns, query.rows or [], max_bytes)
    if spec is None:
        raise NotFound("This query's result has no chart.", code="no_chart")
    body = await asyncio.get_running_loop().run_in_executor(_drawing, _draw, spec, kind)
    response = web.Response(
        body=body,
        content_type="image/png" if kind == "png" else "image/svg+xml",
        headers={
            "Content-Disposition": f'inline; filename="venn-query-{query.id}-chart.{kind}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-cache",
        },
    )
    if kind == "svg":
        # an SVG opened on its own is a document: it may run nothing and load nothing
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@sql_api.get(r"/queries/{query_id:\d+}/chart.png", errors=(404,), tag="sql")
async def query_chart_png(call: Call):
    """A query's chart as a PNG image (members of its channel; 404 when it has none)."""
    return await _query_chart(call, "png")


@sql_api.get(r"/queries/{query_id:\d+}/chart.svg", errors=(404,), tag="sql")
async def query_chart_svg(call: Call):
    """A query's chart as an SVG image (members of its channel; 404 when it has none)."""
    return await _query_chart(call, "svg")


# GET /admin/queries ----------------------------------------------------------------------


def _statement_view(s: SqlStatement) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": str(s.kind),
        "sql": s.sql,
        "sql_run": s.sql_run,
        "verdict": str(s.verdict),
        "reason": s.reason,
        "row_count": s.row_count,
        "elapsed_ms": s.elapsed_ms,
        "error": s.error,
        "created_at": iso(s.created_at),
    }


def _query_view(q: SqlQuery, statements: list[SqlStatement]) -> dict[str, Any]:
    return {
        "id": q.id,
        "thread_id": q.thread_id,
        "channel_id": q.channel_id,
        "user": {"id": q.user_id, "username": q.username},
        "source": str(q.source),
        "question": q.question,
        "status": str(q.status),
        "sql": q.sql,
        "row_count": q.row_count,
        "truncated": q.truncated,
        "elapsed_ms": q.elapsed_ms,
        "error": q.error,
        "created_at": iso(q.created_at),
        "finished_at": iso(q.finished_at),
        "knowledge_ids": q.knowledge_ids,
        "usage": {
            "prompt_tokens": q.prompt_tokens,
            "completion_tokens": q.completion_tokens,
            "total_tokens": q.total_tokens,
        },
        "statements": [_statement_view(s) for s in statements],
    }


@sql_api.get("/admin/queries", query=AdminQueriesQuery, response="SqlQueryPage", errors=(403,), tag="sql")
async def admin_queries(call: Call):
    """The SQL agent's audit, newest first (admins): questions and every statement."""
    if call.user.role != Role.ADMIN:
        raise Forbidden("Only admins can read the SQL audit.")
    q = call.query(AdminQueriesQuery)
    rows = SqlQuery.all()
    if q.before is not None:
        rows = rows.filter(id__lt=q.before)
    if q.thread_id is not None:
        rows = rows.filter(thread_id=q.thread_id)
    if q.user_id is not None:
        rows = rows.filter(user_id=q.user_id)
    if q.status is not None:
        rows = rows.filter(status=q.status)
    if q.since is not None:
        rows = rows.filter(created_at__gte=_utc(q.since))
    if q.until is not None:
        rows = rows.filter(created_at__lt=_utc(q.until))
    if q.verdict is not None:
        rows = rows.filter(id__in=Subquery(SqlStatement.filter(verdict=q.verdict).values("query_id")))
    found = await rows.order_by("-id").limit(q.limit + 1)
    has_more = len(found) > q.limit
    found = found[: q.limit]
    by_query: dict[int, list[SqlStatement]] = {r.id: [] for r in found}
    if by_query:
        for s in await SqlStatement.filter(query_id__in=list(by_query)).order_by("id"):
            by_query[s.query_id].append(s)
    return {"queries": [_query_view(r, by_query[r.id]) for r in found], "has_more": has_more}


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# GET /sql/tables --------------------------------------------------------------------------


@sql_api.get("/sql/tables", response="SqlTableList", errors=(403, 503), tag="sql")
async def sql_tables(call: Call):
    """The warehouse's tables with their descriptions and row counts (admins): the names
    ``allowed_tables`` can use, as options for the web client's form (``x-venn-options``)."""
    from venn_plugins.sql_agent.catalog import read_catalog
    from venn_plugins.sql_agent.warehouse import WarehouseError

    if call.user.role != Role.ADMIN:
        raise Forbidden("Only admins can list the warehouse's tables.")
    plugin = call.request.app[RUNTIME].plugins.get(PLUGIN)
    warehouse = getattr(plugin, "warehouse", None)
    if warehouse is None:
        reason = getattr(plugin, "warehouse_error", None) or "No warehouse is configured."
        raise Unavailable(f"The SQL agent has no usable warehouse: {reason}")
    try:
        catalog = await read_catalog(warehouse, tag="venn catalog")
    except WarehouseError as exc:
        raise Unavailable(f"The warehouse's tables could not be read: {exc}") from None
    return {
        "options": [
            {
                "value": t.name,
                "description": t.description,
                "row_count": t.row_count,
                "detail": None if t.row_count is None else f"{t.row_count:,} row" + ("" if t.row_count == 1 else "s"),
            }
            for t in catalog.tables
        ],
        "truncated": catalog.truncated,
    }


# OpenAPI schemas ------------------------------------------------------------------------

_TS = {"type": ["string", "null"], "format": "date-time"}
_INT_OR_NULL = {"type": ["integer", "null"]}
_TEXT_OR_NULL = {"type": ["string", "null"]}

sql_api.schemas.update(
    {
        "LlmQueryAccepted": {
            "type": "object",
            "required": ["query_id", "status"],
            "properties": {
                "query_id": {"type": "integer", "description": "id of the question in the SQL audit (and of its CSV)"},
                "status": {"type": "string", "enum": [s.value for s in QueryStatus]},
            },
        },
        "SqlStatementEntry": {
            "type": "object",
            "required": ["id", "kind", "sql", "verdict", "created_at"],
            "properties": {
                "id": {"type": "integer"},
                "kind": {"type": "string", "enum": ["run", "check", "describe"]},
                "sql": {"type": "string", "description": "as written by the model or the user"},
                "sql_run": {**_TEXT_OR_NULL, "description": "what the guard made of it; null when refused"},
                "verdict": {"type": "string", "enum": ["allowed", "refused"]},
                "reason": _TEXT_OR_NULL,
                "row_count": _INT_OR_NULL,
                "elapsed_ms": _INT_OR_NULL,
                "error": _TEXT_OR_NULL,
                "created_at": _TS,
            },
        },
        "SqlQueryEntry": {
            "type": "object",
            "required": ["id", "thread_id", "channel_id", "user", "source", "question", "status", "statements"],
            "properties": {
                "id": {"type": "integer"},
                "thread_id": _INT_OR_NULL,
                "channel_id": {"type": "integer"},
                "user": {
                    "type": "object",
                    "properties": {"id": _INT_OR_NULL, "username": {"type": "string"}},
                },
                "source": {"type": "string", "enum": [s.value for s in QuerySource]},
                "question": {"type": "string"},
                "status": {"type": "string", "enum": [s.value for s in QueryStatus]},
                "sql": _TEXT_OR_NULL,
                "row_count": {"type": "integer"},
                "truncated": {"type": "boolean"},
                "elapsed_ms": {"type": "integer"},
                "error": _TEXT_OR_NULL,
                "created_at": _TS,
                "finished_at": _TS,
                "knowledge_ids": {
                    "type": ["array", "null"], "items": {"type": "integer"},
                    "description": (
                        "the curated knowledge entries put in the agent's prompt (null: not an agent question)"
                    ),
                },
                "usage": {
                    "type": "object",
                    "description": "the language model's tokens for this question (0 for /sql and /describe)",
                    "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
                    "properties": {
                        "prompt_tokens": {"type": "integer"},
                        "completion_tokens": {"type": "integer"},
                        "total_tokens": {"type": "integer"},
                    },
                },
                "statements": {"type": "array", "items": {"$ref": "#/components/schemas/SqlStatementEntry"}},
            },
        },
        "SqlTableList": {
            "type": "object",
            "required": ["options", "truncated"],
            "properties": {
                "options": {
                    "type": "array",
                    "description": "the warehouse's tables and views, by schema and name",
                    "items": {
                        "type": "object",
                        "required": ["value", "description", "row_count", "detail"],
                        "properties": {
                            "value": {
                                "type": "string",
                                "description": (
                                    "the name as allowed_tables writes it: TABLE, SCHEMA.TABLE or DB.SCHEMA.TABLE"
                                ),
                            },
                            "description": {**_TEXT_OR_NULL, "description": "the table's comment in the warehouse"},
                            "row_count": {
                                **_INT_OR_NULL,
                                "description": "the catalog's count or estimate; null when it has none",
                            },
                            "detail": {**_TEXT_OR_NULL, "description": "the row count as text, for forms"},
                        },
                    },
                },
                "truncated": {"type": "boolean", "description": "the warehouse has more tables than were listed"},
            },
        },
        "SqlQueryPage": page_schema("queries", "SqlQueryEntry"),
    }
)
