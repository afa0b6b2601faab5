"""Running jobs: the job queue's two ends in this process.

Jobs go in with :meth:`Worker.submit`; a full queue refuses the job and the thread is
told. The consumer takes jobs while a worker slot is free (``VENN_BOT_WORKERS``) and
runs each under its plugin's semaphore (``VENN_BOT_PLUGIN_CONCURRENCY``), with a
timeout per handler. A handler that raises or times out is logged with its job and
answered in the thread; nothing else is affected.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import time
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from venn_bots.args import loose_split, split_args
from venn_bots.context import Context, JobState, TooManyReplies
from venn_bots.handle import ContextHandle
from venn_bots.jobs import Call, prepare
from venn_bots.plugin import HelpRequested, Plugin, UsageError
from venn_bots.poster import Poster
from venn_bots.queue import Delivery, Job, JobQueue
from venn_bots.schedule import finished as schedule_finished
from venn_bots.settings import BotSettings
from venn_bots.tracking import JobOutcome, JobTracker

log = logging.getLogger("venn.bots")

#: seconds between two "busy" notices to the same thread for the same plugin
BUSY_NOTICE_INTERVAL = 10.0

_current_job: contextvars.ContextVar[JobState | None] = contextvars.ContextVar("venn_bot_job", default=None)


def chain_depth() -> int:
    """For an event caused while a job runs (its reply): one more hop than the job's."""
    state = _current_job.get()
    return state.depth + 1 if state is not None else 0


