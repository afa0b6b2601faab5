"""What a handler gets: :class:`Context` (``async def handler(self, ctx)``)."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from venn_bots.storage import KVStore

if TYPE_CHECKING:
    from venn_bots.plugin import HandlerSpec, Plugin
    from venn_bots.queue import Job
    from venn_bots.runtime import BotRuntime

EMIT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: event names that belong to the chat core and the runtime: plugins cannot emit them
RESERVED_EVENTS = frozenset(
    {
        "new_message",
        "message_updated",
        "message_deleted",
        "thread_created",
        "member_joined",
        "member_left",
        "session_revoked",
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


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    display_name: str
    role: str
    is_bot: bool

    @classmethod
    def of(cls, user: Any) -> UserInfo:
        return cls(user.id, user.username, user.display_name, str(user.role), bool(user.is_bot))

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True)
class ChannelInfo:
    id: int
    name: str
    topic: str
    is_private: bool

    @classmethod
    def of(cls, channel: Any) -> ChannelInfo:
        return cls(channel.id, channel.name, channel.topic, bool(channel.is_private))


@dataclass(frozen=True)
class ThreadInfo:
    id: int
    channel_id: int
    root_message_id: int
    title: str

    @classmethod
    def of(cls, thread: Any) -> ThreadInfo:
        return cls(thread.id, thread.channel_id, thread.root_message_id, thread.title)


@dataclass(frozen=True)
class MessageInfo:
    id: int
    body: str
    channel_id: int
    thread_id: int | None
    author: UserInfo
    kind: str
    payload: dict[str, Any] | None
    edited: bool

    @classmethod
    def of(cls, message: Any, author: Any) -> MessageInfo:
        return cls(
            message.id,
            message.body,
            message.channel_id,
            message.thread_id,
            UserInfo.of(author),
            str(message.kind),
            message.payload,
            message.edited_at is not None,
        )


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


class Context:
    """Everything a handler needs; one per handler call.

    Attributes: ``message`` (None for events without one), ``thread`` (None in a
    channel's own stream), ``channel``, ``user`` (who caused it), ``config`` (the
    plugin's validated config for this thread), ``event`` (``"new_message"``,
    ``"thread_created"``, ...), ``data`` (the event's data), ``text`` (the message
    text, after the command or mention), ``argv`` and ``args`` (commands), ``match``
    (pattern handlers), ``deadline`` (``time.monotonic()`` value), ``log``, ``job_id``.
    """

    def __init__(
        self,
        *,
        runtime: BotRuntime,
        plugin: Plugin,
        state: JobState,
        handler: HandlerSpec | None,
        event: str,
        data: dict[str, Any],
        channel: ChannelInfo,
        thread: ThreadInfo | None,
        message: MessageInfo | None,
        user: UserInfo | None,
        config: BaseModel,
        deadline: float,
        text: str = "",
        argv: list[str] | None = None,
        args: BaseModel | None = None,
        match: re.Match[str] | None = None,
        command: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.plugin = plugin
        self._state = state
        self.handler = handler
        self.event = event
        self.data = data
        self.channel = channel
        self.thread = thread
        self.message = message
        self.user = user
        self.config = config
        self.deadline = deadline
        self.text = text
        self.argv = argv if argv is not None else []
        self.args = args
        self.match = match
        self.command = command
        self.log = JobLog(
            logging.getLogger(f"venn.plugins.{plugin.name}"), {"plugin": plugin.name, "job_id": state.job.id}
        )

    def __repr__(self) -> str:
        return f"<Context {self.plugin.name} {self.event} job={self.job_id}>"

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

    async def reply(self, text: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Post a message as the plugin's bot user where the trigger was (its thread, or
        the channel's stream). Returns the message as REST shows it.

        Replies are idempotent per job: a job run again (after its worker died) does
        not post its replies twice.
        """
        state = self._state
        if state.replies >= self.plugin.max_replies:
            raise TooManyReplies(f"{self.plugin.name} may post at most {self.plugin.max_replies} replies per job")
        state.replies += 1
        return await self.runtime.post_as_bot(
            self.plugin.name,
            self.channel.id,
            self.thread_id,
            str(text),
            payload=payload,
            client_msg_id=f"job:{state.job.id}:{state.replies}",
        )

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
        await self.runtime.emit(self.plugin.name, event, data, channel_id=self.channel.id, thread_id=self.thread_id)

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
