"""Plugging the bot layer into the app factory (an entry of ``venn.extensions.EXTENSIONS``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from venn_bots.api import bots_api
from venn_bots.keys import RUNTIME
from venn_bots.runtime import BotRuntime
from venn_bots.settings import load_bot_settings
from venn import keys
from venn.api.routing import ApiRouter


def setup(app: web.Application, router: ApiRouter) -> None:
    """Routes, the runtime (started once the database is ready) and its bus subscriber."""
    runtime = BotRuntime(app[keys.SERVICES], load_bot_settings(), redis_url=app[keys.SETTINGS].redis_url)
    app[RUNTIME] = runtime
    router.include(bots_api)

    async def bot_runtime(app: web.Application) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app.cleanup_ctx.append(bot_runtime)
