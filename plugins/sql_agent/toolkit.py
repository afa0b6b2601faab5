"""A LangChain toolkit over a read-only warehouse that cannot be talked out of its allow-list.

:class:`VennSQLToolkit` gives an agent four tools, all backed by one
:class:`~venn_plugins.sql_agent.runner.GuardedSQL`:

``list_tables``
    the allowed tables;
``describe_table(table)``
    columns, types, comments and up to 3 sample rows of one allowed table;
``check_query(sql)``
    a dry run of the guard: the SQL that would run, or why it would be refused;
``run_query(sql)``
    run one read-only query; the model reads the columns and at most
    :data:`MAX_ROWS_SHOWN` rows, rendered compactly (the whole
    :class:`~venn_plugins.sql_agent.warehouse.QueryResult` is the tool message's
    ``artifact``).

Besides these, :meth:`VennSQLToolkit.chart_tool` gives ``suggest_chart``: the model
may name a chart type and columns for the result (a fixed schema, never code); Venn
checks the suggestion against the result and draws the chart itself (:mod:`.charts`).

Unlike LangChain's ``SQLDatabaseToolkit``, which runs whatever the model writes, every
statement here passes the sqlglot guard first (allowed tables only, one read-only
SELECT, a row limit) and is recorded by the runner. A refusal, a warehouse error or
arguments that do not fit come back to the model as the tool's result (LangChain's
``ToolException`` / ``handle_tool_error``), so any agent can correct itself instead of
stopping. The tools are asynchronous: run the agent with ``ainvoke`` / ``astream``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.tools import BaseTool, BaseToolkit, StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from venn_plugins.sql_agent.charts import ChartSuggestion, UnfitSuggestion, check_suggestion, describe, pick_chart
from venn_plugins.sql_agent.guard import SQLGuardError
from venn_plugins.sql_agent.runner import GuardedSQL
from venn_plugins.sql_agent.warehouse import WarehouseError

if TYPE_CHECKING:
    from venn_plugins.sql_agent.warehouse import QueryResult, TableInfo, Warehouse

__all__ = [
    "CHART_TOOL",
    "MAX_ROWS_SHOWN",
    "TOOL_NAMES",
    "VennSQLToolkit",
    "render_result",
    "render_rows",
    "render_table",
]

#: rows of a result shown to the model (the caller gets the whole result)
MAX_ROWS_SHOWN = 50
#: characters of one value shown to the model
MAX_CELL_CHARS = 120
#: characters of one tool result given to the model
MAX_TOOL_RESULT_CHARS = 12_000

#: the tools' names, in the order :meth:`VennSQLToolkit.get_tools` gives them
TOOL_NAMES = ("list_tables", "describe_table", "check_query", "run_query")
#: the chart suggestion tool (:meth:`VennSQLToolkit.chart_tool`), not one of :meth:`~VennSQLToolkit.get_tools`
CHART_TOOL = "suggest_chart"

OnRun = Callable[[str], Awaitable[None]]


# Rendering for the model ----------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value
    elif isinstance(value, (list, dict)):
        text = json.dumps(value, default=str)
    else:
        text = str(value)
    text = text.replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - 1] + "…"
    return text


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 40].rstrip() + "\n… (output cut to fit)"


def render_rows(columns: list[str], rows: list[list[Any]], limit: int = MAX_ROWS_SHOWN) -> str:
    """Columns and up to ``limit`` rows as compact ``a | b | c`` lines."""
    lines = [" | ".join(_cell(c) for c in columns)]
    lines.extend(" | ".join(_cell(v) for v in row) for row in rows[:limit])
    return "\n".join(lines)


def render_result(result: QueryResult, *, max_rows: int | None = None) -> str:
    """A query result as the model sees it: a row count line, then the rows."""
    shown = min(result.row_count, MAX_ROWS_SHOWN)
    head = f"{result.row_count} row(s)"
    if result.truncated:
        limit = f" (max_rows={max_rows})" if max_rows else ""
        head += f"; the query returned more rows, cut at the row limit{limit}"
    if shown < result.row_count:
        head += f"; showing the first {shown}"
    if result.row_count == 0:
        return f"0 rows. Columns: {', '.join(result.columns)}"
    return _clip(head + ":\n" + render_rows(result.columns, result.rows, shown), MAX_TOOL_RESULT_CHARS)


def render_table(info: TableInfo) -> str:
    """A table's description as the model sees it."""
    lines = [f"Table {info.name}" + (f" -- {info.comment}" if info.comment else ""), "Columns:"]
    for col in info.columns:
        lines.append(f"- {col.name} {col.type}" + (f" -- {col.comment}" if col.comment else ""))
    sample = info.sample
    if sample is not None and sample.row_count:
        lines.append(f"Sample rows ({min(sample.row_count, 3)}):")
        lines.append(render_rows(sample.columns, sample.rows, 3))
    else:
        lines.append("The table is empty.")
    return _clip("\n".join(lines), MAX_TOOL_RESULT_CHARS)


