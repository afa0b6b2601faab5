"""Admins over REST: list users, change roles, deactivate and reactivate, the last
admin, registration policies with invite links, and the admin audit log."""

from __future__ import annotations

import asyncio

import pytest

from venn.app import create_app


async def _patch(client, admin, user_id, **body):
    return await client.patch(f"/api/v1/admin/users/{user_id}", json=body, headers=admin.headers)


async def test_admins_list_and_search_users(client, chat):
    admin = await chat.user("root", admin=True)
    alice = await chat.user("alice")
    await chat.user("bob")
    resp = await client.get("/api/v1/admin/users", headers=admin.headers)
    assert resp.status == 200
    page = await resp.json()
    assert [u["username"] for u in page["users"]] == ["bob", "alice", "root"] and not page["has_more"]
    assert page["users"][1]["deactivated"] is False
    resp = await client.get("/api/v1/admin/users?q=ALI", headers=admin.headers)
    assert [u["username"] for u in (await resp.json())["users"]] == ["alice"]
    resp = await client.get("/api/v1/admin/users?role=admin", headers=admin.headers)
    assert [u["username"] for u in (await resp.json())["users"]] == ["root"]
    resp = await client.get("/api/v1/admin/users?limit=1", headers=admin.headers)
    first = await resp.json()
    assert first["has_more"] and [u["username"] for u in first["users"]] == ["bob"]
    resp = await client.get(f"/api/v1/admin/users?limit=1&before={first['users'][0]['id']}", headers=admin.headers)
    assert [u["username"] for u in (await resp.json())["users"]] == ["alice"]
    await _patch(client, admin, alice.id, deactivated=True)
    resp = await client.get("/api/v1/admin/users?deactivated=true", headers=admin.headers)
    assert [u["username"] for u in (await resp.json())["users"]] == ["alice"]
    resp = await client.get("/api/v1/admin/users?limit=0", headers=admin.headers)
    assert resp.status == 422


async def test_members_cannot_use_admin_endpoints(client, chat):
    await chat.user("root", admin=True)
    alice = await chat.user("alice")
    bob = await chat.user("bob")
    for method, path, body in [
        ("GET", "/api/v1/admin/users", None),
        ("PATCH", f"/api/v1/admin/users/{bob.id}", {"role": "admin"}),
        ("GET", "/api/v1/admin/invites", None),
        ("POST", "/api/v1/admin/invites", {}),
        ("DELETE", "/api/v1/admin/invites/1", None),
        ("GET", "/api/v1/admin/audit", None),
    ]:
        resp = await client.request(method, path, json=body, headers=alice.headers)
        assert resp.status == 403, (method, path)
        assert (await resp.json())["error"]["code"] == "admin_only"
        assert (await client.request(method, path, json=body)).status == 401
    resp = await client.get(f"/api/v1/users/{bob.id}", headers=alice.headers)
    assert (await resp.json())["user"]["role"] == "member"


async def test_role_changes_and_the_last_admin(client, chat):
    root = await chat.user("root", admin=True)
    alice = await chat.user("alice")
    resp = await _patch(client, root, root.id, role="member")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "last_admin"
    resp = await _patch(client, root, root.id, deactivated=True)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "last_admin"
    resp = await _patch(client, root, alice.id, role="admin")
    assert resp.status == 200 and (await resp.json())["user"]["role"] == "admin"
    # alice is an admin now: she can use the admin pages, and root may step down
    assert (await client.get("/api/v1/admin/users", headers=alice.headers)).status == 200
    resp = await _patch(client, root, root.id, role="member")
    assert resp.status == 200
    assert (await client.get("/api/v1/admin/users", headers=root.headers)).status == 403
    resp = await _patch(client, alice, alice.id, role="member")
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "last_admin"
    for body in ({"role": "owner"}, {"deactivated": "yes"}, {"email": "x@example.com"}):
        resp = await client.patch(f"/api/v1/admin/users/{root.id}", json=body, headers=alice.headers)
        assert resp.status == 422
    assert (await _patch(client, alice, 999_999, role="admin")).status == 404


async def test_two_admins_demoting_each_other_at_once_leave_one_admin(client, chat):
    root = await chat.user("root", admin=True)
    alice = await chat.user("alice", admin=True)
    results = await asyncio.gather(
        _patch(client, root, alice.id, role="member"), _patch(client, alice, root.id, role="member")
    )
    assert sorted(r.status for r in results) in ([200, 409], [200, 403])
    resp = await client.get("/api/v1/admin/users?role=admin", headers=root.headers)
    if resp.status == 403:
        resp = await client.get("/api/v1/admin/users?role=admin", headers=alice.headers)
    assert len((await resp.json())["users"]) == 1


