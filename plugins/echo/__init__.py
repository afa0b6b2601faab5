"""echo: the minimal example plugin (see docs/plugins.md, which walks through it).

Enabled on a thread, it repeats every message posted there, and answers
``/echo some text`` with ``some text``.
"""

from __future__ import annotations

from pydantic import Field

from venn_bots import Context, Plugin, PluginConfig, command, on_message


class EchoConfig(PluginConfig):
    """What an admin can set when enabling echo."""

    prefix: str = Field("", max_length=40, description="Text put before every echo.")
    uppercase: bool = Field(False, description="Shout the echo back.")


class EchoPlugin(Plugin):
    name = "echo"
    description = "Repeats what is said in the thread. The minimal example plugin."
    version = "1.0.0"
    Config = EchoConfig

    def render(self, ctx: Context[EchoConfig], text: str) -> str:
        text = text.upper() if ctx.config.uppercase else text
        return f"{ctx.config.prefix}{text}"

    @command("echo", usage="TEXT", help="Repeat the text after the command.")
    async def echo(self, ctx: Context[EchoConfig]) -> None:
        await ctx.reply(self.render(ctx, ctx.text or "(nothing to echo)"))

    @on_message
    async def repeat(self, ctx: Context[EchoConfig]) -> None:
        # Slash commands are for other bots: echo them only through /echo.
        if ctx.text.startswith("/"):
            return
        await ctx.reply(self.render(ctx, ctx.text))


plugin = EchoPlugin
