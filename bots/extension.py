"""The bot runtime as a plugin of the core: its routes, tables, settings and command,
and the runtime itself, started once the database is ready.

It is registered like any plugin (entry point ``bots`` of the group ``venn.plugins``);
the bot plugins (``venn_bots.Plugin`` subclasses) require it and run on it.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

from aiohttp import web

from venn import __version__, keys
from venn.extension import Extension
from venn_bots.api import bots_api
from venn_bots.keys import RUNTIME
from venn_bots.settings import BotSettings


class BotRuntimeExtension(Extension):
    """Bots: handlers of plugins run as isolated jobs where admins enabled them."""

    name = "bots"
    version = __version__
    description = "The bot runtime: plugins' commands and handlers, enabled per thread or channel."
    router = bots_api
    models = ("venn_bots.models",)
    migrations = "venn_bots.migrations"
    # Before plugins had their own migration histories, the bot tables were the core's 0002.
    adopts_migrations = {("venn", "0002_bots"): "0001_initial"}
    Settings = BotSettings

    @classmethod
    def add_commands(cls, subparsers: argparse._SubParsersAction) -> None:
        from venn_bots.cli import add_plugin_commands

        add_plugin_commands(subparsers)

    @classmethod
    def install(cls, app: web.Application) -> None:
        from venn_bots.runtime import BotRuntime

        extensions = app[keys.EXTENSIONS]
        runtime = BotRuntime(
            app[keys.SERVICES],
            extensions.settings_for(cls.name),
            redis_url=app[keys.SETTINGS].redis_url,
            extensions=extensions,
        )
        app[RUNTIME] = runtime

        async def bot_runtime(app: web.Application) -> AsyncIterator[None]:
            await runtime.start()
            try:
                yield
            finally:
                await runtime.stop()

        app.cleanup_ctx.append(bot_runtime)
