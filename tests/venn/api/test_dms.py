"""Direct messages: one conversation per set of people, fixed members, private to them;
messages, threads, read markers and sync work there as in channels. And people search."""

from __future__ import annotations

import asyncio

import pytest

from tests.helpers import Chat, Person


async def open_dm(client, person: Person, *others: Person, expect: int = 201) -> dict:
    resp = await client.post("/api/v1/dms", json={"user_ids": [o.id for o in others]}, headers=person.headers)
    assert resp.status == expect, await resp.text()
    return (await resp.json())["channel"]


async def my_channels(client, person: Person, query: str = "") -> list[dict]:
    resp = await client.get("/api/v1/channels" + query, headers=person.headers)
    assert resp.status == 200
    return (await resp.json())["channels"]


async def test_a_dm_is_made_once_and_listed_with_the_other_members(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    await client.patch("/api/v1/users/me", json={"display_name": "Bob B."}, headers=bob.headers)
    dm = await open_dm(client, alice, bob)
    assert dm["kind"] == "dm" and dm["is_private"] and dm["member_count"] == 2
    assert [(m["id"], m["display_name"]) for m in dm["members"]] == [(bob.id, "Bob B.")]
    # the same two people, from either side: the same conversation (200)
    assert (await open_dm(client, alice, bob, expect=200))["id"] == dm["id"]
    again = await open_dm(client, bob, alice, expect=200)
    assert again["id"] == dm["id"] and [m["id"] for m in again["members"]] == [alice.id]

    public = await chat.channel(alice, "general")
    assert public["kind"] == "public"
    assert (await chat.channel(alice, "secret", private=True))["kind"] == "private"
    listed = {c["id"]: c for c in await my_channels(client, alice)}
    assert listed[dm["id"]]["kind"] == "dm" and [m["username"] for m in listed[dm["id"]]["members"]] == ["bob"]
    assert "members" not in listed[public["id"]]
    assert [c["id"] for c in await my_channels(client, bob)] == [dm["id"]]
    # nobody browses into a conversation
    browse = await my_channels(client, await chat.user("carol"), "?all=1")
    assert [c["name"] for c in browse] == ["general"]


async def test_a_group_dm_is_one_per_set_of_people(client, chat):
    alice, bob, carol, dave = [await chat.user(n) for n in ("alice", "bob", "carol", "dave")]
    group = await open_dm(client, alice, bob, carol)
    assert group["kind"] == "group_dm" and group["member_count"] == 3
    assert sorted(m["username"] for m in group["members"]) == ["bob", "carol"]
    assert (await open_dm(client, carol, bob, alice, expect=200))["id"] == group["id"]
    pair = await open_dm(client, alice, bob)
    bigger = await open_dm(client, alice, bob, carol, dave)
    assert len({group["id"], pair["id"], bigger["id"]}) == 3


async def test_racing_creations_end_with_one_conversation(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    answers = await asyncio.gather(
        *[client.post("/api/v1/dms", json={"user_ids": [bob.id]}, headers=alice.headers) for _ in range(4)],
        *[client.post("/api/v1/dms", json={"user_ids": [alice.id]}, headers=bob.headers) for _ in range(4)],
    )
    statuses = sorted(r.status for r in answers)
    ids = {(await r.json())["channel"]["id"] for r in answers}
    assert len(ids) == 1 and statuses.count(201) == 1 and statuses.count(200) == 7
    assert len(await my_channels(client, alice)) == 1


async def test_refused_lists_say_what_is_wrong(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    from venn.db.models import User

    await User.filter(id=bob.id).update(is_bot=True)
    carol, dave = await chat.user("carol"), await chat.user("dave")
    await User.filter(id=dave.id).update(deactivated=True)
    cases = [
        ([dave.id], "deactivated: dave"),
        ([alice.id], "you are in every conversation"),
        ([carol.id, carol.id], f"listed more than once: {carol.id}"),
        ([carol.id, 999999], "no such user: 999999"),
        ([bob.id], "bots take no direct messages: bob"),
    ]
    for ids, text in cases:
        resp = await client.post("/api/v1/dms", json={"user_ids": ids}, headers=alice.headers)
        assert resp.status == 422
        error = (await resp.json())["error"]
        assert error["code"] == "validation_error"
        assert any(text in f["message"] for f in error["fields"]), error
    for body in ({}, {"user_ids": []}, {"user_ids": list(range(1, 10))}, {"user_ids": ["2"]}, {"user_ids": [0]},
                 {"user_ids": [carol.id], "name": "x"}):
        resp = await client.post("/api/v1/dms", json=body, headers=alice.headers)
        assert resp.status == 422, body
        assert (await resp.json())["error"]["fields"]
    assert await my_channels(client, alice) == []


async def test_messages_threads_unread_and_sync_work_in_a_dm(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    dm = await open_dm(client, alice, bob)
    first = await chat.post(alice, dm["id"], "hi bob")
    await chat.post(alice, dm["id"], "are you there?")
    thread = await chat.thread(bob, dm["id"], first["id"])
    reply = await chat.post(bob, dm["id"], "in a thread", thread_id=thread["id"])
    [listed] = await my_channels(client, bob)
    assert listed["unread_count"] == 2
    resp = await client.post(f"/api/v1/channels/{dm['id']}/read", json={"message_id": first["id"]},
                             headers=bob.headers)
    assert resp.status == 200 and (await resp.json())["unread_count"] == 1
    resp = await client.patch(f"/api/v1/messages/{first['id']}", json={"body": "hi Bob"}, headers=alice.headers)
    assert resp.status == 200
    resp = await client.get(f"/api/v1/messages/channel/{dm['id']}", headers=bob.headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["hi Bob", "are you there?"]
    resp = await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=alice.headers)
    assert [m["id"] for m in (await resp.json())["messages"]] == [reply["id"]]
    resp = await client.get(f"/api/v1/channels/{dm['id']}", headers=bob.headers)
    channel = (await resp.json())["channel"]
    assert channel["kind"] == "dm" and [m["id"] for m in channel["members"]] == [alice.id]
    resp = await client.get(f"/api/v1/channels/{dm['id']}/members", headers=bob.headers)
    assert sorted(m["username"] for m in (await resp.json())["members"]) == ["alice", "bob"]


async def test_members_are_fixed(client, chat):
    alice, bob, carol = await chat.user("alice"), await chat.user("bob"), await chat.user("carol")
    dm = await open_dm(client, alice, bob)
    for path, body in ((f"/api/v1/channels/{dm['id']}/join", None), (f"/api/v1/channels/{dm['id']}/leave", None),
                       (f"/api/v1/channels/{dm['id']}/members", {"user_id": carol.id}),
                       (f"/api/v1/channels/{dm['id']}/webhooks", {"name": "A hook"})):  # its bot would join
        resp = await client.post(path, json=body, headers=alice.headers)
        assert resp.status == 403, path
        assert (await resp.json())["error"]["code"] == "dm_members_fixed"
    assert [c["member_count"] for c in await my_channels(client, alice)] == [2]


async def test_outsiders_admins_and_bots_cannot_see_a_dm(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    admin = await chat.user("root", admin=True)
    robot = await chat.user("robot")
    from venn.db.models import User

    await User.filter(id=robot.id).update(is_bot=True)
    dm = await open_dm(client, alice, bob)
    message = await chat.post(alice, dm["id"], "just us")
    thread = await chat.thread(alice, dm["id"], message["id"])
    cid = dm["id"]
    for outsider in (admin, robot, await chat.user("eve")):
        for path in (f"/api/v1/channels/{cid}", f"/api/v1/channels/{cid}/members", f"/api/v1/messages/channel/{cid}",
                     f"/api/v1/messages/{message['id']}", f"/api/v1/threads/{thread['id']}",
                     f"/api/v1/threads/{thread['id']}/messages"):
            resp = await client.get(path, headers=outsider.headers)
            assert resp.status == 404, (outsider.username, path)
        for path, body in ((f"/api/v1/channels/{cid}/join", None), (f"/api/v1/channels/{cid}/leave", None),
                           (f"/api/v1/channels/{cid}/members", {"user_id": outsider.id}),
                           ("/api/v1/messages", {"channel_id": cid, "body": "let me in"}),
                           ("/api/v1/threads", {"channel_id": cid, "root_message_id": message["id"]})):
            resp = await client.post(path, json=body, headers=outsider.headers)
            assert resp.status == 404, (outsider.username, path, await resp.text())
        resp = await client.patch(f"/api/v1/messages/{message['id']}", json={"body": "x"}, headers=outsider.headers)
        assert resp.status == 404
        resp = await client.delete(f"/api/v1/messages/{message['id']}", headers=outsider.headers)
        assert resp.status == 404
        assert cid not in [c["id"] for c in await my_channels(client, outsider, "?all=1")]


async def test_a_dm_name_is_not_a_channel_name(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    dm = await open_dm(client, alice, bob)
    resp = await client.post("/api/v1/channels", json={"name": dm["name"]}, headers=alice.headers)
    assert resp.status == 422


@pytest.fixture
async def people(client, chat: Chat):
    from venn.db.models import User

    made = {}
    for username, display in (("alice", "Alice Liddell"), ("alfred", "Al"), ("bob", "Alpha Bob"), ("ali", "Zed"),
                              ("carol", "Carol"), ("percent", "100% real")):
        made[username] = await chat.user(username)
        await User.filter(id=made[username].id).update(display_name=display)
    return made


async def test_people_search_by_username_or_display_name_prefix(client, people):
    me = people["carol"]

    async def search(query: str) -> list[str]:
        resp = await client.get("/api/v1/users?" + query, headers=me.headers)
        assert resp.status == 200, await resp.text()
        users = (await resp.json())["users"]
        assert all(u["email"] is None for u in users if u["id"] != me.id)
        return [u["username"] for u in users]

    assert await search("q=AL") == ["alfred", "ali", "alice", "bob"]
    assert await search("q=al&limit=2") == ["alfred", "ali"]
    assert await search("q=ali") == ["ali", "alice"]  # the exact username first
    assert await search("q=alpha") == ["bob"]
    assert await search("q=100%25") == ["percent"]
    assert await search("q=%25") == [] and await search("q=_") == []
    assert await search("q=nobody") == []
    from venn.db.models import User

    await User.filter(username="alfred").update(deactivated=True)
    assert await search("q=al") == ["ali", "alice", "bob"]


async def test_people_search_refuses_bad_queries(client, chat):
    carol = await chat.user("carol")
    for query in ("", "q=", "q=%20%20", "limit=5", "q=al&limit=0", "q=al&limit=51", "q=al&limit=x", "q=" + "a" * 65):
        resp = await client.get("/api/v1/users?" + query, headers=carol.headers)
        assert resp.status == 422, query
        assert (await resp.json())["error"]["fields"]


async def test_people_search_needs_a_session(client):
    resp = await client.get("/api/v1/users?q=al")
    assert resp.status == 401