# The tools' arguments ---------------------------------------------------------------


# Arguments the schemas do not name are ignored (as a lenient reader of models' calls).


class _NoArgs(BaseModel):
    pass


class _TableArg(BaseModel):
    table: str = Field(description="A table name, as list_tables gives it.")


class _SQLArg(BaseModel):
    sql: str = Field(description="One SQL SELECT statement.")


def _needs(tool: str, key: str) -> str:
    return f"{tool} needs the argument {key!r}: a non-empty string."


def _refusal(exc: SQLGuardError | WarehouseError) -> ToolException:
    """What the model reads when a statement fails (the messages are safe to show)."""
    if isinstance(exc, SQLGuardError):
        return ToolException(f"Refused by the SQL guard: {exc} Write a different statement that follows the rules.")
    return ToolException(f"The warehouse reported an error: {exc}")


# The toolkit ----------------------------------------------------------------------


class VennSQLToolkit(BaseToolkit):
    """Four guarded tools over one :class:`~venn_plugins.sql_agent.runner.GuardedSQL`.

    Build it over a warehouse and an allow-list with :meth:`from_warehouse`, or over a
    ``GuardedSQL`` you made (Venn passes the question's audited one). ``on_run``, if
    given, is awaited with each statement ``run_query`` is about to hand to the guard
    (progress reporting). Tool calls are served one at a time, in the order the agent
    makes them, so the audit and :attr:`GuardedSQL.last_sql` follow the model's order.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    sql: GuardedSQL = Field(description="The guarded access every tool goes through.")
    on_run: OnRun | None = Field(default=None, description="Awaited with each statement before it runs.")

    _lock: asyncio.Lock = PrivateAttr(default_factory=asyncio.Lock)
    _chart: ChartSuggestion | None = PrivateAttr(default=None)

    @classmethod
    def from_warehouse(
        cls,
        warehouse: Warehouse,
        allowed_tables: Sequence[str],
        *,
        max_rows: int = 100,
        timeout_seconds: float = 60,
        on_run: OnRun | None = None,
    ) -> VennSQLToolkit:
        """A toolkit reading only ``allowed_tables`` of ``warehouse``, at most ``max_rows``
        rows and ``timeout_seconds`` per statement."""
        guarded = GuardedSQL(warehouse, allowed_tables, max_rows=max_rows, timeout_seconds=timeout_seconds)
        return cls(sql=guarded, on_run=on_run)

    def get_tools(self) -> list[BaseTool]:
        """``list_tables``, ``describe_table``, ``check_query`` and ``run_query``."""
        return [
            self._tool("list_tables", "List the tables you may query.", _NoArgs, self._list_tables),
            self._tool(
                "describe_table",
                "Show a table's columns (name, type, comment) and up to 3 sample rows.",
                _TableArg,
                self._describe_table,
            ),
            self._tool(
                "check_query",
                "Check a SELECT statement without running it: returns the SQL that would run "
                "(with its row limit), or the reason it would be refused.",
                _SQLArg,
                self._check_query,
            ),
            self._tool(
                "run_query",
                "Run one read-only SELECT statement and return its columns and first rows.",
                _SQLArg,
                self._run_query,
                artifact=True,
            ),
        ]

    # The chart suggestion ------------------------------------------------------------

    @property
    def chart_suggestion(self) -> ChartSuggestion | None:
        """The model's last ``suggest_chart`` call (None: it made none)."""
        return self._chart

    def chart_tool(self) -> BaseTool:
        """``suggest_chart(type, x, y, color?)``: the model's suggestion of how to chart the
        result of its last query, kept in :attr:`chart_suggestion`. Only names go through
        this schema; whoever draws the chart checks them against the result
        (:func:`~venn_plugins.sql_agent.charts.pick_chart`)."""

        async def suggest(**kwargs: Any) -> str:
            suggestion = ChartSuggestion.model_validate(kwargs)
            async with self._lock:
                self._chart = suggestion
                result = self.sql.last_result
            if result is None:
                return "Noted. It will be checked against the result of your last run_query."
            try:
                chart = check_suggestion(suggestion, result.columns, result.rows)
            except UnfitSuggestion as exc:
                fallback = describe(pick_chart(result.columns, result.rows))
                return f"Not used: {exc} The thread gets {fallback} instead."
            return f"Noted: the thread gets {describe(chart)} with the result."

        return StructuredTool.from_function(
            coroutine=suggest,
            name=CHART_TOOL,
            description=(
                "Optional: suggest how to chart the result of your last run_query. type: line (x a date/time "
                "or ordered number column, y a number column), bar (x a category, y a number), scatter (x and y "
                "numbers) or none; x, y and color are column names of the result (color splits the series). "
                "Venn draws the chart; a suggestion that does not fit the result is ignored."
            ),
            args_schema=ChartSuggestion,
            handle_tool_error=True,
            handle_validation_error=(
                f"{CHART_TOOL} needs type (line, bar, scatter or none), x and y (column names of the result) "
                "and optionally color."
            ),
        )

    # Inside ------------------------------------------------------------------------

    def _tool(
        self,
        name: str,
        description: str,
        args: type[BaseModel],
        coroutine: Callable[..., Awaitable[Any]],
        *,
        artifact: bool = False,
    ) -> StructuredTool:
        key = next(iter(args.model_fields), "")

        async def serve(**kwargs: Any) -> Any:
            async with self._lock:  # one call at a time, in the order they were made
                return await coroutine(**kwargs)

        return StructuredTool.from_function(
            coroutine=serve,
            name=name,
            description=description,
            args_schema=args,
            response_format="content_and_artifact" if artifact else "content",
            handle_tool_error=True,
            # an argument missing or not a string: the model reads what to send instead
            handle_validation_error=_needs(name, key) if key else True,
        )

    async def _list_tables(self) -> str:
        tables = await self.sql.list_tables()
        return ("Tables you may query:\n" + "\n".join(tables)) if tables else "No tables are allowed."

    async def _describe_table(self, table: str) -> str:
        if not table.strip():
            raise ToolException(_needs("describe_table", "table"))
        try:
            return render_table(await self.sql.describe(table.strip()))
        except (SQLGuardError, WarehouseError) as exc:
            raise _refusal(exc) from None

    async def _check_query(self, sql: str) -> str:
        if not sql.strip():
            raise ToolException(_needs("check_query", "sql"))
        try:
            return f"The guard accepts it. This SQL would run:\n{self.sql.check(sql)}"
        except SQLGuardError as exc:
            raise _refusal(exc) from None

    async def _run_query(self, sql: str) -> tuple[str, QueryResult]:
        if not sql.strip():
            raise ToolException(_needs("run_query", "sql"))
        if self.on_run is not None:
            await self.on_run(sql.strip())
        try:
            result = await self.sql.run(sql)
        except (SQLGuardError, WarehouseError) as exc:
            raise _refusal(exc) from None
        return render_result(result, max_rows=self.sql.max_rows), result
