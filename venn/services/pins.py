"""Pins: messages pinned to their channel, listed newest pin first.

Any member may pin or unpin a message of their channel (a thread reply too); a
channel holds at most ``VENN_MAX_PINS_PER_CHANNEL`` pins. Pinning twice, or unpinning
a message that is not pinned, changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from venn.db.models import Channel, Message, User
from venn.errors import Conflict
from venn.services.annotations import AnnotationService
from venn.services.views import iso, message_view


class PinService(AnnotationService):
    async def pin(self, user: User, message_id: int) -> dict[str, Any]:
        """Pin a message; its view."""
        target = await self._target(user, message_id)
        limit = self.settings.max_pins_per_channel
        async with self._locked(message_id) as message:
            changed = message.pinned_at is None
            if changed:
                # the channel's row is held too, so two pins at once cannot both pass the count
                await Channel.filter(id=target.channel_id).select_for_update().first()
                pinned = await Message.filter(
                    channel_id=message.channel_id, pinned_at__not_isnull=True, deleted=False
                ).count()
                if pinned >= limit:
                    raise Conflict(
                        f"A channel can have at most {limit} pinned messages.", code="too_many_pins", limit=limit
                    )
                message.pinned_at = message.annotated_at = datetime.now(UTC)
                message.pinned_by_id = user.id
                await message.save(update_fields=["pinned_at", "pinned_by_id", "annotated_at"])
        view = await self._view(message)
        if changed:
            await self._publish("message_pinned", message, user, {"pinned_at": iso(message.pinned_at), "message": view})
        return view

    async def unpin(self, user: User, message_id: int) -> dict[str, Any]:
        """Unpin a message; its view."""
        await self._target(user, message_id)
        async with self._locked(message_id) as message:
            changed = message.pinned_at is not None
            if changed:
                message.pinned_at = message.pinned_by_id = None
                message.annotated_at = datetime.now(UTC)
                await message.save(update_fields=["pinned_at", "pinned_by_id", "annotated_at"])
        if changed:
            await self._publish("message_unpinned", message, user)
        return await self._view(message)

    async def in_channel(self, user: User, channel_id: int) -> list[dict[str, Any]]:
        """The channel's pinned messages, the latest pinned first."""
        channel = await self.core.channels.get_visible(user, channel_id)
        rows = await (
            Message.filter(channel_id=channel.id, pinned_at__not_isnull=True, deleted=False)
            .order_by("-pinned_at", "-id")
            .limit(self.settings.max_pins_per_channel)
            .select_related("author")
        )
        return [message_view(m, m.author) for m in rows]
