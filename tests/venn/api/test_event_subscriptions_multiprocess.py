"""Event subscriptions over two real ``venn serve`` processes sharing PostgreSQL and
Redis, both running the sender: a local receiver that answers 500 once gets every event,
in order, signed, each attempt from exactly one process (no duplicate beyond the retry)."""

from __future__ import annotations

import asyncio
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
#: subscriptions (each to its own receiver path) and messages posted
SUBSCRIPTIONS, EVENTS = 4, 12


@pytest.fixture
def tiny_site(tmp_path):
    """The cluster's plugin directory: no extra plugins here."""
    return tmp_path / "no-plugins"


@pytest.fixture
async def receiver(aiohttp_server):
    """A receiver on 127.0.0.1 recording every request per path (``/hook/<n>``); the first
    request to each path gets a 500."""
    state: dict = {"requests": {}}

    async def handle(request):
        body = await request.text()
        seen = state["requests"].setdefault(request.match_info["n"], [])
        status = 200 if seen else 500
        seen.append((dict(request.headers), body, status))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/hook/{n}", handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    state["url"] = f"http://127.0.0.1:{server.port}/hook/"
    return state


async def test_every_event_once_in_order_from_two_senders(cluster, receiver):  # noqa: F811
    a, b = await asyncio.gather(cluster("a", **WEBHOOK_ENV), cluster("b", **WEBHOOK_ENV))
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, _ = await api.arrange(a)
        # several subscriptions, so that both senders often find the same deliveries due at once
        subs = {}
        for n in range(SUBSCRIPTIONS):
            body = {"url": f"{receiver['url']}{n}", "events": ["new_message", "message_updated"]}
            made = await api.call(b, "POST", "/api/v1/admin/event-subscriptions", "boss", json=body)
            subs[str(n)] = (made["subscription"]["id"], made["signing_secret"])
        # published by both processes at once (each writes its own events to the outbox and
        # wakes its own sender), then an edit that must come after them
        posted = await asyncio.gather(*(api.post(a if i % 2 else b, channel_id, f"m{i}") for i in range(EVENTS)))
        await api.call(a, "PATCH", f"/api/v1/messages/{posted[0]['id']}", "alice", json={"body": "m0!"})
        expected = [("new_message", f"m{i}") for i in range(EVENTS)] + [("message_updated", "m0!")]

        async def all_delivered():
            got = receiver["requests"]
            return len(got) == SUBSCRIPTIONS and all(len(r) > len(expected) for r in got.values())

        await wait_until(all_delivered)
        await asyncio.sleep(1.5)  # both senders polled again since: a duplicate would be here
        listed = {}
        for n, (sub_id, _) in subs.items():
            path = f"/api/v1/admin/event-subscriptions/{sub_id}/deliveries"
            listed[n] = (await api.call(a, "GET", path, "boss"))["deliveries"]
    for n, (sub_id, secret) in subs.items():
        requests, deliveries = receiver["requests"][n], listed[n]
        delivered = [(h, body) for h, body, status in requests if status == 200]
        events = [verify(secret, h, body) for h, body in delivered]
        # all, each once, in the outbox's order (the order they were published in)
        got = [(e["event"], e["data"]["message"]["body"]) for e in events]
        assert sorted(got) == sorted(expected) and got[-1] == expected[-1], (n, got)
        assert [int(h["X-Venn-Delivery"]) for h, _ in delivered] == sorted(d["id"] for d in deliveries)
        assert all(e["subscription_id"] == sub_id and e["channel_id"] == channel_id for e in events)
        # one request per delivery, and one more for the one answered 500: the same body, the same id
        (failed_headers, failed_body, status), *_ = requests
        assert status == 500 and failed_body == delivered[0][1]
        per_delivery = Counter(h["X-Venn-Delivery"] for h, _, _ in requests)
        per_body = Counter(body for _, body, _ in requests)
        assert per_body[failed_body] == 2 and per_delivery[failed_headers["X-Venn-Delivery"]] == 2
        assert sorted(per_body.values()) == [1] * (len(expected) - 1) + [2] == sorted(per_delivery.values()), n
        assert [d["status"] for d in deliveries] == ["delivered"] * len(expected)
        assert sorted(d["attempts"] for d in deliveries) == [1] * (len(expected) - 1) + [2]


async def test_a_subscription_made_or_deleted_on_one_process_counts_on_the_other(cluster, receiver):  # noqa: F811
    """Each process keeps the subscriptions in memory; a change on one is announced
    through Redis and the other reads them again."""
    a, b = await asyncio.gather(cluster("a", **WEBHOOK_ENV), cluster("b", **WEBHOOK_ENV))
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, _ = await api.arrange(a)
        await api.post(b, channel_id, "before")  # b now holds "no subscriptions"
        body = {"url": f"{receiver['url']}0", "events": ["new_message"]}
        made = await api.call(a, "POST", "/api/v1/admin/event-subscriptions", "boss", json=body)
        await asyncio.sleep(0.3)  # the announcement's trip through Redis
        await api.post(b, channel_id, "after")

        async def delivered():
            return [verify(made["signing_secret"], h, text)["data"]["message"]["body"]
                    for h, text, status in receiver["requests"].get("0", []) if status == 200]

        assert await wait_until(delivered) == ["after"]
        sub_id = made["subscription"]["id"]
        await api.call(a, "DELETE", f"/api/v1/admin/event-subscriptions/{sub_id}", "boss")
        await asyncio.sleep(0.3)
        await api.post(b, channel_id, "gone")
        await asyncio.sleep(1.0)  # the senders poll every fraction of a second
        assert await delivered() == ["after"]
