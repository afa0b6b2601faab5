"""Venn's bot runtime: the plugin API, discovery, enablement and job execution.

Write a plugin::

    from venn_bots import Plugin, PluginConfig, command

    class EchoPlugin(Plugin):
        name = "echo"

        @command("echo", help="Repeat the text.")
        async def echo(self, ctx):
            await ctx.reply(ctx.text)

See docs/plugins.md.
"""

from __future__ import annotations

from venn_bots.actions import on_action
from venn_bots.context import Context
from venn_bots.events import (
    ActionEvent,
    BotEvent,
    ChannelInfo,
    CommandEvent,
    CustomEvent,
    EditEvent,
    MentionEvent,
    MessageEvent,
    MessageInfo,
    ThreadInfo,
    UserInfo,
)
from venn_bots.plugin import (
    ConfigRejected,
    Plugin,
    PluginConfig,
    PluginError,
    Positional,
    UsageError,
    command,
    on_event,
    on_mention,
    on_message,
)
from venn_bots.schedule import schedule
from venn_bots.storage import KVStore

__all__ = [
    "ActionEvent",
    "BotEvent",
    "ChannelInfo",
    "CommandEvent",
    "ConfigRejected",
    "Context",
    "CustomEvent",
    "EditEvent",
    "KVStore",
    "MentionEvent",
    "MessageEvent",
    "MessageInfo",
    "Plugin",
    "PluginConfig",
    "PluginError",
    "Positional",
    "ThreadInfo",
    "UsageError",
    "UserInfo",
    "command",
    "on_action",
    "on_event",
    "on_mention",
    "on_message",
    "schedule",
]
