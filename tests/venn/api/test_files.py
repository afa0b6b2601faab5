"""Files: upload, attach to messages, download (headers, types from the bytes, who may),
limits, deletion and the sweep; over the real server, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from PIL import Image

from tests.helpers import Chat, Person
from tests.venn.realtime.kit import Sock
from venn.app import create_app


def png(width: int = 640, height: int = 480, color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def form(channel_id, data: bytes, name: str = "photo.png", content_type: str = "image/png") -> aiohttp.FormData:
    body = aiohttp.FormData(quote_fields=False)
    body.add_field("channel_id", str(channel_id))
    body.add_field("file", data, filename=name, content_type=content_type)
    return body


async def upload(client, person: Person, channel_id: int, data: bytes, name: str = "photo.png",
                 content_type: str = "image/png", status: int = 201) -> dict:
    resp = await client.post("/api/v1/files", data=form(channel_id, data, name, content_type), headers=person.headers)
    assert resp.status == status, await resp.text()
    return await resp.json()


@pytest.fixture
async def room(client, chat: Chat):
    alice = await chat.user("alice")
    bob = await chat.user("bob")
    mallory = await chat.user("mallory")
    channel = await chat.channel(alice, "pics", private=True, members=[bob])
    return alice, bob, mallory, channel


async def test_an_image_is_typed_from_its_bytes_attached_and_shown_to_members(client, chat, room):
    alice, bob, mallory, channel = room
    data = png()
    # the client claims text: the bytes say PNG
    file = (await upload(client, alice, channel["id"], data, "holiday.png", "text/plain"))["file"]
    assert file["content_type"] == "image/png" and file["size"] == len(data) and file["name"] == "holiday.png"
    assert (file["width"], file["height"]) == (640, 480)
    assert file["url"] == f"/api/v1/files/{file['id']}"
    assert file["thumbnail_url"] == f"/api/v1/files/{file['id']}/thumbnail"

    # a message may be only files: the body is empty
    message = await chat.post(alice, channel["id"], "", file_ids=[file["id"]])
    assert message["body"] == "" and message["files"] == [file]
    history = await (await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=bob.headers)).json()
    assert history["messages"][-1]["files"] == [file]
    one = await (await client.get(f"/api/v1/messages/{message['id']}", headers=bob.headers)).json()
    assert one["message"]["files"] == [file]

    # Bob (a member) downloads it: shown inline, never sniffed
    resp = await client.get(file["url"], headers=bob.headers)
    assert resp.status == 200 and await resp.read() == data
    assert resp.headers["Content-Type"] == "image/png"
    assert resp.headers["Content-Disposition"].startswith('inline; filename="holiday.png"')
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    thumb = await client.get(file["thumbnail_url"], headers=bob.headers)
    assert thumb.status == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(await thumb.read())) as image:
        assert max(image.size) <= 400 and image.size[0] > image.size[1]

    # Mallory (not a member) gets nothing, not even that it exists; no token: 401
    for url in (file["url"], file["thumbnail_url"]):
        resp = await client.get(url, headers=mallory.headers)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
        resp = await client.get(url)
        assert resp.status == 401


async def test_the_files_cookie_lets_a_browser_img_fetch_files(client, chat, room):
    alice, bob, mallory, channel = room
    file = (await upload(client, alice, channel["id"], png()))["file"]
    await chat.post(alice, channel["id"], "look", file_ids=[file["id"]])
    resp = await client.post("/api/v1/files/cookie", headers=bob.headers)
    assert resp.status == 204
    cookie = resp.cookies["venn_files"]
    assert cookie["httponly"] and cookie["path"] == "/api/v1/files" and cookie["samesite"] == "Strict"
    assert int(cookie["max-age"]) <= 15 * 60
    assert not cookie["secure"]  # plain HTTP here; Secure when reached over HTTPS (below)
    # no Authorization header: the cookie alone
    resp = await client.get(file["thumbnail_url"], cookies={"venn_files": cookie.value})
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/jpeg"
    # a forged cookie, or an access token in its place, is refused
    for value in ("forged", bob.token):
        client.session.cookie_jar.clear()
        resp = await client.get(file["url"], cookies={"venn_files": value})
        assert resp.status == 401
    # Mallory's cookie does not open Bob's channel
    resp = await client.post("/api/v1/files/cookie", headers=mallory.headers)
    client.session.cookie_jar.clear()
    resp = await client.get(file["url"], cookies={"venn_files": resp.cookies["venn_files"].value})
    assert resp.status == 404
    # logging out everywhere revokes the cookie too
    await client.post("/api/v1/auth/logout", headers=bob.headers)
    client.session.cookie_jar.clear()
    resp = await client.get(file["url"], cookies={"venn_files": cookie.value})
    assert resp.status == 401


@pytest.mark.parametrize(
    "data, name, claimed",
    [
        (b"<!doctype html><html><script>alert(1)</script></html>", "page.html", "text/html"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg", "image/svg+xml"),
    ],
)
async def test_html_and_svg_are_only_ever_downloaded(client, chat, room, data, name, claimed):
    alice, bob, _, channel = room
    file = (await upload(client, alice, channel["id"], data, name, claimed))["file"]
    assert file["content_type"] == "text/plain" and file["thumbnail_url"] is None
    await chat.post(alice, channel["id"], "see attached", file_ids=[file["id"]])
    resp = await client.get(file["url"], headers=bob.headers)
    assert resp.status == 200 and await resp.read() == data
    assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert resp.headers["Content-Disposition"].startswith(f'attachment; filename="{name}"')
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in resp.headers["Content-Security-Policy"]


async def test_binary_files_are_attachments_and_names_are_cleaned(client, chat, room):
    alice, bob, _, channel = room
    data = bytes(range(256)) * 10
    file = (await upload(client, alice, channel["id"], data, "../../etc/ré\u202eport.bin", "image/png"))["file"]
    assert file["content_type"] == "application/octet-stream" and file["name"] == "réport.bin"
    await chat.post(alice, channel["id"], "", file_ids=[file["id"]])
    resp = await client.get(file["url"], headers=bob.headers)
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Content-Disposition"] == "attachment; filename=\"r_port.bin\"; filename*=UTF-8''r%C3%A9port.bin"


async def test_an_unattached_upload_is_its_uploaders_alone(client, room):
    alice, bob, _, channel = room
    file = (await upload(client, alice, channel["id"], b"draft notes"))["file"]
    assert (await client.get(file["url"], headers=alice.headers)).status == 200
    assert (await client.get(file["url"], headers=bob.headers)).status == 404


async def test_attaching_what_is_not_yours_to_attach_is_refused(client, chat, room):
    alice, bob, _, channel = room
    other = await chat.channel(alice, "elsewhere")
    mine = (await upload(client, alice, channel["id"], b"mine"))["file"]
    bobs = (await upload(client, bob, channel["id"], b"bob's"))["file"]
    elsewhere = (await upload(client, alice, other["id"], b"other channel"))["file"]
    used = (await upload(client, alice, channel["id"], b"used"))["file"]
    await chat.post(alice, channel["id"], "first", file_ids=[used["id"]])
    for file_ids in ([bobs["id"]], [elsewhere["id"]], [used["id"]], [999_999], [mine["id"], mine["id"]]):
        resp = await client.post(
            "/api/v1/messages", json={"channel_id": channel["id"], "body": "x", "file_ids": file_ids},
            headers=alice.headers,
        )
        assert resp.status == 422, (file_ids, await resp.text())
        error = (await resp.json())["error"]
        assert error["code"] == "validation_error" and error["fields"][0]["field"] == "file_ids"
    resp = await client.post(
        "/api/v1/messages", json={"channel_id": channel["id"], "body": "", "file_ids": list(range(1, 12))},
        headers=alice.headers,
    )
    assert resp.status == 422
    # an empty body still needs files
    resp = await client.post("/api/v1/messages", json={"channel_id": channel["id"], "body": " "}, headers=alice.headers)
    assert resp.status == 422
    # none of that wrote a message, and mine still waits to be attached
    history = await (await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=alice.headers)).json()
    assert [m["body"] for m in history["messages"]] == ["first"]
    message = await chat.post(alice, channel["id"], "", file_ids=[mine["id"]], client_msg_id="with-file")
    # a retry answers the first message, though its file is attached now
    again = await client.post(
        "/api/v1/messages",
        json={"channel_id": channel["id"], "body": "", "file_ids": [mine["id"]], "client_msg_id": "with-file"},
        headers=alice.headers,
    )
    assert again.status == 200 and (await again.json())["message"]["id"] == message["id"]


async def test_upload_refusals(client, chat, room):
    alice, _, mallory, channel = room
    # not a member of the (private) channel: 404; an unknown channel: 404
    for person, channel_id in ((mallory, channel["id"]), (alice, 999_999)):
        resp = await client.post("/api/v1/files", data=form(channel_id, b"x"), headers=person.headers)
        assert resp.status == 404
    # a public channel one has not joined: 403
    public = await chat.channel(alice, "lobby")
    resp = await client.post("/api/v1/files", data=form(public["id"], b"x"), headers=mallory.headers)
    assert resp.status == 403
    # not multipart, no file, file first, an empty file, a bad id, an unknown field
    resp = await client.post("/api/v1/files", json={"channel_id": channel["id"]}, headers=alice.headers)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_form"
    # a part whose header aiohttp cannot parse (a control character in its name): 400, not 500
    b = "venn-boundary"
    raw = f'--{b}\r\nContent-Disposition: form-data; name="\u0087\x0e"\r\n\r\n{{}}\r\n--{b}--\r\n'.encode()
    resp = await client.post(
        "/api/v1/files", data=raw, headers={**alice.headers, "Content-Type": f"multipart/form-data; boundary={b}"}
    )
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_form"
    for extra in ((), ("pad", "x")):
        only_id = aiohttp.FormData(default_to_multipart=True)
        only_id.add_field("channel_id", str(channel["id"]))
        if extra:
            only_id.add_field(*extra)
        resp = await client.post("/api/v1/files", data=only_id, headers=alice.headers)
        assert resp.status == 422, await resp.text()
        assert (await resp.json())["error"]["fields"][0]["field"] == (extra[0] if extra else "file")
    backwards = aiohttp.FormData()
    backwards.add_field("file", b"data", filename="a.txt")
    backwards.add_field("channel_id", str(channel["id"]))
    resp = await client.post("/api/v1/files", data=backwards, headers=alice.headers)
    assert resp.status == 422 and (await resp.json())["error"]["fields"][0]["field"] == "channel_id"
    for bad in (form(channel["id"], b""), form("abc", b"x"), form(-1, b"x")):
        resp = await client.post("/api/v1/files", data=bad, headers=alice.headers)
        assert resp.status == 422, await resp.text()


@pytest.fixture
async def small_client(aiohttp_client, make_settings, database_url):
    settings = make_settings(database_url=database_url, max_file_bytes=4096, rate_limit_uploads_per_minute=2)
    return await aiohttp_client(create_app(settings))


async def test_size_limit_and_rate_limit(small_client):
    chat = Chat(small_client)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    # just over the limit, streamed: 413 (and nothing is kept)
    resp = await small_client.post("/api/v1/files", data=form(channel["id"], b"x" * 4097), headers=alice.headers)
    assert resp.status == 413 and (await resp.json())["error"]["code"] == "payload_too_large"
    # far over it: refused from Content-Length, before reading
    resp = await small_client.post(
        "/api/v1/files", data=form(channel["id"], b"x" * 200_000), headers=alice.headers
    )
    assert resp.status == 413
    await upload(small_client, alice, channel["id"], b"x" * 4096)
    resp = await small_client.post("/api/v1/files", data=form(channel["id"], b"y"), headers=alice.headers)
    assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
    from venn.db.models import File

    assert await File.all().count() == 1


async def test_deleting_a_message_hides_its_files_and_the_sweep_removes_them(client, chat, room, settings):
    alice, bob, _, channel = room
    file = (await upload(client, alice, channel["id"], png()))["file"]
    kept = (await upload(client, alice, channel["id"], b"kept"))["file"]
    message = await chat.post(alice, channel["id"], "two", file_ids=[file["id"]])
    await chat.post(alice, channel["id"], "", file_ids=[kept["id"]])
    resp = await client.delete(f"/api/v1/messages/{message['id']}", headers=alice.headers)
    assert resp.status == 200 and (await resp.json())["message"]["files"] == []
    history = await (await client.get(f"/api/v1/messages/channel/{channel['id']}", headers=bob.headers)).json()
    assert [m["files"] for m in history["messages"]] == [[], [kept]]
    for person in (alice, bob):
        assert (await client.get(file["url"], headers=person.headers)).status == 404
        assert (await client.get(file["thumbnail_url"], headers=person.headers)).status == 404
    files_dir = settings.effective_files_dir
    assert len([p for p in files_dir.rglob("*") if p.is_file()]) == 3  # two files and a thumbnail
    services = client.server.app["services"] if "services" in client.server.app else None
    del services
    from venn import keys

    assert await client.server.app[keys.SERVICES].files.sweep() == 1
    assert len([p for p in files_dir.rglob("*") if p.is_file()]) == 1
    assert (await client.get(kept["url"], headers=bob.headers)).status == 200


async def test_the_sweep_removes_uploads_never_attached_after_the_ttl(client, chat, room, settings):
    from venn import keys

    alice, _, _, channel = room
    files = client.server.app[keys.SERVICES].files
    waiting = (await upload(client, alice, channel["id"], b"never attached"))["file"]
    attached = (await upload(client, alice, channel["id"], b"attached"))["file"]
    await chat.post(alice, channel["id"], "", file_ids=[attached["id"]])
    assert await files.sweep() == 0  # too young
    later = datetime.now(UTC) + timedelta(seconds=settings.file_unattached_ttl_seconds + 60)
    assert await files.sweep(now=later) == 1
    assert await files.sweep(now=later) == 0  # a second sweep (another process) finds nothing
    assert (await client.get(waiting["url"], headers=alice.headers)).status == 404
    assert (await client.get(attached["url"], headers=alice.headers)).status == 200
    resp = await client.post(
        "/api/v1/messages", json={"channel_id": channel["id"], "body": "late", "file_ids": [waiting["id"]]},
        headers=alice.headers,
    )
    assert resp.status == 422


async def test_send_message_over_the_socket_with_files(client, chat, room):
    alice, bob, _, channel = room
    file = (await upload(client, alice, channel["id"], png(32, 32)))["file"]
    url = str(client.make_url("/"))
    sender, watcher = Sock(url, alice), Sock(url, bob)
    try:
        await sender.connect()
        await watcher.connect()
        await watcher.ok("join_channel", {"channel_id": channel["id"]})
        answer = await sender.ok(
            "send_message", {"channel_id": channel["id"], "body": "", "client_msg_id": "s-1", "file_ids": [file["id"]]}
        )
        assert answer["message"]["files"] == [file]
        event = await watcher.wait("new_message", lambda d: d["message"]["id"] == answer["message"]["id"])
        assert event["message"]["files"] == [file]
        # the same file again: refused
        error = await sender.error(
            "send_message", {"channel_id": channel["id"], "body": "", "client_msg_id": "s-2", "file_ids": [file["id"]]}
        )
        assert error["code"] == "validation_error"
        # catch-up carries the files
        sync = await watcher.ok("sync", {"cursors": {str(channel["id"]): 0}})
        assert sync["channels"][0]["messages"][-1]["files"] == [file]
    finally:
        await sender.close()
        await watcher.close()


async def test_an_image_over_the_pixel_cap_gets_no_thumbnail(aiohttp_client, make_settings, database_url):
    """A decompression bomb guard: an image declaring more pixels than VENN_MAX_IMAGE_PIXELS
    is stored and typed, but never decoded for a thumbnail."""
    client = await aiohttp_client(create_app(make_settings(database_url=database_url, max_image_pixels=1000)))
    chat = Chat(client)
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    file = (await upload(client, alice, channel["id"], png(64, 64)))["file"]
    assert file["content_type"] == "image/png" and (file["width"], file["height"]) == (64, 64)
    assert file["thumbnail_url"] is None
    small = (await upload(client, alice, channel["id"], png(20, 20)))["file"]
    assert small["thumbnail_url"] is not None


async def test_the_files_cookie_is_secure_behind_a_trusted_https_proxy(aiohttp_client, make_settings, database_url):
    client = await aiohttp_client(create_app(make_settings(database_url=database_url, trusted_proxies="127.0.0.1")))
    alice = await Chat(client).user("alice")
    resp = await client.post("/api/v1/files/cookie", headers={**alice.headers, "X-Forwarded-Proto": "https"})
    assert resp.status == 204 and resp.cookies["venn_files"]["secure"]
    resp = await client.post("/api/v1/files/cookie", headers={**alice.headers, "X-Forwarded-Proto": "http"})
    assert not resp.cookies["venn_files"]["secure"]


async def test_a_thread_reply_carries_files(client, chat, room):
    alice, bob, _, channel = room
    root = await chat.post(alice, channel["id"], "root")
    thread = await chat.thread(bob, channel["id"], root["id"])
    file = (await upload(client, bob, channel["id"], b"minutes of the meeting"))["file"]
    reply = await chat.post(bob, channel["id"], "", thread_id=thread["id"], file_ids=[file["id"]])
    assert reply["files"] == [file] and reply["thread_id"] == thread["id"]
    page = await (await client.get(f"/api/v1/threads/{thread['id']}/messages", headers=alice.headers)).json()
    assert page["messages"][-1]["files"] == [file]
    resp = await client.get(file["url"], headers=alice.headers)
    assert resp.status == 200 and resp.headers["Content-Disposition"].startswith("attachment")
