"""Typed keys for what the app and each request carry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from venn.config import Settings
    from venn.extensions import ExtensionSet
    from venn.services import Services

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
SERVICES: web.AppKey[Services] = web.AppKey("services")
REDIS: web.AppKey[Any] = web.AppKey("redis")
API_ROUTES: web.AppKey[list] = web.AppKey("api_routes")
AUTHENTICATE: web.AppKey[Any] = web.AppKey("authenticate")
#: the enabled plugins of this app, with their settings (venn.extensions)
EXTENSIONS: web.AppKey[ExtensionSet] = web.AppKey("extensions")

REQUEST_ID: web.RequestKey[str] = web.RequestKey("request_id")
#: the client's address, behind trusted proxies too (venn.proxies.client_address)
CLIENT_IP: web.RequestKey[str] = web.RequestKey("client_ip")
USER: web.RequestKey[Any] = web.RequestKey("user")
#: the sign-in the request's access token belongs to (None for personal access tokens)
SESSION_ID: web.RequestKey[int | None] = web.RequestKey("session_id")
ROUTE_SPEC: web.RequestKey[Any] = web.RequestKey("route_spec")
