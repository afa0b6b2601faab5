"""Incoming webhooks: a channel's owners make a secret URL that posts into it.

Each webhook posts as its own bot user (named after it, a member of the channel),
through the one message path (:meth:`MessageService.post`). Only a SHA-256 of the
secret is stored; a post's secret is hashed and compared in constant time, and an
unknown webhook costs the same comparison, so the answer (404) says nothing more.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from typing import Any

from venn.db.models import Channel, Membership, MessageKind, User, Webhook
from venn.errors import Forbidden, NotFound, ValidationFailed
from venn.events import Event
from venn.ratelimit import enforce
from venn.schemas import MessageCreateIn, WebhookCreateIn, WebhookPostIn
from venn.services.base import Service
from venn.services.views import author_view, iso

log = logging.getLogger("venn.webhooks")

#: a posted payload's largest size, as compact JSON
MAX_PAYLOAD_BYTES = 16 * 1024
#: compared against when no webhook has the id (the same work as a real comparison)
_NO_HASH = hashlib.sha256(b"no such webhook").hexdigest()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def webhook_view(hook: Webhook, bot: User | None = None, *, secret: str | None = None) -> dict[str, Any]:
    """A webhook; ``url`` (which holds the secret) only right after it was made."""
    view: dict[str, Any] = {
        "id": hook.id,
        "name": hook.name,
        "channel_id": hook.channel_id,
        "created_by": hook.created_by_id,
        "created_at": iso(hook.created_at),
        "bot_user": author_view(bot) if bot is not None else None,
    }
    if secret is not None:
        view["url"] = f"/hooks/{hook.id}/{secret}"
    return view


class WebhookService(Service):
    async def _managed(self, user: User, channel_id: int) -> Channel:
        """The channel if ``user`` may manage its webhooks: 404 unless a member (or an
        admin), 403 for a member who is neither its owner nor an admin."""
        channel = await self.core.channels.member_or_admin(user, channel_id)
        if not await self.core.channels.can_manage(user, channel):
            raise Forbidden("Only the channel's owners and admins can manage its webhooks.")
        return channel

    async def create(self, user: User, channel_id: int, data: WebhookCreateIn) -> dict[str, Any]:
        channel = await self._managed(user, channel_id)
        if channel.archived:
            raise Forbidden("The channel is archived.", code="channel_archived")
        self.core.channels.check_members_open(channel)  # a webhook's bot would join it
        bot = await self.core.users.ensure_bot_user(f"hook-{secrets.token_hex(6)}", data.name)
        await self.core.channels.add_bot(channel, bot.id)
        secret = secrets.token_urlsafe(32)
        hook = await Webhook.create(
            channel_id=channel.id, name=data.name, secret_hash=hash_secret(secret), bot_user_id=bot.id,
            created_by_id=user.id,
        )
        log.info("webhook created", extra={"channel_id": channel.id, "user_id": user.id, "webhook_id": hook.id})
        return webhook_view(hook, bot, secret=secret)

    async def in_channel(self, user: User, channel_id: int) -> list[dict[str, Any]]:
        channel = await self._managed(user, channel_id)
        hooks = await Webhook.filter(channel_id=channel.id).order_by("id").select_related("bot_user")
        return [webhook_view(h, h.bot_user) for h in hooks]

    async def delete(self, user: User, channel_id: int, webhook_id: int) -> None:
        """Remove the webhook (its URL stops working at once) and its bot from the channel."""
        channel = await self._managed(user, channel_id)
        hook = await Webhook.get_or_none(id=webhook_id, channel_id=channel.id)
        if hook is None:
            raise NotFound("No such webhook.")
        await hook.delete()
        if await Membership.filter(user_id=hook.bot_user_id, channel_id=channel.id).delete():
            data = {"channel_id": channel.id, "user_id": hook.bot_user_id}
            await self.events.publish(
                Event("member_left", data, channel_id=channel.id, user_ids=(hook.bot_user_id,))
            )
        log.info("webhook deleted", extra={"channel_id": channel.id, "user_id": user.id, "webhook_id": hook.id})

    async def post(self, webhook_id: int, secret: str, data: WebhookPostIn) -> dict[str, Any]:
        """Post ``data`` as the webhook's bot; 404 for a wrong secret or an unknown webhook."""
        hook = await Webhook.get_or_none(id=webhook_id)
        given = hash_secret(secret)
        matches = hmac.compare_digest(given, hook.secret_hash if hook is not None else _NO_HASH)
        if hook is None or not matches:
            raise NotFound("No such webhook.")
        await enforce(
            self.limiter, f"hook:{hook.id}", self.settings.rate_limit_webhook_per_minute,
            message="This webhook is posting too fast; slow down.",
        )
        self._check(data)
        bot = await User.get(id=hook.bot_user_id)
        message = MessageCreateIn(channel_id=hook.channel_id, body=data.text)
        result = await self.core.messages.post(bot, message, kind=MessageKind.BOT, payload=data.payload, trusted=True)
        return {"ok": True, "message_id": result.message["id"]}

    def _check(self, data: WebhookPostIn) -> None:
        """The text like a message body, and the payload's size (errors name ``text``, ``payload``)."""
        limit = self.settings.max_message_length
        text = data.text.strip()
        if not text:
            raise ValidationFailed([{"field": "text", "message": "the message is empty"}])
        if len(text) > limit:
            raise ValidationFailed([{"field": "text", "message": f"at most {limit} characters"}])
        if data.payload is not None:
            try:
                size = len(json.dumps(data.payload, separators=(",", ":"), ensure_ascii=False).encode())
            except (UnicodeEncodeError, RecursionError):  # a lone surrogate; absurd nesting
                raise ValidationFailed([{"field": "payload", "message": "not storable JSON"}]) from None
            if size > MAX_PAYLOAD_BYTES:
                raise ValidationFailed(
                    [{"field": "payload", "message": f"at most {MAX_PAYLOAD_BYTES} bytes as JSON"}]
                )
