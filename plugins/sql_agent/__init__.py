"""The SQL agent plugin (``sql``): questions in plain language over a read-only warehouse.

In a thread where an admin enabled it with a list of tables:

* ``/ask <question>`` (or a mention of the bot, ``@sql <question>``) runs the LLM agent
  (:func:`venn_plugins.sql_agent.agent.answer_question`) over the allowed tables;
* ``/sql <SELECT ...>`` runs the user's own query through the same guard;
* ``/tables``, ``/describe TABLE`` and ``/forget`` look at the tables and clear the
  thread's memory (see :mod:`.browse`);
* ``POST /api/v1/threads/{id}/llm-query`` does what ``/ask`` does (see :mod:`.api`).
* admins keep curated knowledge of the warehouse (:mod:`.knowledge`, ``/api/v1/sql/knowledge``);
  each question's prompt gets the entries that fit it and that the thread may see.

Questions are limited per person and minute, and optionally per thread and UTC day in
tokens (see :mod:`.quota`); each question's tokens are in its audit entry.

While it works it sends ``llm_response`` events to the thread's room (``thinking``,
``running_sql`` with the SQL, then ``done`` or ``error``); the answer is a bot message
whose body has the SQL and a Markdown table and whose payload is the ``sql_result``
(see :mod:`.render`). Every question and statement is audited (:mod:`.models`).
See docs/sql-agent.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, cast

from venn.api.routing import ApiRouter
from venn_bots import ConfigRejected, Context, Plugin, command, on_event, on_mention
from venn_plugins.sql_agent.api import sql_api
from venn_plugins.sql_agent.browse import BrowseCommands
from venn_plugins.sql_agent.charts import ChartSuggestion, pick_chart
from venn_plugins.sql_agent.config import (
    ASK_HANDLER_TIMEOUT,
    LLM_QUERY_EVENT,
    MAX_STEPS,
    MAX_TIMEOUT_SECONDS,
    PLUGIN_NAME,
    SQL_HANDLER_TIMEOUT,
    SQLConfig,
)
from venn_plugins.sql_agent.guard import SQLGuardError
from venn_plugins.sql_agent.knowledge.api import knowledge_api
from venn_plugins.sql_agent.models import QuerySource, QueryStatus, SqlQuery
from venn_plugins.sql_agent.quota import budget_spent, question_wait, rate_limited_text
from venn_plugins.sql_agent.render import result_body, result_payload
from venn_plugins.sql_agent.runner import GuardedSQL
from venn_plugins.sql_agent.settings import SQLSettings
from venn_plugins.sql_agent.warehouse import QueryResult, Warehouse, WarehouseError, WarehouseTimeout, open_warehouse

log = logging.getLogger("venn.plugins.sql")

__all__ = ["SQLAgentPlugin", "SQLConfig", "plugin"]

#: a query still queued or running after this many seconds was lost with its handler
#: (the process died): the sweep closes it as an error
STALE_AFTER_SECONDS = max(SQL_HANDLER_TIMEOUT, ASK_HANDLER_TIMEOUT)
#: seconds between two sweeps while the plugin runs (the first is at start)
SWEEP_INTERVAL_SECONDS = 300
LOST_QUERY = "The question was interrupted before it was answered (the server handling it stopped); please ask again."


def _routes(*routers: ApiRouter) -> ApiRouter:
    """One router of the plugin's REST routes: questions and audit (api.py), knowledge."""
    combined = ApiRouter(prefix="/api/v1")
    for router in routers:
        combined.include(router)
    return combined


def ask_budget(timeout_seconds: int) -> float:
    """Seconds the agent may take for one question (the runtime's timeout is longer)."""
    return min(ASK_HANDLER_TIMEOUT - 30, max(240, 2 * timeout_seconds + 180))


