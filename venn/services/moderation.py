"""Channel moderation by its owners and admins: rename and set the topic, remove a
member, archive (read-only) and unarchive. Each is in the admin audit log and
announced to the channel (``channel_updated``, ``member_removed``)."""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from venn.db.models import DM_KINDS, Channel, Membership, User
from venn.errors import Conflict, Forbidden, NotFound
from venn.events import Event
from venn.schemas import ChannelUpdateIn
from venn.services.base import Service


def _state(channel: Channel) -> dict[str, Any]:
    return {"name": channel.name, "topic": channel.topic, "archived": channel.archived}


class ModerationService(Service):
    async def _managed(self, user: User, channel_id: int) -> Channel:
        """The channel if ``user`` owns it or is an admin (404 when they cannot see it)."""
        channels = self.core.channels
        channel = await channels.member_or_admin(user, channel_id)
        if channel.kind in DM_KINDS:
            # a direct conversation has no owner, and is no admin's business
            if not await channels.is_member(user.id, channel.id):
                raise NotFound("No such channel.")
            raise Forbidden("A direct conversation cannot be renamed, archived or have people removed.")
        if not await channels.can_manage(user, channel):
            raise Forbidden("Only the channel's owners and admins can do that.")
        return channel

    async def _announce(self, channel: Channel) -> None:
        data = {"channel_id": channel.id, **_state(channel)}
        await self.events.publish(Event("channel_updated", data, channel_id=channel.id))

    async def update(self, user: User, channel_id: int, data: ChannelUpdateIn) -> Channel:
        channel = await self._managed(user, channel_id)
        changes = {k: v for k, v in data.model_dump(exclude_unset=True).items() if v is not None}
        changes = {k: v for k, v in changes.items() if getattr(channel, k) != v}
        if not changes:  # (an empty PATCH: the web client asks whether it may manage)
            return channel
        if channel.archived:
            raise Forbidden("The channel is archived.", code="channel_archived")
        before = _state(channel)
        try:
            async with in_transaction():
                await Channel.filter(id=channel.id).update(**changes)
                for key, value in changes.items():
                    setattr(channel, key, value)
                await self.core.audit.record(user, "channel.update", "channel", channel.id, before=before,
                                             after=_state(channel))
        except IntegrityError:
            raise Conflict("A channel with that name exists.", code="channel_exists") from None
        await self._announce(channel)
        return channel

    async def set_archived(self, user: User, channel_id: int, archived: bool) -> Channel:
        channel = await self._managed(user, channel_id)
        if channel.archived == archived:
            return channel
        async with in_transaction():
            updated = await Channel.filter(id=channel.id, archived=not archived).update(archived=archived)
            if updated:
                await self.core.audit.record(
                    user, "channel.archive" if archived else "channel.unarchive", "channel", channel.id,
                    before={"archived": not archived}, after={"archived": archived},
                )
        channel.archived = archived
        if updated:
            await self._announce(channel)
        return channel

    async def remove_member(self, user: User, channel_id: int, member_id: int) -> None:
        """Take someone out of the channel: their sockets leave its rooms at once (every
        process), and a private channel is closed to them from then on."""
        channel = await self._managed(user, channel_id)
        async with in_transaction():
            removed = await Membership.filter(channel_id=channel.id, user_id=member_id).delete()
            if not removed:
                raise NotFound("No such member of this channel.")
            await self.core.audit.record(user, "channel.member_remove", "channel", channel.id,
                                         before={"user_id": member_id}, after=None)
        await self.events.publish(
            Event(
                "member_removed",
                {"channel_id": channel.id, "user_id": member_id, "by": user.id},
                channel_id=channel.id,
                user_ids=(member_id,),
            )
        )
