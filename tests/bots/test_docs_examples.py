"""The worked examples of docs/plugins.md run as written: the ``@on_action`` handler that
updates the clicked message, and the scheduled jobs (cron, every, one-off)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from venn.db.models import Message
from venn_bots.models import BotSchedule

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


def example(heading: str) -> dict[str, Any]:
    """The names the first Python block after ``heading`` in docs/plugins.md defines."""
    text = DOC.read_text()
    start = text.index("\n" + heading)
    found = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert found, f"no Python example under {heading!r}"
    names: dict[str, Any] = {"__name__": "docs_plugins_example"}
    # the docs' own code, run as a reader would paste it
    exec(compile(found.group(1), f"{DOC.name}: {heading}", "exec"), names)
    return names


async def test_the_action_example_updates_the_clicked_message(testbot):
    bot = await testbot(example("### Interactive messages")["Lunch"])
    [asked] = await bot.say("/lunch")
    assert asked.body == "Where?" and [a["type"] for a in asked.payload["actions"]] == ["button", "select"]
    for value in ("pizza", "sushi"):  # the button, then the select's option
        await bot.services.actions.click(bot.alice, asked.id, "go", value)
        await bot.settle()
        message = await Message.get(id=asked.id)
        assert message.body == f"{bot.alice.display_name} picked {value}." and message.edited_at is None
        assert message.payload == asked.payload  # only the text was given: the buttons stay


async def test_the_schedule_example_runs_its_jobs(testbot):
    bot = await testbot(example("## Scheduled jobs")["Standup"], schedule_tick=60)
    [answer] = await bot.say("/later water the plants")
    assert re.fullmatch(r"Will do \(#\d+\)\.", answer.body), answer.body
    scheduler = bot.runtime.scheduler
    now = time.time()
    await scheduler.tick(now=now)  # the recurring rows exist now; nothing is due yet
    assert {r.handler for r in await BotSchedule.all()} == {"morning", "hourly", "fire"}
    assert await scheduler.tick(now=now + 11 * 60) == 1  # ten minutes later: the one-off run
    await bot.settle()
    assert [m["body"] for m in await bot.history()][-1] == "water the plants"
    morning = await BotSchedule.get(handler="morning")
    assert time.gmtime(morning.due_ms / 1000)[3:5] == (9, 0) and time.gmtime(morning.due_ms / 1000).tm_wday < 5
    await scheduler.tick(now=morning.due_ms / 1000 + 1)  # 09:00 on a weekday (and "hourly", which says nothing)
    await bot.settle()
    assert [m["body"] for m in await bot.history()].count("Stand-up time!") == 1
