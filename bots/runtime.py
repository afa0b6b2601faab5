"""The bot runtime: events in, jobs out, handlers run in isolation.

Flow, in each server process:

1. The event bus calls :meth:`BotRuntime.on_event` inside the service call that made
   the change (a user's ``post``). It only drops the event into an intake queue, so
   posting a message never waits for bots.
2. The router task reads each event as a typed event (:mod:`venn_bots.inbound`) and
   turns it into jobs (:mod:`venn_bots.router`): one per plugin that is enabled where
   the event happened and has a handler for it. Jobs go to the job queue (in-process,
   or the Redis stream shared by every process).
3. The worker (:mod:`venn_bots.worker`) takes jobs while a slot is free and runs each
   handler with a timeout, answering failures in the thread; replies go out as the
   plugin's bot user (:mod:`venn_bots.poster`).

:class:`BotRuntime` wires those parts together and is what the rest of Venn holds:
the plugins loaded (:mod:`venn_bots.loader`), the enablement service, and the doors
for plugins (:meth:`dispatch`, :meth:`post_as_bot`, :meth:`emit`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from venn.db.models import User
from venn.events import Event
from venn_bots.actions import ActionDispatcher
from venn_bots.inbound import Inbound, from_bus
from venn_bots.loader import PluginLoader
from venn_bots.plugin import Plugin
from venn_bots.poster import Poster
from venn_bots.queue import Job, JobQueue, MemoryJobQueue, RedisStreamJobQueue
from venn_bots.registry import Failure
from venn_bots.router import MAX_CHAIN, BotChannels, Router
from venn_bots.schedule import Scheduler
from venn_bots.service import BotService
from venn_bots.settings import BotSettings
from venn_bots.tracking import OUTCOMES, JobOutcome, JobTracker
from venn_bots.worker import BUSY_NOTICE_INTERVAL, Worker, chain_depth

__all__ = ["BUSY_NOTICE_INTERVAL", "MAX_CHAIN", "OUTCOMES", "BotRuntime", "JobOutcome"]

log = logging.getLogger("venn.bots")


class BotRuntime:
    """Runs the plugins of one server process. Built by :meth:`venn_bots.extension.BotRuntimeExtension.install`.

    ``settings`` and ``redis_url`` are read when it starts (the testing kit sets them
    after building the app).
    """

    def __init__(
        self, services: Any, settings: BotSettings, *, redis_url: str | None = None, extensions: Any = None
    ) -> None:
        self.services = services
        self.settings = settings
        self.redis_url = redis_url
        #: the app's plugins (venn.extensions.ExtensionSet): the bot plugins among them run
        #: here, with their settings; None: every installed plugin
        self.extensions = extensions
        self.loader = PluginLoader(services, extensions)
        self.tracker = JobTracker(services)
        self.poster = Poster(services, self.loader.bot_users)
        self.channels = BotChannels()
        self.router = Router(self.loader.plugins, self.loader.bot_users, self.channels)
        #: made at start, with the queue of that start
        self.worker: Worker | None = None
        self.scheduler: Scheduler | None = None
        self.service = BotService(self)
        self.started = False
        self._classes: list[type[Plugin]] | None = None
        self._discover = True
        self._redis: Any = None
        self._intake: asyncio.Queue[tuple[Event, int]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # What is loaded -------------------------------------------------------------

    @property
    def plugins(self) -> dict[str, Plugin]:
        """The loaded plugins by name."""
        return self.loader.plugins

    @property
    def sources(self) -> dict[str, str]:
        """Where each loaded plugin came from ("entry point echo = venn_plugins.echo:EchoPlugin (...)", ...)."""
        return self.loader.sources

    @property
    def bot_users(self) -> dict[str, User]:
        """Each loaded plugin's bot user by plugin name."""
        return self.loader.bot_users

    @property
    def failures(self) -> list[Failure]:
        """Plugins that failed to import or to set up, and why."""
        return self.loader.failures

    @property
    def listeners(self) -> list[Callable[[JobOutcome], Any]]:
        """Called with a :class:`JobOutcome` after every job (the testing kit listens)."""
        return self.tracker.listeners

    # Configuration (before start) ----------------------------------------------

    def use_plugins(self, *classes: type[Plugin], discover: bool = False) -> None:
        """Run these plugin classes (and, with ``discover``, the installed ones too)."""
        if self.started:
            raise RuntimeError("plugins are chosen before the runtime starts")
        self._classes = list(classes)
        self._discover = discover

    # Lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        settings = self.settings
        self._stopping = False
        self.tracker.reset()
        self._intake = asyncio.Queue(maxsize=max(10_000, settings.queue_size * 10))
        await self.loader.load(
            self._classes, with_installed=self._discover, host=self, setup_timeout=settings.handler_timeout
        )
        self.router.prepare()
        stream = settings.stream_name(self.services.settings.redis_prefix)
        queue = await self._open_queue(stream)
        if not queue.local:
            self.channels.use(self._redis, f"{stream}:settings-changed")
        self.worker = worker = Worker(
            settings, queue, plugins=self.loader.plugins, bot_users=self.loader.bot_users,
            tracker=self.tracker, poster=self.poster, host=self,
        )
        self.services.events.subscribe(self.on_event)
        # clicks on the bots' buttons become jobs (until then the core answers 409)
        self.services.actions.dispatcher = ActionDispatcher(self.loader.plugins, self.loader.bot_users, worker.submit)
        self.scheduler = Scheduler(
            self.loader.plugins, worker.submit, timezone=settings.timezone, tick_seconds=settings.schedule_tick,
            lease_seconds=settings.handler_timeout + 60,
        )
        self._tasks = [
            asyncio.create_task(self.scheduler.run(), name="venn-bots-scheduler"),
            asyncio.create_task(self._route_loop(), name="venn-bots-router"),
            asyncio.create_task(worker.consume(), name="venn-bots-consumer"),
        ]
        if not queue.local:
            self._tasks.append(asyncio.create_task(worker.heartbeat(), name="venn-bots-heartbeat"))
            self._tasks.append(asyncio.create_task(self.channels.hear_changes(), name="venn-bots-changes"))
        self.started = True
        log.info(
            "bot runtime started",
            extra={
                "plugins": ",".join(sorted(self.plugins)) or "-",
                "skipped": len(self.failures),
                "queue": "redis" if self._redis is not None else "memory",
            },
        )

    async def _open_queue(self, stream: str) -> JobQueue:
        """The in-process queue, or with ``redis_url`` the stream every process shares."""
        queue: JobQueue
        if self.redis_url:
            import redis.asyncio as aioredis

            self._redis = aioredis.from_url(self.redis_url, decode_responses=True)
            queue = RedisStreamJobQueue(
                self._redis,
                stream=stream,
                maxlen=self.settings.queue_size,
                reclaim_seconds=self.settings.reclaim_seconds,
            )
        else:
            queue = MemoryJobQueue(self.settings.queue_size)
        await queue.start()
        return queue

    async def stop(self) -> None:
        if not self.started:
            return
        self._stopping = True
        worker = self.worker
        assert worker is not None
        worker.stopping = True
        self.services.events.unsubscribe(self.on_event)
        self.services.actions.dispatcher = None
        # No new jobs: the router and the consumer stop where they are (a job the
        # consumer was about to take stays in the queue; with Redis, for another process).
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await worker.finish_running(self.services.settings.shutdown_timeout_seconds)
        await self.loader.teardown_all()
        await worker.queue.close()
        if self._redis is not None:
            await self._redis.aclose()
        self.started = False

    async def idle(self, timeout: float = 10.0) -> None:
        """Wait until every event this process received has been routed and every job it
        queued in memory or took from Redis has finished."""
        await self.tracker.idle(timeout)

    # Events in ------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        """Event-bus subscriber: hand the event to the router and return at once."""
        if event.name == "bot_status" and self.scheduler is not None:
            self.scheduler.changed()
        if not self.started or self._stopping or event.name not in self.router.wanted_events:
            return
        if event.channel_id is None or not self.plugins:
            return
        assert self._intake is not None
        try:
            self._intake.put_nowait((event, chain_depth()))
        except asyncio.QueueFull:
            log.error("bot intake full: event dropped", extra={"event": event.name})
            return
        self.tracker.track(1)

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
                self.tracker.track(-1)

    async def dispatch(self, event: Event | Inbound, depth: int = 0) -> list[Job]:
        """Route an event to the enabled plugins and queue their jobs now (a door that
        is not the event bus, e.g. a REST endpoint of a plugin). Returns the jobs made;
        a job the queue refuses is answered in the thread with a "busy" notice."""
        assert self.worker is not None, "the bot runtime has not started"
        jobs = await self.route(event, depth)
        for job in jobs:
            await self.worker.submit(job)
        return jobs

    async def route(self, event: Event | Inbound, depth: int = 0) -> list[Job]:
        """The jobs an event makes: one per enabled plugin with a handler for it."""
        inbound = event if isinstance(event, Inbound) else from_bus(event)
        if inbound is None:
            return []
        return await self.router.route(inbound, depth)

    # Enablement ----------------------------------------------------------------

    async def enabled_plugins(self, channel_id: int, thread_id: int | None) -> list[Plugin]:
        """The loaded plugins enabled for a thread (or a channel's stream), by name."""
        return await self.router.enabled_plugins(channel_id, thread_id)

    def forget_bot_channels(self) -> None:
        """The next message reads which channels have a bot setting again."""
        self.channels.forget()

    async def bot_settings_changed(self) -> None:
        """A bot setting changed (committed): forget the list here and in every process."""
        await self.channels.changed()

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
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """Post as a plugin's bot user through the one message path (persisted, broadcast)."""
        return await self.poster.post(
            plugin, channel_id, thread_id, text, payload=payload, client_msg_id=client_msg_id, system=system,
            reply_to=reply_to,
        )

    async def emit(
        self, plugin: str, event: str, data: dict[str, Any], *, channel_id: int, thread_id: int | None
    ) -> None:
        """A live event to a thread's (or channel's) clients, marked with the plugin."""
        await self.poster.emit(plugin, event, data, channel_id=channel_id, thread_id=thread_id)

    async def update_as_bot(
        self, plugin: str, message_id: int, *, body: str | None = None, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Change a message of the plugin's bot user through the one message path."""
        return await self.poster.update(plugin, message_id, body=body, payload=payload)
