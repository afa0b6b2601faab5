"""Senders racing for the same due deliveries (as the senders of several processes do):
each attempt is claimed by one of them, so the receiver gets every event once, in order.

The server's own sender and two more, whose rounds run at once, find a backlog of due
deliveries: the subscriptions' first events failed while the receiver was down and wait
for their retry, the later ones behind them.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web

from tests.helpers import Chat, wait_for
from venn import keys
from venn.db.models import EventDelivery
from venn.services.delivery import DeliveryWorker

SUBSCRIPTIONS, EVENTS = 3, 6


@pytest.fixture
def settings(make_settings, database_url):
    # a failed attempt waits an hour for its retry, unless the test moves it
    return make_settings(
        database_url=database_url,
        webhook_allowed_hosts=["127.0.0.1"],
        webhook_timeout_seconds=5,
        webhook_retry_seconds=3600,
    )


@pytest.fixture
async def receiver(aiohttp_server):
    """Records every request per path (``/hook/<n>``); answers 500 while ``down``."""
    state: dict = {"requests": {}, "down": True}

    async def handle(request):
        status = 500 if state["down"] else 200
        state["requests"].setdefault(request.match_info["n"], []).append((await request.text(), status))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook/{n}", handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    state["url"] = f"http://127.0.0.1:{server.port}/hook/"
    return state


async def test_racing_senders_send_each_attempt_once(client, receiver):
    chat = Chat(client)
    root = await chat.user("root", admin=True)
    channel = await chat.channel(root, "general")
    for n in range(SUBSCRIPTIONS):
        body = {"url": f"{receiver['url']}{n}", "events": ["new_message"]}
        resp = await client.post("/api/v1/admin/event-subscriptions", json=body, headers=root.headers)
        assert resp.status == 201, await resp.text()
    for i in range(EVENTS):
        await chat.post(root, channel["id"], f"m{i}")

    # every subscription's first event failed (the receiver is down); the rest wait behind it
    async def first_attempts_recorded() -> bool:
        return await EventDelivery.filter(status="pending", attempts=1).count() == SUBSCRIPTIONS

    await wait_for(first_attempts_recorded, timeout=10)
    assert await EventDelivery.filter(status="pending").count() == SUBSCRIPTIONS * EVENTS

    receiver["down"] = False
    await EventDelivery.filter(status="pending").update(next_attempt_at=datetime.now(UTC))  # the hour passed
    services = client.server.app[keys.SERVICES]
    senders = [DeliveryWorker(services), DeliveryWorker(services)]
    async with aiohttp.ClientSession() as session:

        async def all_sent() -> bool:
            # the server's own sender may hold a claim meanwhile: then both find nothing
            await asyncio.gather(*(s.round(session) for s in senders))
            return not await EventDelivery.filter(status="pending").exists()

        await wait_for(all_sent, timeout=15, interval=0)

    for n in map(str, range(SUBSCRIPTIONS)):
        requests = receiver["requests"][n]
        delivered = [body for body, status in requests if status == 200]
        bodies = [json.loads(body)["data"]["message"]["body"] for body in delivered]
        assert bodies == [f"m{i}" for i in range(EVENTS)], n  # each once, in order
        assert sorted(Counter(body for body, _ in requests).values()) == [1] * (EVENTS - 1) + [2], n
    assert await EventDelivery.filter(status="delivered").count() == SUBSCRIPTIONS * EVENTS
