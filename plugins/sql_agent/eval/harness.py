"""Running the golden set through the real agent, question by question.

:func:`reference_results` runs every reference SQL first (through the guard, as the
agent's statements are), so a broken golden set or warehouse is found before a model
is asked anything. :func:`run_questions` then asks each question with
:func:`venn_plugins.sql_agent.agent.answer_question`, in a thread memory of its own
(:mod:`venn_plugins.sql_agent.memory`) or, for a follow-up, in the memory of the
question it follows, and scores it:

* a question expecting a result is right when the agent's last result equals the
  reference's (:func:`~venn_plugins.sql_agent.eval.compare.compare_results`);
* a question expecting a refusal is right when the agent answers without any query
  result (the guard stops what it must not do; this checks that the agent does not
  answer something else instead).

Steps are model calls; tokens are what the server reported in LangChain's
``usage_metadata`` (0 when it reports none).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import get_usage_metadata_callback

from venn_plugins.sql_agent.agent import AgentAnswer, AgentError, answer_question
from venn_plugins.sql_agent.eval import with_knowledge
from venn_plugins.sql_agent.eval.compare import compare_results
from venn_plugins.sql_agent.guard import SQLGuardError
from venn_plugins.sql_agent.memory import load_history, remember
from venn_plugins.sql_agent.runner import GuardedSQL
from venn_plugins.sql_agent.warehouse import QueryResult, WarehouseError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from venn_plugins.sql_agent.eval.golden import GoldenQuestion, KnowledgeEntry
    from venn_plugins.sql_agent.warehouse import Warehouse

__all__ = ["EvalError", "QuestionScore", "reference_results", "run_questions", "run_database"]

#: characters of the agent's answer kept in the results
MAX_ANSWER_CHARS = 600
#: the plugin name of the eval's thread memories (in the eval's own database)
MEMORY_PLUGIN = "sql"


class EvalError(Exception):
    """The eval cannot run (a reference SQL fails); ``str()`` says which and why."""


@dataclass
class QuestionScore:
    """How the agent did on one question."""

    id: str
    category: str
    question: str
    expect: str  # "result" or "refusal"
    outcome: str  # "right", "wrong" or "error" (no answer: step limit, LLM failure, timeout)
    reason: str  # why not right ("" when right)
    steps: int  # model calls
    input_tokens: int
    output_tokens: int
    tokens: int
    seconds: float
    sql: str | None  # the agent's last successful statement
    reference_sql: str | None  # as run for this date (None for a refusal)
    answer: str  # the agent's text (clipped)
    rows: int | None  # rows of the agent's last result
    reference_rows: int | None
    guard_refusals: int  # statements of the agent the guard refused
    knowledge_hits: int | None  # entries retrieved (None without --with-knowledge)

    @property
    def right(self) -> bool:
        return self.outcome == "right"

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "right": self.right}


async def reference_results(
    questions: Sequence[GoldenQuestion], warehouse: Warehouse, today: dt.date, *, max_rows: int, timeout: float
) -> dict[str, QueryResult]:
    """Each question's reference result (questions expecting a refusal have none).

    Raises :class:`EvalError` naming every question whose SQL is refused by the guard,
    fails in the warehouse, or returns more than ``max_rows`` rows (its result could
    not be compared with an agent's, which is cut there).
    """
    results: dict[str, QueryResult] = {}
    problems: list[str] = []
    for q in questions:
        if q.refusal:
            continue
        guarded = GuardedSQL(warehouse, q.tables, max_rows=max_rows, timeout_seconds=timeout)
        try:
            result = await guarded.run(q.reference_sql(today))
        except (SQLGuardError, WarehouseError) as exc:
            problems.append(f"{q.id}: {' '.join(str(exc).split())}")
            continue
        if result.truncated:
            problems.append(f"{q.id}: the reference result has more than {max_rows} rows")
            continue
        results[q.id] = result
    if problems:
        raise EvalError("the reference SQL of the golden set failed:\n  " + "\n  ".join(problems))
    return results


@contextlib.asynccontextmanager
async def run_database(knowledge: Sequence[KnowledgeEntry] = (), *, warehouse_label: str = "") -> AsyncIterator[None]:
    """The run's own database, in memory (the server's is never touched): the thread
    memories (the plugin storage's ``bot_kv`` table) and, with ``knowledge``, the
    glossary, stored for ``warehouse_label``."""
    from venn.db import MEMORY_URL, close_database, create_schema, open_database

    ctx = await open_database(MEMORY_URL)
    try:
        await create_schema()
        if knowledge:
            await with_knowledge.seed(knowledge, warehouse=warehouse_label)
        yield
    finally:
        await close_database(ctx)


async def run_questions(
    questions: Sequence[GoldenQuestion],
    references: dict[str, QueryResult],
    *,
    llm: BaseChatModel,
    warehouse: Warehouse,
    today: dt.date,
    use_knowledge: bool = False,
    max_steps: int = 8,
    max_rows: int = 100,
    statement_timeout: float = 60,
    question_timeout: float = 300,
    on_score: Callable[[int, QuestionScore], None] | None = None,
) -> list[QuestionScore]:
    """Ask each question (in order, inside :func:`run_database`) and score it.

    ``on_score(n, score)`` is called after question number ``n`` (1-based).
    """
    from venn_bots.storage import KVStore

    stores: dict[str, KVStore] = {}
    scores: list[QuestionScore] = []
    for n, q in enumerate(questions, 1):
        store = stores[q.follows] if q.follows in stores else KVStore(MEMORY_PLUGIN, "thread", n)
        stores[q.id] = store
        score = await _ask(
            q,
            references.get(q.id),
            store=store,
            llm=llm,
            warehouse=warehouse,
            today=today,
            use_knowledge=use_knowledge,
            max_steps=max_steps,
            max_rows=max_rows,
            statement_timeout=statement_timeout,
            question_timeout=question_timeout,
        )
        scores.append(score)
        if on_score is not None:
            on_score(n, score)
    return scores


async def _ask(
    q: GoldenQuestion,
    reference: QueryResult | None,
    *,
    store: Any,
    llm: BaseChatModel,
    warehouse: Warehouse,
    today: dt.date,
    use_knowledge: bool,
    max_steps: int,
    max_rows: int,
    statement_timeout: float,
    question_timeout: float,
) -> QuestionScore:
    guarded = GuardedSQL(warehouse, q.tables, max_rows=max_rows, timeout_seconds=statement_timeout)
    steps = 0

    async def on_status(status: str, data: dict[str, Any]) -> None:
        nonlocal steps
        if status == "thinking":  # once before every model call
            steps += 1

    extra: dict[str, Any] = {}
    hits: int | None = None
    answer: AgentAnswer | None
    started = time.monotonic()
    with get_usage_metadata_callback() as usage:
        try:
            async with asyncio.timeout(question_timeout):
                if use_knowledge:
                    extra["knowledge"] = await with_knowledge.fetch(
                        q.question, warehouse=warehouse.label, allowed_tables=q.tables, dialect=warehouse.dialect
                    )
                    hits = len(extra["knowledge"])
                history = await load_history(store)
                answer = await answer_question(
                    q.question,
                    llm=llm,
                    sql=guarded,
                    history=history,
                    on_status=on_status,
                    max_steps=max_steps,
                    today=today,
                    **extra,
                )
        except AgentError as exc:
            answer, failure = None, str(exc)
        except TimeoutError:
            answer, failure = None, f"The question took longer than {question_timeout:g} s and was stopped."
        else:
            failure = ""
        if answer is not None:  # as the plugin does: answered questions only are remembered
            await remember(store, q.question, answer)
    seconds = time.monotonic() - started
    counted = list(usage.usage_metadata.values())  # one entry per model name
    tokens = {
        "input_tokens": sum(int(c.get("input_tokens") or 0) for c in counted),
        "output_tokens": sum(int(c.get("output_tokens") or 0) for c in counted),
        "total_tokens": sum(int(c.get("total_tokens") or 0) for c in counted),
    }

    if answer is None:
        outcome, reason = "error", failure
    elif q.refusal:
        ok = answer.result is None
        outcome, reason = ("right", "") if ok else ("wrong", "answered with a query result instead of refusing")
    elif answer.result is None:
        outcome, reason = "wrong", "no query ran"
    else:
        assert reference is not None
        verdict = compare_results(
            reference.rows, answer.result.columns, answer.result.rows, ordered=q.ordered, columns=q.columns
        )
        outcome, reason = ("right", "") if verdict.ok else ("wrong", verdict.reason)
    return QuestionScore(
        id=q.id,
        category=q.category,
        question=q.question,
        expect=q.expect,
        outcome=outcome,
        reason=reason,
        steps=steps,
        input_tokens=tokens["input_tokens"],
        output_tokens=tokens["output_tokens"],
        tokens=tokens["total_tokens"],
        seconds=round(seconds, 3),
        sql=answer.sql if answer is not None else guarded.last_sql,
        reference_sql=q.reference_sql(today) if q.sql is not None else None,
        answer=_clip(answer.text if answer is not None else ""),
        rows=answer.result.row_count if answer is not None and answer.result is not None else None,
        reference_rows=reference.row_count if reference is not None else None,
        guard_refusals=sum(1 for s in guarded.statements if s["verdict"] == "refused"),
        knowledge_hits=hits,
    )


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_ANSWER_CHARS else text[: MAX_ANSWER_CHARS - 1] + "…"
