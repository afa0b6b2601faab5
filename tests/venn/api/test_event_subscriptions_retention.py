"""Event subscriptions keep their outbox small: delivered and given-up deliveries older
than ``VENN_WEBHOOK_KEEP_DAYS`` are deleted by the sender's loop; pending ones (however
old) and recent ones stay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.helpers import Chat, wait_for
from tests.venn.api.test_event_subscriptions import receiver, subscribe  # noqa: F401  (receiver: a fixture)
from venn.db.models import EventDelivery
from venn.services import delivery


@pytest.fixture
def settings(make_settings, database_url):
    # a failed attempt waits an hour for its retry (unless the test moves it), the second gives up
    return make_settings(
        database_url=database_url,
        webhook_allowed_hosts=["127.0.0.1"],
        webhook_timeout_seconds=5,
        webhook_retry_seconds=3600,
        webhook_max_attempts=2,
        webhook_keep_days=7,
    )


async def test_old_delivered_and_failed_deliveries_are_deleted(client, receiver, monkeypatch):  # noqa: F811
    chat = Chat(client)
    root = await chat.user("root", admin=True)
    channel = await chat.channel(root, "general")
    sub = (await subscribe(client, root, url=receiver["url"], events=["new_message"]))["subscription"]
    url = f"/api/v1/admin/event-subscriptions/{sub['id']}/deliveries"

    async def deliveries() -> dict[int, tuple[str, int]]:
        resp = await client.get(url, headers=root.headers)
        assert resp.status == 200, await resp.text()
        return {d["id"]: (d["status"], d["attempts"]) for d in (await resp.json())["deliveries"]}

    async def settled(count: int) -> bool:
        rows = await deliveries()
        return len(rows) == count and not any(status == "pending" and n == 0 for status, n in rows.values())

    await chat.post(root, channel["id"], "delivered long ago")
    await wait_for(lambda: settled(1), timeout=10)
    receiver["fail"] = 2
    await chat.post(root, channel["id"], "given up long ago")
    await wait_for(lambda: settled(2), timeout=10)
    await EventDelivery.filter(status="pending").update(next_attempt_at=datetime.now(UTC))  # the hour passed

    async def given_up() -> bool:
        return "failed" in [status for status, _ in (await deliveries()).values()]

    await wait_for(given_up, timeout=10)
    await chat.post(root, channel["id"], "delivered just now")
    await wait_for(lambda: settled(3), timeout=10)
    receiver["fail"] = 1
    await chat.post(root, channel["id"], "still to be retried")
    await wait_for(lambda: settled(4), timeout=10)
    rows = await deliveries()
    old_ok, old_failed, new_ok, waiting = sorted(rows)
    assert [rows[i] for i in sorted(rows)] == [("delivered", 1), ("failed", 2), ("delivered", 1), ("pending", 1)]

    eight_days_ago = datetime.now(UTC) - timedelta(days=8)
    await EventDelivery.filter(id__in=[old_ok, old_failed, waiting]).update(created_at=eight_days_ago)
    monkeypatch.setattr(delivery, "PRUNE_SECONDS", 0.05)  # the next hourly clean-up, now

    async def only_recent_and_pending_left() -> bool:
        return set(await deliveries()) == {new_ok, waiting}

    await wait_for(only_recent_and_pending_left, timeout=10)
    assert await EventDelivery.all().count() == 2
    assert [json.loads(body)["data"]["message"]["body"] for _, body in receiver["got"]] == [
        "delivered long ago",
        "delivered just now",
    ]
