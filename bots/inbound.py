"""Bus events as the bot router reads them.

The chat core publishes :class:`venn.events.Event` with the objects it changed in
``event.context`` (see venn/services). :func:`from_bus` reads each kind of event in
one place, by name, into a small typed event; the router then works on those and
never looks into the context again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from venn.db.models import MessageKind
from venn.events import Event


@dataclass(frozen=True)
class Actor:
    """Who caused an event."""

    id: int
    is_bot: bool

    @classmethod
    def of(cls, user: Any) -> Actor | None:
        return cls(user.id, bool(user.is_bot)) if user is not None else None


@dataclass(frozen=True, kw_only=True)
class Inbound:
    """An event that may wake plugins: its bus ``name``, where, who, and its data (a
    JSON-safe copy: what a job carries to the process that runs it)."""

    name: str
    channel_id: int
    thread_id: int | None = None
    actor: Actor | None = None
    data: dict[str, Any] = field(default_factory=dict)
    #: the message it is about, if any
    message_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class MessagePosted(Inbound):
    """``new_message``: ``actor`` is the author."""

    actor: Actor
    message_id: int
    body: str
    system: bool


@dataclass(frozen=True, kw_only=True)
class BotStatusChanged(Inbound):
    """``bot_status``: a plugin was enabled, reconfigured or disabled here."""

    plugin: str
    action: str  # "enabled" | "updated" | "disabled"
    #: the config it had (a ``bot_disabled`` handler sees it)
    old_config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class ChatEvent(Inbound):
    """Any other event: ``message_updated``, ``thread_created``, ``member_joined``,
    ``message_deleted``, or a plugin's own (``llm_query``, ...)."""


def jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def from_bus(event: Event) -> Inbound | None:
    """The typed event for a bus event in a channel (None: not one plugins can see)."""
    channel_id, thread_id, context = event.channel_id, event.thread_id, event.context
    if channel_id is None:
        return None
    match event.name:
        case "new_message":
            message, author = context.get("message"), context.get("author")
            if message is None or author is None:
                return None
            return MessagePosted(
                name=event.name,
                channel_id=message.channel_id,
                thread_id=message.thread_id,
                actor=Actor(author.id, bool(author.is_bot)),
                message_id=message.id,
                body=message.body,
                system=message.kind == MessageKind.SYSTEM,
            )
        case "bot_status":
            by = _int(event.data.get("by"))
            return BotStatusChanged(
                name=event.name,
                channel_id=channel_id,
                thread_id=thread_id,
                actor=Actor(by, False) if by is not None else None,
                data=jsonable(event.data),
                plugin=str(event.data.get("plugin", "")),
                action=str(event.data.get("action", "")),
                old_config=jsonable(context.get("old_config") or {}),
            )
        case "message_updated":
            message = context.get("message")
            actor = Actor.of(context.get("editor"))
            message_id = message.id if message is not None else None
        case "thread_created":
            actor, message_id = Actor.of(context.get("user")), None
        case _:
            # member_joined/left and message_deleted say who or what in their data; a
            # plugin's own event (a REST door's) passes its user in the context
            actor = Actor.of(context.get("user"))
            user_id = _int(event.data.get("user_id")) if isinstance(event.data, dict) else None
            if actor is None and user_id is not None:
                actor = Actor(user_id, False)
            message_id = _int(event.data.get("message_id")) if isinstance(event.data, dict) else None
    data = jsonable(event.data) if isinstance(event.data, dict) else {}
    return ChatEvent(
        name=event.name, channel_id=channel_id, thread_id=thread_id, actor=actor, data=data, message_id=message_id
    )
