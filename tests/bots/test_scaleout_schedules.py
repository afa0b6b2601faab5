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
EVERY, TICK = 1, "0.1"

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
        channel_id, _ = await api.arrange(a)
        await api.call(b, "POST", f"/api/v1/channels/{channel_id}/bots", "boss", json={"plugin": "ticker"})

        async def ticked_thrice():
            return len(await api.bot_messages(a, channel_id)) >= 3

        await wait_until(ticked_thrice)
        await api.call(a, "DELETE", f"/api/v1/channels/{channel_id}/bots/ticker", "boss")
        await asyncio.sleep(1.0)  # a firing claimed before the disable is skipped; no late duplicate shows up
        replies = [m["body"] for m in await api.bot_messages(b, channel_id)]
    fired = [line[0] for line in log_lines(tick_log)]
    assert Counter(fired).most_common(1)[0][1] == 1, fired  # no firing ran twice
    assert sorted(replies) == sorted(f"tick {job}" for job in fired)  # one message per firing
    # the job id is sched-<row>-<due ms>: one row, due times a whole interval apart
    rows = {job.split("-")[1] for job in fired}
    due = sorted(int(job.split("-")[2]) for job in fired)
    assert len(rows) == 1 and all(later - earlier >= EVERY * 1000 for earlier, later in pairwise(due)), due
    assert {pid for _, pid in log_lines(tick_log)} <= {str(a.proc.pid), str(b.proc.pid)}


async def test_a_reminder_is_posted_once_by_one_of_two_processes(cluster):  # noqa: F811
    a, b = await asyncio.gather(*(cluster(name, VENN_BOT_SCHEDULE_TICK=TICK) for name in "ab"))
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, thread_id = await api.arrange(a)
        await api.call(a, "POST", f"/api/v1/threads/{thread_id}/bots", "boss", json={"plugin": "remind"})
        await api.post(b, channel_id, "/remind in 2s stand up", thread_id)

        async def reminded():
            bodies = [m["body"] for m in await api.bot_messages(a, channel_id, thread_id)]
            return bodies if "@alice stand up" in bodies else None

        await wait_until(reminded)
        await asyncio.sleep(1.0)  # both schedulers looked many times since: a duplicate would be here
        bodies = [m["body"] for m in await api.bot_messages(b, channel_id, thread_id)]
    assert bodies.count("@alice stand up") == 1, bodies
    assert [x for x in bodies if x.startswith("Reminder #")] and len(bodies) == 2, bodies
