"""Routing: events in, jobs out. One job per plugin that is enabled where the event
happened and has a handler for it.

Loops: plugins do not see bot messages unless a handler opts in (``bots=True``) and
never see their own; a chain of bot replies stops after :data:`MAX_CHAIN` hops.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

from venn.shared_cache import SharedCache
from venn_bots.inbound import BotStatusChanged, Inbound, MessagePosted
from venn_bots.matching import event_handlers, select_handlers
from venn_bots.models import BotEnablement
from venn_bots.plugin import EVENT_ALIASES, Plugin
from venn_bots.queue import Job, new_job_id
from venn_bots.service import effective_enablements

log = logging.getLogger("venn.bots")

#: bot replies in a row (bot answering bot) after which messages reach no plugin
MAX_CHAIN = 3
#: what a ``bot_status`` action is called for the plugin it is about
STATUS_EVENTS = {"enabled": "bot_enabled", "disabled": "bot_disabled", "updated": "bot_updated"}


class BotChannels(SharedCache[set[int]]):
    """Which channels have any bot setting, so that a message in one without costs the
    router no query. Kept as :class:`venn.shared_cache.SharedCache` keeps a value: by the
    only process, or, with Redis, while this process hears the other processes'
    announcements of changes (on ``<stream>:settings-changed``); dropped after every change
    and read again on the next message."""

    def __init__(self) -> None:
        super().__init__(self._read)

    @staticmethod
    async def _read() -> set[int]:
        rows = await BotEnablement.all().distinct().values_list("channel_id", flat=True)
        return set(cast("list[int]", rows))  # flat: one id per row

    async def may_have_bots(self, channel_id: int) -> bool:
        """False when no plugin can be on in the channel (while the list is not
        trusted, every channel may have one: the router asks the database)."""
        if not self.trusted:
            return True
        return channel_id in await self.get()


class Router:
    """Turns typed events (:mod:`venn_bots.inbound`) into jobs for the loaded plugins."""

    def __init__(self, plugins: Mapping[str, Plugin], bot_users: Mapping[str, Any], channels: BotChannels) -> None:
        #: the loader's mappings (kept current by it)
        self._plugins = plugins
        self._bot_users = bot_users
        self.channels = channels
        self.wanted_events: set[str] = set()
        self._bot_listeners = False

    def prepare(self) -> None:
        """After loading: which bus events any plugin wants, and whether any sees bots."""
        plugins = [type(p) for p in self._plugins.values()]
        self._bot_listeners = any(
            cls.see_bots or any(h.bots for h in cls.handlers if h.kind != "event") for cls in plugins
        )
        self.wanted_events = {"new_message", "bot_status"}
        for cls in plugins:
            for name in cls.event_names():
                self.wanted_events.add(name)
                self.wanted_events.update(k for k, v in EVENT_ALIASES.items() if v == name)

    async def enabled_plugins(self, channel_id: int, thread_id: int | None) -> list[Plugin]:
        """The loaded plugins enabled for a thread (or a channel's stream), by name."""
        enabled = await effective_enablements(channel_id, thread_id)
        return [self._plugins[n] for n in sorted(enabled) if n in self._plugins]

    async def route(self, event: Inbound, depth: int = 0) -> list[Job]:
        """The jobs an event makes: one per enabled plugin with a handler for it."""
        if depth >= MAX_CHAIN:
            return []
        if isinstance(event, MessagePosted):
            return await self._route_message(event, depth)
        if isinstance(event, BotStatusChanged):
            return self._route_status(event, depth)
        name = EVENT_ALIASES.get(event.name, event.name)
        wanting = [p for p in self._plugins.values() if name in type(p).event_names()]
        if not wanting:
            return []
        actor = event.actor
        enabled = await effective_enablements(event.channel_id, event.thread_id)
        jobs = []
        for plugin in wanting:
            if plugin.name not in enabled:
                continue
            if actor is not None and actor.is_bot:
                bot = self._bot_users.get(plugin.name)
                if bot is not None and bot.id == actor.id:
                    continue
                if not (type(plugin).see_bots or any(h.bots for h in event_handlers(plugin, name))):
                    continue
            jobs.append(
                Job(
                    new_job_id(), plugin.name, "event", name, event.channel_id, event.thread_id,
                    message_id=event.message_id, user_id=actor.id if actor else None, data=event.data, depth=depth,
                )
            )
        return jobs

    def _route_status(self, event: BotStatusChanged, depth: int) -> list[Job]:
        plugin = self._plugins.get(event.plugin)
        name = STATUS_EVENTS.get(event.action)
        if plugin is None or name is None or name not in type(plugin).event_names():
            return []
        data = dict(event.data)
        if name == "bot_disabled":
            data["config"] = event.old_config
        return [
            Job(
                new_job_id(), plugin.name, "event", name, event.channel_id, event.thread_id,
                user_id=event.actor.id if event.actor else None, data=data, depth=depth,
            )
        ]

    async def _route_message(self, event: MessagePosted, depth: int) -> list[Job]:
        author = event.actor
        if event.system or (author.is_bot and not self._bot_listeners):
            return []
        if not await self.channels.may_have_bots(event.channel_id):
            return []
        # Which plugins the text would wake first (no database), then whether they are
        # switched on here: most messages wake none and cost no query.
        wanted = []
        for name in sorted(self._plugins):
            plugin, bot = self._plugins[name], self._bot_users.get(name)
            if bot is None or (author.is_bot and author.id == bot.id):
                continue
            selected = select_handlers(plugin, event.body, author_is_bot=author.is_bot, bot_username=bot.username)
            if selected is not None:
                wanted.append((name, selected))
        if not wanted:
            return []
        enabled = await effective_enablements(event.channel_id, event.thread_id)
        return [
            Job(
                new_job_id(), name, "message", "new_message", event.channel_id, event.thread_id,
                message_id=event.message_id, user_id=author.id, data={"kind": selected.kind}, depth=depth,
            )
            for name, selected in wanted
            if name in enabled
        ]
