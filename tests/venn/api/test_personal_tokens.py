"""Personal access tokens: made, listed and revoked over REST; used as the bearer token
and as the Socket.IO token; scopes (a read token cannot write); revoking, logging out
everywhere or changing the password stops a token at once and disconnects its sockets."""

from __future__ import annotations

import asyncio

from tests.venn.realtime.kit import Sock


async def make_token(client, person, scopes=("read", "write"), name="script", **extra):
    resp = await client.post(
        "/api/v1/users/me/tokens", json={"name": name, "scopes": list(scopes), **extra}, headers=person.headers
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


async def test_make_list_use_and_revoke_a_token(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    made = await make_token(client, alice, name="deploy script", expires_in_days=30)
    token, secret = made["token"], made["secret"]
    assert token["name"] == "deploy script" and token["scopes"] == ["read", "write"]
    assert token["expires_at"] and token["last_used_at"] is None and secret.startswith("venn_pat_")

    resp = await client.get("/api/v1/users/me", headers=bearer(secret))
    assert resp.status == 200 and (await resp.json())["user"]["id"] == alice.id
    resp = await client.post("/api/v1/messages", json={"channel_id": channel["id"], "body": "by token"},
                             headers=bearer(secret))
    assert resp.status == 201

    resp = await client.get("/api/v1/users/me/tokens", headers=alice.headers)
    listed = (await resp.json())["tokens"]
    assert [t["id"] for t in listed] == [token["id"]] and listed[0]["last_used_at"] is not None
    assert secret.rsplit("_", 1)[-1] not in await resp.text()

    resp = await client.delete(f"/api/v1/users/me/tokens/{token['id']}", headers=alice.headers)
    assert resp.status == 204
    resp = await client.get("/api/v1/users/me", headers=bearer(secret))
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "invalid_token"
    resp = await client.delete(f"/api/v1/users/me/tokens/{token['id']}", headers=alice.headers)
    assert resp.status == 404


async def test_wrong_secrets_other_peoples_tokens_and_bad_bodies(client, chat):
    alice, bob = await chat.user("alice"), await chat.user("bob")
    made = await make_token(client, alice)
    for wrong in (made["secret"][:-2] + "zz", "venn_pat_", "venn_pat_x_y", f"venn_pat_{made['token']['id'] + 1}_abc",
                  "venn_pat_99999999999999999999999_a"):
        resp = await client.get("/api/v1/users/me", headers=bearer(wrong))
        assert resp.status == 401, wrong
    # bob cannot see or revoke alice's token
    resp = await client.get("/api/v1/users/me/tokens", headers=bob.headers)
    assert (await resp.json())["tokens"] == []
    resp = await client.delete(f"/api/v1/users/me/tokens/{made['token']['id']}", headers=bob.headers)
    assert resp.status == 404
    assert (await client.get("/api/v1/users/me", headers=bearer(made["secret"]))).status == 200
    for body in ({"name": "x", "scopes": []}, {"name": "x", "scopes": ["admin"]}, {"name": "", "scopes": ["read"]},
                 {"name": "x", "scopes": ["read"], "expires_in_days": 0}):
        resp = await client.post("/api/v1/users/me/tokens", json=body, headers=alice.headers)
        assert resp.status == 422, body


async def test_a_read_token_cannot_write(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    await chat.post(alice, channel["id"], "hello")
    secret = (await make_token(client, alice, scopes=["read"]))["secret"]
    resp = await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=bearer(secret))
    assert resp.status == 200 and [m["body"] for m in (await resp.json())["messages"]] == ["hello"]
    resp = await client.post("/api/v1/messages", json={"channel_id": channel["id"], "body": "no"},
                             headers=bearer(secret))
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "insufficient_scope"
    # nor can it make itself a stronger token
    resp = await client.post("/api/v1/users/me/tokens", json={"name": "x", "scopes": ["write"]}, headers=bearer(secret))
    assert resp.status == 403
    url = str(client.make_url("/"))
    sock = Sock(url)
    try:
        await sock.connect(secret)
        await sock.ok("join_channel", {"channel_id": channel["id"]})
        error = await sock.error("send_message", {"channel_id": channel["id"], "body": "no"})
        assert error["code"] == "insufficient_scope"
    finally:
        await sock.close()


async def test_revoking_logout_and_password_change_disconnect_token_sockets(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    url = str(client.make_url("/"))

    async def connected(secret):
        sock = Sock(url)
        await sock.connect(secret)
        await sock.ok("join_channel", {"channel_id": channel["id"]})
        return sock

    # revoking the token
    made = await make_token(client, alice)
    sock = await connected(made["secret"])
    try:
        answer = await sock.ok("send_message", {"channel_id": channel["id"], "body": "over the socket", "client_msg_id": "pat-1"})
        assert answer["message"]["author"]["id"] == alice.id
        await client.delete(f"/api/v1/users/me/tokens/{made['token']['id']}", headers=alice.headers)
        await asyncio.wait_for(sock.disconnected.wait(), 5)
    finally:
        await sock.close()
    refused = Sock(url)
    try:
        try:
            await refused.connect(made["secret"])
        except Exception:
            pass
        assert not refused.sio.connected
    finally:
        await refused.close()

    # a password change
    made = await make_token(client, alice)
    sock = await connected(made["secret"])
    try:
        resp = await client.patch("/api/v1/users/me", json={"password": "another-horse-1", "current_password": alice.password},
                                  headers=alice.headers)
        assert resp.status == 200, await resp.text()
        await asyncio.wait_for(sock.disconnected.wait(), 5)
    finally:
        await sock.close()
    assert (await client.get("/api/v1/users/me", headers=bearer(made["secret"]))).status == 401

    # logging out everywhere
    made = await make_token(client, alice)
    sock = await connected(made["secret"])
    try:
        assert (await client.post("/api/v1/auth/logout", headers=alice.headers)).status == 204
        await asyncio.wait_for(sock.disconnected.wait(), 5)
    finally:
        await sock.close()
    resp = await client.get("/api/v1/users/me", headers=bearer(made["secret"]))
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "token_revoked"