class SQLAgentPlugin(BrowseCommands, Plugin):
    name = PLUGIN_NAME
    display_name = "SQL agent"
    description = (
        "Answers data questions over a read-only warehouse: /ask in plain language (with an LLM), "
        "/sql with your own SELECT; /tables and /describe show what there is. Only the thread's allowed tables; "
        "every statement is guarded and audited."
    )
    version = "1.0.0"
    Config = SQLConfig
    # What the plugin adds besides its handlers (venn.extension.Extension):
    router = _routes(sql_api, knowledge_api)
    models = ("venn_plugins.sql_agent.models", "venn_plugins.sql_agent.knowledge.models")
    migrations = "venn_plugins.sql_agent.migrations"
    # Before plugins had their own migration histories, these tables were the core's 0003.
    adopts_migrations = {("venn", "0003_sql_agent"): "0001_initial"}
    Settings = SQLSettings
    web_dir = Path(__file__).parent / "web"
    renderers = {"sql_result": "sql-result.js"}

    settings: SQLSettings
    warehouse: Warehouse | None = None
    warehouse_error: str | None = None
    llm: Any = None
    #: the server's services (the rate limiter), set in setup()
    services: Any = None
    _sweeper: asyncio.Task[None] | None = None

    @classmethod
    def add_commands(cls, subparsers: Any) -> None:
        from venn_plugins.sql_agent.cli import add_sql_commands

        add_sql_commands(subparsers)

    async def setup(self, runtime: Any) -> None:
        # the demo warehouse lives under the server's data directory
        self.settings = self.settings.model_copy(update={"data_dir": runtime.services.settings.data_dir})
        self.services = runtime.services
        await sweep_stale_queries()
        self._sweeper = asyncio.create_task(self._sweep_now_and_then(), name="venn-sql-sweep")
        try:
            self.warehouse = open_warehouse(self.settings, statement_timeout=MAX_TIMEOUT_SECONDS)
        except WarehouseError as exc:
            # Reported where it is used (each /sql and /ask says so), not a failed start.
            self.warehouse_error = str(exc)
            self.log.error("SQL agent warehouse not usable: %s", exc)
        else:
            self.log.info("SQL agent warehouse: %s (%s)", self.warehouse.label, self.warehouse.dialect)
        self.llm = _build_llm(self.settings)

    async def teardown(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self.warehouse is not None:
            await self.warehouse.close()

    async def _sweep_now_and_then(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_INTERVAL_SECONDS)
            await sweep_stale_queries()

    async def check_config(self, config: SQLConfig) -> None:
        """Enabling or reconfiguring refuses table names the warehouse does not have."""
        from venn_plugins.sql_agent.catalog import missing_tables

        if self.warehouse is None:
            raise ConfigRejected({"allowed_tables": self.warehouse_error or "No warehouse is configured."})
        try:
            missing = await missing_tables(self.warehouse, config.allowed_tables)
        except WarehouseError as exc:
            raise ConfigRejected({"allowed_tables": f"The warehouse's tables could not be read: {exc}"}) from None
        if missing:
            names = ", ".join(missing[:20]) + (f" and {len(missing) - 20} more" if len(missing) > 20 else "")
            raise ConfigRejected(
                {"allowed_tables": f"The warehouse has no table {names} (GET /api/v1/sql/tables lists its tables)."}
            )

    # Handlers ------------------------------------------------------------------------

    @command("sql", usage="SELECT ...", timeout=SQL_HANDLER_TIMEOUT,
             help="Run your own read-only SELECT over the allowed tables, through the same guard.")
    async def sql(self, ctx: Context) -> None:
        statement = ctx.text.strip()
        if not statement:
            await ctx.reply("Usage: /sql SELECT ... (a read-only query over: " + _tables(ctx) + ")")
            return
        query = await self._new_query(ctx, QuerySource.SQL, question="", sql=statement)
        async with _settled(ctx, self, query):
            await self._run_sql(ctx, query, statement)

    @command("ask", usage="QUESTION", timeout=ASK_HANDLER_TIMEOUT,
             help="Ask a question about the data in plain language; the agent writes and runs the SQL.")
    async def ask(self, ctx: Context) -> None:
        await self._ask(ctx, ctx.text.strip())

    @on_mention(timeout=ASK_HANDLER_TIMEOUT)
    async def mentioned(self, ctx: Context) -> None:
        await self._ask(ctx, ctx.text.strip())

    @on_event(LLM_QUERY_EVENT, timeout=ASK_HANDLER_TIMEOUT)
    async def llm_query(self, ctx: Context) -> None:
        """A question asked over REST (the query row was made by the endpoint)."""
        query = await SqlQuery.get_or_none(id=int(ctx.data.get("query_id") or 0))
        if query is None or query.thread_id != ctx.thread_id:
            return  # not this thread's
        if query.status == QueryStatus.RUNNING:
            # A redelivered job: the attempt that started it died with its process.
            await self._failed(ctx, query, LOST_QUERY)
            return
        if query.status != QueryStatus.QUEUED:
            return  # already answered (a redelivered job)
        query.status = QueryStatus.RUNNING
        query.allow_csv = ctx.config.allow_csv
        await query.save(update_fields=["status", "allow_csv"])
        async with _settled(ctx, self, query):
            await self._agent(ctx, query)

    # /sql ---------------------------------------------------------------------------------

    async def _run_sql(self, ctx: Context, query: SqlQuery, statement: str) -> None:
        guarded = await self._guarded(ctx, query)
        if guarded is None:
            return
        await self._emit(ctx, query, "running_sql", sql=statement)
        try:
            result = await guarded.run(statement)
        except SQLGuardError as exc:
            await self._refused(ctx, query, str(exc))
            return
        except WarehouseTimeout as exc:
            await self._failed(ctx, query, str(exc), status=QueryStatus.TIMEOUT)
            return
        except WarehouseError as exc:
            await self._failed(ctx, query, f"The warehouse could not run it: {exc}")
            return
        await self._answer(ctx, query, None, guarded.last_sql or statement, result)

    # /ask ---------------------------------------------------------------------------------

    async def _ask(self, ctx: Context, question: str) -> None:
        if not question:
            await ctx.reply("Ask a question about the data, e.g. /ask top 10 customers by revenue last month. "
                            "Tables here: " + _tables(ctx))
            return
        if ctx.user is not None and self.services is not None:
            per_minute = int(self.settings.sql_questions_per_minute)
            wait = await question_wait(self.services.limiter, ctx.user.id, per_minute)
            if wait is not None:  # no question, no audit entry: as a refused REST request
                await ctx.reply(rate_limited_text(wait, per_minute))
                return
        query = await self._new_query(ctx, QuerySource.ASK, question=question)
        async with _settled(ctx, self, query):
            await self._agent(ctx, query)

    async def _agent(self, ctx: Context, query: SqlQuery) -> None:
        if self.llm is None:
            from venn_plugins.sql_agent.llm import HOW_TO_CONFIGURE

            await self._failed(ctx, query, HOW_TO_CONFIGURE)
            return
        config = cast(SQLConfig, ctx.config)
        spent = await budget_spent(config.daily_token_budget, ctx.channel.id, ctx.thread_id)
        if spent is not None:  # stopped before any model call
            await self._refused(ctx, query, spent.text, lead=True)
            return
        guarded = await self._guarded(ctx, query)
        if guarded is None:
            return
        from venn_plugins.sql_agent.agent import AgentError, answer_question
        from venn_plugins.sql_agent.knowledge import retrieve
        from venn_plugins.sql_agent.memory import load_history, remember
        from venn_plugins.sql_agent.usage import TokenUsage, counting_tokens

        store = ctx.thread_store if ctx.thread is not None else ctx.channel_store

        async def on_status(status: str, data: dict[str, Any]) -> None:
            await self._emit(ctx, query, status, **data)

        try:
            history = await load_history(store)
            with counting_tokens() as tokens:
                try:
                    async with asyncio.timeout(ask_budget(ctx.config.timeout_seconds)):
                        # The curated knowledge this thread may see; the audit keeps which entries.
                        knowledge = await retrieve(
                            query.question, warehouse=guarded.warehouse.label, allowed_tables=guarded.allowed_tables,
                            dialect=guarded.dialect, default_database=guarded.warehouse.default_database,
                            default_schema=guarded.warehouse.default_schema,
                        )
                        query.knowledge_ids = [hit.id for hit in knowledge]
                        await query.save(update_fields=["knowledge_ids"])
                        answer = await answer_question(
                            query.question,
                            llm=self.llm,
                            sql=guarded,
                            history=history,
                            on_status=on_status,
                            max_steps=MAX_STEPS,
                            today=dt.datetime.now(dt.UTC).date(),
                            knowledge=knowledge,
                        )
                finally:  # saved with the query's outcome, whatever it is
                    _note_usage(query, TokenUsage.of(tokens))
        except AgentError as exc:
            await guarded.flush()
            await self._failed(ctx, query, str(exc))
            return
        except TimeoutError:
            await guarded.flush()
            await self._failed(
                ctx, query, "The question took too long to answer and was stopped.", status=QueryStatus.TIMEOUT
            )
            return
        await guarded.flush()
        await remember(store, query.question, answer)
        if answer.result is None or answer.sql is None:
            await self._answer_text(ctx, query, answer.text)
            return
        await self._answer(ctx, query, answer.text, answer.sql, answer.result, chart=answer.chart)

    # Shared -------------------------------------------------------------------------------

    async def _new_query(self, ctx: Context, source: QuerySource, *, question: str, sql: str | None = None) -> SqlQuery:
        user = ctx.user
        return await SqlQuery.create(
            thread_id=ctx.thread_id,
            channel_id=ctx.channel.id,
            user_id=user.id if user else None,
            username=user.username if user else "",
            source=source,
            question=question,
            sql=sql,
            status=QueryStatus.RUNNING,
            allow_csv=ctx.config.allow_csv,
        )

    async def _guarded(self, ctx: Context, query: SqlQuery) -> GuardedSQL | None:
        """The question's access to the warehouse (None, after saying why, without one)."""
        if self.warehouse is None:
            await self._failed(ctx, query, self.warehouse_error or "No warehouse is configured.")
            return None
        config: SQLConfig = ctx.config
        return GuardedSQL(
            self.warehouse,
            config.allowed_tables,
            max_rows=config.max_rows,
            timeout_seconds=config.timeout_seconds,
            query_id=query.id,
            thread_id=ctx.thread_id,
        )

    async def _emit(self, ctx: Context, query: SqlQuery, status: str, **extra: Any) -> None:
        await ctx.emit("llm_response", {"thread_id": ctx.thread_id, "query_id": query.id, "status": status, **extra})

    async def _answer(
        self, ctx: Context, query: SqlQuery, text: str | None, sql: str, result: QueryResult,
        *, chart: ChartSuggestion | None = None,
    ) -> None:
        config: SQLConfig = ctx.config
        # the model's chart suggestion if it fits the result, else Venn's own choice (charts.py)
        drawn = pick_chart(result.columns, result.rows, chart)
        payload = result_payload(
            query.id, query.question or None, sql, result, allow_csv=config.allow_csv,
            max_bytes=int(self.settings.sql_max_result_bytes), chart=drawn,
        )
        await _finish(
            query, QueryStatus.DONE, sql=sql, columns=result.columns, rows=result.rows,
            row_count=result.row_count, truncated=result.truncated, elapsed_ms=result.elapsed_ms,
            chart=drawn.as_dict() if drawn is not None and payload["chart"] is not None else None,
        )
        body = _lead(query) + result_body(text, sql, result, max_rows=config.max_rows)
        message = await ctx.reply(body, payload=payload)
        await self._emit(ctx, query, "done", sql=sql, row_count=result.row_count, message_id=message["id"])

    async def _answer_text(self, ctx: Context, query: SqlQuery, text: str) -> None:
        await _finish(query, QueryStatus.DONE)
        message = await ctx.reply(_lead(query) + text)
        await self._emit(ctx, query, "done", message_id=message["id"])

    async def _refused(self, ctx: Context, query: SqlQuery, reason: str, *, lead: bool = False) -> None:
        await _finish(query, QueryStatus.REFUSED, error=reason)
        answer = await ctx.reply(_lead(query) + reason if lead else f"Refused: {reason}")
        await self._emit(ctx, query, "error", message=reason, message_id=answer["id"])

    async def _failed(
        self, ctx: Context, query: SqlQuery, message: str, *, status: QueryStatus = QueryStatus.ERROR
    ) -> None:
        await _finish(query, status, error=message)
        answer = await ctx.reply(_lead(query) + message)
        await self._emit(ctx, query, "error", message=message, message_id=answer["id"])


@contextlib.asynccontextmanager
async def _settled(ctx: Context, plugin: SQLAgentPlugin, query: SqlQuery) -> AsyncIterator[None]:
    """A query left running by a failure or a stop (the runtime's timeout) is closed as an
    error in the audit and for the thread's live clients; the runtime then tells the thread."""
    try:
        yield
    except BaseException as exc:
        if query.status in (QueryStatus.RUNNING, QueryStatus.QUEUED):
            status = QueryStatus.ERROR
            if not isinstance(exc, (asyncio.CancelledError, TimeoutError)):
                message = "The SQL agent ran into an internal error."
            elif time.monotonic() >= ctx.deadline:
                status, message = QueryStatus.TIMEOUT, "The question took too long and was stopped."
            else:
                message = "The question was stopped."
            try:
                await asyncio.shield(_finish(query, status, error=message))
                await asyncio.shield(plugin._emit(ctx, query, "error", message=message))
            except BaseException:  # pragma: no cover - best effort while failing
                log.debug("could not close a failed query", exc_info=True)
        raise


async def sweep_stale_queries(older_than: float = STALE_AFTER_SECONDS) -> int:
    """Close as errors the queries still queued or running ``older_than`` seconds after
    they were made: their handler died with its process (a redelivered REST question
    closes its own at once). Returns how many were closed."""
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=older_than)
    try:
        closed = await SqlQuery.filter(
            status__in=[QueryStatus.QUEUED, QueryStatus.RUNNING], created_at__lt=cutoff
        ).update(status=QueryStatus.ERROR, error=LOST_QUERY, finished_at=dt.datetime.now(dt.UTC))
    except Exception:
        log.exception("could not close the SQL agent's lost queries")
        return 0
    if closed:
        log.warning("closed %d lost SQL agent queries", closed)
    return closed


