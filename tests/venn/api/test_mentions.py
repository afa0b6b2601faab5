"""Mentions: who a message names, mention counts beside unread counts, the mentions page."""

from __future__ import annotations

import pytest

from venn.services.mentions import parse


@pytest.mark.parametrize(
    "body, names, everyone, here",
    [
        ("hi @bob", {"bob"}, False, False),
        ("@Bob: look", {"bob"}, False, False),
        ("thanks @bob.", {"bob"}, False, False),
        ("@bob-, @carol_2 and (@dave)", {"bob", "carol_2", "dave"}, False, False),
        ("write to bob@example.com or a@bob.com", set(), False, False),
        ("`@bob` is how you name him", set(), False, False),
        ("``code with ` and @bob``", set(), False, False),
        ("```\n@bob in a fence\n```\nafter @carol", {"carol"}, False, False),
        ("~~~py\n@bob\n~~~", set(), False, False),
        ("```\nunclosed @bob", set(), False, False),
        ("@al is too short, @" + "x" * 33 + " too long", set(), False, False),
        ("@channel deploy now", set(), True, False),
        ("**@here** anyone?", set(), False, True),
    ],
)
def test_parsing(body, names, everyone, here):
    named = parse(body)
    assert named.usernames == names and named.channel is everyone and named.here is here


async def mentions_of(client, person, **params) -> dict:
    resp = await client.get("/api/v1/mentions", params=params, headers=person.headers)
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def channel_counts(client, person) -> dict[int, tuple[int, int]]:
    resp = await client.get("/api/v1/channels", headers=person.headers)
    return {c["id"]: (c["unread_count"], c["mention_count"]) for c in (await resp.json())["channels"]}


async def test_a_mention_names_the_user_who_sees_it(client, chat):
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob])
    message = await chat.post(alice, channel["id"], "hey @BOB and @carol, mail alice@bob.com; @nobody @alice")
    # carol is not a member, but the channel is public: she can read it
    assert message["mentions"] == sorted([bob.id, carol.id])
    fetched = await client.get(f"/api/v1/messages/{message['id']}", headers=bob.headers)
    assert (await fetched.json())["message"]["mentions"] == sorted([bob.id, carol.id])
    history = await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=bob.headers)
    assert (await history.json())["messages"][0]["mentions"] == sorted([bob.id, carol.id])
    # the page lists it for bob (a member); carol is not a member of the channel
    assert [m["id"] for m in (await mentions_of(client, bob))["messages"]] == [message["id"]]
    assert (await mentions_of(client, carol))["messages"] == []
    assert (await mentions_of(client, alice))["messages"] == []


async def test_private_channel_non_member_is_not_mentioned(client, chat):
    alice, bob, eve = await chat.user("alice"), await chat.user("bob"), await chat.user("eve")
    secret = await chat.channel(alice, "secret", private=True, members=[bob])
    message = await chat.post(alice, secret["id"], "@eve @bob see this")
    assert message["mentions"] == [bob.id]
    assert (await mentions_of(client, eve))["messages"] == []


async def test_channel_and_here(client, chat, online):
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    outsider = await chat.user("dora")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    everyone = await chat.post(alice, channel["id"], "@channel standup")
    assert everyone["mentions"] == sorted([bob.id, carol.id])  # not the author, not a non-member
    assert outsider.id not in everyone["mentions"]
    nobody_online = await chat.post(alice, channel["id"], "@here anyone?")
    assert nobody_online["mentions"] == []
    await online(bob)
    here = await chat.post(alice, channel["id"], "@here anyone now?")
    assert here["mentions"] == [bob.id]


@pytest.fixture
async def online(client):
    """``await online(person)``: a connected socket makes the person online (for @here)."""
    from tests.venn.realtime.kit import Sock

    opened: list[Sock] = []

    async def connect(person):
        sock = await Sock(str(client.make_url("/")), person).connect()
        opened.append(sock)
        return sock

    yield connect
    for sock in opened:
        await sock.close()


