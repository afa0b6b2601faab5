"""Declarative routes for the REST API: one place that knows each endpoint.

``ApiRouter`` registers handlers on the aiohttp app (with and without a trailing
slash), handles auth, body and query validation, and feeds the OpenAPI document.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from venn import keys
from venn.db.models import User
from venn.errors import BadRequest, NotFound, PayloadTooLarge, ValidationFailed
from venn.proxies import client_address
from venn.schemas import field_errors, parse

M = TypeVar("M", bound=BaseModel)
MAX_ID = 2**63 - 1


class Call:
    """What a handler gets: the request, the services, the caller and the parsed body."""

    __slots__ = ("request", "services", "user", "body")

    def __init__(self, request: web.Request, user: User | None, body: Any) -> None:
        self.request = request
        self.services = request.app[keys.SERVICES]
        self.user: User = user  # type: ignore[assignment]
        self.body = body

    def path_id(self, name: str) -> int:
        """An id from the path; one too large for the database is simply not found."""
        value = int(self.request.match_info[name])
        if value < 1 or value > MAX_ID:
            raise NotFound("Not found.")
        return value

    def query(self, model: type[M]) -> M:
        try:
            return model.model_validate(dict(self.request.query))
        except ValidationError as exc:
            raise ValidationFailed(field_errors(exc)) from None

    def plugin_settings(self, plugin: str) -> Any:
        """The settings object of an enabled plugin (its ``Settings`` class, as read at start)."""
        return self.request.app[keys.EXTENSIONS].settings_for(plugin)

    @property
    def session_id(self) -> int | None:
        """The sign-in the caller's access token belongs to (None for a personal access token)."""
        return self.request.get(keys.SESSION_ID)

    @property
    def client_ip(self) -> str:
        """The client's address (``X-Forwarded-For`` only from ``VENN_TRUSTED_PROXIES``)."""
        return client_address(self.request)


def page_schema(key: str, item: str, **extra: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI schema of a page of a listing: ``{<key>: [<item>], has_more}`` (and
    ``extra`` properties, required too), for an :class:`ApiRouter`'s ``schemas``."""
    return {
        "type": "object",
        "required": [key, "has_more", *extra],
        "properties": {
            key: {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "has_more": {"type": "boolean"},
            **extra,
        },
    }


Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class RouteSpec:
    method: str
    path: str
    handler: Handler
    summary: str
    auth: bool = True
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    response: str | None = None  # name of the response schema in the OpenAPI document
    errors: tuple[int, ...] = ()
    tag: str = "api"
    extra_statuses: dict[int, str] = field(default_factory=dict)
    #: named response schemas of the route's router (merged into the OpenAPI document)
    schemas: dict[str, Any] = field(default_factory=dict, repr=False)
    #: who added the route: "core" or a plugin's name (named when two routes clash)
    owner: str = "core"
    #: a multipart/form-data body (JSON Schema of its fields), read by the handler itself
    form: dict[str, Any] | None = None
    #: a cookie accepted instead of the bearer token (the files cookie: a browser's <img>
    #: cannot send an Authorization header); checked by ``Services.files``
    cookie: str | None = None


class RouteClash(Exception):
    """Two routes (or two schemas) of the same name: start-up stops, naming both owners."""


def _route_key(spec: RouteSpec) -> tuple[str, str]:
    return spec.method, re.sub(r"\{\w+(?::[^}]*)?\}", "{}", spec.path.rstrip("/"))


class ApiRouter:
    """Routes declared with decorators, and the named response schemas they use."""

    def __init__(self, prefix: str = "", schemas: dict[str, Any] | None = None) -> None:
        self.prefix = prefix
        self.routes: list[RouteSpec] = []
        #: response schemas named by ``response=...`` (components of the OpenAPI document)
        self.schemas: dict[str, Any] = dict(schemas or {})

    def route(self, method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
        def decorator(handler: Handler) -> Handler:
            summary = options.pop("summary", None) or (handler.__doc__ or "").strip().splitlines()[0]
            self.routes.append(
                RouteSpec(method, self.prefix + path, handler, summary, schemas=self.schemas, **options)
            )
            return handler

        return decorator

    def get(self, path: str, **options: Any):
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any):
        return self.route("POST", path, **options)

    def patch(self, path: str, **options: Any):
        return self.route("PATCH", path, **options)

    def delete(self, path: str, **options: Any):
        return self.route("DELETE", path, **options)

    def include(self, other: ApiRouter, *, owner: str | None = None) -> None:
        """Add ``other``'s routes (as ``owner``'s). A method and path already taken
        raises :class:`RouteClash` naming both owners."""
        taken = {_route_key(spec): spec for spec in self.routes}
        for spec in other.routes:
            if owner is not None:
                spec = replace(spec, owner=owner)
            clash = taken.get(_route_key(spec))
            if clash is not None:
                raise RouteClash(
                    f"{spec.method} {spec.path} of {_who(spec)} clashes with"
                    f" {clash.method} {clash.path} of {_who(clash)}"
                )
            taken[_route_key(spec)] = spec
            self.routes.append(spec)

    def register(self, app: web.Application) -> None:
        """Add every route to ``app``, answering with and without a trailing slash."""
        for spec in self.routes:
            handler = _wrap(spec)
            path = spec.path.rstrip("/")
            app.router.add_route(spec.method, path, handler)
            app.router.add_route(spec.method, path + "/", handler)
        app[keys.API_ROUTES] = list(self.routes)


def _who(spec: RouteSpec) -> str:
    return "the core" if spec.owner == "core" else f"plugin {spec.owner!r}"


def json_response(data: Any, status: int = 200) -> web.Response:
    """``data`` as a JSON response, written with orjson (several times faster than the
    standard library on message pages; the same compact JSON)."""
    return web.Response(body=orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status=status,
                        content_type="application/json", charset="utf-8")


async def read_json(request: web.Request) -> Any:
    """The request's JSON body: 400 when it is missing or not JSON, 413 when too large."""
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise PayloadTooLarge(
            f"The request body is larger than {request.app[keys.SETTINGS].max_body_bytes} bytes."
        ) from None
    if not raw.strip():
        raise BadRequest("The request needs a JSON body.", code="bad_json")
    try:
        # orjson refuses what the standard library lets through and the database then
        # chokes on: lone surrogates, NaN, integers past 64 bits; and nesting past 1,024
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON.", code="bad_json") from None


def _wrap(spec: RouteSpec) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        request[keys.ROUTE_SPEC] = spec
        user = None
        if spec.auth and spec.cookie and "Authorization" not in request.headers and spec.cookie in request.cookies:
            user = await request.app[keys.SERVICES].files.authenticate_cookie(request.cookies[spec.cookie])
            request[keys.USER] = user
        elif spec.auth:
            user = await request.app[keys.AUTHENTICATE](request)
        body = None
        if spec.body is not None:
            body = parse(spec.body, await read_json(request))
        result = await spec.handler(Call(request, user, body))
        if isinstance(result, web.StreamResponse):
            return result
        status = spec.status
        if isinstance(result, tuple):
            status, result = result
        if result is None:
            return web.Response(status=204 if status in (200, 204) else status)
        return json_response(result, status=status)

    handler.__name__ = spec.handler.__name__
    return handler
