"""The SQL agent: a language model answers a question by calling tools over the warehouse.

:func:`answer_question` builds a LangChain agent (``langchain.agents.create_agent``) with
the four tools of :class:`~venn_plugins.sql_agent.toolkit.VennSQLToolkit` over the
question's :class:`~venn_plugins.sql_agent.runner.GuardedSQL` (so every statement is
guarded and audited, whoever wrote it): ``list_tables``, ``describe_table``,
``check_query`` and ``run_query``.

A tool that fails (the guard refuses the statement, the warehouse reports an error, the
model named an unknown tool or sent arguments that do not fit) answers the model with
the reason, so it can correct itself on its next step. A *step* is one call of the
model; LangChain's ``ModelCallLimitMiddleware`` stops the agent after ``max_steps``
calls, which :func:`answer_question` reports as :class:`AgentError`.

What the product promises on top of LangChain's agent loop is one middleware,
:class:`_QuestionMiddleware`: a ``thinking`` status before every model call, the
last-turn note before the last one, LLM failures turned into one readable
:class:`AgentError`, tool calls the model cannot have meant (an unknown name, arguments
that are not JSON, calls without ids) answered rather than dropped, and no tool run
after the last allowed step.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, AgentState, ModelCallLimitMiddleware, hook_config
from langchain.agents.middleware.model_call_limit import ModelCallLimitExceededError
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from venn_plugins.sql_agent.knowledge.retrieval import KnowledgeHit, render_knowledge
from venn_plugins.sql_agent.toolkit import CHART_TOOL, TOOL_NAMES, VennSQLToolkit

if TYPE_CHECKING:
    from langchain.agents.middleware import ModelRequest, ModelResponse, ToolCallRequest
    from langchain_core.language_models import BaseChatModel
    from langgraph.runtime import Runtime
    from langgraph.types import Command

    from venn_plugins.sql_agent.charts import ChartSuggestion
    from venn_plugins.sql_agent.runner import GuardedSQL
    from venn_plugins.sql_agent.warehouse import QueryResult

__all__ = ["LAST_STEP_NOTE", "AgentAnswer", "AgentError", "answer_question", "render_history", "system_prompt"]

log = logging.getLogger("venn.plugins.sql.agent")

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
    chart: ChartSuggestion | None = None  # the model's last suggest_chart (checked when drawn)


class AgentError(Exception):
    """The agent could not answer (step limit, LLM server failure); ``str()`` is safe to show.

    ``steps`` is the number of model calls made, ``sql`` the last statement that ran
    successfully (or None).
    """

    def __init__(self, message: str, *, steps: int = 0, sql: str | None = None) -> None:
        super().__init__(message)
        self.steps = steps
        self.sql = sql


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


def system_prompt(
    sql: GuardedSQL, history: list[dict[str, Any]], today: datetime.date, knowledge: Sequence[KnowledgeHit] = ()
) -> str:
    """The instructions: dialect, allowed tables, today's date, row limit, the curated
    knowledge retrieved for the question, earlier questions."""
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
    curated = render_knowledge(knowledge)
    if curated:
        parts.append(
            "What this warehouse's admins wrote down for questions like this one (most relevant first): "
            "table and column meanings, business terms and verified examples. Follow their definitions; "
            "adapt an example's SQL to the question rather than copying it unchanged:\n" + curated
        )
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


# The agent ------------------------------------------------------------------------


class _QuestionMiddleware(AgentMiddleware):
    """The product's promises around LangChain's agent loop, for one question."""

    def __init__(self, sql: GuardedSQL, on_status: StatusCallback, max_steps: int) -> None:
        super().__init__()
        self.sql = sql
        self.on_status = on_status
        self.max_steps = max_steps
        self.steps = 0  # model calls made

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> ModelResponse:
        self.steps += 1
        await self.on_status("thinking", {})
        if self.steps == self.max_steps and self.steps > 1:  # the last call: say so, so the model answers
            request = request.override(messages=_with_last_step_note(request.messages))
        try:
            return await handler(request)
        except Exception as exc:  # the LLM request: turned into one readable error
            message = _llm_failure(exc)
            log.warning("LLM request failed (%s): %s", type(exc).__name__, message)
            raise AgentError(message, steps=self.steps, sql=self.sql.last_sql) from None

    @hook_config(can_jump_to=["model"])
    async def aafter_model(self, state: AgentState[Any], runtime: Runtime) -> dict[str, Any] | None:
        reply = state["messages"][-1]
        if not isinstance(reply, AIMessage) or not (reply.tool_calls or reply.invalid_tool_calls):
            return None
        update: dict[str, Any] = {}
        calls = [dict(c) for c in reply.tool_calls]
        invalid = [dict(c) for c in reply.invalid_tool_calls]
        if any(not c.get("id") for c in [*calls, *invalid]):  # some servers leave ids out: give them one
            for n, call in enumerate([*calls, *invalid]):
                call["id"] = call.get("id") or f"call_{self.steps}_{n}"
            reply = reply.model_copy(update={"tool_calls": calls, "invalid_tool_calls": invalid})
            update["messages"] = [reply]  # same message id: replaces the reply in the state
        if invalid:
            # LangChain's loop ends at a reply without valid calls; the model gets told instead.
            update.setdefault("messages", []).extend(
                ToolMessage(
                    content=f"The arguments of {bad.get('name') or 'this call'} are not valid JSON: "
                    "send a JSON object.",
                    tool_call_id=bad["id"],
                    name=bad.get("name") or "unknown",
                    status="error",
                )
                for bad in invalid
            )
            if not calls:
                update["jump_to"] = "model"
        return update or None

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolMessage | Command]]
    ) -> ToolMessage | Command:
        call = request.tool_call
        if request.tool is None:
            tools = ", ".join(sorted((*TOOL_NAMES, CHART_TOOL)))
            return _tool_error(call, f"There is no tool named {str(call['name'])[:60]!r}. The tools are: {tools}.")
        if not isinstance(call.get("args"), dict):
            return _tool_error(call, "The tool arguments must be a JSON object.")
        if self.steps >= self.max_steps:
            # The model used its last step on tool calls: the question ends at the next
            # model call (ModelCallLimitMiddleware), so nothing more is run.
            return _tool_error(call, "Not run: the step limit was reached.")
        return await handler(request)


def _tool_error(call: Any, content: str) -> ToolMessage:
    return ToolMessage(content=content, tool_call_id=call["id"], name=str(call["name"]), status="error")


def _with_last_step_note(messages: list[Any]) -> list[Any]:
    if not messages or not isinstance(messages[-1], ToolMessage):
        return messages
    last = messages[-1]
    return [*messages[:-1], last.model_copy(update={"content": f"{last.text}\n\n{LAST_STEP_NOTE}"})]


async def answer_question(
    question: str,
    *,
    llm: BaseChatModel,
    sql: GuardedSQL,
    history: list[dict[str, Any]],
    on_status: StatusCallback,
    max_steps: int = 8,
    today: datetime.date | None = None,
    knowledge: Sequence[KnowledgeHit] = (),
) -> AgentAnswer:
    """Answer ``question`` with ``llm``, querying the warehouse through ``sql``.

    ``history`` is the thread's earlier questions (:func:`venn_plugins.sql_agent.memory.load_history`);
    ``knowledge`` the curated entries for it (:func:`venn_plugins.sql_agent.knowledge.retrieve`),
    put in the system prompt as given.
    Calls ``on_status("thinking", {})`` before each model call and
    ``on_status("running_sql", {"sql": ...})`` before each statement runs. Raises
    :class:`AgentError` when the model makes ``max_steps`` calls without a final answer
    or the LLM server fails.
    """
    if max_steps < 1:
        raise ValueError("max_steps must be at least 1")
    today = today or datetime.date.today()

    async def on_run(statement: str) -> None:
        await on_status("running_sql", {"sql": statement})

    toolkit = VennSQLToolkit(sql=sql, on_run=on_run)
    question_mw = _QuestionMiddleware(sql, on_status, max_steps)
    # The limit first: its check runs before each model call, ahead of the status event.
    middleware: list[AgentMiddleware[Any, Any, Any]] = [
        ModelCallLimitMiddleware(run_limit=max_steps, exit_behavior="error"),
        question_mw,
    ]
    agent = create_agent(
        llm,
        tools=[*toolkit.get_tools(), toolkit.chart_tool()],
        system_prompt=system_prompt(sql, history, today, knowledge),
        middleware=middleware,
    )
    try:
        state = await agent.ainvoke({"messages": [HumanMessage(question)]})
    except ModelCallLimitExceededError:
        raise AgentError(
            f"The model did not reach an answer within {max_steps} steps; "
            "try a simpler or more specific question.",
            steps=question_mw.steps,
            sql=sql.last_sql,
        ) from None
    reply = state["messages"][-1]
    text = reply.text.strip() if isinstance(reply, AIMessage) else ""
    return AgentAnswer(
        text=text or _fallback_text(sql), sql=sql.last_sql, result=sql.last_result, steps=question_mw.steps,
        chart=toolkit.chart_suggestion,
    )


def _fallback_text(sql: GuardedSQL) -> str:
    if sql.last_result is not None:
        return "Here is the result of the query."
    return "The model gave no answer."
