"""Poll clicks against two real ``venn serve`` processes sharing PostgreSQL and Redis:
alice clicks over REST on one, bob over the socket (``message_action``, acked) on the
other; each vote counts once, alice's second click moves hers, and both people's
sockets end on the final tally."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.bots.test_scaleout import Api, cluster, wait_until  # noqa: F401  (cluster: a fixture)
from tests.venn.realtime.kit import Sock, quiet

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def tally(body: str) -> list[str]:
    """The poll's per-option lines, as people read them."""
    return [line for line in body.splitlines() if line.startswith("- ")]


async def test_votes_from_two_processes_count_once_and_both_sockets_see_the_final_tally(cluster):  # noqa: F811
    a, b = await asyncio.gather(cluster("a"), cluster("b"))
    async with aiohttp.ClientSession() as http:
        api = Api(http, cluster.database_url)
        channel_id, _ = await api.arrange(a)
        await api.user(b, "bob")
        await api.call(b, "POST", f"/api/v1/channels/{channel_id}/join", "bob")
        await api.call(a, "POST", f"/api/v1/channels/{channel_id}/bots", "boss", json={"plugin": "poll"})
        await api.post(b, channel_id, '/poll "Lunch?" pizza sushi')

        async def the_poll():
            return [m for m in await api.bot_messages(a, channel_id) if m["payload"].get("actions")]

        [poll] = await wait_until(the_poll)
        assert tally(poll["body"]) == ["- pizza: 0 votes", "- sushi: 0 votes"]
        alice_sock = await Sock(a.url).connect(api.tokens["alice"])
        bob_sock = await Sock(b.url).connect(api.tokens["bob"])
        try:
            for sock in (alice_sock, bob_sock):
                await sock.ok("join_channel", {"channel_id": channel_id})
            path = f"/api/v1/messages/{poll['id']}/actions"

            # at once: alice over REST on a, bob over the socket on b
            clicked, answer = await asyncio.gather(
                api.call(a, "POST", path, "alice", json={"action_id": "vote", "value": "0"}),
                bob_sock.call("message_action", {"message_id": poll["id"], "action_id": "vote", "value": "1"}),
            )
            assert clicked["accepted"] is True and clicked["job_id"]
            assert answer["ok"] is True and answer["accepted"] is True and answer["job_id"], answer
            both = ["- pizza: 1 vote", "- sushi: 1 vote"]
            for sock in (alice_sock, bob_sock):
                await sock.wait("message_updated", lambda d: tally(d["message"]["body"]) == both, timeout=15)

            # alice changes her mind: her vote moves, it is not a third one
            await api.call(a, "POST", path, "alice", json={"action_id": "vote", "value": "1"})
            final = ["- pizza: 0 votes", "- sushi: 2 votes"]
            for sock in (alice_sock, bob_sock):
                await sock.wait("message_updated", lambda d: tally(d["message"]["body"]) == final, timeout=15)
            await quiet(1.0)  # a stale tally shown later would be the last event
            for sock in (alice_sock, bob_sock):
                updates = sock.of("message_updated", lambda d: d["message"]["id"] == poll["id"])
                last = updates[-1]["message"]
                assert tally(last["body"]) == final and "2 votes ·" in last["body"]
                assert [x["label"] for x in last["payload"]["actions"]] == ["pizza (0)", "sushi (2)"]
            shown = (await api.call(b, "GET", f"/api/v1/messages/{poll['id']}", "bob"))["message"]
            assert tally(shown["body"]) == final and shown["edited_at"] is None
        finally:
            await alice_sock.close()
            await bob_sock.close()
