"""Event subscriptions (outgoing webhooks): admins choose events, of one channel or of
every channel but direct conversations, and a URL; each such event is written to the
outbox (``event_deliveries``) when it is published, and sent by
:mod:`venn.services.delivery`.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError

from venn.db.models import DM_KINDS, Channel, EventDelivery, EventSubscription, User
from venn.errors import NotFound, ValidationFailed
from venn.events import Event
from venn.schemas import EventSubscriptionIn
from venn.services.audit import require_admin
from venn.services.base import Service
from venn.services.destinations import check_destination
from venn.services.views import iso
from venn.shared_cache import SharedCache

#: the events a subscription may choose (all carry a channel)
EVENTS = (
    "new_message", "message_updated", "message_deleted", "reaction_added", "reaction_removed",
    "message_pinned", "message_unpinned", "thread_created", "channel_updated", "member_joined",
    "member_left", "member_removed",
)
MAX_SUBSCRIPTIONS = 100


def subscription_view(sub: EventSubscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "url": sub.url,
        "events": list(sub.events),
        "channel_id": sub.channel_id,
        "created_at": iso(sub.created_at),
    }


def delivery_view(row: EventDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "event": row.event,
        "status": row.status,
        "attempts": row.attempts,
        "response_code": row.response_code,
        "error": row.last_error,
        "created_at": iso(row.created_at),
        "delivered_at": iso(row.delivered_at),
        "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
    }


class EventSubscriptionService(Service):
    def __init__(self, core: Any) -> None:
        super().__init__(core)
        #: every subscription, kept between events: otherwise each message would look
        #: them up while its channel's lock is held (dropped in every process on a change)
        self.cache: SharedCache[list[EventSubscription]] = SharedCache(self._load_all)

    @staticmethod
    async def _load_all() -> list[EventSubscription]:
        return await EventSubscription.all().order_by("id")

    async def create(self, admin: User, data: EventSubscriptionIn) -> dict[str, Any]:
        """A new subscription; its signing secret is in this answer only."""
        if data.channel_id is not None:
            kind = await Channel.filter(id=data.channel_id).values_list("kind", flat=True)
            if not kind or kind[0] in DM_KINDS:
                # direct conversations never leave the server: to everyone they do not exist here
                raise NotFound("No such channel.")
        require_admin(admin)
        errors = []
        unknown = sorted(set(data.events) - set(EVENTS))
        if not data.events or unknown:
            errors.append({"field": "events", "message": f"choose from {', '.join(EVENTS)}"})
        problem = await check_destination(data.url, self.settings.webhook_allowed_hosts)
        if problem:
            errors.append({"field": "url", "message": problem})
        if errors:
            raise ValidationFailed(errors)
        if await EventSubscription.all().count() >= MAX_SUBSCRIPTIONS:
            raise ValidationFailed([], f"At most {MAX_SUBSCRIPTIONS} event subscriptions.")
        secret = "whsec_" + secrets.token_urlsafe(32)
        sub = await EventSubscription.create(
            url=data.url, events=sorted(set(data.events)), channel_id=data.channel_id, secret=secret,
            created_by_id=admin.id,
        )
        await self.cache.changed()
        view = subscription_view(sub)
        await self.core.audit.record(
            admin, "event_subscription.create", "event_subscription", sub.id,
            after={k: view[k] for k in ("url", "events", "channel_id")},
        )
        return {"subscription": view, "signing_secret": secret}

    async def list_all(self, admin: User) -> list[dict[str, Any]]:
        require_admin(admin)
        return [subscription_view(s) for s in await EventSubscription.all().order_by("id")]

    async def _get(self, admin: User, sub_id: int) -> EventSubscription:
        require_admin(admin)
        sub = await EventSubscription.get_or_none(id=sub_id)
        if sub is None:
            raise NotFound("No such event subscription.")
        return sub

    async def delete(self, admin: User, sub_id: int) -> None:
        sub = await self._get(admin, sub_id)
        await sub.delete()
        await self.cache.changed()
        view = subscription_view(sub)
        await self.core.audit.record(
            admin, "event_subscription.delete", "event_subscription", sub.id,
            before={k: view[k] for k in ("url", "events", "channel_id")},
        )

    async def deliveries(self, admin: User, sub_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """The newest attempts first."""
        sub = await self._get(admin, sub_id)
        rows = await EventDelivery.filter(subscription_id=sub.id).order_by("-id").limit(limit)
        return [delivery_view(r) for r in rows]

    async def enqueue(self, event: Event) -> int:
        """Write the outbox rows of one published event (the event bus calls this in
        the one process that published it); returns how many."""
        if event.name not in EVENTS or event.channel_id is None:
            return 0
        subs = [
            s for s in await self.cache.get() if s.channel_id in (None, event.channel_id) and event.name in s.events
        ]
        if not subs:
            return 0
        kind = await Channel.filter(id=event.channel_id).values_list("kind", flat=True)
        if not kind or kind[0] in DM_KINDS:
            return 0  # direct conversations never leave the server
        now = datetime.now(UTC)
        rows = []
        for sub in subs:
            body = json.dumps(
                {"event": event.name, "subscription_id": sub.id, "channel_id": event.channel_id,
                 "created_at": iso(now), "data": event.data},
                separators=(",", ":"), default=str,
            )
            rows.append(EventDelivery(subscription_id=sub.id, event=event.name, body=body, next_attempt_at=now))
        try:
            await EventDelivery.bulk_create(rows)
        except IntegrityError:
            # a subscription deleted by another process a moment ago (its announcement
            # still on its way): read them again, once
            self.cache.forget()
            alive = {s.id for s in await self.cache.get()}
            rows = [r for r in rows if r.subscription_id in alive]
            if rows:
                await EventDelivery.bulk_create(rows)
        return len(rows)
