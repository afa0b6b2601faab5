"""Scheduled jobs: recurring @schedule handlers and one-off runs, over the real runtime."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from venn_bots import Context, Plugin, command, schedule
from venn_bots.models import BotSchedule


class Ticker(Plugin):
    name = "ticker"

    @schedule(cron="0 9 * * *")
    async def morning(self, ctx: Context) -> None:
        await ctx.reply("good morning")

    @command("later")
    async def later(self, ctx: Context) -> None:
        sid = await ctx.schedule_once(timedelta(seconds=0), {"text": ctx.text}, handler="fire")
        await ctx.reply(f"scheduled {sid}")

    @command("never")
    async def never(self, ctx: Context) -> None:
        sid = await ctx.schedule_once(timedelta(hours=1), {"text": ctx.text}, handler="fire")
        await ctx.reply(f"cancelled {await ctx.cancel_scheduled(sid)}")

    async def fire(self, ctx: Context) -> None:
        await ctx.reply(f"later: {ctx.data['text']}")


async def _texts(bot) -> list[str]:
    return [m["body"] for m in await bot.history()]


async def test_cron_fires_once_per_due_time_and_missed_firings_run_once(testbot):
    bot = await testbot(Ticker, schedule_tick=60)
    scheduler = bot.runtime.scheduler
    start = time.time()
    await scheduler.tick(now=start)  # makes the row, due at the next 09:00
    row = await BotSchedule.get(handler="morning")
    assert row.due_ms > start * 1000
    # every process was down for three days: one run, not three
    later = row.due_ms / 1000 + 3 * 86400 + 5
    assert await scheduler.tick(now=later) == 1
    assert await scheduler.tick(now=later) == 0
    await bot.settle()
    assert (await _texts(bot)).count("good morning") == 1
    assert (await BotSchedule.get(handler="morning")).due_ms > later * 1000


async def test_disabled_plugin_stops_its_schedule(testbot):
    bot = await testbot(Ticker, schedule_tick=60)
    scheduler = bot.runtime.scheduler
    await scheduler.tick(now=time.time())
    assert await BotSchedule.filter(handler="morning").count() == 1
    await bot.disable("ticker")
    await scheduler.tick(now=time.time() + 2 * 86400)
    await bot.settle()
    assert "good morning" not in await _texts(bot)
    assert await BotSchedule.filter(handler="morning").count() == 0


async def test_a_disable_stops_the_schedule_on_the_next_tick_and_a_missed_one_within_a_minute(testbot):
    bot = await testbot(Ticker, schedule_tick=60)
    scheduler = bot.runtime.scheduler
    start = time.time()
    await scheduler.tick(now=start)
    assert await BotSchedule.filter(handler="morning").count() == 1
    # disabling announces bot_status: the very next tick drops the row
    await bot.disable("ticker")
    await scheduler.tick(now=start + 1)
    assert await BotSchedule.filter(handler="morning").count() == 0
    # an enablement that changed without its event (lost while Redis was away) is
    # seen by the periodic resync, not before
    await bot.enable("ticker")
    await scheduler.tick(now=start + 2)
    assert await BotSchedule.filter(handler="morning").count() == 1
    from venn_bots.models import BotEnablement

    await BotEnablement.filter(plugin="ticker").update(enabled=False)
    await scheduler.tick(now=start + 3)
    assert await BotSchedule.filter(handler="morning").count() == 1
    await scheduler.tick(now=start + 3 + scheduler.resync_ms / 1000)
    assert await BotSchedule.filter(handler="morning").count() == 0


async def test_one_off_runs_once_and_cancel_stops_it(testbot):
    bot = await testbot(Ticker, schedule_tick=0.05)
    await bot.say("/later stand up")
    await bot.say("/never sit down")
    for _ in range(100):
        if "later: stand up" in await _texts(bot):
            break
        await asyncio.sleep(0.05)
    await bot.settle()
    texts = await _texts(bot)
    assert texts.count("later: stand up") == 1
    assert "cancelled True" in texts
    assert "later: sit down" not in texts
    assert await BotSchedule.filter(kind="once").count() == 0


async def test_two_schedulers_on_postgres_fire_each_run_once(testbot):
    """Two processes' schedulers look at the same due rows at once: each firing is claimed once."""
    from tests.helpers import require_postgres, reset_postgres
    from venn_bots.schedule import Scheduler

    url = require_postgres()
    await reset_postgres(url)
    bot = await testbot(Ticker, schedule_tick=60, database_url=url)
    jobs: list[str] = []

    async def collect(job) -> None:
        jobs.append(job.id)

    plugins = bot.runtime.plugins
    first, second = Scheduler(plugins, collect), Scheduler(plugins, collect)
    now = time.time()
    await first.tick(now=now)
    row = await BotSchedule.get(handler="morning")
    fire_at = row.due_ms / 1000 + 1
    await asyncio.gather(*(s.tick(now=fire_at) for s in (first, second, first, second)))
    assert len(jobs) == 1
