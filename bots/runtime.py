"""The bot runtime: events in, jobs out, handlers run in isolation.

Flow, in each server process:

1. The event bus calls :meth:`BotRuntime.on_event` inside the service call that made
   the change (a user's ``post``). It only drops the event into an intake queue, so
   posting a message never waits for bots.
2. The router task turns each event into jobs: one per plugin that is enabled where
   the event happened and has a handler for it. Jobs go to the job queue (in-process,
   or the Redis stream shared by every process). A full queue refuses the job and
   the thread is told.
3. The consumer takes jobs while a worker slot is free (``VENN_BOT_WORKERS``) and runs
   each under the plugin's semaphore (``VENN_BOT_PLUGIN_CONCURRENCY``), with a timeout
   per handler. A handler that raises or times out is logged with its job and
   answered in the thread; nothing else is affected.

Loops: plugins do not see bot messages unless a handler opts in (``bots=True``), never
see their own, and a chain of bot replies stops after :data:`MAX_CHAIN` hops.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from prometheus_client import Gauge, Histogram

from venn_bots.context import (
    ChannelInfo,
    Context,
    JobLog,
    JobState,
    MessageInfo,
    ThreadInfo,
    TooManyReplies,
    UserInfo,
)
from venn_bots.plugin import (
    EVENT_ALIASES,
    HandlerSpec,
    HelpRequested,
    Plugin,
    PluginError,
    UsageError,
    loose_split,
    parse_args,
    select_handlers,
    split_args,
    validate_plugin_class,
)
from venn_bots.models import BotEnablement
from venn_bots.queue import Delivery, Job, JobQueue, MemoryJobQueue, RedisStreamJobQueue, new_job_id
from venn_bots.registry import Discovery, Failure, discover
from venn_bots.service import BotService, effective_enablements
from venn_bots.settings import BotSettings
from venn.db.models import Channel, Message, MessageKind, Thread, User
from venn.events import Event
from venn.schemas import MessageCreateIn
from venn.services.users import username_key

log = logging.getLogger("venn.bots")

#: bot replies in a row (bot answering bot) after which messages reach no plugin
MAX_CHAIN = 3
#: seconds between two "busy" notices to the same thread for the same plugin
BUSY_NOTICE_INTERVAL = 10.0

_current_job: contextvars.ContextVar[JobState | None] = contextvars.ContextVar("venn_bot_job", default=None)

#: outcome of a job, worst last
OUTCOMES = ("ok", "skipped", "usage", "invalid_config", "overflow", "error", "timeout", "gave_up")


@dataclass
class JobOutcome:
    job: Job
    outcome: str
    handler: str | None = None
    error: BaseException | None = None
    detail: str = ""


def _worse(a: str, b: str) -> str:
    return a if OUTCOMES.index(a) >= OUTCOMES.index(b) else b


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


class BotRuntime:
    """Runs the plugins of one server process. Built by :func:`venn_bots.extension.setup`."""

    def __init__(
        self, services: Any, settings: BotSettings, *, redis_url: str | None = None, extensions: Any = None
    ) -> None:
        self.services = services
        self.settings = settings
        self.redis_url = redis_url
        #: the app's plugins (venn.extensions.ExtensionSet): the bot plugins among them
        #: run here, with their settings; None: every installed plugin
        self.extensions = extensions
        self.plugins: dict[str, Plugin] = {}
        self.sources: dict[str, str] = {}
        self.bot_users: dict[str, User] = {}
        self.failures: list[Failure] = []
        #: called with a :class:`JobOutcome` after every job (the testing kit listens)
        self.listeners: list[Callable[[JobOutcome], Any]] = []
        self._classes: list[type[Plugin]] | None = None
        self._discover = True
        self._queue: JobQueue | None = None
        self._redis: Any = None
        self._intake: asyncio.Queue[tuple[Event, int]] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._running: dict[asyncio.Task[None], Delivery] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._inflight = 0
        self._idle: asyncio.Event | None = None
        self._busy_at: dict[tuple[str, int, int | None], float] = {}
        self._wanted_events: set[str] = set()
        self._bot_listeners = False
        self._stopping = False
        self.started = False
        self.service = BotService(self)
        #: ids of the channels with any bot setting, kept only by a server that is the
        #: only process (in-process job queue); None: not loaded, or not kept
        self._bot_channels: set[int] | None = None
        self._bot_channels_generation = 0
        #: with Redis: subscribed to the other processes' bot setting changes
        self._hearing_changes = False
        registry = services.metrics.registry
        self._gauge_running = Gauge("venn_bot_jobs_running", "Bot jobs running in this process", registry=registry)
        self._duration = Histogram(
            "venn_bot_job_duration_seconds",
            "Bot job run time",
            ["plugin"],
            registry=registry,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )

    # Configuration (before start) ----------------------------------------------

    def use_plugins(self, *classes: type[Plugin], discover: bool = False) -> None:
        """Run these plugin classes (and, with ``discover``, the installed ones too)."""
        if self.started:
            raise RuntimeError("plugins are chosen before the runtime starts")
        self._classes = list(classes)
        self._discover = discover

    # Lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self.plugins, self.sources, self.bot_users, self._sems = {}, {}, {}, {}
        self._intake = asyncio.Queue(maxsize=max(10_000, self.settings.queue_size * 10))
        self._slots = asyncio.Semaphore(self.settings.workers)
        self._idle = asyncio.Event()
        self._idle.set()
        found = discover(self.extensions) if (self._classes is None or self._discover) else Discovery()
        self.failures = list(found.failures)
        candidates = [(f.cls, f.source) for f in found.plugins.values()]
        for cls in self._classes or ():
            candidates.append((cls, f"given {cls.__module__}.{cls.__qualname__}"))
        for cls, source in candidates:
            await self._load(cls, source)
        self._bot_listeners = any(
            type(p).see_bots or any(h.bots for h in type(p).handlers if h.kind != "event") for p in self.plugins.values()
        )
        self._wanted_events = {"new_message", "bot_status"}
        for plugin in self.plugins.values():
            for name in type(plugin).event_names():
                self._wanted_events.add(name)
                self._wanted_events.update(k for k, v in EVENT_ALIASES.items() if v == name)
        if self.redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(self.redis_url, decode_responses=True)
            self._queue = RedisStreamJobQueue(
                self._redis,
                stream=self.settings.stream_key,
                maxlen=self.settings.queue_size,
                reclaim_seconds=self.settings.reclaim_seconds,
            )
        else:
            self._queue = MemoryJobQueue(self.settings.queue_size)
        await self._queue.start()
        self.services.events.subscribe(self.on_event)
        self._tasks = [asyncio.create_task(self._route_loop(), name="venn-bots-router")]
        self._tasks.append(asyncio.create_task(self._consume_loop(), name="venn-bots-consumer"))
        if not self._queue.local:
            self._tasks.append(asyncio.create_task(self._heartbeat_loop(), name="venn-bots-heartbeat"))
            self._tasks.append(asyncio.create_task(self._settings_changes_loop(), name="venn-bots-changes"))
        self.started = True
        log.info(
            "bot runtime started",
            extra={
                "plugins": ",".join(sorted(self.plugins)) or "-",
                "skipped": len(self.failures),
                "queue": "redis" if self._redis is not None else "memory",
            },
        )

    async def _load(self, cls: type[Plugin], source: str) -> None:
        name = getattr(cls, "name", "?")
        try:
            validate_plugin_class(cls)
            if name in self.plugins:
                if type(self.plugins[name]) is cls:
                    return
                raise PluginError(f"a plugin named {name!r} is already loaded from {self.sources[name]}")
            plugin = cls()
            plugin.runtime = self
            plugin.settings = self.plugin_settings(cls)
            plugin.log = JobLog(logging.getLogger(f"venn.plugins.{name}"), {"plugin": name})
            bot = await self._ensure_bot_user(cls)
            self.bot_users[name] = bot
            await asyncio.wait_for(plugin.setup(self), timeout=self.settings.handler_timeout)
        except Exception as exc:
            if name not in self.plugins:
                self.bot_users.pop(name, None)
            failure = Failure(source, f"{type(exc).__name__}: {exc}")
            self.failures.append(failure)
            log.error("plugin skipped: %s: %s", source, failure.error, exc_info=not isinstance(exc, PluginError))
            return
        self.plugins[name] = plugin
        self.sources[name] = source
        limit = min(cls.concurrency or self.settings.plugin_concurrency, self.settings.workers)
        self._sems[name] = asyncio.Semaphore(max(1, limit))

    def plugin_settings(self, cls: type[Plugin]) -> Any:
        """The plugin's own settings: as the app read them, else read now (a plugin
        given to the test kit), or None when it declares no ``Settings``."""
        if self.extensions is not None and self.extensions.get(cls.name) is cls:
            return self.extensions.settings_for(cls.name)
        if cls.Settings is None:
            return None
        from venn.config import read_settings

        return read_settings(cls.Settings)

    async def _ensure_bot_user(self, cls: type[Plugin]) -> User:
        """The plugin's own bot user: its name, or ``name-bot`` if a person has that name."""
        base = cls.bot_name or cls.name
        taken = {u.id for u in self.bot_users.values()}
        candidates = [base, f"{base[:28]}-bot", *(f"{base[:27]}-bot{i}" for i in range(2, 10))]
        for candidate in candidates:
            existing = await User.get_or_none(username_key=username_key(candidate))
            if existing is not None and (not existing.is_bot or existing.id in taken):
                continue
            user = await self.services.users.ensure_bot_user(candidate, cls.display_name or cls.name)
            if user.is_bot and user.id not in taken:
                if candidate != base:
                    log.warning("bot user renamed: %s is taken", base, extra={"plugin": cls.name, "username": candidate})
                return user
        raise PluginError(f"no free username for the bot user of {cls.name}")

    async def stop(self) -> None:
        if not self.started:
            return
        self._stopping = True
        self.services.events.unsubscribe(self.on_event)
        # No new jobs: the router and the consumer stop where they are (a job the
        # consumer was about to take stays in the queue; with Redis, for another process).
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        running = list(self._running)
        if running:
            grace = self.services.settings.shutdown_timeout_seconds
            done, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("bot jobs cancelled at shutdown", extra={"jobs": len(pending)})
                await asyncio.wait(pending, timeout=2)
        for name, plugin in self.plugins.items():
            try:
                await asyncio.wait_for(plugin.teardown(), timeout=10)
            except Exception:
                log.exception("plugin teardown failed", extra={"plugin": name})
        if self._queue is not None:
            await self._queue.close()
        if self._redis is not None:
            await self._redis.aclose()
        self.started = False

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every event this process received has been routed and every job it
        queued in memory or took from Redis has finished."""
        assert self._idle is not None
        await asyncio.wait_for(self._idle.wait(), timeout)

    def _track(self, n: int) -> None:
        self._inflight += n
        if self._idle is not None:
            if self._inflight <= 0:
                self._inflight = 0
                self._idle.set()
            else:
                self._idle.clear()

    # Events in ------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        """Event-bus subscriber: hand the event to the router and return at once."""
        if not self.started or self._stopping or event.name not in self._wanted_events:
            return
        if event.channel_id is None or not self.plugins:
            return
        state = _current_job.get()
        depth = state.depth + 1 if state is not None else 0
        assert self._intake is not None
        try:
            self._intake.put_nowait((event, depth))
        except asyncio.QueueFull:
            log.error("bot intake full: event dropped", extra={"event": event.name})
            return
        self._track(1)

    async def _route_loop(self) -> None:
        assert self._intake is not None
        while True:
            event, depth = await self._intake.get()
            try:
                await self.dispatch(event, depth)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bot routing failed", extra={"event": event.name})
            finally:
                self._track(-1)

    async def dispatch(self, event: Event, depth: int = 0) -> list[Job]:
        """Route an event to the enabled plugins and queue their jobs now (a door that
        is not the event bus, e.g. a REST endpoint of a plugin). Returns the jobs made;
        a job the queue refuses is answered in the thread with a "busy" notice."""
        jobs = await self.route(event, depth)
        for job in jobs:
            await self._submit(job)
        return jobs

    async def route(self, event: Event, depth: int = 0) -> list[Job]:
        """The jobs an event makes: one per enabled plugin with a handler for it."""
        if depth >= MAX_CHAIN or event.channel_id is None:
            return []
        if event.name == "new_message":
            return await self._route_message(event, depth)
        if event.name == "bot_status":
            return self._route_status(event, depth)
        name = EVENT_ALIASES.get(event.name, event.name)
        wanting = [p for p in self.plugins.values() if name in type(p).event_names()]
        if not wanting:
            return []
        actor_id, actor_is_bot = self._actor(event)
        enabled = await effective_enablements(event.channel_id, event.thread_id)
        jobs = []
        data = _jsonable(event.data)
        message_id = data.get("message_id") or (data.get("message") or {}).get("id")
        for plugin in wanting:
            if plugin.name not in enabled:
                continue
            if actor_is_bot:
                bot = self.bot_users.get(plugin.name)
                if bot is not None and bot.id == actor_id:
                    continue
                if not (type(plugin).see_bots or any(h.bots for h in self._event_handlers(plugin, name))):
                    continue
            jobs.append(
                Job(
                    new_job_id(), plugin.name, "event", name, event.channel_id, event.thread_id,
                    message_id=message_id, user_id=actor_id, data=data, depth=depth,
                )
            )
        return jobs

    @staticmethod
    def _actor(event: Event) -> tuple[int | None, bool]:
        ctx = event.context
        user = ctx.get("editor") or ctx.get("user") or ctx.get("author")
        if user is not None:
            return user.id, bool(user.is_bot)
        user_id = event.data.get("user_id") if isinstance(event.data, dict) else None
        return (user_id if isinstance(user_id, int) else None), False

    @staticmethod
    def _event_handlers(plugin: Plugin, name: str) -> list[HandlerSpec]:
        return [h for h in type(plugin).handlers if h.kind == "event" and name in h.events]

    def _route_status(self, event: Event, depth: int) -> list[Job]:
        data = event.data
        plugin = self.plugins.get(data.get("plugin", ""))
        name = {"enabled": "bot_enabled", "disabled": "bot_disabled", "updated": "bot_updated"}.get(
            data.get("action", "")
        )
        if plugin is None or name is None or name not in type(plugin).event_names():
            return []
        job_data = _jsonable(data)
        if name == "bot_disabled":
            job_data["config"] = _jsonable(event.context.get("old_config") or {})
        return [
            Job(
                new_job_id(), plugin.name, "event", name, event.channel_id or 0, event.thread_id,
                user_id=data.get("by"), data=job_data, depth=depth,
            )
        ]

    async def _route_message(self, event: Event, depth: int) -> list[Job]:
        message = event.context.get("message")
        author = event.context.get("author")
        if message is None or author is None or message.kind == MessageKind.SYSTEM:
            return []
        if author.is_bot and not self._bot_listeners:
            return []
        if not await self._may_have_bots(message.channel_id):
            return []
        # Which plugins the text would wake first (no database), then whether they are
        # switched on here: most messages wake none and cost no query.
        wanted = []
        for name in sorted(self.plugins):
            plugin, bot = self.plugins[name], self.bot_users.get(name)
            if bot is None or (author.is_bot and author.id == bot.id):
                continue
            selected = select_handlers(plugin, message.body, author_is_bot=author.is_bot, bot_username=bot.username)
            if selected is not None:
                wanted.append((name, selected))
        if not wanted:
            return []
        enabled = await effective_enablements(message.channel_id, message.thread_id)
        jobs = []
        for name, selected in wanted:
            if name not in enabled:
                continue
            jobs.append(
                Job(
                    new_job_id(), name, "message", "new_message", message.channel_id, message.thread_id,
                    message_id=message.id, user_id=author.id, data={"kind": selected.kind}, depth=depth,
                )
            )
        return jobs

    async def _may_have_bots(self, channel_id: int) -> bool:
        """False when no plugin can be on in the channel: a message there costs no query.

        The list of channels with a bot setting is kept while it can be trusted: by a
        server that is the only process, or, with Redis, while this process listens to
        the other processes' announcements of changes (see :meth:`bot_settings_changed`).
        It is dropped after every change and read again on the next message.
        """
        if self._queue is None or not (self._queue.local or self._hearing_changes):
            return True
        known = self._bot_channels
        if known is None:
            generation = self._bot_channels_generation
            known = set(await BotEnablement.all().distinct().values_list("channel_id", flat=True))
            if generation == self._bot_channels_generation:  # no change while reading
                self._bot_channels = known
        return channel_id in known

    def forget_bot_channels(self) -> None:
        """The next message reads which channels have a bot setting again."""
        self._bot_channels = None
        self._bot_channels_generation += 1

    @property
    def _changes_channel(self) -> str:
        return f"{self.settings.stream_key}:settings-changed"

    async def bot_settings_changed(self) -> None:
        """A bot setting changed (committed): forget the list here and in every process."""
        self.forget_bot_channels()
        if self._redis is not None:
            try:
                await self._redis.publish(self._changes_channel, "1")
            except Exception:
                log.warning("could not announce a bot setting change to other processes", exc_info=True)

    async def _settings_changes_loop(self) -> None:
        """With Redis: hear the bot setting changes of every process. While not
        subscribed (Redis down), nothing is kept: every message asks the database."""
        delay = 0.5
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self._changes_channel)
                self._hearing_changes = True
                self.forget_bot_channels()  # changes may have been missed meanwhile
                delay = 0.5
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.forget_bot_channels()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("not hearing bot setting changes; retrying", extra={"error": str(exc)[:200]})
            finally:
                self._hearing_changes = False
                self.forget_bot_channels()
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _submit(self, job: Job) -> None:
        assert self._queue is not None
        broken = False
        try:
            accepted = await self._queue.put(job)
        except Exception:
            log.exception("bot job could not be queued", extra={"plugin": job.plugin, "job_id": job.id})
            accepted, broken = False, True
        if accepted:
            if self._queue.local:
                self._track(1)
            return
        if not broken:
            log.warning("bot queue full: job refused", extra={"plugin": job.plugin, "job_id": job.id})
        self._finished(JobOutcome(job, "overflow", detail="queue unavailable" if broken else "queue full"), 0.0)
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
            await self._notice(job, text, "busy")

    # Jobs out ----------------------------------------------------------------

    async def _consume_loop(self) -> None:
        assert self._queue is not None and self._slots is not None
        while not self._stopping:
            await self._slots.acquire()
            if self._stopping:
                self._slots.release()
                break
            try:
                delivery = await self._queue.get(timeout=1.0)
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
            if not self._queue.local:
                self._track(1)
            task = asyncio.create_task(self._execute(delivery), name=f"venn-bot-job-{delivery.job.id}")
            self._running[task] = delivery
            task.add_done_callback(self._job_task_done)

    def _job_task_done(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        assert self._slots is not None
        self._slots.release()

    async def _heartbeat_loop(self) -> None:
        assert self._queue is not None
        interval = max(0.05, self.settings.reclaim_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await self._queue.heartbeat(list(self._running.values()))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("bot heartbeat failed", exc_info=True)

    async def _execute(self, delivery: Delivery) -> None:
        assert self._queue is not None
        job = delivery.job
        state = JobState(job)
        token = _current_job.set(state)
        started = time.monotonic()
        self._gauge_running.inc()
        outcome: JobOutcome | None = None
        try:
            if delivery.attempt > self.settings.max_attempts:
                outcome = JobOutcome(job, "gave_up", detail=f"{delivery.attempt - 1} attempts")
                log.error("bot job given up", extra={"plugin": job.plugin, "job_id": job.id, "attempts": delivery.attempt - 1})
                await self._notice(
                    job, f"{job.plugin} gave up on this after {delivery.attempt - 1} attempts. (job {job.id[:8]})", "gave-up"
                )
            else:
                outcome = await self._run_job(job, state)
            await self._queue.done(delivery)
        except asyncio.CancelledError:
            # shutting down: with Redis the job stays pending and another process takes it
            outcome = outcome or JobOutcome(job, "error", detail="cancelled")
            raise
        except Exception as exc:
            # The job could not even be prepared (database or Redis trouble). Left
            # unacknowledged, a Redis job is retried after VENN_BOT_RECLAIM_SECONDS.
            log.exception("bot job failed to run", extra={"plugin": job.plugin, "job_id": job.id})
            outcome = JobOutcome(job, "error", error=exc, detail="runtime")
            if self._queue.local:
                await self._notice(job, f"{job.plugin} could not handle this. (job {job.id[:8]})", "error")
        finally:
            _current_job.reset(token)
            self._gauge_running.dec()
            self._finished(outcome or JobOutcome(job, "error"), time.monotonic() - started)
            self._track(-1)

    def _finished(self, outcome: JobOutcome, seconds: float) -> None:
        self.services.metrics.bot_jobs.labels(plugin=outcome.job.plugin, outcome=outcome.outcome).inc()
        if seconds:
            self._duration.labels(plugin=outcome.job.plugin).observe(seconds)
        for listener in list(self.listeners):
            try:
                listener(outcome)
            except Exception:
                log.exception("bot job listener failed")

    async def _run_job(self, job: Job, state: JobState) -> JobOutcome:
        plugin = self.plugins.get(job.plugin)
        if plugin is None:
            log.warning("bot job for a plugin this process does not have", extra={"plugin": job.plugin, "job_id": job.id})
            return JobOutcome(job, "skipped", detail="plugin not loaded")
        channel = await Channel.get_or_none(id=job.channel_id)
        thread = await Thread.get_or_none(id=job.thread_id) if job.thread_id is not None else None
        if channel is None or (job.thread_id is not None and thread is None):
            return JobOutcome(job, "skipped", detail="channel or thread gone")
        cls = type(plugin)
        if job.event == "bot_disabled":
            raw_config = job.data.get("config") or {}
        else:
            row = (await effective_enablements(channel.id, thread.id if thread else None)).get(plugin.name)
            if row is None:
                return JobOutcome(job, "skipped", detail="no longer enabled")
            raw_config = row.config or {}
        try:
            config = cls.Config.model_validate(raw_config)
        except ValidationError:
            if job.event == "bot_disabled":
                config = cls.Config.model_construct()
            else:
                log.error("stored plugin config is invalid", extra={"plugin": plugin.name, "job_id": job.id})
                await self._notice(
                    job, f"{plugin.name}'s settings here are no longer valid; an admin needs to update them.",
                    "config",
                )
                return JobOutcome(job, "invalid_config")

        message_info = None
        user_info = None
        calls: list[tuple[HandlerSpec, dict[str, Any]]] = []
        if job.trigger == "message":
            message = await Message.get_or_none(id=job.message_id).prefetch_related("author")
            if message is None or message.deleted:
                return JobOutcome(job, "skipped", detail="message gone")
            author = message.author
            bot = self.bot_users[plugin.name]
            selected = select_handlers(plugin, message.body, author_is_bot=author.is_bot, bot_username=bot.username)
            if selected is None:
                return JobOutcome(job, "skipped", detail="message no longer matches")
            message_info = MessageInfo.of(message, author)
            user_info = UserInfo.of(author)
            for spec in selected.handlers:
                calls.append(
                    (spec, {"text": selected.text, "match": selected.matches.get(spec.attr), "command": selected.command})
                )
        else:
            if job.message_id is not None and job.event != "message_deleted":
                message = await Message.get_or_none(id=job.message_id).prefetch_related("author")
                if message is not None and not message.deleted:
                    message_info = MessageInfo.of(message, message.author)
            user = await User.get_or_none(id=job.user_id) if job.user_id is not None else None
            user_info = UserInfo.of(user) if user is not None else None
            calls = [
                (spec, {})
                for spec in self._event_handlers(plugin, job.event)
                if user is None or not user.is_bot or spec.bots or cls.see_bots
            ]
            if not calls:
                return JobOutcome(job, "skipped", detail="no handler")

        common = {
            "runtime": self,
            "plugin": plugin,
            "state": state,
            "event": job.event,
            "data": job.data,
            "channel": ChannelInfo.of(channel),
            "thread": ThreadInfo.of(thread) if thread is not None else None,
            "message": message_info,
            "user": user_info,
            "config": config,
        }
        result = JobOutcome(job, "ok")
        async with self._sems[plugin.name]:
            for spec, extra in calls:
                outcome = await self._call(plugin, spec, common, extra)
                if OUTCOMES.index(outcome.outcome) > OUTCOMES.index(result.outcome):
                    result = outcome
        return result

    async def _call(
        self, plugin: Plugin, spec: HandlerSpec, common: dict[str, Any], extra: dict[str, Any]
    ) -> JobOutcome:
        job: Job = common["state"].job
        timeout = spec.timeout or type(plugin).timeout or self.settings.handler_timeout
        ctx = Context(handler=spec, deadline=time.monotonic() + timeout, **common, **extra)
        if spec.kind == "command":
            try:
                ctx.argv = split_args(ctx.text) if spec.args is not None else loose_split(ctx.text)
                ctx.args = parse_args(spec, ctx.argv)
            except HelpRequested:
                await ctx.reply(spec.help_text())
                return JobOutcome(job, "usage", handler=spec.attr, detail="help")
            except UsageError as exc:
                await ctx.reply(f"{exc}\nUsage: {spec.usage()}\n(/{spec.command} --help explains it.)")
                return JobOutcome(job, "usage", handler=spec.attr, detail=str(exc))
        else:
            ctx.argv = loose_split(ctx.text) if ctx.text else []
        handler = getattr(plugin, spec.attr)
        where = {"plugin": plugin.name, "job_id": job.id, "handler": spec.attr}
        try:
            async with asyncio.timeout(timeout) as scope:
                await handler(ctx)
        except TimeoutError as exc:
            if not scope.expired():
                return await self._failed(plugin, spec, job, exc, where)
            log.error("bot handler timed out after %ss", timeout, extra=where)
            await self._notice(
                job, f"{plugin.name} took longer than {timeout:g} s and was stopped. (job {job.id[:8]})", "timeout"
            )
            return JobOutcome(job, "timeout", handler=spec.attr)
        except TooManyReplies as exc:
            log.error("bot handler posted too many replies", extra=where)
            await self._notice(job, f"{plugin.name} was stopped: {exc}. (job {job.id[:8]})", "flood")
            return JobOutcome(job, "error", handler=spec.attr, error=exc, detail="too many replies")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self._failed(plugin, spec, job, exc, where)
        return JobOutcome(job, "ok", handler=spec.attr)

    async def _failed(self, plugin: Plugin, spec: HandlerSpec, job: Job, exc: BaseException, where: dict) -> JobOutcome:
        log.error("bot handler failed: %s: %s", type(exc).__name__, exc, extra=where, exc_info=exc)
        await self._notice(job, f"Sorry, {plugin.name} ran into an error. (job {job.id[:8]})", f"error-{spec.attr}")
        return JobOutcome(job, "error", handler=spec.attr, error=exc)

    # What plugins do -------------------------------------------------------

    async def post_as_bot(
        self,
        plugin: str,
        channel_id: int,
        thread_id: int | None,
        text: str,
        *,
        payload: dict[str, Any] | None = None,
        client_msg_id: str | None = None,
        system: bool = False,
    ) -> dict[str, Any]:
        """Post as a plugin's bot user through the one message path (persisted, broadcast)."""
        user = self.bot_users[plugin]
        data = MessageCreateIn(channel_id=channel_id, body=text, thread_id=thread_id, client_msg_id=client_msg_id)
        result = await self.services.messages.post(
            user, data, kind=MessageKind.SYSTEM if system else MessageKind.BOT, payload=payload, trusted=True
        )
        return result.message

    async def emit(
        self, plugin: str, event: str, data: dict[str, Any], *, channel_id: int, thread_id: int | None
    ) -> None:
        await self.services.events.publish(
            Event(
                event,
                {**data, "plugin": plugin, "channel_id": channel_id, "thread_id": thread_id},
                channel_id=channel_id,
                thread_id=thread_id,
            )
        )

    async def _notice(self, job: Job, text: str, key: str) -> None:
        """A short message from the plugin's bot user about a job (errors, busy); once per job."""
        if job.plugin not in self.bot_users:
            return
        try:
            await self.post_as_bot(
                job.plugin, job.channel_id, job.thread_id, text, client_msg_id=f"job:{job.id}:{key}"[:64]
            )
        except Exception:
            log.exception("could not post a bot notice", extra={"plugin": job.plugin, "job_id": job.id})

    async def enabled_plugins(self, channel_id: int, thread_id: int | None) -> list[Plugin]:
        """The loaded plugins enabled for a thread (or a channel's stream), by name."""
        enabled = await effective_enablements(channel_id, thread_id)
        return [self.plugins[n] for n in sorted(enabled) if n in self.plugins]
