"""Operational endpoints: health, readiness, metrics, the OpenAPI document."""

from __future__ import annotations

import hmac

from aiohttp import web

from venn import db, keys
from venn.api.openapi import build_openapi
from venn.api.routing import ApiRouter, Call
from venn.errors import Unauthorized, Unavailable

ops = ApiRouter()


@ops.get("/healthz", auth=False, response="Health", tag="ops")
async def healthz(call: Call):
    """Liveness: the process answers."""
    return {"status": "ok"}


@ops.get("/readyz", auth=False, response="Health", errors=(503,), tag="ops")
async def readyz(call: Call):
    """Readiness: the database answers (503 when it does not)."""
    try:
        await db.ping()
    except Exception:
        raise Unavailable("The database is unreachable.") from None
    return {"status": "ready"}


@ops.get("/metrics", auth=False, response=None, tag="ops")
async def metrics(call: Call):
    """Prometheus metrics (text exposition format); with VENN_METRICS_TOKEN set, only for that bearer token."""
    token = call.request.app[keys.SETTINGS].metrics_token
    if token is not None and not _bearer_matches(call.request, token.get_secret_value()):
        raise Unauthorized("This endpoint needs the metrics token (Authorization: Bearer ...).", code="invalid_token")
    body = call.services.metrics.render()
    return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})


def _bearer_matches(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # compared in constant time: the comparison must not tell how much of a guess was right
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@ops.get("/api/v1/openapi.json", auth=False, response=None, tag="ops")
async def openapi(call: Call):
    """This document."""
    return build_openapi(call.request.app[keys.API_ROUTES])