#: the audit's token columns, saved with every outcome
USAGE_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")


async def _finish(query: SqlQuery, status: QueryStatus, **fields: Any) -> None:
    query.status = status
    query.finished_at = dt.datetime.now(dt.UTC)
    for name, value in fields.items():
        setattr(query, name, value)
    await query.save(update_fields=["status", "finished_at", *USAGE_FIELDS, *fields])


def _note_usage(query: SqlQuery, usage: Any) -> None:
    for name in USAGE_FIELDS:
        setattr(query, name, int(getattr(usage, name)))


def _lead(query: SqlQuery) -> str:
    """A question asked over REST is not in the thread: the answer quotes it."""
    if query.source != QuerySource.API:
        return ""
    question = " ".join(query.question.split())
    question = question if len(question) <= 300 else question[:299] + "…"
    return f"@{query.username} asked: {question}\n\n"


def _tables(ctx: Context) -> str:
    return ", ".join(ctx.config.allowed_tables)


def _build_llm(settings: Any) -> Any:
    """The LLM, or None (not configured, or the agent's modules are missing)."""
    try:
        from venn_plugins.sql_agent.llm import build_llm
    except ImportError:  # pragma: no cover - the agent ships with the plugin
        log.warning("the SQL agent's LLM module is missing: /ask is unavailable")
        return None
    return build_llm(settings)


plugin = SQLAgentPlugin
