"""The remind plugin: set, list, cancel, and the reminder posted in the thread."""

from __future__ import annotations

import asyncio

from venn_plugins.remind import RemindPlugin


async def test_remind_posts_mention_in_thread_and_cancel_stops_one(testbot):
    bot = await testbot(RemindPlugin, schedule_tick=0.05)
    await bot.say("/remind in 1s stand up")
    await bot.say("/remind in 2 hours later thing")
    bodies = [m["body"] for m in await bot.history()]
    later = [b for b in bodies if b.startswith("Reminder #")][-1]
    await bot.say("/remind list")
    await bot.say("/remind cancel " + later.split("#")[1].split()[0])
    for _ in range(100):
        bodies = [m["body"] for m in await bot.history()]
        if any(b.endswith("stand up") and b.startswith("@") for b in bodies):
            break
        await asyncio.sleep(0.05)
    assert any(b.startswith("@") and b.endswith(" stand up") for b in bodies), bodies
    assert any("cancelled" in b for b in bodies)
    await bot.say("/remind bogus")
    assert "Usage" in (await bot.history())[-1]["body"]
