"""Scheduled jobs: ``@schedule(cron=...)`` / ``@schedule(every=...)`` handlers and
one-off runs (``ctx.schedule_once``).

Every schedule is a row of ``bot_schedules`` with its next due time. Each process's
:class:`Scheduler` looks for due rows every ``VENN_BOT_SCHEDULE_TICK`` seconds and
claims each with a conditional UPDATE (``... WHERE id = ? AND due_ms = <as read>``):
whichever process's UPDATE changes the row enqueues the job, through the ordinary job
queue, so each firing runs once however many processes look. A recurring row's next
due time is computed from *now*, so firings missed while every process was down run
once at start, not once per missed firing.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter  # type: ignore[import-untyped]  # no stubs shipped
from tortoise.exceptions import IntegrityError

from venn_bots.models import BotEnablement, BotSchedule, BotScope
from venn_bots.plugin import HandlerSpec, Plugin, PluginError, _mark
from venn_bots.queue import Job
from venn_bots.zones import zone

log = logging.getLogger("venn.bots.schedule")

#: the Job.trigger of scheduled runs
TRIGGER = "schedule"
ONCE = "once"


def schedule(*, cron: str | None = None, every: timedelta | float | None = None, timeout: float | None = None):
    """Run the handler on a schedule in every thread and channel where the plugin is
    enabled: ``cron="0 9 * * 1-5"`` (in ``VENN_TIMEZONE``, or the config's
    ``timezone``) or ``every=timedelta(minutes=5)``. The context has the place, the
    config and no message."""
    if (cron is None) == (every is None):
        raise PluginError("schedule needs exactly one of cron= or every=")
    seconds: float | None = None
    if cron is not None and not croniter.is_valid(cron):
        raise PluginError(f"bad cron expression {cron!r}")
    if every is not None:
        seconds = every.total_seconds() if isinstance(every, timedelta) else float(every)
        if seconds < 1:
            raise PluginError("schedule(every=...) must be at least one second")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return _mark(func, {"kind": "schedule", "cron": cron, "every": seconds, "timeout": timeout})

    return decorate


def next_due(spec: HandlerSpec, tz: ZoneInfo, now_ms: int) -> int:
    """The first firing of a recurring spec strictly after ``now_ms`` (epoch ms)."""
    if spec.every is not None:
        return now_ms + int(spec.every * 1000)
    start = datetime.fromtimestamp(now_ms / 1000, tz)
    nxt: datetime = croniter(spec.cron, start).get_next(datetime)
    return int(nxt.timestamp() * 1000)


def _slot(spec: HandlerSpec, channel_id: int, thread_id: int | None, tz: str) -> str:
    """The identity of one recurring schedule in one place: a changed expression or
    time zone is a new row (the old one is dropped)."""
    rule = hashlib.sha1(f"{spec.cron}|{spec.every}|{tz}".encode()).hexdigest()[:12]
    return f"{spec.attr}:{channel_id}:{thread_id or 0}:{rule}"


def schedule_specs(plugin: Plugin | type[Plugin]) -> list[HandlerSpec]:
    return [h for h in plugin.handlers if h.kind == "schedule"]


async def create_once(
    plugin: Plugin, handler: str, *, channel_id: int, thread_id: int | None, when: datetime | timedelta | float,
    data: dict[str, Any] | None, user_id: int | None,
) -> int:
    """Store a one-off run of ``plugin.handler`` at ``when``; returns its id."""
    method = getattr(plugin, handler, None)
    if not handler or handler.startswith("_") or not asyncio.iscoroutinefunction(method):
        raise ValueError(f"{plugin.name} has no async handler {handler!r}")
    if isinstance(when, timedelta):
        due = time.time() + when.total_seconds()
    elif isinstance(when, datetime):
        if when.tzinfo is None:
            raise ValueError("schedule_once needs an aware datetime (with a tzinfo)")
        due = when.timestamp()
    else:
        due = time.time() + float(when)
    row = await BotSchedule.create(
        plugin=plugin.name, slot=f"{ONCE}:{uuid.uuid4().hex}", kind=ONCE, handler=handler,
        channel_id=channel_id, thread_id=thread_id, due_ms=int(due * 1000), data=dict(data or {}), user_id=user_id,
    )
    return int(row.id)


async def cancel_once(plugin: str, schedule_id: int) -> bool:
    """Drop a one-off run of ``plugin``; False if there is none (ran or cancelled)."""
    return bool(await BotSchedule.filter(id=schedule_id, plugin=plugin, kind=ONCE).delete())


async def list_once(plugin: str, *, channel_id: int, thread_id: int | None) -> list[BotSchedule]:
    """The one-off runs of ``plugin`` waiting in a place, soonest first."""
    return await BotSchedule.filter(plugin=plugin, kind=ONCE, channel_id=channel_id, thread_id=thread_id).order_by(
        "due_ms", "id"
    )


async def finished(job: Job) -> None:
    """After a one-off job ran: it is done (also stops a redelivery from running it)."""
    if job.trigger == TRIGGER and job.data.get("kind") == ONCE:
        await BotSchedule.filter(id=job.data.get("schedule_id"), kind=ONCE).delete()


class Scheduler:
    """Turns due schedule rows into jobs (one task per process)."""

    def __init__(
        self,
        plugins: dict[str, Plugin],
        submit: Callable[[Job], Awaitable[object]],
        *,
        timezone: str = "UTC",
        tick_seconds: float = 1.0,
        lease_seconds: float = 120.0,
        resync_seconds: float = 60.0,
    ) -> None:
        self.plugins = plugins
        self.submit = submit
        self.timezone = timezone
        self.tick_seconds = tick_seconds
        self.lease_ms = int(lease_seconds * 1000)
        self.resync_ms = int(resync_seconds * 1000)
        #: epoch seconds now (tests may replace it)
        self.clock: Callable[[], float] = time.time
        # The recurring rows follow the enablements. Reading every enablement on every
        # tick would cost O(places) a second per process, so a tick syncs only after a
        # change was announced (bot_status, from any process) or, in case that event
        # was lost, once every resync_seconds.
        self._dirty = True
        self._synced_ms: int | None = None

    def changed(self) -> None:
        """An enablement changed (enabled, reconfigured, disabled): sync on the next tick."""
        self._dirty = True

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler tick failed; retrying")
            await asyncio.sleep(self.tick_seconds)

    async def tick(self, now: float | None = None) -> int:
        """Sync recurring rows with the enablements, then enqueue what is due; returns
        how many jobs this process enqueued."""
        now_ms = int((self.clock() if now is None else now) * 1000)
        if self._dirty or self._synced_ms is None or abs(now_ms - self._synced_ms) >= self.resync_ms:
            # cleared first: a change announced while this sync runs makes another one
            self._dirty = False
            try:
                await self.sync(now_ms)
            except BaseException:
                self._dirty = True
                raise
            self._synced_ms = now_ms
        return await self.fire_due(now_ms)

    async def sync(self, now_ms: int) -> None:
        """One row per recurring handler per place where its plugin is enabled; rows of
        places where it no longer is are dropped."""
        specs = {name: schedule_specs(p) for name, p in self.plugins.items()}
        specs = {name: s for name, s in specs.items() if s}
        wanted: dict[tuple[str, str], tuple[HandlerSpec, int, int | None, str]] = {}
        if specs:
            for row in await BotEnablement.filter(plugin__in=list(specs), enabled=True):
                thread_id = row.thread_id if row.scope == BotScope.THREAD else None
                tz = str((row.config or {}).get("timezone") or self.timezone)
                for spec in specs[row.plugin]:
                    wanted[(row.plugin, _slot(spec, row.channel_id, thread_id, tz))] = (
                        spec, row.channel_id, thread_id, tz,
                    )
        have = await BotSchedule.exclude(kind=ONCE).values_list("id", "plugin", "slot")
        stale = [i for i, plugin, slot in have if (plugin, slot) not in wanted and plugin in self.plugins]
        if stale:
            await BotSchedule.filter(id__in=stale).delete()
        present = {(plugin, slot) for _, plugin, slot in have}
        for (plugin, slot), (spec, channel_id, thread_id, tz) in wanted.items():
            if (plugin, slot) in present:
                continue
            try:
                await BotSchedule.create(
                    plugin=plugin, slot=slot, kind="cron" if spec.cron else "every", handler=spec.attr,
                    channel_id=channel_id, thread_id=thread_id, timezone=tz,
                    due_ms=next_due(spec, zone(tz, self.timezone), now_ms),
                )
            except IntegrityError:
                pass  # another process made it first

    async def fire_due(self, now_ms: int) -> int:
        rows = await BotSchedule.filter(
            due_ms__lte=now_ms, lease_ms__lt=now_ms, plugin__in=list(self.plugins)
        ).order_by("due_ms").limit(200)
        fired = 0
        for row in rows:
            job = await self._claim(row, now_ms)
            if job is not None:
                fired += 1
                await self.submit(job)
        return fired

    async def _claim(self, row: BotSchedule, now_ms: int) -> Job | None:
        """The job of a due row if this process's conditional UPDATE claimed it."""
        base = {"handler": row.handler, "schedule_id": row.id, "kind": row.kind, "due_ms": row.due_ms}
        if row.kind == ONCE:
            # leased, not deleted: it is deleted after it ran (a lost job runs after the lease)
            won = await BotSchedule.filter(id=row.id, lease_ms=row.lease_ms).update(lease_ms=now_ms + self.lease_ms)
            job_id = f"once-{row.id}-{row.lease_ms}"
            data = {**base, "data": row.data or {}}
        else:
            spec = next((s for s in schedule_specs(self.plugins[row.plugin]) if s.attr == row.handler), None)
            if spec is None:
                return None
            nxt = next_due(spec, zone(row.timezone, self.timezone), now_ms)
            won = await BotSchedule.filter(id=row.id, due_ms=row.due_ms).update(due_ms=nxt)
            job_id = f"sched-{row.id}-{row.due_ms}"
            data = {**base, "data": {}}
        if not won:
            return None
        return Job(
            id=job_id, plugin=row.plugin, trigger=TRIGGER, event=TRIGGER, channel_id=row.channel_id,
            thread_id=row.thread_id, user_id=row.user_id, data=data,
        )

