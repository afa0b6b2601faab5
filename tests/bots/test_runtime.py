"""The runtime, through the testing kit: context, isolation, limits, loops, events, scopes."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

import pytest
from pydantic import BaseModel, Field

from venn.schemas import MessageCreateIn
from venn_bots import (
    CommandEvent,
    CustomEvent,
    EditEvent,
    MentionEvent,
    MessageEvent,
    Plugin,
    PluginConfig,
    Positional,
    command,
    on_event,
    on_mention,
    on_message,
)
from venn_bots.models import BotEnablement
from venn_bots.queue import Delivery, Job
from venn_bots.testing import BotJobFailed
from venn_plugins.echo import EchoPlugin


class KeyValue(BaseModel):
    key: str
    value: Annotated[list[str], Positional()] = Field(default_factory=list, description="Words to keep.")


class Probe(Plugin):
    name = "probe"
    description = "Shows what a handler gets."
    version = "1.0.0"

    class Config(PluginConfig):
        greeting: str = "hello"

    @command("whoami")
    async def whoami(self, ctx):
        thread = ctx.thread.title if ctx.thread else "-"
        await ctx.reply(
            f"{ctx.config.greeting} {ctx.user.username} ({ctx.user.role}) in #{ctx.channel.name}/{thread}",
            payload={"message_id": ctx.message.id, "time_left": ctx.time_left, "job": ctx.job_id},
        )

    @command("remember", args=KeyValue)
    async def remember(self, ctx):
        await ctx.storage("thread").set(ctx.args.key, " ".join(ctx.args.value))
        count = await ctx.storage("plugin").get("count", 0)
        await ctx.storage("plugin").set("count", count + 1)
        await ctx.reply("ok")

    @command("recall", args=KeyValue)
    async def recall(self, ctx):
        await ctx.reply(str(await ctx.thread_store.get(ctx.args.key, "nothing")))

    @command("progress")
    async def progress(self, ctx):
        ctx.log.info("streaming", extra={"step": 1})
        for part in ("Thinking", "..."):
            await ctx.emit("llm_response", {"delta": part})
        await ctx.reply("done")

    @on_event("thread_created")
    async def new_thread(self, ctx):
        await ctx.reply(f"new thread {ctx.thread.title!r} by {ctx.user.username}")

    @on_event("bot_enabled", "bot_updated", "bot_disabled")
    async def status(self, ctx):
        await ctx.reply(f"{ctx.event} by {ctx.user.username}: greeting={ctx.config.greeting}")

    @on_event("message_edited")
    async def edited(self, ctx):
        await ctx.reply(f"edited to {ctx.message.body!r}")


def _told(trigger) -> str:
    match trigger:  # subclasses of MessageEvent first
        case CommandEvent(command=name, text=text):
            return f"command {name} {text!r}"
        case MentionEvent(text=text, user=user):
            return f"mention {text!r} by {user.username}"
        case MessageEvent(match=match, message=message):
            return f"message {match.group(1)} (message {message.id})"
        case EditEvent(message=message, user=user):
            return f"edit to {message.body!r} by {user.username}"
        case CustomEvent(name=name, user=user, data=data):
            return f"{name} by {user.username}: {data['thread']['title']}"
    return f"unknown {trigger!r}"


class Kinds(Plugin):
    """Says which typed event each handler got."""

    name = "kinds"

    @command("kind", aliases=["k"])
    async def kind(self, ctx):
        await ctx.reply(_told(ctx.trigger))

    @on_mention
    async def mentioned(self, ctx):
        await ctx.reply(_told(ctx.trigger))

    @on_message(pattern=r"^say (\w+)")
    async def said(self, ctx):
        await ctx.reply(_told(ctx.trigger))

    @on_event("message_edited", "thread_created")
    async def happened(self, ctx):
        await ctx.reply(_told(ctx.trigger))


class Faulty(Plugin):
    name = "faulty"

    @command("boom")
    async def boom(self, ctx):
        raise RuntimeError("kaboom")

    @command("hang")
    async def hang(self, ctx):
        await asyncio.sleep(3600)

    @command("flood")
    async def flood(self, ctx):
        for i in range(1000):
            await ctx.reply(f"line {i}")

    @command("ok")
    async def ok(self, ctx):
        await ctx.reply("fine")

    @command("essay")
    async def essay(self, ctx):
        await ctx.reply("".join(f"word{i} " for i in range(3000)))


async def test_a_handler_gets_its_context(testbot):
    bot = await testbot(Probe, config={"greeting": "hey"})
    [reply] = await bot.say("/whoami")
    assert reply.body == "hey alice (member) in #general/bot test"
    assert reply.plugin == "probe" and reply.author == "probe" and reply.thread_id == bot.thread["id"]
    assert 0 < reply.payload["time_left"] <= 5
    # the reply is a real message from the bot's own user, in the thread
    history = await bot.history()
    assert history[-1]["author"]["username"] == "probe" and history[-1]["author"]["is_bot"] is True
    assert history[-1]["kind"] == "bot" and history[-1]["client_msg_id"] == f"job:{reply.payload['job']}:1"
    admin_reply = await bot.say("/whoami", user=bot.admin)
    assert "admin (admin)" in admin_reply[0].body


async def test_a_reply_longer_than_the_message_limit_is_cut_with_a_marker(testbot):
    bot = await testbot(Faulty)
    [reply] = await bot.say("/essay")
    stored = (await bot.history())[-1]["body"]
    assert stored == reply.body and len(stored) == 4000  # VENN_MAX_MESSAGE_LENGTH's default
    assert stored.startswith("word0 word1 ") and stored.endswith("more characters cut]")
    kept = stored[: stored.rindex("\n\n[…")]
    told = int(stored.rsplit("[… ", 1)[1].split(" ")[0].replace(",", ""))
    assert len(kept) + told == len("".join(f"word{i} " for i in range(3000)).strip())


async def test_storage_is_scoped_and_kept(testbot):
    bot = await testbot(Probe)
    assert [r.body for r in await bot.say("/remember color deep blue")] == ["ok"]
    assert [r.body for r in await bot.say("/recall color")] == ["deep blue"]
    other = await bot.new_thread("other")
    await bot.enable("probe", thread_id=other["id"])
    assert [r.body for r in await bot.say("/recall color", thread_id=other["id"])] == ["nothing"]
    assert await bot.storage("probe", "plugin").get("count") == 1
    assert await bot.storage("probe").keys() == ["color"]


async def test_emit_sends_progress_events_to_the_thread(testbot, caplog):
    bot = await testbot(Probe)
    with caplog.at_level(logging.INFO, logger="venn.plugins.probe"):
        replies = await bot.say("/progress")
    assert [r.body for r in replies] == ["done"]
    events = bot.emitted("llm_response")
    assert [e["delta"] for e in events] == ["Thinking", "..."]
    assert all(e["thread_id"] == bot.thread["id"] and e["plugin"] == "probe" for e in events)
    record = next(r for r in caplog.records if r.getMessage() == "streaming")
    assert record.plugin == "probe" and len(record.job_id) == 32 and record.step == 1


async def test_plugins_cannot_emit_core_events(testbot):
    class Spoofer(Plugin):
        name = "spoofer"

        @command("spoof")
        async def spoof(self, ctx):
            await ctx.emit("new_message", {"message": {}})

    bot = await testbot(Spoofer, strict=False)
    replies = await bot.say("/spoof")
    assert "ran into an error" in replies[0].body
    assert isinstance(bot.jobs[-1].error, ValueError)


async def test_events_reach_their_handlers(testbot):
    bot = await testbot(Probe, config={"greeting": "yo"})
    # enabling posted a system message and ran the bot_enabled handler
    assert [m.body for m in bot.messages[:2]] == [
        "@admin enabled probe in this thread.",
        "bot_enabled by admin: greeting=yo",
    ]
    assert bot.messages[0].kind == "system" and bot.messages[0].payload["bot_status"]["enabled"] is True
    await bot.configure("probe", {"greeting": "hi"})
    assert bot.replies[-1].body == "bot_updated by admin: greeting=hi"
    message = (await bot.history())[0]
    replies = await bot.edit(bot.root["id"], "changed root")  # the root is in the channel stream
    assert replies == []
    reply_msg = await bot.services.messages.post(
        bot.alice, MessageCreateIn(channel_id=bot.channel["id"], body="first", thread_id=bot.thread["id"])
    )
    await bot.settle()
    replies = await bot.edit(reply_msg.message["id"], "second")
    assert [r.body for r in replies] == ["edited to 'second'"]
    await bot.disable("probe")
    assert bot.replies[-1].body == "bot_disabled by admin: greeting=hi"
    assert bot.messages[-2].body == "@admin disabled probe in this thread."
    assert await bot.say("/whoami") == []
    assert message["id"]


async def test_each_handler_gets_a_typed_event(testbot):
    bot = await testbot(Kinds, scope="channel")
    assert [r.body for r in await bot.say("/k a 'b c'")] == ["command k \"a 'b c'\""]
    assert [r.body for r in await bot.say("hey @kinds: what now")] == ["mention 'hey what now' by alice"]
    said = await post(bot, "say hello")
    await bot.settle()
    assert bot.replies[-1].body == f"message hello (message {said.message['id']})"
    assert [r.body for r in await bot.edit(said.message["id"], "say goodbye")] == ["edit to 'say goodbye' by alice"]
    await bot.new_thread("Q3")
    assert bot.replies[-1].body == "thread_created by alice: Q3"


async def test_channel_settings_apply_to_threads_unless_overridden(testbot):
    bot = await testbot(EchoPlugin, config={"prefix": "channel: "}, scope="channel")
    # in the channel's own stream the bot answers in the stream
    [reply] = await bot.say("in the stream", in_channel=True)
    assert reply.body == "channel: in the stream" and reply.thread_id is None
    # a thread inherits the channel's setting
    [reply] = await bot.say("in a thread")
    assert reply.body == "channel: in a thread" and reply.thread_id == bot.thread["id"]
    # a thread can have its own config...
    await bot.enable("echo", {"prefix": "thread: "})
    assert [r.body for r in await bot.say("again")] == ["thread: again"]
    # ...or switch the channel's bot off
    await bot.disable("echo")
    assert await bot.say("quiet please") == []
    bots = await bot.runtime.service.list(bot.admin, *bot._target("thread", None))
    assert [(b["plugin"], b["scope"], b["enabled"]) for b in bots] == [("echo", "thread", False)]
    # other threads still inherit
    other = await bot.new_thread("other")
    assert [r.body for r in await bot.say("hello", thread_id=other["id"])] == ["channel: hello"]
    # and the thread that opted out can opt back in
    await bot.enable("echo", {"prefix": "back: "})
    assert [r.body for r in await bot.say("hi")] == ["back: hi"]


async def test_thread_created_reaches_channel_plugins(testbot):
    bot = await testbot(Probe, scope="channel")
    thread = await bot.new_thread("Q3 revenue")
    assert bot.replies[-1].body == "new thread 'Q3 revenue' by alice"
    assert bot.replies[-1].thread_id == thread["id"]


async def test_a_handler_that_raises_is_answered_and_the_runtime_goes_on(testbot, caplog):
    bot = await testbot(Faulty, strict=False)
    with caplog.at_level(logging.ERROR, logger="venn.bots"):
        [reply] = await bot.say("/boom")
    job = bot.jobs[-1]
    assert job.outcome == "error" and isinstance(job.error, RuntimeError)
    assert reply.body == f"Sorry, faulty ran into an error. (job {job.job.id[:8]})"
    assert "kaboom" not in reply.body  # no internals in the thread
    record = next(r for r in caplog.records if "bot handler failed" in r.getMessage())
    assert record.job_id == job.job.id and record.plugin == "faulty" and record.handler == "boom"
    assert [r.body for r in await bot.say("/ok")] == ["fine"]
    assert bot.services.metrics.bot_jobs.labels(plugin="faulty", outcome="error")._value.get() == 1


async def test_strict_mode_fails_the_test_with_the_handlers_error(testbot):
    bot = await testbot(Faulty)
    with pytest.raises(BotJobFailed) as info:
        await bot.say("/boom")
    assert isinstance(info.value.__cause__, RuntimeError) and "kaboom" in str(info.value)


async def test_a_handler_that_hangs_is_stopped_at_its_timeout(testbot):
    bot = await testbot(Faulty, strict=False, handler_timeout=0.3)
    started = time.monotonic()
    [reply] = await bot.say("/hang")
    assert time.monotonic() - started < 3
    assert bot.jobs[-1].outcome == "timeout"
    assert reply.body.startswith("faulty took longer than 0.3 s and was stopped.")
    assert [r.body for r in await bot.say("/ok")] == ["fine"]


async def test_a_handler_that_floods_is_stopped(testbot):
    bot = await testbot(Faulty, strict=False)
    replies = await bot.say("/flood")
    assert len(replies) == Faulty.max_replies + 1
    assert replies[-1].body.startswith("faulty was stopped: faulty may post at most 20 replies per job")


class Gate(Plugin):
    """Handlers wait at a gate the test opens."""

    name = "gate"
    running = 0
    peak = 0
    started: asyncio.Event
    release: asyncio.Event

    async def setup(self, runtime):
        type(self).started = asyncio.Event()
        type(self).release = asyncio.Event()
        type(self).running = type(self).peak = 0

    @on_message
    async def wait(self, ctx):
        cls = type(self)
        cls.running += 1
        cls.peak = max(cls.peak, cls.running)
        cls.started.set()
        try:
            await cls.release.wait()
        finally:
            cls.running -= 1
        await ctx.reply(f"passed: {ctx.text}")


async def post(bot, text, thread_id=None):
    return await bot.services.messages.post(
        bot.alice, MessageCreateIn(channel_id=bot.channel["id"], body=text, thread_id=thread_id or bot.thread["id"])
    )


async def test_a_full_queue_is_answered_in_the_thread_not_dropped(testbot):
    bot = await testbot(Gate, strict=False, workers=1, queue_size=2)
    await post(bot, "one")
    await asyncio.wait_for(Gate.started.wait(), 5)  # the only worker is busy
    for text in ("two", "three", "four", "five"):
        await post(bot, text)
    await asyncio.sleep(0.1)
    busy = [m for m in bot.replies if "busy" in m.body]
    assert len(busy) == 1  # one notice, not one per refused message
    assert busy[0].body == "gate is busy: too many requests are waiting. Please try again in a moment."
    assert [j.outcome for j in bot.jobs] == ["overflow", "overflow"]
    Gate.release.set()
    await bot.settle()
    assert sorted(m.body for m in bot.replies if m.body.startswith("passed")) == [
        "passed: one", "passed: three", "passed: two",
    ]


async def test_posting_never_waits_for_bots(testbot):
    bot = await testbot(Gate)
    started = time.monotonic()
    await post(bot, "slow bot")
    await asyncio.wait_for(Gate.started.wait(), 5)
    await post(bot, "another")  # while the handler still runs
    assert time.monotonic() - started < 1
    Gate.release.set()
    await bot.settle()


async def test_a_plugins_concurrency_is_limited_and_other_plugins_go_on(testbot):
    class Slow(Gate):
        name = "slow"
        concurrency = 1

    bot = await testbot(Slow, EchoPlugin, workers=4)
    for i in range(3):
        await post(bot, f"m{i}")
    await asyncio.wait_for(Slow.started.wait(), 5)
    await asyncio.sleep(0.1)
    # echo answered all three while slow runs one handler at a time
    assert sorted(r.body for r in bot.replies if r.plugin == "echo") == ["m0", "m1", "m2"]
    assert Slow.running == 1
    Slow.release.set()
    await bot.settle()
    assert Slow.peak == 1 and len([r for r in bot.replies if r.plugin == "slow"]) == 3


class Parrot(Plugin):
    """Repeats everything, bots included."""

    name = "parrot"

    @on_message(bots=True)
    async def repeat(self, ctx):
        await ctx.reply(f"{self.name} heard {ctx.message.author.username}")


async def test_bots_do_not_see_bot_messages_unless_they_opt_in(testbot):
    bot = await testbot(EchoPlugin, Parrot)
    await bot.say("hello")
    # echo answered alice; parrot answered alice and echo, never itself; echo ignored parrot
    assert sorted(r.body for r in bot.replies) == ["hello", "parrot heard alice", "parrot heard echo"]


async def test_a_chain_of_bots_talking_to_each_other_stops(testbot):
    class Macaw(Parrot):
        name = "macaw"

    bot = await testbot(Parrot, Macaw)
    replies = await bot.say("hi birds")
    # each bot answers alice, then each other twice; then the chain is cut
    assert len(replies) == 6
    assert sum(1 for r in replies if r.body == "parrot heard macaw") == 2


async def test_a_redelivered_job_does_not_post_twice(testbot):
    bot = await testbot(Probe)
    message = (await post(bot, "/whoami")).message
    await bot.settle()
    job = Job(
        "f" * 32, "probe", "message", "new_message", bot.channel["id"], bot.thread["id"],
        message_id=message["id"], user_id=bot.alice.id,
    )
    for _ in range(2):
        await bot.runtime.worker.run(Delivery(job))
    await bot.settle()
    mine = [m for m in await bot.history() if m["client_msg_id"] == f"job:{'f' * 32}:1"]
    assert len(mine) == 1


async def test_a_plugin_that_fails_to_set_up_is_skipped(testbot):
    class Broken(Plugin):
        name = "broken"

        async def setup(self, runtime):
            raise ConnectionError("no warehouse")

    bot = await testbot(Broken, EchoPlugin, enable=False)
    assert sorted(bot.runtime.plugins) == ["echo"]
    [failure] = bot.runtime.failures
    assert "ConnectionError: no warehouse" in failure.error and "Broken" in failure.source
    await bot.enable("echo")
    assert [r.body for r in await bot.say("still here")] == ["still here"]
    with pytest.raises(Exception) as info:
        await bot.enable("broken")
    assert info.value.status == 422


async def test_an_invalid_stored_config_is_reported_in_the_thread(testbot):
    bot = await testbot(Probe, strict=False)
    await BotEnablement.filter(plugin="probe").update(config={"greeting": 42})
    [reply] = await bot.say("/whoami")
    assert reply.body == "probe's settings here are no longer valid; an admin needs to update them."
    assert bot.jobs[-1].outcome == "invalid_config"


async def test_command_help_and_bad_arguments_are_answered(testbot):
    bot = await testbot(Probe)
    [reply] = await bot.say("/remember --help")
    assert reply.body.startswith("Usage: /remember <key> [<value>...]")
    [reply] = await bot.say("/remember")
    assert reply.body == (
        "the following arguments are required: <key>\nUsage: /remember <key> [<value>...]\n"
        "(/remember --help explains it.)"
    )
    [reply] = await bot.say("/whoami --help")
    assert reply.body.startswith("Usage: /whoami")


async def test_a_job_that_keeps_failing_is_given_up(testbot):
    bot = await testbot(Probe, strict=False)
    message = (await post(bot, "/whoami")).message
    await bot.settle()
    job = Job(
        "e" * 32, "probe", "message", "new_message", bot.channel["id"], bot.thread["id"], message_id=message["id"]
    )
    await bot.runtime.worker.run(Delivery(job, attempt=bot.runtime.settings.max_attempts + 1))
    assert bot.jobs[-1].outcome == "gave_up"
    assert bot.replies[-1].body == f"probe gave up on this after 3 attempts. (job {'e' * 8})"


async def test_a_bot_enabled_in_a_channel_after_messages_wakes_on_the_next_one(testbot):
    """A single process remembers which channels have bots (so other messages cost no
    query); enabling a bot somewhere new must not be hidden by what it remembered."""
    from venn.schemas import ChannelCreateIn

    bot = await testbot(EchoPlugin, enable=False)
    services = bot.services
    other = await services.channels.create(bot.admin, ChannelCreateIn(name="other"))
    await services.channels.add_member(bot.admin, other["id"], bot.alice.id)

    async def say_in_other(text: str) -> list[str]:
        mark = len(bot.messages)
        await services.messages.post(bot.alice, MessageCreateIn(channel_id=other["id"], body=text))
        await bot.settle()
        return [m.body for m in bot.messages[mark:] if m.kind == "bot"]

    assert await bot.say("nobody listens", in_channel=True) == []
    assert await say_in_other("nobody here either") == []
    await bot.enable("echo", scope="channel")  # in "general"
    assert [r.body for r in await bot.say("now echo listens", in_channel=True)] == ["now echo listens"]
    assert await say_in_other("but not here") == []
    await bot.runtime.service.enable(bot.admin, *_channel_scope(other["id"]), "echo", {"prefix": "> "})
    await bot.settle()
    assert await say_in_other("and now here") == ["> and now here"]


def _channel_scope(channel_id: int):
    from venn_bots.models import BotScope

    return BotScope.CHANNEL, channel_id
