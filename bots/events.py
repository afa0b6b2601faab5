"""What handlers are told: snapshots of users, channels, threads and messages, and the
typed event that woke a handler (``ctx.trigger``).

Every handler gets one of these events:

- :class:`MessageEvent` (``@on_message``): a new message, ``text`` and the pattern's ``match``;
- :class:`MentionEvent` (``@on_mention``): a message that mentions the bot, ``text`` without the mention;
- :class:`CommandEvent` (``@command``): ``/name ...``, ``command`` as typed and ``text`` after it;
- :class:`EditEvent` (``@on_event("message_edited")``): the edited ``message`` and who edited it;
- :class:`ActionEvent` (``@on_action``): a click on one of the bot's buttons or selects;
- :class:`CustomEvent` (any other ``@on_event`` name): ``thread_created``, ``bot_enabled``,
  ``member_joined``, ``message_deleted``, or a plugin's own event; its ``data`` as published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar


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
    #: the ids of the users the message mentions (``@username``, ``@channel``, ``@here``)
    mentions: tuple[int, ...] = ()

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
            tuple(getattr(message, "mentions", None) or ()),
        )


@dataclass(frozen=True, kw_only=True)
class BotEvent:
    """The base of every event a handler gets: its ``name``, ``data``, who caused it
    (``user``) and the message it is about (``message``), if any."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    user: UserInfo | None = None
    message: MessageInfo | None = None


@dataclass(frozen=True, kw_only=True)
class MessageEvent(BotEvent):
    """A new message for an ``@on_message`` handler."""

    name: str = "new_message"
    message: MessageInfo
    user: UserInfo
    text: str = ""
    match: re.Match[str] | None = None

    #: the handler kind it goes to
    kind: ClassVar[str] = "message"


@dataclass(frozen=True, kw_only=True)
class MentionEvent(MessageEvent):
    """A message that mentions the plugin's bot user; ``text`` is the rest."""

    kind: ClassVar[str] = "mention"


@dataclass(frozen=True, kw_only=True)
class CommandEvent(MessageEvent):
    """``/name args``: ``command`` is the name as typed (maybe an alias), ``text`` the args."""

    command: str
    kind: ClassVar[str] = "command"


@dataclass(frozen=True, kw_only=True)
class EditEvent(BotEvent):
    """``message_edited``: ``message`` is the message as edited (None if it is gone),
    ``user`` who edited it."""

    name: str = "message_edited"


@dataclass(frozen=True, kw_only=True)
class CustomEvent(BotEvent):
    """Any other ``@on_event`` event, with its data as published."""


@dataclass(frozen=True, kw_only=True)
class ActionEvent(BotEvent):
    """A click on a button or select of the plugin's message (``@on_action``): ``message``
    is that message as it is now, ``user`` who clicked, ``action_id`` and ``value`` what
    was clicked (a button's value, or the chosen option's)."""

    name: str = "message_action"
    message: MessageInfo
    user: UserInfo
    action_id: str
    value: str = ""


MESSAGE_EVENTS: dict[str, type[MessageEvent]] = {
    cls.kind: cls for cls in (MessageEvent, MentionEvent, CommandEvent)
}
