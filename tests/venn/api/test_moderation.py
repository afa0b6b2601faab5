"""Channel moderation over the real server: rename and topic, removing a member
(their socket leaves the room at once; a private channel closes to them), archiving
(read-only, still listed) and unarchiving; who may; the audit log."""

from __future__ import annotations

from tests.venn.realtime.kit import Sock, quiet


async def test_owners_rename_and_set_the_topic(client, chat):
    owner, member, outsider = await chat.user("owner"), await chat.user("member"), await chat.user("outsider")
    channel = await chat.channel(owner, "general", members=[member])
    secret = await chat.channel(owner, "secret", private=True)
    cid = channel["id"]
    resp = await client.patch(f"/api/v1/channels/{cid}", json={"name": "Town-Square", "topic": "all of us"},
                              headers=owner.headers)
    assert resp.status == 200
    view = (await resp.json())["channel"]
    assert view["name"] == "town-square" and view["topic"] == "all of us"
    resp = await client.patch(f"/api/v1/channels/{cid}", json={"topic": "mine"}, headers=member.headers)
    assert resp.status == 403
    resp = await client.patch(f"/api/v1/channels/{secret['id']}", json={"topic": "x"}, headers=outsider.headers)
    assert resp.status == 404
    resp = await client.patch(f"/api/v1/channels/{cid}", json={"name": "secret"}, headers=owner.headers)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "channel_exists"
    resp = await client.patch(f"/api/v1/channels/{cid}", json={"name": "Bad Name!"}, headers=owner.headers)
    assert resp.status == 422


async def test_removing_a_member_closes_a_private_channel_to_them_at_once(client, chat):
    owner, bob, carol = await chat.user("owner"), await chat.user("bob"), await chat.user("carol")
    channel = await chat.channel(owner, "secret", private=True, members=[bob, carol])
    cid = channel["id"]
    url = str(client.make_url("/"))
    owner_sock, bob_sock = Sock(url, owner), Sock(url, bob)
    try:
        for sock in (owner_sock, bob_sock):
            await sock.connect()
            await sock.ok("join_channel", {"channel_id": cid})
        # a member cannot remove others
        assert (await client.delete(f"/api/v1/channels/{cid}/members/{carol.id}", headers=bob.headers)).status == 403
        resp = await client.delete(f"/api/v1/channels/{cid}/members/{bob.id}", headers=owner.headers)
        assert resp.status == 204
        removed = await bob_sock.wait("member_removed")
        assert removed == {"channel_id": cid, "user_id": bob.id, "by": owner.id}
        await owner_sock.wait("member_removed")
        # his socket left the room: a new message does not reach him
        await chat.post(owner, cid, "after bob left")
        await owner_sock.wait("new_message")
        await quiet()
        assert bob_sock.of("new_message") == []
        # and the channel is closed to him
        resp = await client.get(f"/api/v1/messages/channel/{cid}", headers=bob.headers)
        assert resp.status == 404
        resp = await client.get(f"/api/v1/channels/{cid}", headers=bob.headers)
        assert resp.status == 404
        assert (await bob_sock.error("join_channel", {"channel_id": cid}))["code"] in {"not_found", "not_a_member"}
        resp = await client.delete(f"/api/v1/channels/{cid}/members/{bob.id}", headers=owner.headers)
        assert resp.status == 404
    finally:
        for sock in (owner_sock, bob_sock):
            await sock.close()


async def test_an_archived_channel_is_read_only_and_listed(client, chat):
    owner, member = await chat.user("owner"), await chat.user("member")
    channel = await chat.channel(owner, "general", members=[member])
    cid = channel["id"]
    mine = await chat.post(member, cid, "before")
    assert (await client.post(f"/api/v1/channels/{cid}/archive", headers=member.headers)).status == 403
    resp = await client.post(f"/api/v1/channels/{cid}/archive", headers=owner.headers)
    assert resp.status == 200 and (await resp.json())["channel"]["archived"] is True
    resp = await client.post("/api/v1/messages", json={"channel_id": cid, "body": "after"}, headers=member.headers)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "channel_archived"
    resp = await client.patch(f"/api/v1/messages/{mine['id']}", json={"body": "changed"}, headers=member.headers)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "channel_archived"
    resp = await client.patch(f"/api/v1/channels/{cid}", json={"topic": "x"}, headers=owner.headers)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "channel_archived"
    resp = await client.get("/api/v1/channels", headers=member.headers)
    [listed] = [c for c in (await resp.json())["channels"] if c["id"] == cid]
    assert listed["archived"] is True
    resp = await client.get(f"/api/v1/messages/channel/{cid}", headers=member.headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["before"]
    resp = await client.post(f"/api/v1/channels/{cid}/unarchive", headers=owner.headers)
    assert resp.status == 200 and (await resp.json())["channel"]["archived"] is False
    await chat.post(member, cid, "after")


async def test_admins_moderate_any_channel_and_it_is_audited(client, chat):
    root, owner, bob = await chat.user("root", admin=True), await chat.user("owner"), await chat.user("bob")
    channel = await chat.channel(owner, "secret", private=True, members=[bob])
    cid = channel["id"]
    url = str(client.make_url("/"))
    watcher = Sock(url, owner)
    try:
        await watcher.connect()
        await watcher.ok("join_channel", {"channel_id": cid})
        assert (await client.patch(f"/api/v1/channels/{cid}", json={"topic": "t"}, headers=root.headers)).status == 200
        update = await watcher.wait("channel_updated")
        assert update == {"channel_id": cid, "name": "secret", "topic": "t", "archived": False}
        assert (await client.delete(f"/api/v1/channels/{cid}/members/{bob.id}", headers=root.headers)).status == 204
        assert (await client.post(f"/api/v1/channels/{cid}/archive", headers=root.headers)).status == 200
        await watcher.wait("channel_updated", lambda d: d["archived"] is True)
        assert (await client.post(f"/api/v1/channels/{cid}/unarchive", headers=root.headers)).status == 200
    finally:
        await watcher.close()
    resp = await client.get(f"/api/v1/admin/audit?target=channel:{cid}", headers=root.headers)
    entries = (await resp.json())["entries"]
    assert [e["action"] for e in entries] == [
        "channel.unarchive", "channel.archive", "channel.member_remove", "channel.update",
    ]
    assert entries[-1]["before"]["topic"] == "" and entries[-1]["after"]["topic"] == "t"
    assert entries[2]["before"] == {"user_id": bob.id} and entries[2]["actor"]["id"] == root.id