async def test_deactivation_ends_sessions_refuses_logins_and_keeps_messages(client, chat):
    root = await chat.user("root", admin=True)
    alice = await chat.user("alice")
    channel = await chat.channel(root, "general", members=[alice])
    posted = await chat.post(alice, channel["id"], "before leaving")
    resp = await _patch(client, root, alice.id, deactivated=True)
    assert resp.status == 200
    user = (await resp.json())["user"]
    assert user["deactivated"] is True and user["deactivated_at"]
    # every token stops working at once
    resp = await client.get("/api/v1/users/me", headers=alice.headers)
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "token_revoked"
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert resp.status == 401
    # a login with the right password says why; a wrong one says nothing more
    resp = await client.post("/api/v1/auth/login", json={"username": "alice", "password": alice.password})
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "account_deactivated"
    resp = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "wrong-password"})
    assert (await resp.json())["error"]["code"] == "invalid_credentials"
    # the messages stay, their author marked deactivated
    resp = await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=root.headers)
    [message] = (await resp.json())["messages"]
    assert message["id"] == posted["id"] and message["body"] == "before leaving"
    assert message["author"]["deactivated"] is True
    resp = await client.get(f"/api/v1/messages/{posted['id']}", headers=root.headers)
    assert (await resp.json())["message"]["author"]["deactivated"] is True
    resp = await client.get(f"/api/v1/users/{alice.id}", headers=root.headers)
    assert (await resp.json())["user"]["deactivated"] is True
    # and she is left out of the people search
    resp = await client.get("/api/v1/users?q=ali", headers=root.headers)
    assert [u["username"] for u in (await resp.json())["users"]] == []

    # reactivation restores logging in, not the old sessions
    resp = await _patch(client, root, alice.id, deactivated=False)
    assert resp.status == 200 and (await resp.json())["user"]["deactivated"] is False
    assert (await client.get("/api/v1/users/me", headers=alice.headers)).status == 401
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert resp.status == 401
    resp = await client.post("/api/v1/auth/login", json={"username": "alice", "password": alice.password})
    assert resp.status == 200
    resp = await client.get("/api/v1/users?q=ali", headers=root.headers)
    assert [u["username"] for u in (await resp.json())["users"]] == ["alice"]


async def test_bot_accounts_are_not_changed_here(client, chat):
    root = await chat.user("root", admin=True)
    from venn.db.models import User

    bot = await User.create(username="helper", username_key="helper", display_name="Helper", is_bot=True)
    resp = await _patch(client, root, bot.id, deactivated=True)
    assert resp.status == 409 and (await resp.json())["error"]["code"] == "bot_account"


async def test_the_audit_log_records_admin_actions(client, chat):
    root = await chat.user("root", admin=True)
    alice = await chat.user("alice")
    await _patch(client, root, alice.id, role="admin")
    await _patch(client, root, alice.id, role="member", deactivated=True)
    await _patch(client, root, alice.id, deactivated=False)
    resp = await client.post("/api/v1/admin/invites", json={"max_uses": 2}, headers=root.headers)
    invite = (await resp.json())["invite"]
    await client.delete(f"/api/v1/admin/invites/{invite['id']}", headers=root.headers)

    resp = await client.get("/api/v1/admin/audit", headers=root.headers)
    assert resp.status == 200
    entries = (await resp.json())["entries"]
    assert [e["action"] for e in entries] == [
        "invite.revoke", "invite.create", "user.reactivate", "user.deactivate", "user.role", "user.role",
    ]
    role_change = entries[-1]
    assert role_change["actor"] == {"id": root.id, "username": "root"}
    assert role_change["target"] == {"type": "user", "id": alice.id}
    assert role_change["before"] == {"role": "member"} and role_change["after"] == {"role": "admin"}
    assert role_change["at"].endswith("Z")

    async def actions(query: str) -> list[str]:
        resp = await client.get(f"/api/v1/admin/audit?{query}", headers=root.headers)
        assert resp.status == 200, await resp.text()
        return [e["action"] for e in (await resp.json())["entries"]]

    assert await actions("action=invite") == ["invite.revoke", "invite.create"]
    assert await actions("action=user.role") == ["user.role", "user.role"]
    assert await actions(f"target=user:{alice.id}") == [
        "user.reactivate", "user.deactivate", "user.role", "user.role",
    ]
    assert await actions("target=invite") == ["invite.revoke", "invite.create"]
    assert await actions(f"actor_id={alice.id}") == []
    assert await actions(f"target=user:{2**64}") == []
    resp = await client.get("/api/v1/admin/audit?limit=2", headers=root.headers)
    page = await resp.json()
    assert page["has_more"] and len(page["entries"]) == 2
    assert await actions(f"limit=2&before={page['entries'][-1]['id']}") == ["user.reactivate", "user.deactivate"]
    resp = await client.get("/api/v1/admin/audit?target=no%20such", headers=root.headers)
    assert resp.status == 422 and (await resp.json())["error"]["fields"][0]["field"] == "target"


