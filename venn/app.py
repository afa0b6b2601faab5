"""The application factory: wires settings, storage, services, transports and plugins."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from aiohttp import web

from venn import db, keys
from venn.api.admin import admin_api
from venn.api.files import files_api
from venn.api.mentions import mentions_api
from venn.api.middleware import api_middleware, authenticate_request
from venn.api.moderation import moderation_api
from venn.api.ops import ops
from venn.api.routing import ApiRouter
from venn.api.sessions import sessions_api
from venn.api.subscriptions import subscriptions_api
from venn.api.tokens import tokens_api
from venn.api.v1 import api
from venn.api.webhooks import webhooks_api
from venn.config import Settings, load_settings
from venn.events import EventBus
from venn.extension import Extension
from venn.extensions import load_extensions
from venn.metrics import Metrics
from venn.presence import MemoryPresence, RedisPresence
from venn.ratelimit import MemoryRateLimiter, RedisRateLimiter
from venn.realtime import setup_realtime
from venn.realtime.locks import RedisChannelLock
from venn.security import passwords
from venn.security.tokens import TokenSigner
from venn.services import Services
from venn.web import setup_web

log = logging.getLogger("venn.app")


def build_router() -> ApiRouter:
    """Every REST route of the app (the OpenAPI document is generated from it)."""
    router = ApiRouter()
    router.include(ops)
    router.include(api)
    router.include(admin_api)
    router.include(moderation_api)
    router.include(files_api)
    router.include(mentions_api)
    router.include(webhooks_api)
    router.include(tokens_api)
    router.include(sessions_api)
    router.include(subscriptions_api)
    return router


def create_app(
    settings: Settings | None = None,
    *,
    plugins: Iterable[type[Extension]] = (),
    plugin_settings: Mapping[str, Any] | None = None,
) -> web.Application:
    """A ready-to-run aiohttp application. Storage opens on start-up, closes on clean-up.

    The installed plugins (entry points ``venn.plugins``, less ``VENN_PLUGINS_DISABLED``)
    add their routes, tables, settings and start-up steps; ``plugins`` adds classes that
    are not installed (a plugin's own tests), ``plugin_settings`` replaces the settings
    a plugin would read from the environment (``{"sql": SQLSettings(...)}``).
    Raises :class:`~venn.config.SettingsError` for an invalid setting and
    :class:`~venn.api.routing.RouteClash` when two routes clash.
    """
    settings = settings or load_settings()
    passwords.configure(settings.password_hashing)
    extensions = load_extensions(settings.plugins_disabled, extra=plugins)
    extensions.settings.update(plugin_settings or {})
    app = web.Application(middlewares=[api_middleware], client_max_size=settings.max_body_bytes)
    app[keys.SETTINGS] = settings
    app[keys.EXTENSIONS] = extensions
    app[keys.AUTHENTICATE] = authenticate_request
    redis = None
    if settings.redis_url:
        import redis.asyncio as aioredis

        redis = aioredis.from_url(settings.redis_url, decode_responses=True)
    app[keys.REDIS] = redis
    services = Services(
        settings=settings,
        events=EventBus(),
        limiter=RedisRateLimiter(redis, f"{settings.redis_prefix}rl:") if redis is not None else MemoryRateLimiter(),
        tokens=TokenSigner(
            settings.secret_key_value(),
            access_ttl=settings.access_token_ttl_seconds,
            refresh_ttl=settings.refresh_token_ttl_seconds,
        ),
        # With Redis, presence is shared by every process (see venn/presence.py).
        presence=RedisPresence(redis, prefix=settings.redis_prefix) if redis is not None else MemoryPresence(),
        metrics=Metrics(),
        # With Redis, posts to a channel are written one group at a time across every
        # process, so that new_message reaches every client in id order.
        channel_lock=RedisChannelLock(redis, prefix=settings.redis_prefix) if redis is not None else None,
    )
    app[keys.SERVICES] = services
    router = build_router()
    setup_realtime(app, router)
    # Each plugin's routes (a clash stops start-up naming both) and start-up steps.
    for ext in extensions:
        if ext.router is not None:
            router.include(ext.router, owner=ext.name)
        ext.install(app)
    setup_web(app, router)
    router.register(app)
    app.cleanup_ctx.insert(0, _database)
    app.cleanup_ctx.append(_closers)
    app.cleanup_ctx.append(_file_sweeper)
    app.cleanup_ctx.append(_webhook_sender)
    return app


async def _database(app: web.Application) -> AsyncIterator[None]:
    url = app[keys.SETTINGS].effective_database_url
    extensions = app[keys.EXTENSIONS].enabled
    if url == db.MEMORY_URL:
        # An in-memory database lives and dies with its one connection.
        ctx = await db.open_database(url, extensions)
        await db.create_schema()
    else:
        await db.apply_migrations(url, extensions)
        ctx = await db.open_database(url, extensions)
    log.info("database ready", extra={"backend": "postgres" if app[keys.SETTINGS].is_postgres else "sqlite"})
    yield
    await db.close_database(ctx)


async def _file_sweeper(app: web.Application) -> AsyncIterator[None]:
    """Removes old unattached uploads and deleted messages' files, now and then."""
    task = asyncio.create_task(app[keys.SERVICES].files.run_sweeper())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _webhook_sender(app: web.Application) -> AsyncIterator[None]:
    """Sends the outgoing webhooks' pending deliveries (every process runs one)."""
    services: Services = app[keys.SERVICES]
    tasks = [asyncio.create_task(services.delivery.run())]
    if app[keys.REDIS] is not None:
        # the subscriptions are kept in memory while this process hears the others' changes
        services.subscriptions.cache.use(app[keys.REDIS], f"{services.settings.redis_prefix}subscriptions-changed")
        tasks.append(asyncio.create_task(services.subscriptions.cache.hear_changes()))
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _closers(app: web.Application) -> AsyncIterator[None]:
    yield
    services: Services = app[keys.SERVICES]
    await services.limiter.close()
    await services.presence.close()
    if app[keys.REDIS] is not None:
        await app[keys.REDIS].aclose()
