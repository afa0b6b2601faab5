"""The SQL agent: a language model answers a question by calling tools over the warehouse.

:func:`answer_question` gives the model four tools, all backed by the question's
:class:`~venn_plugins.sql_agent.runner.GuardedSQL` (so every statement is guarded and audited,
whoever wrote it):

``list_tables``
    the thread's allow-listed tables;
``describe_table(table)``
    columns, types, comments and up to 3 sample rows of one allowed table;
``check_query(sql)``
    a dry run of the guard: the SQL that would run, or why it would be refused;
``run_query(sql)``
    run one read-only query; the model gets the columns and at most
    :data:`MAX_ROWS_SHOWN` rows, rendered compactly.

A tool that fails (the guard refuses the statement, the warehouse reports an error, the
model named an unknown tool or sent arguments that do not fit) answers the model with
the reason, so it can correct itself on its next step. A *step* is one call of the
model; after ``max_steps`` calls without a final answer the agent gives up with
:class:`AgentError`.

Why a hand-written loop and not ``langchain.agents.create_agent``: the loop below is a
few dozen lines over ``llm.bind_tools(...)`` and gives exact control of what the
product promises - the step limit counted in model calls, a status event before every
model call and before every statement, tool errors turned into tool results (and
nothing else swallowed), bounded tool output, and LLM failures turned into one
readable :class:`AgentError` - without a graph runtime to configure around it.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage

from venn_plugins.sql_agent.guard import SQLGuardError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from venn_plugins.sql_agent.runner import GuardedSQL
    from venn_plugins.sql_agent.warehouse import QueryResult, TableInfo

log = logging.getLogger("venn.plugins.sql.agent")

#: rows of a result shown to the model (the thread shows the whole result)
MAX_ROWS_SHOWN = 50
#: characters of one value shown to the model
MAX_CELL_CHARS = 120
#: characters of one tool result given to the model
MAX_TOOL_RESULT_CHARS = 12_000
#: characters of the history block in the system prompt
MAX_HISTORY_CHARS = 6_000

#: appended to the tool results before the model's last allowed call
LAST_STEP_NOTE = (
    "(Step limit: this is your last turn. Answer the question now with what you have; no more tool calls.)"
)

StatusCallback = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class AgentAnswer:
    """What the agent found: its answer, and the last statement that ran successfully."""

    text: str  # the model's final answer (plain text / Markdown)
    sql: str | None  # the last statement that ran successfully (as run, with its LIMIT)
    result: QueryResult | None  # its result
    steps: int  # model calls made


class AgentError(Exception):
    """The agent could not answer (step limit, LLM server failure); ``str()`` is safe to show.

    ``steps`` is the number of model calls made, ``sql`` the last statement that ran
    successfully (or None).
    """

    def __init__(self, message: str, *, steps: int = 0, sql: str | None = None) -> None:
        super().__init__(message)
        self.steps = steps
        self.sql = sql


# Tools ---------------------------------------------------------------------------


def _tool(name: str, description: str, properties: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties or {},
                "required": sorted(properties or {}),
                "additionalProperties": False,
            },
        },
    }


_SQL_ARG = {"sql": {"type": "string", "description": "One SQL SELECT statement."}}

TOOLS: list[dict[str, Any]] = [
    _tool("list_tables", "List the tables you may query."),
    _tool(
        "describe_table",
        "Show a table's columns (name, type, comment) and up to 3 sample rows.",
        {"table": {"type": "string", "description": "A table name, as list_tables gives it."}},
    ),
    _tool(
        "check_query",
        "Check a SELECT statement without running it: returns the SQL that would run "
        "(with its row limit), or the reason it would be refused.",
        _SQL_ARG,
    ),
    _tool(
        "run_query",
        "Run one read-only SELECT statement and return its columns and first rows.",
        _SQL_ARG,
    ),
]
TOOL_NAMES = frozenset(t["function"]["name"] for t in TOOLS)


def _tool_errors() -> tuple[type[BaseException], ...]:
    """The errors a tool reports to the model instead of raising."""
    from venn_plugins.sql_agent.warehouse import WarehouseError

    return (SQLGuardError, WarehouseError)


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, SQLGuardError):
        return f"Refused by the SQL guard: {exc} Write a different statement that follows the rules."
    return f"The warehouse reported an error: {exc}"


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


# The prompt -----------------------------------------------------------------------


def render_history(history: list[dict[str, Any]]) -> str:
    """Earlier questions of the thread (question, SQL, digest), oldest first, bounded."""
    blocks: list[str] = []
    for n, item in enumerate(history, 1):
        block = [f"{n}. Question: {item.get('question', '')}"]
        if item.get("sql"):
            block.append(f"   SQL: {item['sql']}")
        if item.get("digest"):
            block.append(f"   Result: {item['digest']}")
        if item.get("answer"):
            block.append(f"   Answer: {item['answer']}")
        blocks.append("\n".join(block))
    text = "\n".join(blocks)
    while len(text) > MAX_HISTORY_CHARS and blocks:  # drop the oldest first
        blocks.pop(0)
        text = "\n".join(blocks)
    return text


def system_prompt(sql: GuardedSQL, history: list[dict[str, Any]], today: datetime.date) -> str:
    """The instructions: dialect, allowed tables, today's date, row limit, earlier questions."""
    tables = ", ".join(sql.allowed_tables) or "(none)"
    parts = [
        "You are a data analyst answering questions about a SQL warehouse for people in a chat thread.",
        f"SQL dialect: {sql.dialect}. Today's date: {today.isoformat()}.",
        f"You may only read these tables: {tables}.",
        "Work with the tools: describe the tables you need before writing SQL, then run one "
        "read-only SELECT (WITH ... SELECT and set operations are fine) that answers the question. "
        f"Every statement is checked by a guard: only allowed tables, no DML/DDL, no system catalogs, "
        f"and results are limited to {sql.max_rows} rows. If a tool answers with an error, read the "
        "reason and correct your statement; do not repeat a refused statement.",
        "Resolve relative dates ('last month', 'this year') against today's date. "
        "When you have the result, answer in a few sentences of plain text or Markdown: state the "
        "answer and any assumption you made. The result table is shown to the user separately, so do "
        "not repeat it in full. If the question cannot be answered from these tables, say so.",
    ]
    earlier = render_history(history)
    if earlier:
        parts.append(
            "Earlier questions in this thread (oldest first); a follow-up question may refer to them:\n"
            + earlier
        )
    return "\n\n".join(parts)


