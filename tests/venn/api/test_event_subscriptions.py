"""Event subscriptions (outgoing webhooks) over the real server: signed events reach a
local receiver, a failing receiver gets the event again, events arrive in order, the
channel filter holds, private destinations are refused, members get 403."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from aiohttp import web

from tests.helpers import Chat, wait_for


@pytest.fixture
async def receiver(aiohttp_server):
    """A webhook receiver on 127.0.0.1 that records what it gets; ``fail`` answers 500 so often."""
    state = {"got": [], "fail": 0}

    async def handle(request):
        body = await request.text()
        if state["fail"] > 0:
            state["fail"] -= 1
            return web.Response(status=500)
        state["got"].append((dict(request.headers), body))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app)
    state["url"] = f"http://127.0.0.1:{server.port}/hook"
    return state


@pytest.fixture
def settings(make_settings, database_url):
    return make_settings(database_url=database_url, webhook_allowed_hosts=["127.0.0.1"],
                         webhook_retry_seconds=0.05, webhook_timeout_seconds=5)


async def subscribe(client, admin, **body):
    resp = await client.post("/api/v1/admin/event-subscriptions", json=body, headers=admin.headers)
    assert resp.status == 201, await resp.text()
    return await resp.json()


def verify(secret, headers, body):
    stamp = headers["X-Venn-Timestamp"]
    assert abs(time.time() - int(stamp)) < 300
    expected = "v1=" + hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, headers["X-Venn-Signature"])
    return json.loads(body)


async def test_signed_events_in_order_with_a_retry(client, receiver):
    chat = Chat(client)
    root = await chat.user("root", admin=True)
    channel = await chat.channel(root, "general")
    made = await subscribe(client, root, url=receiver["url"], events=["new_message", "message_updated"])
    sub, secret = made["subscription"], made["signing_secret"]
    assert sub["events"] == ["message_updated", "new_message"] and sub["channel_id"] is None
    receiver["fail"] = 2
    first = await chat.post(root, channel["id"], "one")
    await chat.post(root, channel["id"], "two")
    resp = await client.patch(f"/api/v1/messages/{first['id']}", json={"body": "one!"}, headers=root.headers)
    assert resp.status == 200, await resp.text()
    await wait_for(lambda: len(receiver["got"]) >= 3, timeout=15)
    events = [verify(secret, h, b) for h, b in receiver["got"]]
    assert [(e["event"], e["data"]["message"]["body"]) for e in events] == [
        ("new_message", "one"), ("new_message", "two"), ("message_updated", "one!")]
    resp = await client.get(f"/api/v1/admin/event-subscriptions/{sub['id']}/deliveries", headers=root.headers)
    rows = (await resp.json())["deliveries"]
    assert [r["status"] for r in rows] == ["delivered"] * 3
    assert rows[-1]["attempts"] == 3 and rows[0]["attempts"] == 1 and rows[0]["response_code"] == 204
    # a forged signature does not verify
    h, b = receiver["got"][0]
    with pytest.raises(AssertionError):
        verify(secret, h, b.replace("one", "evil"))


async def test_channel_filter_and_direct_messages_stay_inside(client, receiver):
    chat = Chat(client)
    root, bob = await chat.user("root", admin=True), await chat.user("bob")
    watched, other = await chat.channel(root, "watched"), await chat.channel(root, "other")
    await subscribe(client, root, url=receiver["url"], events=["new_message"], channel_id=watched["id"])
    await chat.post(root, other["id"], "elsewhere")
    resp = await client.post("/api/v1/dms", json={"user_ids": [bob.id]}, headers=root.headers)
    assert resp.status == 201, await resp.text()
    await chat.post(root, (await resp.json())["channel"]["id"], "secret dm")
    await chat.post(root, watched["id"], "here")
    await wait_for(lambda: len(receiver["got"]) >= 1, timeout=10)
    await chat.post(root, watched["id"], "again")
    await wait_for(lambda: len(receiver["got"]) >= 2, timeout=10)
    assert [json.loads(b)["data"]["message"]["body"] for _, b in receiver["got"]] == ["here", "again"]


async def test_refusals_members_and_delete(client, receiver):
    chat = Chat(client)
    root, bob = await chat.user("root", admin=True), await chat.user("bob")
    url = "/api/v1/admin/event-subscriptions"
    for bad in ("http://localhost:9/x", "http://10.0.0.1/x", "http://169.254.169.254/latest", "ftp://example.com/",
                "http://user:pw@example.com/", "http://[::1]:80/", "http://0.0.0.0/", "not a url"):
        resp = await client.post(url, json={"url": bad, "events": ["new_message"]}, headers=root.headers)
        assert resp.status == 422, bad
        assert (await resp.json())["error"]["fields"][0]["field"] == "url"
    resp = await client.post(url, json={"url": receiver["url"], "events": ["nope"]}, headers=root.headers)
    assert resp.status == 422
    resp = await client.post(url, json={"url": receiver["url"], "events": ["new_message"]}, headers=bob.headers)
    assert resp.status == 403
    made = await subscribe(client, root, url=receiver["url"], events=["new_message"])
    sid = made["subscription"]["id"]
    for method, path in (("GET", url), ("DELETE", f"{url}/{sid}"), ("GET", f"{url}/{sid}/deliveries")):
        assert (await client.request(method, path, headers=bob.headers)).status == 403
    listed = await (await client.get(url, headers=root.headers)).json()
    assert [s["id"] for s in listed["subscriptions"]] == [sid] and made["signing_secret"] not in json.dumps(listed)
    assert (await client.delete(f"{url}/{sid}", headers=root.headers)).status == 204
    assert (await client.delete(f"{url}/{sid}", headers=root.headers)).status == 404
    audit = await (await client.get("/api/v1/admin/audit?action=event_subscription", headers=root.headers)).json()
    assert [e["action"] for e in audit["entries"]] == ["event_subscription.delete", "event_subscription.create"]
