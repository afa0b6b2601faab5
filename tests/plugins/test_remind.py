"""The remind plugin: set, list, cancel, the reminder posted in the thread, and a
reminder kept across a restart of a real `venn serve`."""

from __future__ import annotations

import asyncio

from tests.helpers import wait_for
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


async def test_a_reminder_set_before_a_restart_is_posted_after_it(tmp_path):
    """``/remind in 4s`` over a real ``venn serve``, which is stopped before the time
    comes and started again: the stored reminder is posted by the new process."""
    from tests.reliability.kit import Rest, VennProcess, base_env, fetch_rows

    env = base_env(tmp_path, VENN_BOT_SCHEDULE_TICK="0.2", VENN_BOT_CHANNEL_OWNERS_CAN_ENABLE="true")
    server = VennProcess(env, tmp_path / "venn.log").start()
    rest = Rest(server.url)
    try:
        await server.ready()
        alice = await rest.user("alice")
        channel = await rest.channel(alice)
        status, body = await rest.request("POST", "/api/v1/messages", alice["token"],
                                          json={"channel_id": channel["id"], "body": "stand-up"})
        assert status == 201, body
        status, body = await rest.request("POST", "/api/v1/threads", alice["token"],
                                          json={"channel_id": channel["id"], "root_message_id": body["message"]["id"]})
        assert status == 201, body
        thread_id = body["thread"]["id"]
        status, body = await rest.request("POST", f"/api/v1/threads/{thread_id}/bots", alice["token"],
                                          json={"plugin": "remind"})
        assert status == 201, body

        async def bodies() -> list[str]:
            status, page = await rest.request("GET", f"/api/v1/threads/{thread_id}/messages?limit=50", alice["token"])
            assert status == 200, page
            return [m["body"] for m in page["messages"]]

        status, body = await rest.request("POST", "/api/v1/messages", alice["token"],
                                          json={"channel_id": channel["id"], "thread_id": thread_id,
                                                "body": "/remind in 4s stand up"})
        assert status == 201, body
        await wait_for(lambda: _any_starting(bodies(), "Reminder #"), timeout=20, interval=0.1)
        server.stop()
        # down before the time came: the reminder waits in the database
        rows = await fetch_rows(f"sqlite:///{tmp_path / 'data' / 'venn.db'}", "SELECT kind FROM bot_schedules")
        assert rows == [("once",)]
        server.start()
        await server.ready()
        await wait_for(lambda: _any_starting(bodies(), "@alice stand up"), timeout=20, interval=0.1)
        assert (await bodies()).count("@alice stand up") == 1
    finally:
        await rest.close()
        server.stop()
    assert "Traceback" not in server.log()


async def _any_starting(bodies, prefix: str) -> bool:
    return any(b.startswith(prefix) for b in await bodies)