# LLM failures ---------------------------------------------------------------------


def _llm_failure(exc: BaseException) -> str:
    """A message for users about a failed LLM request (no URL, no key, no server text)."""
    import openai

    status = getattr(exc, "status_code", None)
    if isinstance(exc, openai.APITimeoutError):
        return "The language model server did not answer in time; try again later."
    if isinstance(exc, openai.APIConnectionError):
        return (
            "Could not reach the language model server: check OPENAI_BASE_URL "
            "and that the server is running."
        )
    if status in (401, 403):
        return f"The language model server refused the request (HTTP {status}): check OPENAI_API_KEY."
    if status == 404:
        return "The language model server answered HTTP 404: check VENN_LLM_MODEL and OPENAI_BASE_URL."
    if status == 429:
        return "The language model server is rate limiting requests (HTTP 429); try again later."
    if status is not None and 400 <= status < 500:
        return (
            f"The language model server rejected the request (HTTP {status}); "
            "check that VENN_LLM_MODEL names a model that supports tool calling."
        )
    if status is not None:
        return f"The language model server failed (HTTP {status}); try again later."
    return "The language model server sent a reply Venn could not read."


# The loop -------------------------------------------------------------------------


class _Session:
    """One question: the tools' state (the last successful statement and its result)."""

    def __init__(self, sql: GuardedSQL, on_status: StatusCallback) -> None:
        self.sql = sql
        self.on_status = on_status
        self.last_sql: str | None = None
        self.last_result: QueryResult | None = None
        self.errors = _tool_errors()

    async def call(self, name: str, args: Any) -> tuple[str, bool]:
        """Run one tool call: (text for the model, whether it failed)."""
        if name not in TOOL_NAMES:
            return f"There is no tool named {str(name)[:60]!r}. The tools are: {', '.join(sorted(TOOL_NAMES))}.", True
        if not isinstance(args, dict):
            return "The tool arguments must be a JSON object.", True
        try:
            if name == "list_tables":
                tables = await self.sql.list_tables()
                return ("Tables you may query:\n" + "\n".join(tables)) if tables else "No tables are allowed.", False
            key = "table" if name == "describe_table" else "sql"
            value = args.get(key)
            if not isinstance(value, str) or not value.strip():
                return f"{name} needs the argument {key!r}: a non-empty string.", True
            if name == "describe_table":
                return render_table(await self.sql.describe(value.strip())), False
            if name == "check_query":
                checked = self.sql.check(value)
                return f"The guard accepts it. This SQL would run:\n{checked}", False
            return await self._run(value), False
        except self.errors as exc:
            return _error_text(exc), True

    async def _run(self, statement: str) -> str:
        await self.on_status("running_sql", {"sql": statement.strip()})
        result = await self.sql.run(statement)
        self.last_sql = _as_run(self.sql, statement)
        self.last_result = result
        return render_result(result, max_rows=self.sql.max_rows)


