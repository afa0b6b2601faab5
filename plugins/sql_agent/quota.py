"""How much may be asked: questions per person per minute, and a thread's tokens per UTC day.

* ``VENN_SQL_QUESTIONS_PER_MINUTE`` (default 10) questions per person, counted by the
  core's rate limiter (``services.limiter``: in Redis when ``REDIS_URL`` is set, so the
  limit holds across server processes). ``/ask``, mentions of the bot and
  ``POST /api/v1/threads/{id}/llm-query`` count; ``/sql``, ``/tables``, ``/describe``
  and ``/forget`` do not (no language model).
* ``daily_token_budget`` (the thread's config, optional): the tokens its questions used
  since 00:00 UTC (the audit's ``total_tokens``). Once used up, questions are stopped
  before any model call until the next UTC day. A question that starts under the budget
  is answered in full, so the questions running at that moment may go past it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import cast

from venn.ratelimit import RateLimiter
from venn_plugins.sql_agent.models import SqlQuery

__all__ = ["BudgetSpent", "budget_spent", "question_wait", "rate_limited_text"]

#: the rate limiter's window, in seconds
WINDOW_SECONDS = 60


async def question_wait(limiter: RateLimiter, user_id: int, per_minute: int) -> int | None:
    """Count a question of ``user_id``; None when allowed, else seconds until they may ask again."""
    return await limiter.hit(f"sql-questions:{user_id}", per_minute, WINDOW_SECONDS)


def rate_limited_text(retry_after: int, per_minute: int) -> str:
    return (
        f"You are asking questions faster than this server allows ({per_minute} a minute); "
        f"ask again in {retry_after} s."
    )


@dataclass(frozen=True)
class BudgetSpent:
    """A thread's daily token budget, used up: ``used`` of ``budget`` tokens until ``resets_at``."""

    used: int
    budget: int
    resets_at: dt.datetime

    @property
    def retry_after(self) -> int:
        """Seconds until the budget is back (00:00 UTC)."""
        return max(1, math.ceil((self.resets_at - dt.datetime.now(dt.UTC)).total_seconds()))

    @property
    def text(self) -> str:
        minutes = math.ceil(self.retry_after / 60)
        wait = f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
        return (
            f"This thread has used its daily token budget ({self.used:,} of {self.budget:,} tokens today, UTC): "
            f"ask again after 00:00 UTC (in {wait}), or ask an admin to raise its daily_token_budget."
        )


async def budget_spent(budget: int | None, channel_id: int, thread_id: int | None) -> BudgetSpent | None:
    """The thread's (or the channel stream's) budget when today's questions used it up, else None."""
    if budget is None:
        return None
    now = dt.datetime.now(dt.UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = SqlQuery.filter(created_at__gte=midnight, total_tokens__gt=0)
    rows = rows.filter(thread_id=thread_id) if thread_id is not None else rows.filter(
        channel_id=channel_id, thread_id__isnull=True
    )
    used = sum(cast("list[int]", await rows.values_list("total_tokens", flat=True)))
    if used < budget:
        return None
    return BudgetSpent(used, budget, midnight + dt.timedelta(days=1))
