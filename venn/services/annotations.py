"""What reactions and pins share: who may change a message's annotations, the row
lock they are changed under, and the event published once committed.

Annotations (reactions, the pin) are changed read-modify-write inside a transaction
that holds the message's row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
transactions are one at a time), so two processes changing one message at once both
count. Every change bumps ``annotated_at``, which socket ``sync`` reads to resend a
changed message to a client that was offline.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tortoise.transactions import in_transaction

from venn.db.models import Message, User
from venn.errors import Conflict, Forbidden, NotFound
from venn.events import Event
from venn.services.base import Service
from venn.services.views import message_view


def deleted() -> Conflict:
    return Conflict("The message was deleted.", code="message_deleted")


class AnnotationService(Service):
    """Base of :class:`~venn.services.reactions.ReactionService` and
    :class:`~venn.services.pins.PinService`."""

    async def _target(self, user: User, message_id: int) -> Message:
        """The message, once ``user`` may annotate it: a member of its channel (404 when
        the channel is not visible to them, 403 ``not_a_member`` for a public channel
        not joined), the channel not archived, the message not deleted (409)."""
        message = await Message.get_or_none(id=message_id)
        if message is None:
            raise NotFound("No such message.")
        channel = await self.core.channels.require_member(user, message.channel_id)
        if channel.archived:
            raise Forbidden("The channel is archived.", code="channel_archived")
        if message.deleted:
            raise deleted()
        return message

    @staticmethod
    @contextlib.asynccontextmanager
    async def _locked(message_id: int) -> AsyncIterator[Message]:
        """The message, read afresh and held until the transaction commits."""
        async with in_transaction():
            message = await Message.filter(id=message_id).select_for_update().first()
            if message is None:
                raise NotFound("No such message.")
            if message.deleted:
                raise deleted()
            yield message

    async def _publish(self, name: str, message: Message, user: User, data: dict[str, Any] | None = None) -> None:
        """Tell the message's rooms (its channel's, and its thread's) and in-process
        subscribers (bots: ``@on_event(name)``)."""
        await self.events.publish(
            Event(
                name,
                {"message_id": message.id, "channel_id": message.channel_id, "thread_id": message.thread_id,
                 "user_id": user.id, **(data or {})},
                channel_id=message.channel_id,
                thread_id=message.thread_id,
                context={"message": message, "user": user},
            )
        )

    @staticmethod
    async def _view(message: Message) -> dict[str, Any]:
        author = await User.get(id=message.author_id)
        return message_view(message, author)
