"""From a job to its handler calls: the job is plain JSON (it may come from another
process), so the worker reads the channel, thread, message, user and the plugin's
config here again, as they are now, and builds each handler's typed event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from venn.db.models import Channel, Message, Thread, User
from venn_bots.actions import TRIGGER as ACTION_TRIGGER
from venn_bots.actions import action_triggers
from venn_bots.events import (
    MESSAGE_EVENTS,
    BotEvent,
    ChannelInfo,
    CustomEvent,
    EditEvent,
    MessageInfo,
    ThreadInfo,
    UserInfo,
)
from venn_bots.matching import event_handlers, select_handlers
from venn_bots.plugin import HandlerSpec, Plugin
from venn_bots.queue import Job
from venn_bots.schedule import ONCE, TRIGGER
from venn_bots.service import effective_enablements
from venn_bots.tracking import JobOutcome


@dataclass(frozen=True)
class Call:
    """One handler to call for a job, with what its context holds."""

    spec: HandlerSpec
    trigger: BotEvent
    channel: ChannelInfo
    thread: ThreadInfo | None
    config: BaseModel


async def prepare(job: Job, plugin: Plugin, bot_user: Any) -> list[Call] | JobOutcome:
    """The handler calls of a job, or the outcome that says why there are none
    (``skipped``; ``invalid_config`` when the stored config no longer validates)."""
    channel = await Channel.get_or_none(id=job.channel_id)
    thread = await Thread.get_or_none(id=job.thread_id) if job.thread_id is not None else None
    if channel is None or (job.thread_id is not None and thread is None):
        return JobOutcome(job, "skipped", detail="channel or thread gone")
    config = await _config(job, plugin, channel.id, thread.id if thread else None)
    if isinstance(config, JobOutcome):
        return config
    if job.trigger == "message":
        triggers = await _message_triggers(job, plugin, bot_user)
    elif job.trigger == TRIGGER:
        triggers = await _schedule_triggers(job, plugin)
    elif job.trigger == ACTION_TRIGGER:
        triggers = await action_triggers(job, plugin)
    else:
        triggers = await _event_triggers(job, plugin)
    if isinstance(triggers, JobOutcome):
        return triggers
    channel_info = ChannelInfo.of(channel)
    thread_info = ThreadInfo.of(thread) if thread is not None else None
    return [Call(spec, trigger, channel_info, thread_info, config) for spec, trigger in triggers]


async def _config(job: Job, plugin: Plugin, channel_id: int, thread_id: int | None) -> BaseModel | JobOutcome:
    """The plugin's config where the job happened, read when the job runs (a plugin
    disabled since does not answer); ``bot_disabled`` carries the config it had."""
    cls = type(plugin)
    if job.event == "bot_disabled":
        raw = job.data.get("config") or {}
    else:
        row = (await effective_enablements(channel_id, thread_id)).get(plugin.name)
        if row is None:
            return JobOutcome(job, "skipped", detail="no longer enabled")
        raw = row.config or {}
    try:
        return cls.Config.model_validate(raw)
    except ValidationError:
        if job.event == "bot_disabled":  # a goodbye still runs, without the settings
            return cls.Config.model_construct()
        return JobOutcome(job, "invalid_config")


Triggers = list[tuple[HandlerSpec, BotEvent]]


async def _message_triggers(job: Job, plugin: Plugin, bot_user: Any) -> Triggers | JobOutcome:
    message = await Message.get_or_none(id=job.message_id).prefetch_related("author")
    if message is None or message.deleted:
        return JobOutcome(job, "skipped", detail="message gone")
    author = message.author
    selected = select_handlers(plugin, message.body, author_is_bot=author.is_bot, bot_username=bot_user.username)
    if selected is None:
        return JobOutcome(job, "skipped", detail="message no longer matches")
    event_class = MESSAGE_EVENTS[selected.kind]
    common: dict[str, Any] = {
        "name": job.event, "data": job.data, "message": MessageInfo.of(message, author), "user": UserInfo.of(author),
        "text": selected.text,
    }
    if selected.command is not None:
        common["command"] = selected.command
    return [(spec, event_class(**common, match=selected.matches.get(spec.attr))) for spec in selected.handlers]


async def _event_triggers(job: Job, plugin: Plugin) -> Triggers | JobOutcome:
    message_info = None
    if job.message_id is not None and job.event != "message_deleted":
        message = await Message.get_or_none(id=job.message_id).prefetch_related("author")
        if message is not None and not message.deleted:
            message_info = MessageInfo.of(message, message.author)
    user = await User.get_or_none(id=job.user_id) if job.user_id is not None else None
    see_bots = type(plugin).see_bots
    specs = [
        spec
        for spec in event_handlers(plugin, job.event)
        if user is None or not user.is_bot or spec.bots or see_bots
    ]
    if not specs:
        return JobOutcome(job, "skipped", detail="no handler")
    event_class = EditEvent if job.event == "message_edited" else CustomEvent
    trigger = event_class(
        name=job.event, data=job.data, user=UserInfo.of(user) if user is not None else None, message=message_info
    )
    return [(spec, trigger) for spec in specs]


async def _schedule_triggers(job: Job, plugin: Plugin) -> Triggers | JobOutcome:
    """A scheduled run: its handler, with the stored data; a cancelled one-off run is skipped."""
    from venn_bots.models import BotSchedule

    name = str(job.data.get("handler") or "")
    if job.data.get("kind") == ONCE:
        if not await BotSchedule.exists(id=job.data.get("schedule_id"), kind=ONCE):
            return JobOutcome(job, "skipped", detail="cancelled")
        spec = HandlerSpec(kind="schedule", attr=name)
    else:
        found = [h for h in plugin.handlers if h.kind == "schedule" and h.attr == name]
        if not found:
            return JobOutcome(job, "skipped", detail="no handler")
        spec = found[0]
    if not hasattr(plugin, name):
        return JobOutcome(job, "skipped", detail="no handler")
    user = await User.get_or_none(id=job.user_id) if job.user_id is not None else None
    trigger = CustomEvent(
        name=TRIGGER, data=dict(job.data.get("data") or {}), user=UserInfo.of(user) if user is not None else None,
        message=None,
    )
    return [(spec, trigger)]
