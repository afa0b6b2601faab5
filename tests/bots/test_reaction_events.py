"""Plugins hear of reactions and pins: ``@on_event("reaction_added")`` and the others
get the event's data and who caused it, through the same bus as every chat event."""

from __future__ import annotations

from venn_bots import Plugin, on_event


class Tally(Plugin):
    name = "tally"

    @on_event("reaction_added", "reaction_removed")
    async def reacted(self, ctx):
        data = ctx.data
        await ctx.reply(f"{ctx.event} {data['emoji']} by {ctx.user.username} on {data['message_id']}")

    @on_event("message_pinned")
    async def pinned(self, ctx):
        await ctx.reply(f"pinned {ctx.data['message']['body']!r} by {ctx.user.username}")


async def test_reactions_and_pins_reach_plugins(testbot):
    bot = await testbot(Tally, scope="channel")
    root = bot.root["id"]
    reactions = bot.services.reactions
    await reactions.add(bot.alice, root, "+1")
    await bot.settle()
    assert bot.replies[-1].body == f"reaction_added 👍 by alice on {root}"
    await reactions.add(bot.alice, root, "👍")  # no change: no event
    await reactions.remove(bot.alice, root, ":thumbsup:")
    await bot.settle()
    assert [r.body for r in bot.replies[-2:]] == [
        f"reaction_added 👍 by alice on {root}", f"reaction_removed 👍 by alice on {root}",
    ]
    await bot.services.pins.pin(bot.alice, root)
    await bot.settle()
    assert bot.replies[-1].body == f"pinned {bot.root['body']!r} by alice"