def _as_run(sql: GuardedSQL, statement: str) -> str:
    """The statement as the warehouse ran it (with its LIMIT): the runner keeps it."""
    ran = getattr(sql, "last_sql", None)
    return ran if isinstance(ran, str) and ran else statement.strip()


async def answer_question(
    question: str,
    *,
    llm: BaseChatModel,
    sql: GuardedSQL,
    history: list[dict[str, Any]],
    on_status: StatusCallback,
    max_steps: int = 8,
    today: datetime.date | None = None,
) -> AgentAnswer:
    """Answer ``question`` with ``llm``, querying the warehouse through ``sql``.

    ``history`` is the thread's earlier questions (:func:`venn_plugins.sql_agent.memory.load_history`).
    Calls ``on_status("thinking", {})`` before each model call and
    ``on_status("running_sql", {"sql": ...})`` before each statement runs. Raises
    :class:`AgentError` when the model makes ``max_steps`` calls without a final answer
    or the LLM server fails.
    """
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    today = today or datetime.date.today()
    session = _Session(sql, on_status)
    bound = llm.bind_tools(TOOLS)
    messages: list[BaseMessage] = [
        SystemMessage(system_prompt(sql, history, today)),
        HumanMessage(question),
    ]
    for step in range(1, max_steps + 1):
        await on_status("thinking", {})
        try:
            reply = await bound.ainvoke(messages)
        except Exception as exc:  # the LLM request: turned into one readable error
            message = _llm_failure(exc)
            log.warning("LLM request failed (%s): %s", type(exc).__name__, message)
            raise AgentError(message, steps=step, sql=session.last_sql) from None
        if not isinstance(reply, AIMessage):  # pragma: no cover - chat models return AIMessage
            reply = AIMessage(content=str(reply.content))
        calls = list(reply.tool_calls)
        invalid = list(reply.invalid_tool_calls)
        for n, call in enumerate([*calls, *invalid]):  # some servers leave ids out: give them one
            if not call.get("id"):
                call["id"] = f"call_{step}_{n}"
        messages.append(reply)
        if not calls and not invalid:
            text = reply.text.strip() or _fallback_text(session)
            return AgentAnswer(text=text, sql=session.last_sql, result=session.last_result, steps=step)
        if step == max_steps:
            break
        for call in calls:
            content, failed = await session.call(call["name"], call.get("args"))
            messages.append(
                ToolMessage(
                    content=content,
                    tool_call_id=call["id"],
                    name=call["name"],
                    status="error" if failed else "success",
                )
            )
        for bad in invalid:
            messages.append(
                ToolMessage(
                    content=f"The arguments of {bad.get('name') or 'this call'} are not valid JSON: "
                    "send a JSON object.",
                    tool_call_id=bad["id"],
                    name=bad.get("name") or "unknown",
                    status="error",
                )
            )
        if step == max_steps - 1:  # the next call is the last: say so, so the model answers
            last = messages[-1]
            last.content = f"{last.content}\n\n{LAST_STEP_NOTE}"
    raise AgentError(
        f"The model did not reach an answer within {max_steps} steps; "
        "try a simpler or more specific question.",
        steps=max_steps,
        sql=session.last_sql,
    )


def _fallback_text(session: _Session) -> str:
    if session.last_result is not None:
        return "Here is the result of the query."
    return "The model gave no answer."
