"""Bots' replies name the message they answer, and a plugin may check a config against
the world before it is saved (``Plugin.check_config``)."""

from __future__ import annotations

import asyncio

import pytest

from venn.errors import Unavailable, ValidationFailed
from venn.schemas import PageQuery
from venn_bots import (
    ConfigRejected,
    Plugin,
    PluginConfig,
    command,
    on_event,
    on_mention,
)
from venn_bots.models import BotAuditLog, BotEnablement


class Answering(Plugin):
    name = "answering"
    description = "Answers commands and mentions; fails on /boom."

    @command("hi")
    async def hi(self, ctx):
        await ctx.reply("hello")
        await ctx.reply("and hello again")

    @on_mention
    async def mentioned(self, ctx):
        await ctx.reply("you called?")

    @command("boom")
    async def boom(self, ctx):
        raise RuntimeError("kaboom")

    @on_event("thread_created")
    async def welcome(self, ctx):
        await ctx.reply("a new thread")


async def test_replies_and_notices_name_the_message_they_answer(testbot):
    bot = await testbot(Answering, strict=False, scope="channel")
    for text in ("/hi", "@answering are you there?"):
        replies = await bot.say(text)
        [asked] = [m for m in await bot.history() if m["body"] == text]
        assert replies and all(r.message["reply_to"] == asked["id"] for r in replies), text
    # in the channel's stream too (another write path)
    replies = await bot.say("/hi", in_channel=True)
    page = await bot.services.messages.channel_history(bot.admin, bot.channel["id"], PageQuery(limit=50))
    [asked] = [m for m in page["messages"] if m["body"] == "/hi"]
    assert len(replies) == 2 and all(r.thread_id is None and r.message["reply_to"] == asked["id"] for r in replies)
    # the runtime's notice about a failed job answers the job's message
    [notice] = await bot.say("/boom")
    [boom] = [m for m in await bot.history() if m["body"] == "/boom"]
    assert notice.body.startswith("Sorry, answering ran into an error") and notice.message["reply_to"] == boom["id"]
    # an event without a message: a reply that answers nothing
    thread = await bot.new_thread("fresh")
    [welcome] = [r for r in bot.replies if r.thread_id == thread["id"]]
    assert welcome.body == "a new thread" and welcome.message["reply_to"] is None


class Tables(PluginConfig):
    tables: list[str] = []
    note: str = ""


class Picky(Plugin):
    """Accepts only the tables it knows; its checks count how often they ran."""

    name = "picky"
    Config = Tables
    known = {"orders", "customers"}
    checks: list[list[str]] = []
    mood = "fine"

    async def check_config(self, config: Tables) -> None:
        type(self).checks.append(list(config.tables))
        if self.mood == "broken":
            raise RuntimeError("the catalog service is down at 10.0.0.7")
        if self.mood == "slow":
            await asyncio.sleep(3600)
        unknown = [t for t in config.tables if t not in self.known]
        if unknown:
            raise ConfigRejected({"tables": f"no such table: {', '.join(unknown)}"})


@pytest.fixture
def picky(monkeypatch):
    monkeypatch.setattr(Picky, "checks", [])
    monkeypatch.setattr(Picky, "mood", "fine")
    return Picky


async def test_check_config_refuses_with_the_fields_of_a_bad_config(testbot, picky):
    bot = await testbot(picky, enable=False)
    with pytest.raises(ValidationFailed) as refused:
        await bot.enable("picky", {"tables": ["orders", "ordrs"]})
    assert refused.value.fields == [{"field": "config.tables", "message": "no such table: ordrs"}]
    assert not await BotEnablement.filter(plugin="picky").exists()
    # the model's own validation comes first: a malformed config never reaches the hook
    with pytest.raises(ValidationFailed) as malformed:
        await bot.enable("picky", {"tables": "orders", "colour": "red"})
    assert {f["field"] for f in malformed.value.fields} == {"config.tables", "config.colour"}
    assert picky.checks == [["orders", "ordrs"]]

    await bot.enable("picky", {"tables": ["orders"], "note": "first"})
    with pytest.raises(ValidationFailed) as refused:
        await bot.configure("picky", {"tables": ["orders", "payments"]})
    assert refused.value.fields == [{"field": "config.tables", "message": "no such table: payments"}]
    # the change is checked whole (the old keys with the new ones), and nothing changed
    assert picky.checks[-1] == ["orders", "payments"]
    row = await BotEnablement.get(plugin="picky")
    assert row.config == {"tables": ["orders"], "note": "first"}
    await bot.configure("picky", {"tables": ["orders", "customers"]})
    assert (await BotEnablement.get(plugin="picky")).config == {"tables": ["orders", "customers"], "note": "first"}
    assert [e.action for e in await BotAuditLog.filter(plugin="picky").order_by("id")] == ["enable", "update"]


async def test_a_check_that_fails_or_hangs_saves_nothing(testbot, picky, monkeypatch):
    import venn_bots.service

    bot = await testbot(picky, enable=False)
    picky.mood = "broken"
    with pytest.raises(Unavailable) as failed:
        await bot.enable("picky", {"tables": ["orders"]})
    assert str(failed.value) == "picky could not check its settings; try again."
    assert "10.0.0.7" not in str(failed.value)  # the plugin's error stays in the log
    picky.mood = "slow"
    monkeypatch.setattr(venn_bots.service, "CHECK_CONFIG_TIMEOUT", 0.2)
    with pytest.raises(Unavailable) as slow:
        await bot.enable("picky", {"tables": ["orders"]})
    assert "did not finish checking its settings in time" in str(slow.value)
    assert not await BotEnablement.filter(plugin="picky").exists()


def test_config_rejected_needs_a_field():
    with pytest.raises(ValueError):
        ConfigRejected({})
    assert str(ConfigRejected({"a": "bad", "b": "worse"})) == "a: bad; b: worse"
