"""Access control across every door: each REST operation (read from the router's OpenAPI
document, so a new endpoint is covered without touching this file) and each Socket.IO
event is tried without a token, with an expired one, a revoked one, and with another
user's token on a private channel, its thread, its messages and its SQL query and CSV.
All are refused, and no response carries anything of the private channel."""

from __future__ import annotations

import re
import time
from typing import Any
from unittest import mock

import aiohttp
import pytest
import socketio

from tests.helpers import Chat
from tests.venn.realtime.kit import Sock, quiet
from venn import keys
from venn.api.openapi import build_openapi
from venn.realtime.handlers import EVENTS
from venn.security.tokens import TokenSigner

SECRETS = (
    "secret-chan", "the secret body", "the secret reply", "the secret cell", "the secret question",
    "the secret file", "secret-plan.txt",
)
RESOURCE_PARAMS = {
    "channel_id", "thread_id", "message_id", "query_id", "root_message_id", "entry_id", "file_id", "webhook_id",
    "token_id", "session_id",
}


@pytest.fixture
async def world(client, chat: Chat, settings):
    """Alice's private channel with a message, a thread, a reply and a finished SQL query;
    Mallory, who is not in it."""
    alice = await chat.user("alice")
    mallory = await chat.user("mallory")
    channel = await chat.channel(alice, "secret-chan", private=True)
    message = await chat.post(alice, channel["id"], "the secret body")
    thread = await chat.thread(alice, channel["id"], message["id"])
    reply = await chat.post(alice, channel["id"], "the secret reply", thread_id=thread["id"])
    upload = aiohttp.FormData(quote_fields=False)
    upload.add_field("channel_id", str(channel["id"]))
    upload.add_field("file", b"the secret file", filename="secret-plan.txt")
    resp = await client.post("/api/v1/files", data=upload, headers=alice.headers)
    assert resp.status == 201, await resp.text()
    file = (await resp.json())["file"]
    await chat.post(alice, channel["id"], "", thread_id=thread["id"], file_ids=[file["id"]])
    ids = {
        "channel_id": channel["id"], "thread_id": thread["id"], "message_id": reply["id"],
        "root_message_id": message["id"], "user_id": alice.id, "plugin": "echo", "emoji": "+1", "file_id": file["id"],
    }
    # Alice's incoming webhook, which Mallory must neither list, delete nor post through
    resp = await client.post(f"/api/v1/channels/{channel['id']}/webhooks", json={"name": "secret-hook"}, headers=alice.headers)
    assert resp.status == 201, await resp.text()
    ids["webhook_id"] = (await resp.json())["webhook"]["id"]
    # Alice's personal access token, which Mallory must not revoke
    resp = await client.post("/api/v1/users/me/tokens", json={"name": "script", "scopes": ["read"]}, headers=alice.headers)
    assert resp.status == 201, await resp.text()
    ids["token_id"] = (await resp.json())["token"]["id"]
    # Alice's session (the one her headers are of), which Mallory must not end
    resp = await client.get("/api/v1/users/me/sessions", headers=alice.headers)
    ids["session_id"] = next(s["id"] for s in (await resp.json())["sessions"] if s["current"])
    # Alice's reaction and pin, which Mallory must neither see nor undo
    await chat.client.post(f"/api/v1/messages/{reply['id']}/reactions", json={"emoji": "+1"}, headers=alice.headers)
    await chat.client.post(f"/api/v1/messages/{reply['id']}/pin", headers=alice.headers)
    try:
        from venn_plugins.sql_agent.models import QuerySource, QueryStatus, SqlQuery
    except ImportError:
        ids["query_id"] = 999_999
    else:
        query = await SqlQuery.create(
            thread_id=thread["id"], channel_id=channel["id"], user_id=alice.id, username="alice",
            source=QuerySource.API, question="the secret question", status=QueryStatus.DONE, sql="select 1",
            columns=["c", "n"], rows=[["the secret cell", 1], ["another cell", 2]], row_count=2,
            chart={"type": "bar", "x": "c", "y": "n", "color": None},  # so chart.png and .svg have a chart
        )
        ids["query_id"] = query.id
        # an entry of the SQL agent's curated knowledge (admins write it; here Mallory tries)
        from venn_plugins.sql_agent.knowledge import KnowledgeEntry, KnowledgeKind

        entry = await KnowledgeEntry.create(
            warehouse="DuckDB demo", kind=KnowledgeKind.GLOSSARY, term="secret-chan", description="the secret cell"
        )
        ids["entry_id"] = entry.id
    return {"alice": alice, "mallory": mallory, "ids": ids, "settings": settings}


