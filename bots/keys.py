"""Typed app keys of the bot layer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from venn_bots.runtime import BotRuntime

RUNTIME: web.AppKey[BotRuntime] = web.AppKey("bot_runtime")
