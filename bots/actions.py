"""Interactive messages for plugins: ``@on_action("vote")`` handlers, and what a click on
a button or select of a plugin's message becomes.

The core checks a click (who may click, whether the message offers it: see
:mod:`venn.services.actions`) and hands it to :class:`ActionDispatcher`, which the
runtime installs as ``services.actions.dispatcher`` when it starts. The dispatcher
finds the plugin whose bot user wrote the message, checks that it is still enabled
where the message is and answers that action id, and queues a job (trigger
``"action"``) like any other: with Redis, exactly one process runs it. The job's
handler gets an :class:`~venn_bots.events.ActionEvent`: ``ctx.user`` is whoever
clicked, ``ctx.message`` the clicked message as it is when the job runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from venn.db.models import Message, User
from venn.errors import Conflict, Unavailable
from venn.services.actions import ACTION_ID_RE, offers
from venn_bots.events import ActionEvent, BotEvent, MessageInfo, UserInfo
from venn_bots.plugin import HandlerSpec, Plugin, PluginError, _mark
from venn_bots.queue import Job, new_job_id
from venn_bots.service import effective_enablements
from venn_bots.tracking import JobOutcome

#: the Job.trigger of clicks, and the event name handlers see
TRIGGER = "action"
EVENT = "message_action"


def on_action(*action_ids: str, timeout: float | None = None):
    """Handle clicks on the buttons and selects with these ids in the plugin's own
    messages (``payload.actions``). ``ctx.user`` is who clicked, ``ctx.message`` the
    message, ``ctx.action_id`` and ``ctx.action_value`` what was clicked; the handler
    may change the message with ``ctx.update_message``."""
    if not action_ids or any(not isinstance(a, str) for a in action_ids):
        raise PluginError('on_action needs one or more action ids: @on_action("vote")')
    for action_id in action_ids:
        if not ACTION_ID_RE.match(action_id):
            raise PluginError(f"action id {action_id!r} must match {ACTION_ID_RE.pattern}")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return _mark(func, {"kind": "action", "actions": tuple(action_ids), "timeout": timeout})

    return decorate


def action_handler(plugin: Plugin | type[Plugin], action_id: str) -> HandlerSpec | None:
    """The plugin's ``@on_action`` handler for ``action_id`` (the first declared), if any."""
    return next((h for h in plugin.handlers if action_id in h.actions), None)


class ActionDispatcher:
    """``services.actions.dispatcher``: a checked click on a bot's message → a job."""

    def __init__(
        self, plugins: Mapping[str, Plugin], bot_users: Mapping[str, Any], submit: Callable[[Job], Awaitable[bool]]
    ) -> None:
        #: the loader's mappings (kept current by it)
        self._plugins = plugins
        self._bot_users = bot_users
        self._submit = submit

    async def __call__(
        self, message: Message, author: User, clicker: User, action_id: str, value: str
    ) -> dict[str, Any]:
        name = next((n for n, bot in self._bot_users.items() if bot.id == author.id), None)
        plugin = self._plugins.get(name) if name is not None else None
        if name is None or plugin is None:
            raise Conflict("No plugin answers this message's buttons here.", code="plugin_disabled")
        if action_handler(plugin, action_id) is None:
            raise Conflict(f"{name} no longer answers this button.", code="plugin_disabled")
        if name not in await effective_enablements(message.channel_id, message.thread_id):
            raise Conflict(f"{name} is no longer enabled here, so its buttons do nothing.", code="plugin_disabled")
        job = Job(
            new_job_id(), name, TRIGGER, EVENT, message.channel_id, message.thread_id, message_id=message.id,
            user_id=clicker.id, data={"action_id": action_id, "value": value},
        )
        if not await self._submit(job):
            raise Unavailable(f"{name} is busy; try again in a moment.")
        return {"ok": True, "accepted": True, "job_id": job.id}


async def action_triggers(job: Job, plugin: Plugin) -> list[tuple[HandlerSpec, BotEvent]] | JobOutcome:
    """A click's handler and its event, read when the job runs: a message deleted, or
    no longer offering what was clicked, is skipped."""
    action_id, value = str(job.data.get("action_id") or ""), str(job.data.get("value") or "")
    spec = action_handler(plugin, action_id)
    if spec is None:
        return JobOutcome(job, "skipped", detail="no handler")
    message = await Message.get_or_none(id=job.message_id).prefetch_related("author")
    if message is None or message.deleted:
        return JobOutcome(job, "skipped", detail="message gone")
    if not offers(message, action_id, value):
        return JobOutcome(job, "skipped", detail="action no longer offered")
    user = await User.get_or_none(id=job.user_id) if job.user_id is not None else None
    if user is None:
        return JobOutcome(job, "skipped", detail="user gone")
    trigger = ActionEvent(
        data=dict(job.data), message=MessageInfo.of(message, message.author), user=UserInfo.of(user),
        action_id=action_id, value=value,
    )
    return [(spec, trigger)]
