"""Sessions: each login is a sign-in the user sees (created, last used, user agent) and
can end; ending one stops its access and refresh tokens at once and disconnects its
sockets, not the user's others; a password change ends every other session (the one
that changed it stays signed in)."""

from __future__ import annotations

import asyncio

from tests.venn.realtime.kit import Sock


async def login(client, person, agent):
    resp = await client.post(
        "/api/v1/auth/login",
        json={"username": person.username, "password": person.password},
        headers={"User-Agent": agent},
    )
    assert resp.status == 200, await resp.text()
    return await resp.json()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


async def sessions_of(client, token):
    resp = await client.get("/api/v1/users/me/sessions", headers=bearer(token))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["sessions"]


async def test_sessions_are_listed_with_their_device_and_the_current_one_marked(client, chat):
    alice = await chat.user("alice")
    laptop = await login(client, alice, "Firefox on the laptop")
    phone = await login(client, alice, "Phone\u202e app\u200b")
    listed = await sessions_of(client, laptop["access_token"])
    assert len(listed) == 3  # chat.user logged in once too
    agents = {s["user_agent"] for s in listed}
    assert "Firefox on the laptop" in agents
    # bidi and other format characters are not stored (they could disguise the list)
    assert "Phone app" in agents
    current = [s for s in listed if s["current"]]
    assert len(current) == 1 and current[0]["user_agent"] == "Firefox on the laptop"
    assert all(s["created_at"] and s["last_used_at"] and s["client_ip"] for s in listed)
    # the other session sees itself as current
    other = [s for s in await sessions_of(client, phone["access_token"]) if s["current"]]
    assert other[0]["id"] != current[0]["id"]
    # a refresh stays in its session (same id, no new row)
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": laptop["refresh_token"]})
    assert resp.status == 200
    renewed = await resp.json()
    after = await sessions_of(client, renewed["access_token"])
    assert len(after) == 3 and [s["id"] for s in after if s["current"]] == [current[0]["id"]]


async def test_ending_a_session_stops_its_tokens_and_sockets_only(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    laptop = await login(client, alice, "laptop")
    phone = await login(client, alice, "phone")
    url = str(client.make_url("/"))
    on_laptop, on_phone = Sock(url), Sock(url)
    try:
        await on_laptop.connect(laptop["access_token"])
        await on_phone.connect(phone["access_token"])
        phone_id = [s["id"] for s in await sessions_of(client, phone["access_token"]) if s["current"]][0]

        resp = await client.delete(f"/api/v1/users/me/sessions/{phone_id}", headers=bearer(laptop["access_token"]))
        assert resp.status == 204
        await asyncio.wait_for(on_phone.disconnected.wait(), 5)
        assert on_phone.of("session_revoked")
        # the laptop's socket is still there and works
        await on_laptop.ok("join_channel", {"channel_id": channel["id"]})
        assert not on_laptop.disconnected.is_set()
    finally:
        await on_laptop.close()
        await on_phone.close()

    resp = await client.get("/api/v1/users/me", headers=bearer(phone["access_token"]))
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "token_revoked"
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": phone["refresh_token"]})
    assert resp.status == 401
    refused = Sock(url)
    try:
        try:
            await refused.connect(phone["access_token"])
        except Exception:
            pass
        assert not refused.sio.connected
    finally:
        await refused.close()
    assert (await client.get("/api/v1/users/me", headers=bearer(laptop["access_token"]))).status == 200
    assert phone_id not in [s["id"] for s in await sessions_of(client, laptop["access_token"])]
    # ended already, or never there: 404
    resp = await client.delete(f"/api/v1/users/me/sessions/{phone_id}", headers=bearer(laptop["access_token"]))
    assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


async def test_other_peoples_sessions_are_not_theirs_to_see_or_end(client, chat):
    alice, mallory = await chat.user("alice"), await chat.user("mallory")
    alice_ids = [s["id"] for s in await sessions_of(client, alice.token)]
    assert not set(alice_ids) & {s["id"] for s in await sessions_of(client, mallory.token)}
    for session_id in alice_ids:
        resp = await client.delete(f"/api/v1/users/me/sessions/{session_id}", headers=mallory.headers)
        assert resp.status == 404
    assert (await client.get("/api/v1/users/me", headers=alice.headers)).status == 200
    assert (await client.get("/api/v1/users/me/sessions")).status == 401
    for bad in ("0", "99999999999999999999999", "-1", "x"):
        resp = await client.delete(f"/api/v1/users/me/sessions/{bad}", headers=alice.headers)
        assert resp.status == 404, bad


async def test_a_password_change_ends_every_other_session_but_keeps_this_one(client, chat):
    alice = await chat.user("alice")
    other = await login(client, alice, "old laptop")
    url = str(client.make_url("/"))
    old_sock, own_sock = Sock(url), Sock(url)
    try:
        await old_sock.connect(other["access_token"])
        await own_sock.connect(alice.token)
        resp = await client.patch(
            "/api/v1/users/me",
            json={"password": "another-horse-1", "current_password": alice.password},
            headers=alice.headers,
        )
        assert resp.status == 200, await resp.text()
        await asyncio.wait_for(old_sock.disconnected.wait(), 5)
        await asyncio.sleep(0.2)
        assert own_sock.sio.connected
    finally:
        await old_sock.close()
        await own_sock.close()
    assert (await client.get("/api/v1/users/me", headers=bearer(other["access_token"]))).status == 401
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]})).status == 401
    # the session that changed it stays signed in, and can refresh
    assert (await client.get("/api/v1/users/me", headers=alice.headers)).status == 200
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert resp.status == 200
    assert len(await sessions_of(client, (await resp.json())["access_token"])) == 1


async def test_logging_out_everywhere_clears_the_list(client, chat):
    alice = await chat.user("alice")
    await login(client, alice, "a")
    assert (await client.post("/api/v1/auth/logout", headers=alice.headers)).status == 204
    fresh = await login(client, alice, "b")
    listed = await sessions_of(client, fresh["access_token"])
    assert [s["user_agent"] for s in listed] == ["b"]
