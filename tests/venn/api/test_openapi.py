"""The OpenAPI document describes exactly the routes the server answers."""

from __future__ import annotations

import re

from venn import keys


async def test_openapi_matches_router_both_ways(client):
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200
    doc = await resp.json()
    assert doc["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, ops in doc["paths"].items() for method in ops}

    served = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path is None or route.method in {"HEAD", "*"} or path.startswith("/socket.io"):
            continue
        if path.endswith("/") and path != "/":
            continue  # the trailing-slash twin of a documented route
        path = re.sub(r"\{(\w+)(?::[^}]*)?\}", r"{\1}", path)
        served.add((route.method, path))
    # routes outside the API (the web client's static files) are not part of the document
    served = {(m, p) for m, p in served if p.startswith(("/api/", "/hooks/")) or p in {"/healthz", "/readyz", "/metrics"}}
    assert documented == served


async def test_every_route_answers_with_and_without_trailing_slash(client):
    for spec in client.app[keys.API_ROUTES]:
        path = re.sub(r"\{(\w+)(?::[^}]*)?\}", "1", spec.path)
        for variant in (path.rstrip("/"), path.rstrip("/") + "/"):
            resp = await client.request(spec.method, variant)
            assert resp.status != 404 or "not_found" in await resp.text(), variant
            assert resp.status != 405, (spec.method, variant)


async def test_documented_schemas_resolve(client):
    doc = await (await client.get("/api/v1/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    text = str(doc)
    for ref in set(re.findall(r"#/components/schemas/(\w+)", text)):
        assert ref in schemas, ref
    # every operation documents its error shape for 401 when it needs a token
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op.get("security"):
                assert "401" in op["responses"], (method, path)


async def test_every_endpoint_refuses_bad_json_and_missing_tokens(client, chat):
    alice = await chat.user("alice")
    for spec in client.app[keys.API_ROUTES]:
        path = re.sub(r"\{(\w+)(?::[^}]*)?\}", "1", spec.path)
        if spec.auth:
            resp = await client.request(spec.method, path)
            assert resp.status == 401, (spec.method, path)
            assert (await resp.json())["error"]["code"] == "missing_token"
        if spec.body is not None:
            headers = alice.headers if spec.auth else {}
            resp = await client.request(spec.method, path, data=b'{"unterminated', headers=headers)
            assert resp.status in (400, 404), (spec.method, path, resp.status)
            if resp.status == 400:
                assert (await resp.json())["error"]["code"] == "bad_json"
