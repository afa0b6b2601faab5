"""Scheduled jobs over two real ``venn serve`` processes sharing PostgreSQL and Redis:
both run the scheduler, yet each due time fires once and its message appears once.

A recurring ``@schedule(every=...)`` comes from a small plugin package written here
(a ``dist-info`` with its entry point, put on the servers' path); the one-off run is the
bundled ``remind`` plugin's ``/remind in 2s``.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from itertools import pairwise
from pathlib import Path

import aiohttp
import pytest

from tests.bots.test_scaleout import ROOT, Api, cluster, log_lines, wait_until  # noqa: F401  (cluster: a fixture)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

#: seconds between a recurring schedule's due times, and between two looks of each scheduler
EVERY, TICK = 1, "0.05"
#: where the recurring schedule runs: the channel's stream and threads
PLACES = 10
REMINDERS = ("stand up", "stretch", "drink water")

TICKER = """
import os

from venn_bots import Plugin, schedule


class TickerPlugin(Plugin):
    name = "ticker"
    description = "Says tick every second (a test plugin)."

    @schedule(every=EVERY)
    async def tick(self, ctx):
        with open(os.environ["VENN_TEST_TICK_LOG"], "a") as fh:
            fh.write(f"{ctx.job_id} {os.getpid()}\\n")
        await ctx.reply(f"tick {ctx.job_id}")
""".replace("EVERY", str(EVERY))


@pytest.fixture(scope="module")
def ticker_site(tmp_path_factory) -> Path:
    """A directory holding the ticker plugin as an installed distribution would."""
    site = tmp_path_factory.mktemp("ticker")
    (site / "venn_test_ticker.py").write_text(TICKER)
    info = site / "venn_test_ticker-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: venn-test-ticker\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[venn.plugins]\nticker = venn_test_ticker:TickerPlugin\n")
    return site


async def test_a_recurring_schedule_fires_once_per_due_time(cluster, ticker_site, tiny_site, tmp_path):  # noqa: F811
    tick_log = tmp_path / "ticks.log"
    env = {
        "PYTHONPATH": os.pathsep.join([str(ticker_site), str(tiny_site), str(ROOT)]),
        "VENN_BOT_SCHEDULE_TICK": TICK,
        "VENN_TEST_TICK_LOG": str(tick_log),
    }
    a, b = await asyncio.gather(cluster("a", **env), cluster("b", **env))
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, thread_id = await api.arrange(a)
        # several places, so that both schedulers often find the same rows due at once
        threads = [thread_id]
        for i in range(PLACES - 2):
            root = await api.post(b, channel_id, f"topic {i}")
            made = await api.call(
                b, "POST", "/api/v1/threads", "alice", json={"channel_id": channel_id, "root_message_id": root["id"]}
            )
            threads.append(made["thread"]["id"])
        places = [f"/api/v1/channels/{channel_id}/bots"] + [f"/api/v1/threads/{t}/bots" for t in threads]
        for i, place in enumerate(places):
            await api.call(a if i % 2 else b, "POST", place, "boss", json={"plugin": "ticker"})

        async def replies() -> list[str]:
            found = await api.bot_messages(a, channel_id)
            for t in threads:
                found += await api.bot_messages(a, channel_id, t)
            return [m["body"] for m in found]

        async def ticked_four_times_each():
            return len(await replies()) >= 4 * PLACES

        await wait_until(ticked_four_times_each)
        for i, place in enumerate(places):
            await api.call(b if i % 2 else a, "DELETE", place + "/ticker", "boss")
        await asyncio.sleep(1.0)  # a firing claimed before the disable is skipped; no late duplicate shows up
        posted = await replies()
    fired = [job for job, pid in log_lines(tick_log)]
    assert Counter(fired).most_common(1)[0][1] == 1, fired  # no firing ran twice
    assert sorted(posted) == sorted(f"tick {job}" for job in fired)  # one message per firing
    # the job id is sched-<row>-<due ms>: one row per place, its due times a whole interval apart
    due: dict[str, list[int]] = {}
    for job in fired:
        due.setdefault(job.split("-")[1], []).append(int(job.split("-")[2]))
    assert len(due) == PLACES
    for times in due.values():
        assert all(later - earlier >= EVERY * 1000 for earlier, later in pairwise(sorted(times))), times
    assert {pid for _, pid in log_lines(tick_log)} <= {str(a.proc.pid), str(b.proc.pid)}


async def test_a_reminder_is_posted_once_by_one_of_two_processes(cluster):  # noqa: F811
    a, b = await asyncio.gather(*(cluster(name, VENN_BOT_SCHEDULE_TICK=TICK) for name in "ab"))
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, thread_id = await api.arrange(a)
        await api.call(a, "POST", f"/api/v1/threads/{thread_id}/bots", "boss", json={"plugin": "remind"})
        for i, text in enumerate(REMINDERS):
            await api.post(a if i % 2 else b, channel_id, f"/remind in 2s {text}", thread_id)
        wanted = [f"@alice {text}" for text in REMINDERS]

        async def reminded():
            bodies = [m["body"] for m in await api.bot_messages(a, channel_id, thread_id)]
            return set(wanted) <= set(bodies)

        await wait_until(reminded)
        await asyncio.sleep(1.0)  # both schedulers looked many times since: a duplicate would be here
        bodies = [m["body"] for m in await api.bot_messages(b, channel_id, thread_id)]
    assert sorted(x for x in bodies if x.startswith("@alice")) == sorted(wanted), bodies
    assert len([x for x in bodies if x.startswith("Reminder #")]) == len(REMINDERS), bodies