def operations(client) -> list[tuple[str, str, dict[str, Any]]]:
    doc = build_openapi(client.server.app[keys.API_ROUTES])
    ops = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "patch", "put", "delete"}:
                ops.append((method.upper(), path, op))
    assert len(ops) >= 20
    return ops


def fill_path(path: str, ids: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)


def body_for(op: dict[str, Any], doc_schemas: dict[str, Any], ids: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return None
    schema = content["schema"]
    if "$ref" in schema:
        schema = doc_schemas[schema["$ref"].rsplit("/", 1)[-1]]
    body: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if name in ids:
            body[name] = ids[name]
        elif name in schema.get("required", []):
            kind = prop.get("type") or next((p.get("type") for p in prop.get("anyOf", []) if p.get("type") != "null"), "string")
            body[name] = {"string": "hello there", "integer": 1, "boolean": False, "object": {}, "array": []}.get(kind, "x")
    if "body" in body:
        body["body"] = "hello there"
    return body


def expired_token(settings, user_id: int) -> str:
    signer = TokenSigner(settings.secret_key_value(), access_ttl=settings.access_token_ttl_seconds, refresh_ttl=60)
    with mock.patch("time.time", return_value=time.time() - settings.access_token_ttl_seconds - 3600):
        return signer.issue_access(user_id, 0)


async def test_every_protected_endpoint_refuses_missing_expired_and_revoked_tokens(client, chat: Chat, world):
    revoked_user = await chat.user()
    resp = await client.post("/api/v1/auth/logout", headers=revoked_user.headers)
    assert resp.status == 204
    expired = expired_token(world["settings"], world["alice"].id)
    doc = build_openapi(client.server.app[keys.API_ROUTES])
    checked = 0
    for method, path, op in operations(client):
        if not op.get("security"):
            continue  # public by design (login, register, health, the document itself)
        url = fill_path(path, world["ids"])
        body = body_for(op, doc["components"]["schemas"], world["ids"])
        for label, headers in (
            ("no token", {}),
            ("expired", {"Authorization": f"Bearer {expired}"}),
            ("revoked", revoked_user.headers),
            ("garbage", {"Authorization": "Bearer not-a-token"}),
        ):
            resp = await client.request(method, url, json=body, headers=headers)
            text = await resp.text()
            assert resp.status == 401, (label, method, path, resp.status, text)
            assert (await resp.json())["error"]["code"] in {"missing_token", "invalid_token", "token_revoked"}
            assert not any(s in text for s in SECRETS)
        checked += 1
    assert checked >= 15


async def test_another_users_token_gets_nothing_of_a_private_channel(client, world):
    mallory, ids = world["mallory"], world["ids"]
    doc = build_openapi(client.server.app[keys.API_ROUTES])
    refused = 0
    for method, path, op in operations(client):
        if path.endswith("/auth/logout") or not op.get("security"):
            continue
        url = fill_path(path, ids)
        body = body_for(op, doc["components"]["schemas"], ids)
        resp = await client.request(method, url, json=body, headers=mallory.headers)
        text = await resp.text()
        assert not any(s in text for s in SECRETS), (method, path, text[:500])
        names = set(re.findall(r"\{(\w+)\}", path)) | set(body or {})
        if names & RESOURCE_PARAMS:
            assert resp.status in (403, 404), (method, path, body, resp.status, text[:500])
            assert set((await resp.json())["error"]) >= {"code", "message"}
            refused += 1
        else:
            assert resp.status < 500, (method, path, resp.status, text[:500])
    assert refused >= 15
    # And none of it reached the database: the channel still holds only Alice's two messages.
    resp = await client.get(f"/api/v1/messages/channel/{ids['channel_id']}", headers=world["alice"].headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["the secret body"]
    # nor did Alice's reaction or pin on the reply
    resp = await client.get(f"/api/v1/messages/{ids['message_id']}", headers=world["alice"].headers)
    reply = (await resp.json())["message"]
    assert [(r["emoji"], r["user_ids"]) for r in reply["reactions"]] == [("👍", [world["alice"].id])]
    assert reply["pinned"] is True
    # Alice still gets her file (so Mallory's 404 above was a refusal)
    resp = await client.get(f"/api/v1/files/{ids['file_id']}", headers=world["alice"].headers)
    assert resp.status == 200 and await resp.read() == b"the secret file"
    if "entry_id" in ids:  # nor did the SQL agent's knowledge change
        from venn_plugins.sql_agent.knowledge import KnowledgeEntry

        assert (await KnowledgeEntry.get(id=ids["entry_id"])).description == "the secret cell"


async def test_an_incoming_webhook_needs_its_secret(client, world):
    """``/hooks`` takes no token: without the webhook's secret (a token does not help) it is
    404 like an unknown webhook, and nothing is posted."""
    hook_id, alice = world["ids"]["webhook_id"], world["alice"]
    for headers in ({}, alice.headers, world["mallory"].headers):
        for secret in ("guess", "a" * 43):
            resp = await client.post(f"/hooks/{hook_id}/{secret}", json={"text": "hello there"}, headers=headers)
            assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
    resp = await client.get(f"/api/v1/messages/channel/{world['ids']['channel_id']}", headers=alice.headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["the secret body"]


async def test_the_web_renderers_are_the_same_for_an_outsider_and_hold_nothing_private(client, world):
    """GET /web/renderers names no resource: every signed-in user gets the same list (the
    enabled plugins' modules), and it is in the router, so the two tests above try it too."""
    assert ("GET", "/api/v1/web/renderers") in {(method, path) for method, path, _ in operations(client)}
    answers = []
    for person in (world["mallory"], world["alice"]):
        resp = await client.get("/api/v1/web/renderers", headers=person.headers)
        assert resp.status == 200
        text = await resp.text()
        assert not any(s in text for s in SECRETS)
        answers.append(await resp.json())
    assert answers[0] == answers[1]
    assert all(entry["module"].startswith(f"/plugins/{entry['plugin']}/") for entry in answers[0]["renderers"])


async def test_the_query_endpoints_answer_alice_and_refuse_mallory(client, world):
    """The private query's CSV and chart images exist (Alice gets them), so the 404s the
    tests above see for Mallory are refusals, not missing resources."""
    query_id = world["ids"]["query_id"]
    if query_id == 999_999:
        pytest.skip("the SQL agent is not installed")
    for name, kind in (("result.csv", "text/csv"), ("chart.png", "image/png"), ("chart.svg", "image/svg+xml")):
        url = f"/api/v1/queries/{query_id}/{name}"
        resp = await client.get(url, headers=world["alice"].headers)
        assert resp.status == 200 and resp.content_type == kind, (name, resp.status)
        resp = await client.get(url, headers=world["mallory"].headers)
        text = await resp.text()
        assert resp.status == 404, name
        assert not any(s in text for s in SECRETS)


async def test_search_finds_nothing_of_a_private_channel_for_an_outsider(client, world):
    """Alice finds her private messages; Mallory, searching the same words, gets none of
    them, and filtering on the channel is a 404 (as for its messages)."""
    cid = world["ids"]["channel_id"]
    for person, expected in ((world["alice"], 2), (world["mallory"], 0)):
        resp = await client.get("/api/v1/search?q=secret", headers=person.headers)
        assert resp.status == 200
        assert len((await resp.json())["results"]) == expected
    for q in ("secret", '"the secret body"', "secret OR body", "reply"):
        resp = await client.get(f"/api/v1/search?q={q}&channel_id={cid}", headers=world["mallory"].headers)
        text = await resp.text()
        assert resp.status == 404 and not any(s in text for s in SECRETS), (q, resp.status, text)


async def test_mentioning_an_outsider_in_a_private_channel_tells_them_nothing(client, chat: Chat, world):
    """Mallory named in Alice's private channel: no mention in the message, no event, no
    count, nothing in her ``GET /mentions``; and a member who leaves stops seeing theirs."""
    alice, mallory, ids = world["alice"], world["mallory"], world["ids"]
    sock = await Sock(str(client.make_url("/")), mallory).connect()
    try:
        named = await chat.post(alice, ids["channel_id"], "@mallory the secret body, again")
        assert named["mentions"] == []
        # a later mention of her elsewhere arrives; the secret one never did
        public = await chat.channel(alice, "lobby", members=[mallory])
        later = await chat.post(alice, public["id"], "@mallory hello")
        await sock.wait("mention", lambda d: d["message"]["id"] == later["id"])
        assert [d["message"]["id"] for d in sock.of("mention")] == [later["id"]]
        assert not any(s in str(sock.events) for s in SECRETS)
        resp = await client.get("/api/v1/mentions", headers=mallory.headers)
        assert [m["id"] for m in (await resp.json())["messages"]] == [later["id"]]
        # a member named there, who then leaves, no longer gets it from GET /mentions
        bob = await chat.user("bob")
        await client.post(f"/api/v1/channels/{ids['channel_id']}/members", json={"user_id": bob.id},
                          headers=alice.headers)
        await chat.post(alice, ids["channel_id"], "@bob the secret body for bob")
        resp = await client.get("/api/v1/mentions", headers=bob.headers)
        assert len((await resp.json())["messages"]) == 1
        await client.post(f"/api/v1/channels/{ids['channel_id']}/leave", headers=bob.headers)
        resp = await client.get("/api/v1/mentions", headers=bob.headers)
        text = await resp.text()
        assert (await resp.json())["messages"] == [] and not any(s in text for s in SECRETS)
    finally:
        await sock.close()


#: the server events of issue #14 (direct messages, mentions, reactions, pins), each made below
TEAM_CHAT_EVENTS = ("dm_created", "mention", "reaction_added", "reaction_removed", "message_pinned", "message_unpinned")


async def test_an_outsiders_socket_hears_nothing_of_reactions_pins_mentions_files_or_dms(client, chat: Chat, world):
    """Every new server event, made where Mallory is not: reactions, pins, a message with a
    file that mentions her and everyone, an edit, and Alice and Bob's direct conversation
    that names her. Her socket (which tried to join the channel and thread) gets none of it;
    a mention of her in a channel of hers, made last, shows that it was listening."""
    alice, mallory, ids = world["alice"], world["mallory"], world["ids"]
    sock = await Sock(str(client.make_url("/")), mallory).connect()
    try:
        await sock.error("join_channel", {"channel_id": ids["channel_id"]})
        await sock.error("join_thread", {"thread_id": ids["thread_id"]})
        for mid in (ids["root_message_id"], ids["message_id"]):  # a channel message and a thread reply
            for method, path, body in (
                ("POST", f"/api/v1/messages/{mid}/reactions", {"emoji": "tada"}),
                ("DELETE", f"/api/v1/messages/{mid}/reactions/tada", None),
                ("POST" if mid != ids["message_id"] else "DELETE", f"/api/v1/messages/{mid}/pin", None),
            ):
                resp = await client.request(method, path, json=body, headers=alice.headers)
                assert resp.status == 200, (method, path, await resp.text())
        upload = aiohttp.FormData(quote_fields=False)
        upload.add_field("channel_id", str(ids["channel_id"]))
        upload.add_field("file", b"the secret file", filename="secret-plan.txt")
        resp = await client.post("/api/v1/files", data=upload, headers=alice.headers)
        file = (await resp.json())["file"]
        bob = await chat.user("bob")
        await client.post(f"/api/v1/channels/{ids['channel_id']}/members", json={"user_id": bob.id},
                          headers=alice.headers)
        named = await chat.post(alice, ids["channel_id"], "@channel @here @mallory the secret body",
                                file_ids=[file["id"]])
        assert bob.id in named["mentions"] and mallory.id not in named["mentions"]
        resp = await client.patch(f"/api/v1/messages/{named['id']}", json={"body": "@mallory @bob the secret body"},
                                  headers=alice.headers)
        assert (await resp.json())["message"]["mentions"] == [bob.id]
        resp = await client.post("/api/v1/dms", json={"user_ids": [bob.id]}, headers=alice.headers)
        dm = (await resp.json())["channel"]
        await chat.post(alice, dm["id"], "@mallory @here the secret body, in private")

        lobby = await chat.channel(alice, "lobby", members=[mallory])
        marker = await chat.post(alice, lobby["id"], "@mallory are you there?")
        await sock.wait("mention", lambda d: d["message"]["id"] == marker["id"])
        await quiet()
        heard = [name for name, _ in sock.events if name in TEAM_CHAT_EVENTS]
        assert heard == ["mention"], sock.events
        assert not any(s in str(sock.events) for s in SECRETS), sock.events
        assert str(dm["id"]) not in {str(d.get("channel_id")) for _, d in sock.events if isinstance(d, dict)}
    finally:
        await sock.close()


#: an event's data aimed at Alice's private channel (every client event must be listed)
SOCKET_ATTEMPTS = {
    "join_channel": lambda ids: {"channel_id": ids["channel_id"]},
    "leave_channel": None,  # leaving a room one is not in changes nothing; answered ok
    "join_thread": lambda ids: {"thread_id": ids["thread_id"]},
    "leave_thread": None,
    "send_message": lambda ids: {"channel_id": ids["channel_id"], "body": "hi", "client_msg_id": "m-1"},
    "edit_message": lambda ids: {"message_id": ids["message_id"], "body": "mine now"},
    "delete_message": lambda ids: {"message_id": ids["root_message_id"]},
    "mark_read": lambda ids: {"channel_id": ids["channel_id"], "message_id": ids["message_id"]},
    "add_reaction": lambda ids: {"message_id": ids["message_id"], "emoji": "+1"},
    "message_action": lambda ids: {"message_id": ids["message_id"], "action_id": "vote", "value": "x"},
    "remove_reaction": lambda ids: {"message_id": ids["message_id"], "emoji": "+1"},
    "typing": lambda ids: {"channel_id": ids["channel_id"]},
    "sync": None,  # checked below: ok, with an error per entry
    "ping": None,
}


async def test_every_socket_event_with_another_users_ids_is_refused(client, world):
    assert set(SOCKET_ATTEMPTS) == set(EVENTS), "a new socket event needs an access check here"
    mallory, ids = world["mallory"], world["ids"]
    sock = await Sock(str(client.make_url("/")), mallory).connect()
    try:
        for name, make in SOCKET_ATTEMPTS.items():
            if make is None:
                continue
            answer = await sock.call(name, make(ids))
            assert answer["ok"] is False, (name, answer)
            assert answer["error"]["code"] in {"not_found", "forbidden", "not_a_member", "not_joined"}, (name, answer)
            assert not any(s in str(answer) for s in SECRETS)
        answer = await sock.call(
            "sync", {"cursors": {str(ids["channel_id"]): 0}, "thread_cursors": {str(ids["thread_id"]): 0}}
        )
        assert answer["ok"] is True
        assert [set(e) for e in answer["channels"] + answer["threads"]] == [{"channel_id", "error"}, {"thread_id", "error"}]
        assert not any(s in str(answer) for s in SECRETS)
        assert (await sock.call("leave_channel", {"channel_id": ids["channel_id"]}))["ok"] is True
        assert not any(s in str(sock.events) for s in SECRETS), sock.events
    finally:
        await sock.close()


async def test_sockets_refuse_missing_expired_and_revoked_tokens(client, chat: Chat, world):
    url = str(client.make_url("/"))
    revoked_user = await chat.user()
    await client.post("/api/v1/auth/logout", headers=revoked_user.headers)
    for token, code in (
        (None, "missing_token"),
        (expired_token(world["settings"], world["mallory"].id), "invalid_token"),
        (revoked_user.token, "token_revoked"),
    ):
        sock = Sock(url)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sock.connect(auth={"token": token} if token else {})
        assert sock.connect_errors and sock.connect_errors[-1]["data"]["code"] == code, sock.connect_errors
        await sock.close()


DM_SECRETS = ("the private word", "the private reply")
DM_PARAMS = {"channel_id", "thread_id", "message_id", "root_message_id"}


@pytest.fixture
async def dm_world(client, chat: Chat):
    """Alice and Bob's direct conversation with a message, a thread and a reply; outsiders:
    Mallory, an admin and a bot, none of them in it."""
    alice, bob = await chat.user("alice"), await chat.user("bob")
    outsiders = [await chat.user("mallory"), await chat.user("root", admin=True), await chat.user("robot")]
    from venn.db.models import User

    await User.filter(id=outsiders[2].id).update(is_bot=True)
    resp = await client.post("/api/v1/dms", json={"user_ids": [bob.id]}, headers=alice.headers)
    dm = (await resp.json())["channel"]
    message = await chat.post(alice, dm["id"], "the private word")
    thread = await chat.thread(alice, dm["id"], message["id"])
    reply = await chat.post(bob, dm["id"], "the private reply", thread_id=thread["id"])
    ids = {
        "channel_id": dm["id"], "thread_id": thread["id"], "message_id": reply["id"],
        "root_message_id": message["id"], "user_id": alice.id, "plugin": "echo", "query_id": 999_999, "emoji": "+1",
        "entry_id": 999_999, "file_id": 999_999,
    }
    return {"alice": alice, "outsiders": outsiders, "ids": ids}


async def test_outsiders_admins_and_bots_get_nothing_of_a_direct_conversation(client, dm_world):
    ids = dm_world["ids"]
    doc = build_openapi(client.server.app[keys.API_ROUTES])
    for outsider in dm_world["outsiders"]:
        refused = 0
        for method, path, op in operations(client):
            if path.endswith("/auth/logout") or not op.get("security"):
                continue
            body = body_for(op, doc["components"]["schemas"], ids)
            resp = await client.request(method, fill_path(path, ids), json=body, headers=outsider.headers)
            text = await resp.text()
            assert not any(s in text for s in DM_SECRETS), (outsider.username, method, path, text[:500])
            names = set(re.findall(r"\{(\w+)\}", path)) | set(body or {})
            if names & DM_PARAMS:
                # never dm_members_fixed nor not_a_member: to an outsider the conversation does not exist
                assert resp.status == 404, (outsider.username, method, path, resp.status, text[:500])
                refused += 1
            elif names & RESOURCE_PARAMS:
                assert resp.status in (403, 404), (method, path, resp.status, text[:500])
            else:
                assert resp.status < 500, (method, path, resp.status, text[:500])
        assert refused >= 12
        sock = await Sock(str(client.make_url("/")), outsider).connect()
        try:
            for name, make in SOCKET_ATTEMPTS.items():
                if make is not None:
                    answer = await sock.call(name, make(ids))
                    assert answer["ok"] is False, (outsider.username, name, answer)
                    assert answer["error"]["code"] in {"not_found", "not_joined"}, (name, answer)
            answer = await sock.call(
                "sync", {"cursors": {str(ids["channel_id"]): 0}, "thread_cursors": {str(ids["thread_id"]): 0}}
            )
            assert [e["error"]["code"] for e in answer["channels"] + answer["threads"]] == ["not_found"] * 2
            assert not any(s in str(answer) + str(sock.events) for s in DM_SECRETS)
        finally:
            await sock.close()
    resp = await client.get(f"/api/v1/messages/channel/{ids['channel_id']}", headers=dm_world["alice"].headers)
    assert [m["body"] for m in (await resp.json())["messages"]] == ["the private word"]


async def test_the_admin_endpoints_refuse_members_and_change_nothing(client, world):
    """Every ``/admin/`` operation of the router (a new one is covered without touching
    this file) refuses a member with 403, and neither role nor audit log changes."""
    from venn.db.models import AdminAudit, User

    mallory, ids = world["mallory"], world["ids"]
    doc = build_openapi(client.server.app[keys.API_ROUTES])
    checked = 0
    for method, path, op in operations(client):
        if "/admin/" not in path:
            continue
        url = fill_path(path, {**ids, "user_id": mallory.id, "invite_id": 1})
        body = body_for(op, doc["components"]["schemas"], ids)
        if method == "PATCH" and path.endswith("/admin/users/{user_id}"):
            body = {"role": "admin"}
        resp = await client.request(method, url, json=body, headers=mallory.headers)
        text = await resp.text()
        assert resp.status == 403, (method, path, resp.status, text[:300])
        assert not any(s in text for s in SECRETS)
        checked += 1
    assert checked >= 6
    assert (await User.get(id=mallory.id)).role == "member"
    assert await AdminAudit.all().count() == 0
