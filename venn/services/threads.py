"""Threads: a conversation hanging off one message of a channel."""

from __future__ import annotations

import logging
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from venn.db.models import Message, Thread, User
from venn.errors import NotFound, ValidationFailed
from venn.events import Event
from venn.schemas import ThreadCreateIn
from venn.services.base import Service
from venn.services.views import thread_view

log = logging.getLogger("venn.threads")


class ThreadService(Service):
    async def create(self, user: User, data: ThreadCreateIn) -> tuple[dict[str, Any], bool]:
        """Open the thread of a message; a second call returns the existing one (created False)."""
        channel = await self.core.channels.require_member(user, data.channel_id)
        root = await Message.get_or_none(id=data.root_message_id, channel_id=channel.id)
        if root is None:
            raise NotFound("No such message in this channel.")
        existing = await Thread.get_or_none(root_message_id=root.id)
        if existing is not None:
            return thread_view(existing), False
        if root.thread_id is not None:
            raise ValidationFailed(
                [{"field": "root_message_id", "message": "a reply in a thread cannot start another thread"}]
            )
        try:
            async with in_transaction():
                thread = await Thread.create(
                    channel_id=channel.id, root_message_id=root.id, title=data.title, created_by_id=user.id
                )
                await Message.filter(id=root.id).update(started_thread_id=thread.id)
        except IntegrityError:
            return thread_view(await Thread.get(root_message_id=root.id)), False
        view = thread_view(thread)
        await self.events.publish(
            Event("thread_created", {"thread": view}, channel_id=channel.id, thread_id=thread.id,
                  context={"thread": thread, "channel": channel, "user": user})
        )
        return view, True

    async def get_visible(self, user: User, thread_id: int) -> Thread:
        thread = await Thread.get_or_none(id=thread_id)
        if thread is None:
            raise NotFound("No such thread.")
        try:
            await self.core.channels.get_visible(user, thread.channel_id)
        except NotFound:
            raise NotFound("No such thread.") from None
        return thread

    async def get(self, user: User, thread_id: int) -> dict[str, Any]:
        return thread_view(await self.get_visible(user, thread_id))
