"""HTTP middleware: request id, CORS, errors in one JSON shape, one log line a request."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from aiohttp import web
from tortoise.exceptions import DBConnectionError

from venn import keys
from venn.api.routing import json_response
from venn.errors import Forbidden, Unauthorized, VennError
from venn.proxies import client_address

log = logging.getLogger("venn.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

try:  # the PostgreSQL driver's connection errors, when it is installed
    import asyncpg

    _DB_DOWN: tuple[type[BaseException], ...] = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError)
except ImportError:  # pragma: no cover
    _DB_DOWN = ()
_DB_DOWN = (*_DB_DOWN, DBConnectionError, ConnectionError, OSError)


def error_response(status: int, code: str, message: str, **extra: object) -> web.Response:
    return json_response({"error": {"code": code, "message": message, **extra}}, status=status)


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


def _route_name(request: web.Request) -> str:
    route = request.match_info.route
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def api_middleware(request: web.Request, handler):
    rid = request.headers.get("X-Request-ID", "")
    request[keys.REQUEST_ID] = rid if _REQUEST_ID.match(rid) else uuid.uuid4().hex
    started = time.perf_counter()
    settings = request.app[keys.SETTINGS]
    origin = request.headers.get("Origin")
    cors = origin is not None and origin.rstrip("/") in settings.cors_origins
    try:
        if cors and request.method == "OPTIONS":
            response: web.StreamResponse = web.Response(status=204)
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-Request-ID"
            response.headers["Access-Control-Max-Age"] = "600"
        else:
            response = await handler(request)
    except VennError as exc:
        response = error_response(exc.status, exc.code, exc.message, **exc.extra)
        if exc.status == 429:
            response.headers["Retry-After"] = str(exc.extra.get("retry_after", 60))
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = "Bearer"
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        message = {404: "Not found.", 405: "Method not allowed.", 413: "The request body is too large."}.get(
            exc.status, exc.reason
        )
        response = error_response(exc.status, code, message)
    except asyncio.CancelledError:
        raise
    except _DB_DOWN:
        log.error("database unavailable", extra={"request_id": request[keys.REQUEST_ID]}, exc_info=True)
        response = error_response(503, "unavailable", "The database is unavailable; try again shortly.")
        response.headers["Retry-After"] = "5"
    except Exception:
        log.exception("unhandled error", extra={"request_id": request[keys.REQUEST_ID]})
        response = error_response(500, "internal_error", "Something went wrong on the server.")
    if cors:
        response.headers["Access-Control-Allow-Origin"] = origin.rstrip("/")  # type: ignore[union-attr]
        response.headers["Vary"] = "Origin"
    response.headers["X-Request-ID"] = request[keys.REQUEST_ID]
    elapsed = time.perf_counter() - started
    route = _route_name(request)
    metrics = request.app[keys.SERVICES].metrics
    metrics.requests.labels(request.method, route, str(response.status)).inc()
    metrics.latency.labels(request.method, route).observe(elapsed)
    user = request.get(keys.USER)
    log.info(
        "%s %s %s %.1fms",
        request.method,
        route,
        response.status,
        elapsed * 1000,
        extra={
            "request_id": request[keys.REQUEST_ID],
            "user_id": user.id if user is not None else None,
            "client_ip": client_address(request),
        },
    )
    return response


async def authenticate_request(request: web.Request):
    """The user of ``Authorization: Bearer <access token>``, or 401 saying why."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Missing bearer token.", code="missing_token")
    credential = await request.app[keys.SERVICES].users.authenticate_any(token.strip())
    personal = credential.personal_token
    if personal is not None and "write" not in personal.scopes and request.method not in {"GET", "HEAD"}:
        raise Forbidden("This token may only read (its scopes: read).", code="insufficient_scope")
    request[keys.USER] = credential.user
    request[keys.SESSION_ID] = credential.session_id
    return credential.user