async def test_mention_count_and_read_marker(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    other = await chat.channel(alice, "other", members=[bob])
    first = await chat.post(alice, channel["id"], "@bob one")
    await chat.post(alice, channel["id"], "no mention")
    second = await chat.post(alice, channel["id"], "@bob two")
    root = await chat.post(alice, other["id"], "root")
    thread = await chat.thread(alice, other["id"], root["id"])
    reply = await chat.post(alice, other["id"], "@bob in a thread", thread_id=thread["id"])
    assert reply["mentions"] == [bob.id]
    counts = await channel_counts(client, bob)
    assert counts[channel["id"]] == (3, 2)
    assert counts[other["id"]] == (1, 0)  # like unread_count: the channel's stream only
    assert (await channel_counts(client, alice))[channel["id"]] == (0, 0)

    resp = await client.post(f"/api/v1/channels/{channel['id']}/read", json={"message_id": first["id"]},
                             headers=bob.headers)
    assert (await resp.json())["mention_count"] == 1
    resp = await client.get(f"/api/v1/channels/{channel['id']}", headers=bob.headers)
    assert (await resp.json())["channel"]["mention_count"] == 1
    await client.post(f"/api/v1/channels/{channel['id']}/read", json={"message_id": second["id"]},
                      headers=bob.headers)
    assert (await channel_counts(client, bob))[channel["id"]] == (0, 0)
    # the mentions page still lists them (read or not), the thread reply too
    page = await mentions_of(client, bob)
    assert [m["id"] for m in page["messages"]] == [reply["id"], second["id"], first["id"]]


async def test_paging_and_leaving(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    left = await chat.channel(alice, "left", members=[bob])
    ids = [(await chat.post(alice, channel["id"], f"@bob m{i}"))["id"] for i in range(5)]
    await chat.post(alice, left["id"], "@bob in a channel bob leaves")
    await client.post(f"/api/v1/channels/{left['id']}/leave", headers=bob.headers)

    page = await mentions_of(client, bob, limit=2)
    assert [m["id"] for m in page["messages"]] == ids[:2:-1] and page["has_more"] is True
    page = await mentions_of(client, bob, limit=2, before=page["messages"][-1]["id"])
    assert [m["id"] for m in page["messages"]] == ids[2:0:-1] and page["has_more"] is True
    page = await mentions_of(client, bob, limit=2, before=page["messages"][-1]["id"])
    assert [m["id"] for m in page["messages"]] == ids[:1] and page["has_more"] is False

    for params in ({"limit": "0"}, {"limit": "201"}, {"limit": "x"}, {"before": "-1"}):
        resp = await client.get("/api/v1/mentions", params=params, headers=bob.headers)
        assert resp.status == 422, params
        assert (await resp.json())["error"]["code"]
    resp = await client.get("/api/v1/mentions")
    assert resp.status == 401


async def test_edit_re_resolves_and_delete_drops(client, chat):
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    message = await chat.post(alice, channel["id"], "hi @bob")
    resp = await client.patch(f"/api/v1/messages/{message['id']}", json={"body": "hi @carol (not `@bob`)"},
                              headers=alice.headers)
    assert (await resp.json())["message"]["mentions"] == [carol.id]
    assert (await mentions_of(client, bob))["messages"] == []
    assert [m["id"] for m in (await mentions_of(client, carol))["messages"]] == [message["id"]]
    assert (await channel_counts(client, bob))[channel["id"]] == (1, 0)
    assert (await channel_counts(client, carol))[channel["id"]] == (1, 1)

    resp = await client.delete(f"/api/v1/messages/{message['id']}", headers=alice.headers)
    assert (await resp.json())["message"]["mentions"] == []
    assert (await mentions_of(client, carol))["messages"] == []
    assert (await channel_counts(client, carol))[channel["id"]] == (0, 0)


async def test_batched_posts_keep_their_own_mentions(client, chat):
    import asyncio

    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(alice, "general", members=[bob, carol])
    bodies = [f"@bob {i}" if i % 2 else f"@carol {i}" for i in range(12)]
    posted = await asyncio.gather(*[chat.post(alice, channel["id"], body) for body in bodies])
    for body, message in zip(bodies, posted, strict=True):
        assert message["mentions"] == ([bob.id] if body.startswith("@bob") else [carol.id])
    assert len((await mentions_of(client, bob))["messages"]) == 6
    assert len((await mentions_of(client, carol))["messages"]) == 6


async def test_a_retry_mentions_once(client, chat):
    import asyncio

    alice, bob = await chat.user("alice"), await chat.user("bob")
    channel = await chat.channel(alice, "general", members=[bob])
    body = {"channel_id": channel["id"], "body": "@bob once", "client_msg_id": "once-1"}
    # retries racing other posts: some groups hold a used client_msg_id and are written one by one
    answers = await asyncio.gather(
        *[client.post("/api/v1/messages", json=body, headers=alice.headers) for _ in range(4)],
        *[chat.post(alice, channel["id"], f"@bob other {i}") for i in range(4)],
    )
    firsts = [await r.json() for r in answers[:4]]
    assert len({a["message"]["id"] for a in firsts}) == 1
    assert all(a["message"]["mentions"] == [bob.id] for a in firsts)
    page = await mentions_of(client, bob)
    assert len(page["messages"]) == 5
    assert (await channel_counts(client, bob))[channel["id"]] == (5, 5)
