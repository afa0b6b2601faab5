"""Health, readiness, metrics, CORS, request ids, and the error shape everywhere."""

from __future__ import annotations


async def test_health_and_readiness(client):
    resp = await client.get("/healthz")
    assert resp.status == 200 and (await resp.json()) == {"status": "ok"}
    resp = await client.get("/readyz/")
    assert resp.status == 200 and (await resp.json()) == {"status": "ready"}


async def test_metrics_count_requests_and_messages(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    await chat.post(alice, channel["id"], "one")
    await chat.post(alice, channel["id"], "two")
    resp = await client.get("/metrics")
    assert resp.status == 200
    text = await resp.text()
    assert 'venn_messages_posted_total{kind="user"} 2.0' in text
    assert 'venn_http_requests_total{method="POST",route="/api/v1/messages",status="201"} 2.0' in text
    assert "venn_http_request_duration_seconds_bucket" in text


async def test_metrics_can_require_a_bearer_token(aiohttp_client, make_settings, database_url):
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url=database_url, metrics_token="scrape-me")))
    for headers in ({}, {"Authorization": "Bearer scrape-m"}, {"Authorization": "Basic scrape-me"}):
        resp = await client.get("/metrics", headers=headers)
        assert resp.status == 401 and (await resp.json())["error"]["code"] == "invalid_token"
        assert "venn_" not in await resp.text()
    resp = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert resp.status == 200 and "venn_http_requests_total" in await resp.text()


async def test_unknown_routes_and_methods_answer_json(client, chat):
    alice = await chat.user("alice")
    resp = await client.get("/api/v1/nope", headers=alice.headers)
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    resp = await client.put("/api/v1/channels", headers=alice.headers)
    assert resp.status == 405 and (await resp.json())["error"]["code"] == "method_not_allowed"


async def test_request_id_is_echoed_or_made(client):
    resp = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert resp.headers["X-Request-ID"] == "abc-123"
    resp = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert resp.headers["X-Request-ID"] != "bad id with spaces" and len(resp.headers["X-Request-ID"]) == 32


async def test_cors_is_same_origin_by_default(client):
    resp = await client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_cors_allows_configured_origins(aiohttp_client, make_settings, database_url):
    from venn.app import create_app

    client = await aiohttp_client(
        create_app(make_settings(database_url=database_url, cors_origins=["https://chat.example"]))
    )
    resp = await client.options(
        "/api/v1/channels", headers={"Origin": "https://chat.example", "Access-Control-Request-Method": "POST"}
    )
    assert resp.status == 204
    assert resp.headers["Access-Control-Allow-Origin"] == "https://chat.example"
    assert "Authorization" in resp.headers["Access-Control-Allow-Headers"]
    resp = await client.get("/healthz", headers={"Origin": "https://other.example"})
    assert "Access-Control-Allow-Origin" not in resp.headers


async def test_secrets_never_reach_the_logs(client, chat, caplog):
    caplog.set_level("DEBUG")
    alice = await chat.user("alice", password="hunter2-hunter2")
    await client.get("/api/v1/users/me", headers=alice.headers)
    await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    logged = "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert "hunter2-hunter2" not in logged
    assert alice.token not in logged
    assert alice.refresh_token not in logged
    assert "test-secret-key" not in logged


async def test_database_down_gives_503_not_a_stack_trace(aiohttp_client, make_settings):
    """Readiness and API calls fail fast with 503 while PostgreSQL cannot be reached."""
    from tortoise import connections

    from tests.helpers import Chat, require_postgres, reset_postgres
    from venn.app import create_app

    url = require_postgres()
    await reset_postgres(url)
    app = create_app(make_settings(database_url=url))
    client = await aiohttp_client(app)
    alice = await Chat(client).user("alice")
    # Point the live app at a port where nothing listens: the same as the server going away.
    conn = connections.get("default")
    await conn.close()
    conn.port = 1  # type: ignore[attr-defined]
    resp = await client.get("/readyz")
    assert resp.status == 503
    resp = await client.get("/api/v1/users/me", headers=alice.headers)
    assert resp.status == 503
    body = await resp.json()
    assert body["error"]["code"] == "unavailable" and "Traceback" not in str(body)
