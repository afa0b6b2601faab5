"""Event subscriptions over two real ``venn serve`` processes sharing PostgreSQL and
Redis, both running the sender: a local receiver that answers 500 once gets every event,
in order, signed, each attempt from exactly one process (no duplicate beyond the retry)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import aiohttp
import pytest
from aiohttp import web

from tests.bots.test_scaleout import Api, cluster, wait_until  # noqa: F401  (cluster: a fixture)
from tests.venn.api.test_event_subscriptions import verify

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

WEBHOOK_ENV = {
    "VENN_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "VENN_WEBHOOK_RETRY_SECONDS": "0.2",
    "VENN_WEBHOOK_TIMEOUT_SECONDS": "5",
}


@pytest.fixture
def tiny_site(tmp_path):
    """The cluster's plugin directory: no extra plugins here."""
    return tmp_path / "no-plugins"


@pytest.fixture
async def receiver(aiohttp_server):
    """A receiver on 127.0.0.1 recording every request; the first one gets a 500."""
    state: dict = {"requests": [], "fail": 1}

    async def handle(request):
        body = await request.text()
        failed = state["fail"] > 0
        state["fail"] -= failed
        state["requests"].append((dict(request.headers), body, 500 if failed else 200))
        return web.Response(status=500 if failed else 200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    state["url"] = f"http://127.0.0.1:{server.port}/hook"
    return state


async def test_every_event_once_in_order_from_two_senders(cluster, receiver):  # noqa: F811
    a, b = await asyncio.gather(cluster("a", **WEBHOOK_ENV), cluster("b", **WEBHOOK_ENV))
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, _ = await api.arrange(a)
        made = await api.call(
            b,
            "POST",
            "/api/v1/admin/event-subscriptions",
            "boss",
            json={"url": receiver["url"], "events": ["new_message", "message_updated"]},
        )
        sub_id, secret = made["subscription"]["id"], made["signing_secret"]
        # published by both processes in turn (each writes its own events to the outbox)
        posted = [await api.post(a if i % 2 else b, channel_id, f"m{i}") for i in range(8)]
        await api.call(a, "PATCH", f"/api/v1/messages/{posted[0]['id']}", "alice", json={"body": "m0!"})
        expected = [("new_message", f"m{i}") for i in range(8)] + [("message_updated", "m0!")]

        def delivered():
            return [r for r in receiver["requests"] if r[2] == 200]

        async def all_delivered():
            return len(delivered()) >= len(expected)

        await wait_until(all_delivered)
        await asyncio.sleep(1.5)  # both senders polled again since: a duplicate would be here
        deliveries = (await api.call(a, "GET", f"/api/v1/admin/event-subscriptions/{sub_id}/deliveries", "boss"))[
            "deliveries"
        ]
    events = [verify(secret, headers, body) for headers, body, _ in delivered()]
    assert [(e["event"], e["data"]["message"]["body"]) for e in events] == expected  # all, in order
    assert all(e["subscription_id"] == sub_id and e["channel_id"] == channel_id for e in events)
    # one request per delivery, and one more for the one answered 500: the same body, the same id
    per_delivery = Counter(headers["X-Venn-Delivery"] for headers, _, _ in receiver["requests"])
    per_body = Counter(body for _, body, _ in receiver["requests"])
    failed_headers, failed_body, _ = receiver["requests"][0]
    assert receiver["requests"][0][2] == 500 and json.loads(failed_body)["data"]["message"]["body"] == "m0"
    assert per_body[failed_body] == 2 and per_delivery[failed_headers["X-Venn-Delivery"]] == 2
    assert sorted(per_body.values()) == [1] * (len(expected) - 1) + [2] == sorted(per_delivery.values())
    assert [int(h["X-Venn-Delivery"]) for h, _, code in receiver["requests"] if code == 200] == sorted(
        d["id"] for d in deliveries
    )
    assert [d["status"] for d in deliveries] == ["delivered"] * len(expected)
    assert sorted(d["attempts"] for d in deliveries) == [1] * (len(expected) - 1) + [2]
