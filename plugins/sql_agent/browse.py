"""Looking before asking: ``/tables``, ``/describe TABLE`` and ``/forget``.

A mixin of :class:`~venn_plugins.sql_agent.SQLAgentPlugin` (its handlers are the
plugin's). None of them calls the language model or counts as a question.

* ``/tables``: the thread's allowed tables, with the description and row count the
  warehouse's catalog has for each (:mod:`.catalog`).
* ``/describe TABLE``: the columns, types and comments of one allowed table, read
  through :meth:`GuardedSQL.describe <venn_plugins.sql_agent.runner.GuardedSQL.describe>`
  (the guard refuses a table that is not allowed; audited as a ``describe`` query).
* ``/forget``: clears the thread's memory of earlier questions (:mod:`.memory`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

from venn_bots import Context, command
from venn_plugins.sql_agent.catalog import Catalog, read_catalog
from venn_plugins.sql_agent.config import SQL_HANDLER_TIMEOUT, SQLConfig
from venn_plugins.sql_agent.guard import SQLGuardError
from venn_plugins.sql_agent.memory import forget as forget_history
from venn_plugins.sql_agent.models import QuerySource, QueryStatus, SqlQuery
from venn_plugins.sql_agent.runner import GuardedSQL
from venn_plugins.sql_agent.warehouse import TableInfo, WarehouseError

if TYPE_CHECKING:
    from venn_plugins.sql_agent.warehouse import Warehouse

__all__ = ["BrowseCommands", "describe_body", "tables_body"]

#: columns listed by /describe (a wider table says how many more it has)
DESCRIBE_COLUMNS = 200
#: characters of a description or comment in a list
NOTE_CHARS = 200


class BrowseCommands:
    """The plugin's ``/tables``, ``/describe`` and ``/forget`` handlers."""

    warehouse: Warehouse | None
    warehouse_error: str | None

    @command("tables", timeout=SQL_HANDLER_TIMEOUT,
             help="List the tables you can ask about here, with their descriptions and row counts.")
    async def list_tables(self, ctx: Context) -> None:
        config = cast(SQLConfig, ctx.config)
        if self.warehouse is None:
            await ctx.reply(self.warehouse_error or "No warehouse is configured.")
            return
        try:
            catalog: Catalog | None = await read_catalog(self.warehouse, tag=_tag(ctx))
            problem = None
        except WarehouseError as exc:
            catalog, problem = None, str(exc)
        await ctx.reply(tables_body(config.allowed_tables, catalog, problem))

    @command("describe", usage="TABLE", timeout=SQL_HANDLER_TIMEOUT,
             help="Show the columns, types and comments of one of the tables here.")
    async def describe_table(self, ctx: Context) -> None:
        config = cast(SQLConfig, ctx.config)
        table = ctx.text.strip()
        if not table:
            await ctx.reply("Usage: /describe TABLE (one of: " + ", ".join(config.allowed_tables) + ")")
            return
        if self.warehouse is None:
            await ctx.reply(self.warehouse_error or "No warehouse is configured.")
            return
        user = ctx.user
        query = await SqlQuery.create(
            thread_id=ctx.thread_id,
            channel_id=ctx.channel.id,
            user_id=user.id if user else None,
            username=user.username if user else "",
            source=QuerySource.DESCRIBE,
            question=table[:4000],
            status=QueryStatus.RUNNING,
            allow_csv=False,
        )
        guarded = GuardedSQL(
            self.warehouse, config.allowed_tables, max_rows=config.max_rows,
            timeout_seconds=config.timeout_seconds, query_id=query.id, thread_id=ctx.thread_id,
        )
        try:
            info = await guarded.describe(table)
        except SQLGuardError as exc:
            await _close(query, QueryStatus.REFUSED, str(exc))
            await ctx.reply(f"Refused: {exc}")
            return
        except WarehouseError as exc:
            await _close(query, QueryStatus.ERROR, str(exc))
            await ctx.reply(f"The warehouse could not describe it: {exc}")
            return
        except BaseException:
            await _close(query, QueryStatus.ERROR, "The table could not be described.")
            raise
        await _close(query, QueryStatus.DONE, None)
        await ctx.reply(describe_body(info))

    @command("forget", help="Forget the earlier questions of this thread: the next question starts fresh.")
    async def forget_memory(self, ctx: Context) -> None:
        store = ctx.thread_store if ctx.thread is not None else ctx.channel_store
        count = await forget_history(store)
        where = "this thread" if ctx.thread is not None else "this channel"
        if not count:
            await ctx.reply(f"There is nothing to forget: no earlier questions of {where} are remembered.")
            return
        noun = "question" if count == 1 else "questions"
        await ctx.reply(f"Forgot {count} earlier {noun} of {where}: the next question starts without them.")


async def _close(query: SqlQuery, status: QueryStatus, error: str | None) -> None:
    await SqlQuery.filter(id=query.id).update(
        status=status, error=error, finished_at=dt.datetime.now(dt.UTC)
    )


def _tag(ctx: Context) -> str:
    return f"venn thread={ctx.thread_id}" if ctx.thread_id is not None else "venn"


def _clip(text: str, limit: int = NOTE_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


def tables_body(allowed: list[str], catalog: Catalog | None, problem: str | None = None) -> str:
    """What ``/tables`` answers: each allowed table with its description and row count."""
    lines = [f"Tables you can ask about here ({len(allowed)}):"]
    for name in allowed:
        line = f"- {name}"
        found = catalog.find(name) if catalog is not None else None
        if catalog is not None and found is None and not catalog.truncated:
            line += ": not found in the warehouse"
        elif found is not None:
            notes = [_clip(found.description)] if found.description else []
            if found.row_count is not None:
                notes.append(_rows(found.row_count))
            if notes:
                line += ": " + " · ".join(notes)
        lines.append(line)
    if problem:
        lines.append(f"(The warehouse's catalog could not be read: {problem})")
    lines.append("/describe TABLE shows a table's columns.")
    return "\n".join(lines)


def describe_body(info: TableInfo) -> str:
    """What ``/describe`` answers: the table's comment and a Markdown table of its columns."""
    head = f"{info.name}: {_clip(info.comment, 500)}" if info.comment else info.name
    lines = [head, "", "| column | type | comment |", "| --- | --- | --- |"]
    for column in info.columns[:DESCRIBE_COLUMNS]:
        cells = [column.name, column.type, column.comment or ""]
        lines.append("| " + " | ".join(_clip(c).replace("|", "\\|") for c in cells) + " |")
    more = len(info.columns) - DESCRIBE_COLUMNS
    if more > 0:
        lines.append(f"\n(and {more} more columns)")
    return "\n".join(lines)
