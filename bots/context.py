"""What a handler gets: :class:`Context` (``async def handler(self, ctx)``)."""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from venn_bots.events import (
    ActionEvent,
    BotEvent,
    ChannelInfo,
    CommandEvent,
    MessageEvent,
    MessageInfo,
    ThreadInfo,
    UserInfo,
)
from venn_bots.storage import KVStore

if TYPE_CHECKING:
    from venn_bots.handle import ContextHandle
    from venn_bots.plugin import HandlerSpec, Plugin
    from venn_bots.queue import Job

__all__ = [
    "ChannelInfo", "Context", "JobLog", "JobState", "MessageInfo", "RESERVED_EVENTS", "ThreadInfo",
    "TooManyReplies", "UserInfo",
]

EMIT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: event names that belong to the chat core and the runtime: plugins cannot emit them
RESERVED_EVENTS = frozenset(
    {
        "new_message",
        "message_updated",
        "message_deleted",
        "thread_created",
        "mention",
        "member_joined",
        "member_left",
        "member_removed",
        "channel_updated",
        "dm_created",
        "reaction_added",
        "reaction_removed",
        "message_pinned",
        "message_unpinned",
        "session_revoked",
        "sessions_ended",
        "pat_revoked",
        "profile_changed",
        "presence",
        "typing",
        "read",
        "bot_status",
        "error",
        "connect",
        "disconnect",
    }
)


class TooManyReplies(Exception):
    """A job tried to post more than its plugin's ``max_replies``."""


class JobLog(logging.LoggerAdapter):
    """A logger whose records carry the plugin and the job (and any ``extra`` given)."""

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**self.extra, **(kwargs.get("extra") or {})}  # type: ignore[dict-item]
        return msg, kwargs


