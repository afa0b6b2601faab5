"""Direct messages: conversations of a fixed set of people (two: ``dm``, more: ``group_dm``).

A direct conversation is a channel with ``kind`` dm or group_dm: messages, threads,
read markers and sync work there as in any channel. Its members are fixed when it is
made; nobody joins, leaves or is added later, and whoever is not a member cannot
see it at all (admins and bots included). One set of people has one conversation:
``dm_key`` (their sorted ids, hashed) is unique, so two requests racing to create it
end with the same channel.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from venn.db.models import Channel, ChannelKind, MemberRole, Membership, User
from venn.errors import ValidationFailed
from venn.events import Event
from venn.services.base import Service
from venn.services.views import author_view, channel_view

log = logging.getLogger("venn.dms")

#: a direct conversation's channel name: never shown, and no channel name can look like it
DM_NAME_PREFIX = "@dm:"


def dm_key(member_ids: set[int]) -> str:
    """The key of a set of people: the same for the same set, whatever the order."""
    return hashlib.sha256(",".join(str(i) for i in sorted(member_ids)).encode()).hexdigest()


class DirectMessageService(Service):
    async def open(self, user: User, other_ids: list[int]) -> tuple[dict[str, Any], bool]:
        """The conversation of ``user`` and ``other_ids``; made (True) unless it existed (False)."""
        others = await self._check_others(user, other_ids)
        member_ids = {user.id, *(u.id for u in others)}
        key = dm_key(member_ids)
        existing = await Channel.get_or_none(dm_key=key)
        if existing is not None:
            return await self.view_for(user, existing), False
        kind = ChannelKind.DM if len(member_ids) == 2 else ChannelKind.GROUP_DM
        try:
            async with in_transaction():
                channel = await Channel.create(
                    name=DM_NAME_PREFIX + key, is_private=True, kind=kind, dm_key=key, created_by_id=user.id
                )
                # every member is an owner: each may set up bots in it as in a channel of their own
                await Membership.bulk_create(
                    [Membership(user_id=uid, channel_id=channel.id, role=MemberRole.OWNER) for uid in member_ids]
                )
        except IntegrityError:
            # Someone made the same conversation a moment ago: that one is the answer.
            existing = await Channel.get_or_none(dm_key=key)
            if existing is None:
                raise
            return await self.view_for(user, existing), False
        log.info("direct conversation created", extra={"channel_id": channel.id, "user_id": user.id})
        people = [user, *others]
        for member in people:
            view = self._view(channel, member, people, unread=0)
            await self.events.publish(
                Event("dm_created", {"channel": view}, channel_id=channel.id, user_ids=(member.id,),
                      context={"channel": channel})
            )
        return self._view(channel, user, people, unread=0), True

    async def _check_others(self, user: User, other_ids: list[int]) -> list[User]:
        """The other people, once none is the caller, a repeat, unknown, a bot or deactivated
        (422 naming them)."""
        problems = []
        if user.id in other_ids:
            problems.append("you are in every conversation you start: list only the others")
        repeated = sorted(i for i, n in Counter(other_ids).items() if n > 1)
        if repeated:
            problems.append("listed more than once: " + ", ".join(map(str, repeated)))
        wanted = set(other_ids) - {user.id}
        found = await User.filter(id__in=wanted) if wanted else []
        unknown = sorted(wanted - {u.id for u in found})
        if unknown:
            problems.append("no such user: " + ", ".join(map(str, unknown)))
        bots = sorted(u.username for u in found if u.is_bot)
        if bots:
            problems.append("bots take no direct messages: " + ", ".join(bots))
        gone = sorted(u.username for u in found if u.deactivated)
        if gone:
            problems.append("deactivated: " + ", ".join(gone))
        if problems:
            raise ValidationFailed([{"field": "user_ids", "message": p} for p in problems])
        return sorted(found, key=lambda u: u.id)

    async def view_for(self, user: User, channel: Channel) -> dict[str, Any]:
        """The conversation as ``user`` sees it (its other members, unread count)."""
        people = await User.filter(memberships__channel_id=channel.id)
        unread = (await self.core.channels.unread_counts(user.id, [channel.id])).get(channel.id, 0)
        mentioned = (await self.core.mentions.counts(user.id, [channel.id])).get(channel.id, 0)
        return self._view(channel, user, people, unread=unread, mentioned=mentioned)

    @staticmethod
    def _view(channel: Channel, viewer: User, people: list[User], *, unread: int, mentioned: int = 0) -> dict[str, Any]:
        view = channel_view(
            channel, member_count=len(people), unread_count=unread, is_member=True, mention_count=mentioned
        )
        view["members"] = members_view(people, viewer.id)
        return view

    async def members_of(self, channel_ids: list[int], viewer_id: int) -> dict[int, list[dict[str, Any]]]:
        """The other members of each conversation, for lists of channels."""
        if not channel_ids:
            return {}
        rows = await Membership.filter(channel_id__in=channel_ids).select_related("user")
        people: dict[int, list[User]] = {cid: [] for cid in channel_ids}
        for row in rows:
            people[row.channel_id].append(row.user)
        return {cid: members_view(users, viewer_id) for cid, users in people.items()}


def members_view(people: list[User], viewer_id: int) -> list[dict[str, Any]]:
    """Everyone but the viewer, by display name: what a conversation is shown as."""
    others = [u for u in people if u.id != viewer_id]
    return [author_view(u) for u in sorted(others, key=lambda u: (u.display_name.casefold(), u.id))]
