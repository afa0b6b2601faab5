"""help: lists the plugins enabled in this thread and their commands.

``/help`` lists them; ``/help NAME`` (a plugin or a command) explains one.
"""

from __future__ import annotations

from venn_bots import Context, Plugin, command


class HelpPlugin(Plugin):
    name = "help"
    description = "Lists the bots enabled in this thread and their commands."
    version = "1.0.0"

    @command("help", usage="[NAME]", help="List the bots enabled here, or explain one: /help echo")
    async def help(self, ctx: Context) -> None:
        plugins = await ctx.enabled_plugins()
        topic = " ".join(ctx.argv).strip().lower()
        if topic:
            await ctx.reply(self.explain(plugins, topic))
            return
        where = "this thread" if ctx.thread is not None else "this channel"
        lines = [f"Bots enabled in {where}:"]
        for plugin in plugins:
            cls = type(plugin)
            commands = ", ".join(c.usage() for c in cls.command_specs())
            lines.append(f"- {cls.name}: {cls.description}" + (f" Commands: {commands}" if commands else ""))
        lines.append("/help NAME explains a bot or a command.")
        await ctx.reply("\n".join(lines), payload={"plugins": [p.name for p in plugins]})

    @staticmethod
    def explain(plugins: list[Plugin], topic: str) -> str:
        """A plugin's commands for ``NAME``; one command's help for ``/NAME`` (or a
        ``NAME`` that is no plugin)."""
        as_command = topic.startswith("/")
        topic = topic.lstrip("/")
        for plugin in [] if as_command else plugins:
            cls = type(plugin)
            if cls.name == topic:
                lines = [f"{cls.name} {cls.version}: {cls.description}"]
                for spec in cls.command_specs():
                    lines.append(f"- {spec.usage()}" + (f": {spec.help}" if spec.help else ""))
                if not cls.command_specs():
                    lines.append("It has no commands: it answers messages or events by itself.")
                return "\n".join(lines)
        for plugin in plugins:
            found = type(plugin).command_for(topic)
            if found is not None:
                return f"({type(plugin).name}) " + found.help_text()
        return f"No bot or command called {topic!r} is enabled here. /help lists them."


plugin = HelpPlugin