class Worker:
    """Submits jobs to the queue and runs the jobs this process takes from it."""

    def __init__(
        self,
        settings: BotSettings,
        queue: JobQueue,
        *,
        plugins: Mapping[str, Plugin],
        bot_users: Mapping[str, Any],
        tracker: JobTracker,
        poster: Poster,
        host: ContextHandle,
    ) -> None:
        self.settings = settings
        self.queue = queue
        self._plugins = plugins
        self._bot_users = bot_users
        self._tracker = tracker
        self._poster = poster
        self._host = host
        self._slots = asyncio.Semaphore(settings.workers)
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._running: dict[asyncio.Task[None], Delivery] = {}
        self._busy_at: dict[tuple[str, int, int | None], float] = {}
        self.stopping = False

    # Jobs in -------------------------------------------------------------------

    async def submit(self, job: Job) -> bool:
        """Queue a job (True); a refused one (False) is counted as ``overflow`` and the
        thread is told (once per :data:`BUSY_NOTICE_INTERVAL` per plugin and thread)."""
        broken = False
        try:
            accepted = await self.queue.put(job)
        except Exception:
            log.exception("bot job could not be queued", extra={"plugin": job.plugin, "job_id": job.id})
            accepted, broken = False, True
        if accepted:
            if self.queue.local:
                self._tracker.track(1)
            return True
        if not broken:
            log.warning("bot queue full: job refused", extra={"plugin": job.plugin, "job_id": job.id})
        self._tracker.finished(JobOutcome(job, "overflow", detail="queue unavailable" if broken else "queue full"), 0.0)
        key = (job.plugin, job.channel_id, job.thread_id)
        now = time.monotonic()
        if len(self._busy_at) > 10_000:
            self._busy_at = {k: t for k, t in self._busy_at.items() if now - t < BUSY_NOTICE_INTERVAL}
        if now - self._busy_at.get(key, -math.inf) >= BUSY_NOTICE_INTERVAL:
            self._busy_at[key] = now
            text = (
                f"{job.plugin} cannot take requests right now. Please try again shortly."
                if broken
                else f"{job.plugin} is busy: too many requests are waiting. Please try again in a moment."
            )
            await self._poster.notice(job, text, "busy")
        return False

    # Jobs out ------------------------------------------------------------------

    async def consume(self) -> None:
        """The consumer task: take a job whenever a worker slot is free."""
        while not self.stopping:
            await self._slots.acquire()
            if self.stopping:
                self._slots.release()
                break
            try:
                delivery = await self.queue.get(timeout=1.0)
            except asyncio.CancelledError:
                self._slots.release()
                raise
            except Exception:
                self._slots.release()
                log.exception("bot queue unavailable; retrying")
                await asyncio.sleep(1.0)
                continue
            if delivery is None:
                self._slots.release()
                continue
            if not self.queue.local:
                self._tracker.track(1)
            task = asyncio.create_task(self.execute(delivery), name=f"venn-bot-job-{delivery.job.id}")
            self._running[task] = delivery
            task.add_done_callback(self._job_task_done)

    def _job_task_done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        self._slots.release()

    async def heartbeat(self) -> None:
        """With Redis (a task): tell the queue which jobs this process still runs."""
        interval = max(0.05, self.settings.reclaim_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.queue.heartbeat(list(self._running.values()))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("bot heartbeat failed", exc_info=True)

    async def finish_running(self, grace: float) -> None:
        """At shutdown: let the running jobs finish for ``grace`` seconds, then cancel them
        (with Redis a cancelled job stays pending and another process takes it)."""
        running = list(self._running)
        if not running:
            return
        done, pending = await asyncio.wait(running, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("bot jobs cancelled at shutdown", extra={"jobs": len(pending)})
            await asyncio.wait(pending, timeout=2)

    async def run(self, delivery: Delivery) -> None:
        """Run a delivery now, in this task, as if this process had taken it from the queue."""
        self._tracker.track(1)
        await self.execute(delivery)

    async def execute(self, delivery: Delivery) -> None:
        """Run one delivered job, report its outcome and mark it done in the queue."""
        job = delivery.job
        state = JobState(job)
        token = _current_job.set(state)
        started = time.monotonic()
        self._tracker.running.inc()
        outcome: JobOutcome | None = None
        try:
            if delivery.attempt > self.settings.max_attempts:
                attempts = delivery.attempt - 1
                outcome = JobOutcome(job, "gave_up", detail=f"{attempts} attempts")
                log.error("bot job given up", extra={"plugin": job.plugin, "job_id": job.id, "attempts": attempts})
                await self._poster.notice(
                    job, f"{job.plugin} gave up on this after {attempts} attempts. (job {job.id[:8]})", "gave-up"
                )
            else:
                outcome = await self._run_job(job, state)
            await schedule_finished(job)
            await self.queue.done(delivery)
        except asyncio.CancelledError:
            # shutting down: with Redis the job stays pending and another process takes it
            outcome = outcome or JobOutcome(job, "error", detail="cancelled")
            raise
        except Exception as exc:
            # The job could not even be prepared (database or Redis trouble). Left
            # unacknowledged, a Redis job is retried after VENN_BOT_RECLAIM_SECONDS.
            log.exception("bot job failed to run", extra={"plugin": job.plugin, "job_id": job.id})
            outcome = JobOutcome(job, "error", error=exc, detail="runtime")
            if self.queue.local:
                await self._poster.notice(job, f"{job.plugin} could not handle this. (job {job.id[:8]})", "error")
        finally:
            _current_job.reset(token)
            self._tracker.running.dec()
            self._tracker.finished(outcome or JobOutcome(job, "error"), time.monotonic() - started)
            self._tracker.track(-1)

    async def _run_job(self, job: Job, state: JobState) -> JobOutcome:
        plugin = self._plugins.get(job.plugin)
        if plugin is None:
            log.warning(
                "bot job for a plugin this process does not have", extra={"plugin": job.plugin, "job_id": job.id}
            )
            return JobOutcome(job, "skipped", detail="plugin not loaded")
        prepared = await prepare(job, plugin, self._bot_users[plugin.name])
        if isinstance(prepared, JobOutcome):
            if prepared.outcome == "invalid_config":
                log.error("stored plugin config is invalid", extra={"plugin": plugin.name, "job_id": job.id})
                await self._poster.notice(
                    job, f"{plugin.name}'s settings here are no longer valid; an admin needs to update them.", "config"
                )
            return prepared
        result = JobOutcome(job, "ok")
        async with self._semaphore(plugin):
            for call in prepared:
                outcome = await self._call(plugin, call, state)
                if outcome.worse_than(result):
                    result = outcome
        return result

    def _semaphore(self, plugin: Plugin) -> asyncio.Semaphore:
        """The plugin's own limit of handlers at once in this process."""
        sem = self._sems.get(plugin.name)
        if sem is None:
            limit = min(type(plugin).concurrency or self.settings.plugin_concurrency, self.settings.workers)
            sem = self._sems[plugin.name] = asyncio.Semaphore(max(1, limit))
        return sem

    async def _call(self, plugin: Plugin, call: Call, state: JobState) -> JobOutcome:
        job, spec = state.job, call.spec
        timeout = spec.timeout or type(plugin).timeout or self.settings.handler_timeout
        ctx: Context[BaseModel] = Context(
            host=self._host, plugin=plugin, state=state, handler=spec, trigger=call.trigger,
            channel=call.channel, thread=call.thread, config=call.config, deadline=time.monotonic() + timeout,
        )
        if spec.kind == "command":
            try:
                # with an args model, unbalanced quotes are a usage error; without, plain words
                ctx.argv = split_args(ctx.text) if spec.args is not None else loose_split(ctx.text)
                ctx.args = spec.parse_args(ctx.argv)
            except HelpRequested:
                await ctx.reply(spec.help_text())
                return JobOutcome(job, "usage", handler=spec.attr, detail="help")
            except UsageError as exc:
                await ctx.reply(f"{exc}\nUsage: {spec.usage()}\n(/{spec.command} --help explains it.)")
                return JobOutcome(job, "usage", handler=spec.attr, detail=str(exc))
        elif ctx.text:
            ctx.argv = loose_split(ctx.text)
        handler = getattr(plugin, spec.attr)
        where = {"plugin": plugin.name, "job_id": job.id, "handler": spec.attr}
        try:
            async with asyncio.timeout(timeout) as scope:
                await handler(ctx)
        except TimeoutError as exc:
            if not scope.expired():
                return await self._failed(plugin, call, job, exc, where)
            log.error("bot handler timed out after %ss", timeout, extra=where)
            await self._poster.notice(
                job, f"{plugin.name} took longer than {timeout:g} s and was stopped. (job {job.id[:8]})", "timeout"
            )
            return JobOutcome(job, "timeout", handler=spec.attr)
        except TooManyReplies as exc:
            log.error("bot handler posted too many replies", extra=where)
            await self._poster.notice(job, f"{plugin.name} was stopped: {exc}. (job {job.id[:8]})", "flood")
            return JobOutcome(job, "error", handler=spec.attr, error=exc, detail="too many replies")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self._failed(plugin, call, job, exc, where)
        return JobOutcome(job, "ok", handler=spec.attr)

    async def _failed(
        self, plugin: Plugin, call: Call, job: Job, exc: BaseException, where: dict[str, Any]
    ) -> JobOutcome:
        log.error("bot handler failed: %s: %s", type(exc).__name__, exc, extra=where, exc_info=exc)
        await self._poster.notice(
            job, f"Sorry, {plugin.name} ran into an error. (job {job.id[:8]})", f"error-{call.spec.attr}"
        )
        return JobOutcome(job, "error", handler=call.spec.attr, error=exc)