class JobState:
    """What the handlers of one job share: the reply counter."""

    __slots__ = ("job", "replies", "depth")

    def __init__(self, job: Job) -> None:
        self.job = job
        self.replies = 0
        self.depth = job.depth


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class Context(Generic[ConfigT]):
    """Everything a handler needs; one per handler call.

    Attributes: ``trigger`` (the typed event that woke the handler, see
    :mod:`venn_bots.events`), ``message`` (None for events without one), ``thread``
    (None in a channel's own stream), ``channel``, ``user`` (who caused it), ``config``
    (the plugin's validated config for this thread), ``event`` (its name:
    ``"new_message"``, ``"thread_created"``, ...), ``data`` (the event's data), ``text``
    (the message text, after the command or mention), ``argv`` and ``args`` (commands),
    ``match`` (pattern handlers), ``command``, ``action_id`` and ``action_value``
    (clicks), ``deadline`` (``time.monotonic()``
    value), ``log``, ``job_id``.

    ``Context[MyConfig]`` types ``ctx.config`` as the plugin's ``Config`` model (a bare
    ``Context`` leaves it unchecked). ``ctx.args`` is not checked: each command has an
    ``args`` model of its own.
    """

    def __init__(
        self,
        *,
        host: ContextHandle,
        plugin: Plugin,
        state: JobState,
        handler: HandlerSpec | None,
        trigger: BotEvent,
        channel: ChannelInfo,
        thread: ThreadInfo | None,
        config: ConfigT,
        deadline: float,
        argv: list[str] | None = None,
        args: BaseModel | None = None,
    ) -> None:
        self._host = host
        self.plugin = plugin
        self._state = state
        self.handler = handler
        self.trigger = trigger
        self.channel = channel
        self.thread = thread
        self.config: ConfigT = config
        self.deadline = deadline
        self.argv = argv if argv is not None else []
        #: the command's parsed ``args`` model (None without one)
        self.args: Any = args
        self.log = JobLog(
            logging.getLogger(f"venn.plugins.{plugin.name}"), {"plugin": plugin.name, "job_id": state.job.id}
        )

    def __repr__(self) -> str:
        return f"<Context {self.plugin.name} {self.event} job={self.job_id}>"

    # What happened (read from the trigger) -----------------------------------

    @property
    def event(self) -> str:
        """The event's name: ``"new_message"`` for messages, else the ``@on_event`` name."""
        return self.trigger.name

    @property
    def data(self) -> dict[str, Any]:
        return self.trigger.data

    @property
    def message(self) -> MessageInfo | None:
        return self.trigger.message

    @property
    def user(self) -> UserInfo | None:
        return self.trigger.user

    @property
    def text(self) -> str:
        """The message text (after the command or the mention); ``""`` for events."""
        return self.trigger.text if isinstance(self.trigger, MessageEvent) else ""

    @property
    def match(self) -> re.Match[str] | None:
        return self.trigger.match if isinstance(self.trigger, MessageEvent) else None

    @property
    def command(self) -> str | None:
        """The command's name as typed (maybe an alias); None unless a command."""
        return self.trigger.command if isinstance(self.trigger, CommandEvent) else None

    @property
    def action_id(self) -> str | None:
        """The id of the button or select clicked (``@on_action``); None otherwise."""
        return self.trigger.action_id if isinstance(self.trigger, ActionEvent) else None

    @property
    def action_value(self) -> str | None:
        """The clicked button's value, or the option chosen in the select; None unless a click."""
        return self.trigger.value if isinstance(self.trigger, ActionEvent) else None

    @property
    def job_id(self) -> str:
        return self._state.job.id

    @property
    def thread_id(self) -> int | None:
        return self.thread.id if self.thread is not None else None

    @property
    def time_left(self) -> float:
        """Seconds until the handler's deadline."""
        return max(0.0, self.deadline - time.monotonic())

    # What a handler does ------------------------------------------------------

    async def reply(self, text: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Post a message as the plugin's bot user where the trigger was (its thread, or
        the channel's stream), answering the trigger's message when there is one (the
        message's ``reply_to``). Returns the message as REST shows it.

        Replies are idempotent per job: a job run again (after its worker died) does
        not post its replies twice.
        """
        state = self._state
        if state.replies >= self.plugin.max_replies:
            raise TooManyReplies(f"{self.plugin.name} may post at most {self.plugin.max_replies} replies per job")
        state.replies += 1
        return await self._host.post_as_bot(
            self.plugin.name,
            self.channel.id,
            self.thread_id,
            str(text),
            payload=payload,
            client_msg_id=f"job:{state.job.id}:{state.replies}",
            reply_to=self.message.id if self.message is not None else None,
        )

    async def update_message(
        self, message_id: int | None = None, *, body: str | None = None, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Change one of this plugin's own messages (by default ``ctx.message``, the one
        clicked): its ``body`` and/or its ``payload`` (replaced whole, ``actions``
        included). Clients get ``message_updated``; it is not marked edited. Returns
        the message as REST shows it. Raises :class:`venn.errors.VennError`: 403 for a
        message of someone else, 422 ``validation_error`` for a bad body or actions."""
        if message_id is None:
            if self.message is None:
                raise ValueError("update_message needs a message_id here (this event has no message)")
            message_id = self.message.id
        if payload is not None:
            try:
                json.dumps(payload)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"payload must be JSON-serialisable: {exc}") from None
        return await self._host.update_as_bot(self.plugin.name, int(message_id), body=body, payload=payload)

    async def emit(self, event: str, data: dict[str, Any] | None = None) -> None:
        """Send a progress event to the thread's (or channel's) live clients, e.g.
        ``await ctx.emit("llm_response", {"delta": "..."})``. Not stored."""
        if not isinstance(event, str) or not EMIT_NAME_RE.match(event) or event in RESERVED_EVENTS:
            raise ValueError(f"plugins cannot emit {event!r}: use a name of your own (a-z, 0-9, _)")
        data = dict(data or {})
        try:
            json.dumps(data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"event data must be JSON-serialisable: {exc}") from None
        await self._host.emit(self.plugin.name, event, data, channel_id=self.channel.id, thread_id=self.thread_id)

    async def enabled_plugins(self) -> list[Plugin]:
        """The plugins switched on where this happened (this thread, or the channel's
        stream), by name."""
        return await self._host.enabled_plugins(self.channel.id, self.thread_id)

    # Scheduled runs -----------------------------------------------------------

    async def schedule_once(self, when: Any, data: dict[str, Any] | None = None, *, handler: str) -> int:
        """Run ``handler`` (a method's name) here later, with ``data`` as ``ctx.data``;
        ``when`` is an aware datetime, a timedelta or seconds. Stored: it survives a
        restart. Returns its id (for :meth:`cancel_scheduled`)."""
        from venn_bots.schedule import create_once

        json.dumps(data or {})
        return await create_once(
            self.plugin, handler, channel_id=self.channel.id, thread_id=self.thread_id, when=when, data=data,
            user_id=self.user.id if self.user is not None else None,
        )

    async def cancel_scheduled(self, schedule_id: int) -> bool:
        """Cancel a one-off run of this plugin; False if it already ran or is unknown."""
        from venn_bots.schedule import cancel_once

        return await cancel_once(self.plugin.name, schedule_id)

    async def scheduled(self) -> list[Any]:
        """This plugin's one-off runs waiting here (rows with ``id``, ``due_ms``, ``data``)."""
        from venn_bots.schedule import list_once

        return await list_once(self.plugin.name, channel_id=self.channel.id, thread_id=self.thread_id)

    # Storage ----------------------------------------------------------------

    def storage(self, scope: str = "thread") -> KVStore:
        """Key-value storage of this plugin for ``"thread"``, ``"channel"`` or ``"plugin"``."""
        if scope == "thread":
            if self.thread is None:
                raise RuntimeError("this message is not in a thread: use storage('channel')")
            return KVStore(self.plugin.name, "thread", self.thread.id)
        if scope == "channel":
            return KVStore(self.plugin.name, "channel", self.channel.id)
        if scope == "plugin":
            return KVStore(self.plugin.name, "plugin", 0)
        raise ValueError("scope is 'thread', 'channel' or 'plugin'")

    @property
    def thread_store(self) -> KVStore:
        return self.storage("thread")

    @property
    def channel_store(self) -> KVStore:
        return self.storage("channel")

    @property
    def plugin_store(self) -> KVStore:
        return self.storage("plugin")
