"""The bundled plugins, tested with the testing kit as any plugin author would."""

from __future__ import annotations

import pytest

from venn.errors import ValidationFailed
from venn_plugins.echo import EchoPlugin
from venn_plugins.help import HelpPlugin


async def test_echo_repeats_messages_and_the_command(testbot):
    bot = await testbot(EchoPlugin)
    assert [r.body for r in await bot.say("hello there")] == ["hello there"]
    assert [r.body for r in await bot.say("/echo   spaced  out ")] == ["spaced  out"]
    assert [r.body for r in await bot.say("/echo")] == ["(nothing to echo)"]
    # other bots' commands are not echoed
    assert await bot.say("/help") == []
    # mentions are messages too
    assert [r.body for r in await bot.say("@echo are you there?")] == ["@echo are you there?"]


async def test_echo_config(testbot):
    bot = await testbot(EchoPlugin, config={"prefix": "echo: ", "uppercase": True})
    assert [r.body for r in await bot.say("quiet")] == ["echo: QUIET"]
    await bot.configure("echo", {"uppercase": False})
    assert [r.body for r in await bot.say("quiet")] == ["echo: quiet"]
    with pytest.raises(ValidationFailed) as info:
        await bot.configure("echo", {"prefix": "x" * 100})
    assert info.value.fields[0]["field"] == "config.prefix"


async def test_echo_answers_help(testbot):
    bot = await testbot(EchoPlugin)
    [reply] = await bot.say("/echo --help")
    assert reply.body == "Usage: /echo TEXT\n\nRepeat the text after the command."


async def test_help_lists_the_bots_enabled_here(testbot):
    bot = await testbot(HelpPlugin, EchoPlugin)
    [reply] = await bot.say("/help")
    assert reply.plugin == "help"
    lines = reply.body.splitlines()
    assert lines[0] == "Bots enabled in this thread:"
    assert lines[1].startswith("- echo: Repeats what is said") and lines[1].endswith("Commands: /echo TEXT")
    assert lines[2].startswith("- help: ")
    assert reply.payload == {"plugins": ["echo", "help"]}
    [reply] = await bot.say("/help echo")
    assert reply.body.startswith("echo 1.0.0: ") and "/echo TEXT: Repeat the text after the command." in reply.body
    [reply] = await bot.say("/help /echo")
    assert reply.body.startswith("(echo) Usage: /echo TEXT")
    [reply] = await bot.say("/help nothing")
    assert reply.body == "No bot or command called 'nothing' is enabled here. /help lists them."


async def test_help_only_lists_what_is_enabled(testbot):
    bot = await testbot(HelpPlugin, EchoPlugin, enable=False)
    await bot.enable("help", scope="channel")
    [reply] = await bot.say("/help", in_channel=True)
    assert reply.body.splitlines()[:2] == [
        "Bots enabled in this channel:",
        "- help: Lists the bots enabled in this thread and their commands. Commands: /help [NAME]",
    ]
    assert reply.thread_id is None
