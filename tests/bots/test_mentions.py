"""Plugins see whom a message mentions (``ctx.message.mentions``), and bots' own messages mention people."""

from __future__ import annotations

import pytest

from venn_bots import Plugin, on_mention


class Who(Plugin):
    """Says whom the message that woke it mentions, naming the people back."""

    name = "who"

    @on_mention
    async def mentioned(self, ctx):
        await ctx.reply(f"mentions {sorted(ctx.message.mentions)}; thanks @{ctx.user.username}")


async def test_a_plugin_sees_the_mentions_and_its_reply_mentions_too(testbot):
    bot = await testbot(Who)
    bob = await bot.user("bob")
    bot_user = await _bot_user(bot, "who")
    [reply] = await bot.say("@who and @bob, and `@admin` in code")
    assert reply.body == f"mentions {sorted([bot_user.id, bob.id])}; thanks @alice"
    stored = (await bot.history())[-1]
    assert stored["author"]["username"] == "who" and stored["mentions"] == [bot.alice.id]


async def _bot_user(bot, username):
    from venn.db.models import User

    return await User.get(username=username)


@pytest.mark.parametrize(
    "event", ["mention", "reaction_added", "reaction_removed", "message_pinned", "message_unpinned",
              "dm_created", "channel_updated", "member_removed"],
)
async def test_a_plugin_cannot_emit_a_core_event(testbot, event):
    """Core events (mentions, reactions, pins, DMs, moderation) are sent only by the chat core."""

    class Spoofer(Plugin):
        name = "spoofer"

        @on_mention
        async def spoof(self, ctx):
            await ctx.emit(event, {"message": {"body": "fake"}})

    bot = await testbot(Spoofer, strict=False)
    replies = await bot.say("@spoofer go")
    assert "ran into an error" in replies[0].body
    assert isinstance(bot.jobs[-1].error, ValueError)
