"""What became of each job: outcomes, metrics, listeners, and "nothing left to do".

The router and the worker report here; :meth:`JobTracker.idle` is what the testing
kit's ``settle()`` waits for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge, Histogram

from venn_bots.queue import Job

log = logging.getLogger("venn.bots")

#: outcome of a job, worst last
OUTCOMES = ("ok", "skipped", "usage", "invalid_config", "overflow", "error", "timeout", "gave_up")


@dataclass
class JobOutcome:
    job: Job
    outcome: str
    handler: str | None = None
    error: BaseException | None = None
    detail: str = ""

    def worse_than(self, other: JobOutcome) -> bool:
        return OUTCOMES.index(self.outcome) > OUTCOMES.index(other.outcome)


class JobTracker:
    """Counts the work in flight in this process and reports every finished job."""

    def __init__(self, services: Any) -> None:
        self._services = services
        #: called with a :class:`JobOutcome` after every job (the testing kit listens)
        self.listeners: list[Callable[[JobOutcome], Any]] = []
        registry = services.metrics.registry
        self.running = Gauge("venn_bot_jobs_running", "Bot jobs running in this process", registry=registry)
        self._duration = Histogram(
            "venn_bot_job_duration_seconds",
            "Bot job run time",
            ["plugin"],
            registry=registry,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )
        self._inflight = 0
        self._idle: asyncio.Event | None = None

    def reset(self) -> None:
        """At start: nothing in flight."""
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def track(self, n: int) -> None:
        """``n`` more (or fewer) events being routed or jobs queued or running here."""
        self._inflight += n
        if self._idle is not None:
            if self._inflight <= 0:
                self._inflight = 0
                self._idle.set()
            else:
                self._idle.clear()

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every event this process received has been routed and every job it
        queued in memory or took from Redis has finished."""
        assert self._idle is not None, "the bot runtime has not started"
        await asyncio.wait_for(self._idle.wait(), timeout)

    def finished(self, outcome: JobOutcome, seconds: float) -> None:
        """Count the job in the metrics and tell the listeners."""
        self._services.metrics.bot_jobs.labels(plugin=outcome.job.plugin, outcome=outcome.outcome).inc()
        if seconds:
            self._duration.labels(plugin=outcome.job.plugin).observe(seconds)
        for listener in list(self.listeners):
            try:
                listener(outcome)
            except Exception:
                log.exception("bot job listener failed")