# Registration policy ----------------------------------------------------------


async def _register(client, username: str, **extra):
    return await client.post(
        "/api/v1/auth/register", json={"username": username, "password": "correct-horse", **extra}
    )


@pytest.fixture
async def invite_client(aiohttp_client, make_settings, database_url):
    return await aiohttp_client(create_app(make_settings(database_url=database_url, registration="invite")))


async def test_invite_only_registration(invite_client):
    client = invite_client
    resp = await _register(client, "alice")
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "invite_required"
    resp = await _register(client, "alice", invite_code="made-up")
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "invalid_invite"
    # the first admin comes from the command line (venn create-admin), not registration
    from venn.db.models import Role, User
    from venn.security.passwords import hash_password

    await User.create(username="root", username_key="root", display_name="root",
                      password_hash=await hash_password("correct-horse"), role=Role.ADMIN)
    resp = await client.post("/api/v1/auth/login", json={"username": "root", "password": "correct-horse"})
    headers = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}

    resp = await client.post("/api/v1/admin/invites", json={"max_uses": 2, "expires_in_days": 7}, headers=headers)
    assert resp.status == 201
    invite = (await resp.json())["invite"]
    assert invite["url"].endswith(f"/?invite={invite['code']}") and invite["active"]
    assert invite["max_uses"] == 2 and invite["uses"] == 0 and invite["expires_at"]

    # two uses, counted atomically: of three racing registrations two get in
    results = await asyncio.gather(*(_register(client, name, invite_code=invite["code"]) for name in ("ann", "bea", "cat")))
    assert sorted(r.status for r in results) == [201, 201, 403]
    resp = await client.get("/api/v1/admin/invites", headers=headers)
    [listed] = (await resp.json())["invites"]
    assert listed["uses"] == 2 and not listed["active"]

    # a taken username does not spend a use
    resp = await client.post("/api/v1/admin/invites", json={}, headers=headers)
    second = (await resp.json())["invite"]
    assert second["max_uses"] is None and second["expires_at"] is None
    taken = next(name for name, r in zip(("ann", "bea", "cat"), results, strict=True) if r.status == 201)
    assert (await _register(client, taken, invite_code=second["code"])).status == 409
    resp = await client.get("/api/v1/admin/invites", headers=headers)
    assert (await resp.json())["invites"][0]["uses"] == 0

    # revoked: nobody else gets in
    assert (await client.delete(f"/api/v1/admin/invites/{second['id']}", headers=headers)).status == 204
    resp = await _register(client, "late", invite_code=second["code"])
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "invalid_invite"
    assert (await client.delete("/api/v1/admin/invites/999999", headers=headers)).status == 404
    for body in ({"max_uses": 0}, {"expires_in_days": 1000}, {"code": "mine"}):
        assert (await client.post("/api/v1/admin/invites", json=body, headers=headers)).status == 422


async def test_an_expired_invite_is_refused(invite_client):
    from datetime import UTC, datetime, timedelta

    from venn.db.models import Invite

    await Invite.create(code="old-code", expires_at=datetime.now(UTC) - timedelta(minutes=1))
    resp = await _register(invite_client, "alice", invite_code="old-code")
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "invalid_invite"


async def test_closed_registration_and_the_deprecated_setting(aiohttp_client, make_settings, database_url):
    closed = await aiohttp_client(create_app(make_settings(database_url=database_url, registration="closed")))
    resp = await _register(closed, "alice")
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "registration_closed"
    assert make_settings(registration_open=False).registration_policy == "closed"
    assert make_settings(registration_open=False, registration="invite").registration_policy == "invite"
    assert make_settings().registration_policy == "open"
