"""Registration, login, refresh rotation, logout, and token failures."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.helpers import require_redis
from venn.security.tokens import TokenSigner


async def test_register_login_and_me(client):
    resp = await client.post(
        "/api/v1/auth/register",
        json={
            "username": "Alice",
            "password": "correct-horse",
            "email": "alice@example.com",
            "display_name": "Alice A",
        },
    )
    assert resp.status == 201
    user = (await resp.json())["user"]
    assert user["username"] == "Alice" and user["role"] == "member" and user["email"] == "alice@example.com"
    assert "password" not in str(user) and "hash" not in str(user)

    # usernames are case-insensitive for login and uniqueness
    resp = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "correct-horse"})
    assert resp.status == 200
    session = await resp.json()
    assert session["token_type"] == "bearer" and session["expires_in"] == 900
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {session['access_token']}"})
    assert resp.status == 200
    me = (await resp.json())["user"]
    assert me["id"] == user["id"] and me["status"] == "offline"

    resp = await client.post("/api/v1/auth/register", json={"username": "ALICE", "password": "another-pass"})
    assert resp.status == 409
    assert (await resp.json())["error"]["code"] == "username_taken"


async def test_wrong_password_and_unknown_user_look_the_same(client, chat):
    await chat.user("bob")
    wrong = await client.post("/api/v1/auth/login", json={"username": "bob", "password": "nope-nope"})
    unknown = await client.post("/api/v1/auth/login", json={"username": "nobody", "password": "nope-nope"})
    assert wrong.status == unknown.status == 401
    assert (await wrong.json()) == (await unknown.json())


@pytest.mark.parametrize(
    "body, field",
    [
        ({"password": "correct-horse"}, "username"),
        ({"username": "ab", "password": "correct-horse"}, "username"),
        ({"username": "a" * 33, "password": "correct-horse"}, "username"),
        ({"username": "bad name!", "password": "correct-horse"}, "username"),
        ({"username": "carol", "password": "short"}, "password"),
        ({"username": "carol", "password": 12345678}, "password"),
        ({"username": "carol", "password": "correct-horse", "email": "not-an-email"}, "email"),
        ({"username": "carol", "password": "correct-horse", "role": "admin"}, "role"),
    ],
)
async def test_register_field_errors(client, body, field):
    resp = await client.post("/api/v1/auth/register", json=body)
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "validation_error"
    assert field in [f["field"] for f in error["fields"]]


async def test_bad_json_and_empty_body(client):
    resp = await client.post("/api/v1/auth/register", data=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_json"
    resp = await client.post("/api/v1/auth/register", data=b"")
    assert resp.status == 400
    resp = await client.post("/api/v1/auth/register", json=["a", "list"])
    assert resp.status == 422


async def test_body_over_limit_is_413(client):
    resp = await client.post("/api/v1/auth/register", data=b'{"username": "' + b"x" * 300_000 + b'"}')
    assert resp.status == 413
    assert (await resp.json())["error"]["code"] == "payload_too_large"


async def test_refresh_rotates_and_reuse_revokes_everything(client, chat):
    alice = await chat.user("alice")
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert resp.status == 200
    second = await resp.json()
    assert second["access_token"] != alice.token
    # the new access token works
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert resp.status == 200
    # the old refresh token was used: presenting it again is refused and revokes all sessions
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert resp.status == 401
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert resp.status == 401
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert resp.status == 401


async def test_logout_revokes_access_and_refresh_tokens(client, chat):
    alice = await chat.user("alice")
    resp = await client.post("/api/v1/auth/logout", headers=alice.headers)
    assert resp.status == 204
    resp = await client.get("/api/v1/users/me", headers=alice.headers)
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "token_revoked"
    resp = await client.post("/api/v1/auth/refresh", json={"refresh_token": alice.refresh_token})
    assert resp.status == 401
    # logging in again works
    resp = await client.post("/api/v1/auth/login", json={"username": "alice", "password": alice.password})
    assert resp.status == 200


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer ", "Basic abc", "Bearer not-a-token", "Bearer eyJ1IjoxLCJ2IjowfQ.AAAAAA.forgedforgedforged"],
)
async def test_missing_and_forged_tokens(client, chat, header):
    await chat.user("alice")
    headers = {"Authorization": header} if header else {}
    resp = await client.get("/api/v1/users/me", headers=headers)
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    assert set((await resp.json())["error"]) == {"code", "message"}


async def test_token_signed_with_another_key_is_refused(client, chat):
    alice = await chat.user("alice")
    forged = TokenSigner("some-other-key", access_ttl=900, refresh_ttl=900).issue_access(alice.id, 0)
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {forged}"})
    assert resp.status == 401


async def test_refresh_token_is_not_an_access_token(client, chat):
    alice = await chat.user("alice")
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {alice.refresh_token}"})
    assert resp.status == 401


async def test_expired_access_token(client, chat, settings, monkeypatch):
    alice = await chat.user("alice")
    signer = TokenSigner(settings.secret_key_value(), access_ttl=900, refresh_ttl=900)
    real_time = time.time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real_time() - 3600)
    old = signer.issue_access(alice.id, 0)
    monkeypatch.undo()
    resp = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {old}"})
    assert resp.status == 401
    assert "expired" in (await resp.json())["error"]["message"]


async def test_registration_can_be_closed(aiohttp_client, make_settings, database_url):
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url=database_url, registration_open=False)))
    resp = await client.post("/api/v1/auth/register", json={"username": "alice", "password": "correct-horse"})
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "registration_closed"


async def test_login_rate_limit(aiohttp_client, make_settings, database_url):
    from venn.app import create_app

    client = await aiohttp_client(
        create_app(make_settings(database_url=database_url, rate_limit_logins_per_minute=3))
    )
    statuses = []
    for _ in range(5):
        resp = await client.post("/api/v1/auth/login", json={"username": "mallory", "password": "guess-guess"})
        statuses.append(resp.status)
    assert statuses[:3] == [401, 401, 401]
    assert statuses[3:] == [429, 429]
    assert int(resp.headers["Retry-After"]) >= 1
    # another username is counted separately
    resp = await client.post("/api/v1/auth/login", json={"username": "other", "password": "guess-guess"})
    assert resp.status == 401


@pytest.mark.parametrize("counters", ["memory", "redis"])
async def test_failed_logins_from_one_address_are_capped_whatever_the_usernames(
    aiohttp_client, make_settings, database_url, counters
):
    """Spraying: one wrong password each for many usernames. After the address's cap even the
    right password waits, and the answer says how long (shared by processes through Redis)."""
    from venn.app import create_app

    shared = {"redis_url": require_redis(), "redis_prefix": f"t{uuid.uuid4().hex[:8]}:"} if counters == "redis" else {}
    settings = make_settings(database_url=database_url, failed_logins_per_address_per_minute=4, **shared)
    client = await aiohttp_client(create_app(settings))
    resp = await client.post("/api/v1/auth/register", json={"username": "victim", "password": "correct-horse"})
    assert resp.status == 201
    statuses = []
    for n in range(6):
        resp = await client.post("/api/v1/auth/login", json={"username": f"user{n}", "password": "Summer2026!"})
        statuses.append(resp.status)
    assert statuses == [401, 401, 401, 401, 429, 429]
    assert int(resp.headers["Retry-After"]) >= 1 and (await resp.json())["error"]["code"] == "rate_limited"
    resp = await client.post("/api/v1/auth/login", json={"username": "victim", "password": "correct-horse"})
    assert resp.status == 429


async def test_successful_logins_do_not_count_against_the_address(aiohttp_client, make_settings, database_url):
    from venn.app import create_app

    client = await aiohttp_client(create_app(make_settings(database_url=database_url,
                                                           failed_logins_per_address_per_minute=2)))
    resp = await client.post("/api/v1/auth/register", json={"username": "alice", "password": "correct-horse"})
    assert resp.status == 201
    for _ in range(5):
        resp = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "correct-horse"})
        assert resp.status == 200


async def test_update_me(client, chat):
    alice = await chat.user("alice")
    resp = await client.patch("/api/v1/users/me", json={"display_name": "Alice Liddell"}, headers=alice.headers)
    assert resp.status == 200 and (await resp.json())["user"]["display_name"] == "Alice Liddell"
    resp = await client.patch("/api/v1/users/me", json={"password": "new-password-1"}, headers=alice.headers)
    assert resp.status == 422
    resp = await client.patch(
        "/api/v1/users/me",
        json={"password": "new-password-1", "current_password": alice.password},
        headers=alice.headers,
    )
    assert resp.status == 200
    resp = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "new-password-1"})
    assert resp.status == 200


async def test_email_visible_only_to_self_and_admins(client, chat):
    alice = await chat.user("alice")
    bob = await chat.user("bob")
    root = await chat.user("root", admin=True)
    await client.patch("/api/v1/users/me", json={"email": "alice@example.com"}, headers=alice.headers)
    seen_by_bob = (await (await client.get(f"/api/v1/users/{alice.id}", headers=bob.headers)).json())["user"]
    seen_by_admin = (await (await client.get(f"/api/v1/users/{alice.id}", headers=root.headers)).json())["user"]
    assert seen_by_bob["email"] is None
    assert seen_by_admin["email"] == "alice@example.com"
    resp = await client.get("/api/v1/users/999999", headers=bob.headers)
    assert resp.status == 404


async def test_json_nested_too_deeply_is_bad_json_not_a_crash(client, caplog):
    deep = b"[" * 100_000 + b"]" * 100_000
    resp = await client.post("/api/v1/auth/register", data=deep, headers={"Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_json"
    deep = b'{"a":' * 20_000 + b"1" + b"}" * 20_000
    resp = await client.post("/api/v1/auth/register", data=deep, headers={"Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_json"
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "name", ["Ali\u202ecE", "\u2066admin\u2069", "bob\x07", "line\u2028break", "zero\u200bwidth", "tab\there"]
)
async def test_display_names_refuse_control_and_invisible_format_characters(client, chat, name):
    alice = await chat.user("alice")
    resp = await client.patch("/api/v1/users/me", json={"display_name": name}, headers=alice.headers)
    assert resp.status == 422
    assert [f["field"] for f in (await resp.json())["error"]["fields"]] == ["display_name"]
    resp = await client.post("/api/v1/auth/register", json={"username": "mallory", "password": "correct-horse",
                                                            "display_name": name})
    assert resp.status == 422


async def test_display_names_are_stored_in_nfc_and_keep_emoji_sequences(client, chat):
    alice = await chat.user("alice")
    resp = await client.patch("/api/v1/users/me", json={"display_name": "A\u0301lice \U0001F469\u200d\U0001F4BB"},
                              headers=alice.headers)
    assert resp.status == 200
    assert (await resp.json())["user"]["display_name"] == "\u00c1lice \U0001F469\u200d\U0001F4BB"


@pytest.mark.parametrize("counters", ["memory", "redis"])
async def test_registrations_from_one_address_are_capped(aiohttp_client, make_settings, database_url, counters):
    """Sign-ups from one address, taken names included, stop at the cap with a Retry-After."""
    from venn.app import create_app

    shared = {"redis_url": require_redis(), "redis_prefix": f"t{uuid.uuid4().hex[:8]}:"} if counters == "redis" else {}
    settings = make_settings(database_url=database_url, registrations_per_address_per_minute=3, **shared)
    client = await aiohttp_client(create_app(settings))
    statuses = []
    for name in ["reg0", "reg0", "reg1", "reg2", "reg3"]:
        resp = await client.post("/api/v1/auth/register", json={"username": name, "password": "correct-horse"})
        statuses.append(resp.status)
    assert statuses == [201, 409, 201, 429, 429]
    body = await resp.json()
    assert body["error"]["code"] == "rate_limited" and int(resp.headers["Retry-After"]) >= 1
    # the cap did not block logging in
    resp = await client.post("/api/v1/auth/login", json={"username": "reg1", "password": "correct-horse"})
    assert resp.status == 200


async def test_registrations_are_counted_per_forwarded_address(aiohttp_client, make_settings, database_url):
    from venn.app import create_app

    settings = make_settings(
        database_url=database_url, registrations_per_address_per_minute=1, trusted_proxies="127.0.0.1"
    )
    client = await aiohttp_client(create_app(settings))

    async def register(name: str, address: str) -> int:
        resp = await client.post(
            "/api/v1/auth/register",
            json={"username": name, "password": "correct-horse"},
            headers={"X-Forwarded-For": address},
        )
        return resp.status

    assert await register("fwd1", "203.0.113.1") == 201
    assert await register("fwd2", "203.0.113.1") == 429
    assert await register("fwd3", "203.0.113.2") == 201


async def test_wrong_current_passwords_are_capped_per_user(aiohttp_client, make_settings, database_url):
    """Guessing the current password through a signed-in session stops at the cap, even for
    the right password; other users are not affected."""
    from venn.app import create_app

    client = await aiohttp_client(
        create_app(make_settings(database_url=database_url, failed_password_changes_per_user_per_minute=2))
    )
    headers = {}
    for name in ("alice", "bob"):
        resp = await client.post("/api/v1/auth/register", json={"username": name, "password": "correct-horse"})
        assert resp.status == 201
        resp = await client.post("/api/v1/auth/login", json={"username": name, "password": "correct-horse"})
        headers[name] = {"Authorization": f"Bearer {(await resp.json())['access_token']}"}

    async def change(name: str, current: str) -> tuple[int, dict, str | None]:
        resp = await client.patch(
            "/api/v1/users/me",
            json={"password": "new-password-1", "current_password": current},
            headers=headers[name],
        )
        return resp.status, await resp.json(), resp.headers.get("Retry-After")

    assert (await change("alice", "guess-one"))[0] == 422
    assert (await change("alice", "guess-two"))[0] == 422
    status, body, retry_after = await change("alice", "correct-horse")
    assert status == 429 and body["error"]["code"] == "rate_limited" and int(retry_after or 0) >= 1
    # the password did not change; other profile edits still work
    resp = await client.post("/api/v1/auth/login", json={"username": "alice", "password": "correct-horse"})
    assert resp.status == 200
    resp = await client.patch("/api/v1/users/me", json={"display_name": "Alice L"}, headers=headers["alice"])
    assert resp.status == 200
    # bob has his own count
    assert (await change("bob", "correct-horse"))[0] == 200
