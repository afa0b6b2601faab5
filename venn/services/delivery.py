"""The sender of outgoing webhooks: a loop in every process takes, per subscription,
the oldest pending delivery that is due, claims it with a conditional UPDATE (only one
process wins it), POSTs it signed, and records the outcome. A later event of the same
subscription waits until the earlier one is delivered or given up: order per subscription.
Every hour the loop also deletes the delivered and given-up rows older than
``VENN_WEBHOOK_KEEP_DAYS``, so the outbox does not grow without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime, timedelta

import aiohttp

from venn.db.models import EventDelivery, EventSubscription
from venn.services.base import Service
from venn.services.destinations import GuardedResolver, check_destination

log = logging.getLogger("venn.delivery")
POLL_SECONDS = 1.0
#: seconds between two deletions of old deliveries (in each process: a DELETE another
#: process already did finds nothing)
PRUNE_SECONDS = 3600.0


def signature(secret: str, timestamp: str, body: str) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``{timestamp}.{body}``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1=" + mac.hexdigest()


class DeliveryWorker(Service):
    wake: asyncio.Event | None = None

    async def on_event(self, event) -> None:
        """The event bus subscriber: the outbox rows, then a nudge to the local loop."""
        if await self.core.subscriptions.enqueue(event) and self.wake is not None:
            self.wake.set()

    async def run(self) -> None:
        self.wake = asyncio.Event()
        settings = self.settings
        connector = aiohttp.TCPConnector(resolver=GuardedResolver(settings.webhook_allowed_hosts))
        timeout = aiohttp.ClientTimeout(total=settings.webhook_timeout_seconds)
        pruned_at: float | None = None
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while True:
                try:
                    if pruned_at is None or time.monotonic() - pruned_at >= PRUNE_SECONDS:
                        pruned_at = time.monotonic()
                        await self.prune()
                    sent = await self.round(session)
                except Exception:
                    log.exception("delivery round failed")
                    sent = 0
                if not sent:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), POLL_SECONDS)
                    self.wake.clear()

    async def prune(self) -> int:
        """Delete the delivered and given-up deliveries older than ``VENN_WEBHOOK_KEEP_DAYS``
        (pending ones stay, however old); returns how many."""
        before = datetime.now(UTC) - timedelta(days=self.settings.webhook_keep_days)
        deleted = await EventDelivery.filter(status__in=("delivered", "failed"), created_at__lt=before).delete()
        if deleted:
            log.info("old event deliveries deleted", extra={"deleted": deleted})
        return deleted

    async def round(self, session: aiohttp.ClientSession) -> int:
        """One due delivery per subscription, sent concurrently; returns how many."""
        now = datetime.now(UTC)
        sub_ids = await EventDelivery.filter(status="pending").distinct().values_list("subscription_id", flat=True)
        claimed = []
        for sub_id in set(sub_ids):
            head = await EventDelivery.filter(subscription_id=sub_id, status="pending").order_by("id").first()
            if head is None or head.next_attempt_at > now:
                continue
            if head.claimed_until is not None and head.claimed_until > now:
                continue
            lease = now + timedelta(seconds=self.settings.webhook_timeout_seconds + 30)
            won = await EventDelivery.filter(
                id=head.id, status="pending", attempts=head.attempts, claimed_until=head.claimed_until
            ).update(claimed_until=lease)
            if won:
                claimed.append(head)
        await asyncio.gather(*(self.send(session, d) for d in claimed))
        return len(claimed)

    async def send(self, session: aiohttp.ClientSession, row: EventDelivery) -> None:
        sub = await EventSubscription.get_or_none(id=row.subscription_id)
        if sub is None:
            return
        code: int | None = None
        error = await check_destination(sub.url, self.settings.webhook_allowed_hosts)
        if error is None:
            stamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", "User-Agent": "Venn-Webhooks/1",
                       "X-Venn-Delivery": str(row.id), "X-Venn-Timestamp": stamp,
                       "X-Venn-Signature": signature(sub.secret, stamp, row.body)}
            try:
                async with session.post(sub.url, data=row.body.encode(), headers=headers,
                                        allow_redirects=False) as resp:
                    code = resp.status
                    await resp.read()
                if not 200 <= code < 300:
                    error = f"HTTP {code}"
            except TimeoutError:
                error = "timed out"
            except (aiohttp.ClientError, OSError) as exc:
                error = str(exc)[:300] or type(exc).__name__
        attempts = row.attempts + 1
        now = datetime.now(UTC)
        update: dict = {"attempts": attempts, "response_code": code, "last_error": error, "claimed_until": None}
        if error is None:
            update.update(status="delivered", delivered_at=now)
        elif attempts >= self.settings.webhook_max_attempts:
            update.update(status="failed")
        else:
            delay = min(self.settings.webhook_retry_seconds * 2 ** (attempts - 1), 3600)
            update.update(next_attempt_at=now + timedelta(seconds=delay))
        await EventDelivery.filter(id=row.id).update(**update)
