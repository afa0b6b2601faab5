"""Channels and memberships: create, browse, join, leave, members, read markers."""

from __future__ import annotations

import logging
from typing import Any, cast

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from venn.db.models import DM_KINDS, Channel, ChannelKind, MemberRole, Membership, Message, Role, User
from venn.db.sql import SQLParams
from venn.errors import Conflict, Forbidden, NotFound
from venn.events import Event
from venn.schemas import ChannelCreateIn
from venn.services.base import Service
from venn.services.views import channel_view, user_view

log = logging.getLogger("venn.channels")


class ChannelService(Service):
    # Access -------------------------------------------------------------

    async def get_visible(self, user: User, channel_id: int) -> Channel:
        """The channel if ``user`` may see it; a private channel of others is a 404."""
        channel = await self._if_member(user.id, channel_id)
        return channel if channel is not None else await self._visible_to_non_member(user, channel_id)

    async def _if_member(self, user_id: int, channel_id: int) -> Channel | None:
        """The channel if the user is a member of it: the common case, in one query."""
        return await Channel.filter(id=channel_id, memberships__user_id=user_id).first()

    async def _visible_to_non_member(self, user: User, channel_id: int) -> Channel:
        channel = await Channel.get_or_none(id=channel_id)
        # Bots read private channels they serve; a direct conversation only its members see.
        if channel is None or channel.kind in DM_KINDS or (channel.is_private and not user.is_bot):
            raise NotFound("No such channel.")
        return channel

    async def is_member(self, user_id: int, channel_id: int) -> bool:
        return await Membership.filter(user_id=user_id, channel_id=channel_id).exists()

    async def require_member(self, user: User, channel_id: int) -> Channel:
        """The channel, if ``user`` is a member (404 if invisible, 403 if public but not joined)."""
        channel = await self._if_member(user.id, channel_id)
        if channel is None:
            await self._visible_to_non_member(user, channel_id)  # 404 when the user may not even see it
            raise Forbidden("Join the channel first.", code="not_a_member")
        return channel

    async def member_or_admin(self, user: User, channel_id: int) -> Channel:
        """The channel if ``user`` is a member of it or an admin; else 404 (even if public)."""
        channel = await self._if_member(user.id, channel_id)
        if channel is None and user.role == Role.ADMIN:
            channel = await Channel.get_or_none(id=channel_id)
            if channel is not None and channel.kind in DM_KINDS:
                channel = None  # a direct conversation is its members' alone
        if channel is None:
            raise NotFound("No such channel.")
        return channel

    async def can_manage(self, user: User, channel: Channel) -> bool:
        if user.role == Role.ADMIN:
            return True
        return await Membership.filter(user_id=user.id, channel_id=channel.id, role=MemberRole.OWNER).exists()

    # Commands -----------------------------------------------------------

    async def create(self, user: User, data: ChannelCreateIn) -> dict[str, Any]:
        if await Channel.filter(name=data.name).exists():
            raise Conflict("A channel with that name exists.", code="channel_exists")
        try:
            async with in_transaction():
                channel = await Channel.create(
                    name=data.name, topic=data.topic, is_private=data.is_private, created_by_id=user.id,
                    kind=ChannelKind.PRIVATE if data.is_private else ChannelKind.PUBLIC,
                )
                await Membership.create(user_id=user.id, channel_id=channel.id, role=MemberRole.OWNER)
        except IntegrityError:
            raise Conflict("A channel with that name exists.", code="channel_exists") from None
        log.info("channel created", extra={"channel_id": channel.id, "user_id": user.id})
        return channel_view(channel, member_count=1)

    async def join(self, user: User, channel_id: int) -> dict[str, Any]:
        channel = await self.get_visible(user, channel_id)
        if channel.is_private and not await self.is_member(user.id, channel.id):
            raise NotFound("No such channel.")
        _refuse_if_dm(channel)
        if channel.archived:
            raise Forbidden("The channel is archived.", code="channel_archived")
        await self._add(channel, user.id)
        return await self.view(user, channel)

    async def leave(self, user: User, channel_id: int) -> None:
        channel = await self.get_visible(user, channel_id)
        _refuse_if_dm(channel)
        deleted = await Membership.filter(user_id=user.id, channel_id=channel.id).delete()
        if not deleted:
            raise Forbidden("You are not a member of this channel.", code="not_a_member")
        await self.events.publish(
            Event(
                "member_left",
                {"channel_id": channel.id, "user_id": user.id},
                channel_id=channel.id,
                user_ids=(user.id,),
            )
        )

    async def add_member(self, user: User, channel_id: int, member_id: int) -> dict[str, Any]:
        if user.role == Role.ADMIN:
            channel = await self._get(channel_id)
            if channel.kind in DM_KINDS and not await self.is_member(user.id, channel.id):
                raise NotFound("No such channel.")
        else:
            channel = await self.require_member(user, channel_id)
        _refuse_if_dm(channel)
        if channel.is_private and not await self.can_manage(user, channel):
            raise Forbidden("Only the channel's owners and admins can add people to it.")
        member = await User.get_or_none(id=member_id)
        if member is None:
            raise NotFound("No such user.")
        await self._add(channel, member.id)
        return user_view(member, viewer=user)

    @staticmethod
    def check_members_open(channel: Channel) -> None:
        """403 ``dm_members_fixed`` for a direct conversation: nobody joins one later."""
        _refuse_if_dm(channel)

    async def add_bot(self, channel: Channel, user_id: int) -> None:
        """Make a bot account a member (a webhook's bot; no permission check here)."""
        _refuse_if_dm(channel)
        await self._add(channel, user_id)

    async def _get(self, channel_id: int) -> Channel:
        channel = await Channel.get_or_none(id=channel_id)
        if channel is None:
            raise NotFound("No such channel.")
        return channel

    async def _add(self, channel: Channel, user_id: int) -> None:
        try:
            _, created = await Membership.get_or_create(user_id=user_id, channel_id=channel.id)
        except IntegrityError:
            created = False
        if created:
            await self.events.publish(
                Event(
                    "member_joined",
                    {"channel_id": channel.id, "user_id": user_id},
                    channel_id=channel.id,
                    user_ids=(user_id,),
                )
            )

    async def mark_read(self, user: User, channel_id: int, message_id: int) -> dict[str, Any]:
        """Move the read marker forward (never back) to ``message_id``."""
        channel = await self.require_member(user, channel_id)
        if not await Message.filter(id=message_id, channel_id=channel.id).exists():
            raise NotFound("No such message in this channel.")
        membership = await Membership.get(user_id=user.id, channel_id=channel.id)
        if membership.last_read_message_id is None or membership.last_read_message_id < message_id:
            await Membership.filter(id=membership.id).update(last_read_message_id=message_id)
            membership.last_read_message_id = message_id
        unread = (await self.unread_counts(user.id, [channel.id])).get(channel.id, 0)
        mentioned = (await self.core.mentions.counts(user.id, [channel.id])).get(channel.id, 0)
        return {
            "channel_id": channel.id,
            "last_read_message_id": membership.last_read_message_id,
            "unread_count": unread,
            "mention_count": mentioned,
        }

    # Queries ------------------------------------------------------------

    async def list_for(self, user: User, *, include_public: bool = False) -> list[dict[str, Any]]:
        member_ids = set(await Membership.filter(user_id=user.id).values_list("channel_id", flat=True))
        condition = Q(id__in=member_ids)
        if include_public:
            condition |= Q(is_private=False)
        channels = await Channel.filter(condition).order_by("name")
        ids = [c.id for c in channels]
        counts = await self.member_counts(ids)
        joined = [i for i in ids if i in member_ids]
        unread = await self.unread_counts(user.id, joined)
        mentioned = await self.core.mentions.counts(user.id, joined)
        dm_members = await self.core.dms.members_of([c.id for c in channels if c.kind in DM_KINDS], user.id)
        views = []
        for c in channels:
            view = channel_view(
                c, member_count=counts.get(c.id, 0), unread_count=unread.get(c.id, 0), is_member=c.id in member_ids,
                mention_count=mentioned.get(c.id, 0),
            )
            if c.id in dm_members:
                view["members"] = dm_members[c.id]
            views.append(view)
        return views

    async def view(self, user: User, channel: Channel) -> dict[str, Any]:
        if channel.kind in DM_KINDS:
            return await self.core.dms.view_for(user, channel)
        counts = await self.member_counts([channel.id])
        is_member = await self.is_member(user.id, channel.id)
        unread = (await self.unread_counts(user.id, [channel.id])).get(channel.id, 0) if is_member else 0
        mentioned = (await self.core.mentions.counts(user.id, [channel.id])).get(channel.id, 0) if is_member else 0
        return channel_view(channel, member_count=counts.get(channel.id, 0), unread_count=unread, is_member=is_member,
                            mention_count=mentioned)

    async def members(self, user: User, channel_id: int) -> list[dict[str, Any]]:
        channel = await self.get_visible(user, channel_id)
        users = await User.filter(memberships__channel_id=channel.id).order_by("username")
        statuses = await self.core.presence.statuses([u.id for u in users])
        return [user_view(u, viewer=user, status=statuses.get(u.id, "offline")) for u in users]

    # Tortoise types values_list() as tuples even with flat=True; the rows are ids.
    async def member_ids(self, channel_id: int) -> list[int]:
        return cast(list[int], await Membership.filter(channel_id=channel_id).values_list("user_id", flat=True))

    async def channel_ids_of(self, user_id: int) -> list[int]:
        return cast(list[int], await Membership.filter(user_id=user_id).values_list("channel_id", flat=True))

    async def member_counts(self, channel_ids: list[int]) -> dict[int, int]:
        if not channel_ids:
            return {}
        rows = (
            await Membership.filter(channel_id__in=channel_ids)
            .annotate(n=Count("id"))
            .group_by("channel_id")
            .values("channel_id", "n")
        )
        return {r["channel_id"]: r["n"] for r in rows}

    async def unread_counts(self, user_id: int, channel_ids: list[int]) -> dict[int, int]:
        """Messages in the channel streams after the read marker, not written by the user."""
        if not channel_ids:
            return {}
        conn = connections.get("default")
        params = SQLParams(conn)
        user = params.add(user_id)
        author = params.add(user_id)
        ids = ", ".join(params.add(i) for i in channel_ids)
        sql = (
            "SELECT m.channel_id, COUNT(*) FROM messages m "
            f"JOIN memberships ms ON ms.channel_id = m.channel_id AND ms.user_id = {user} "
            f"WHERE m.thread_id IS NULL AND m.deleted = {params.false} AND m.author_id <> {author} "
            f"AND m.id > COALESCE(ms.last_read_message_id, 0) AND m.channel_id IN ({ids}) "
            "GROUP BY m.channel_id"
        )
        _, rows = await conn.execute_query(sql, params.values)
        return {int(r[0]): int(r[1]) for r in rows}


def _refuse_if_dm(channel: Channel) -> None:
    if channel.kind in DM_KINDS:
        raise Forbidden(
            "The members of a direct conversation are fixed: start another one with the people you want.",
            code="dm_members_fixed",
        )
