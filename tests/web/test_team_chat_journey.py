"""Issue #14 as one story in two browsers: Alice opens a direct conversation with Bob and
mentions him while his tab is hidden (a desktop notification), Bob reacts, Alice sends
Markdown and an image that shows inline, and Bob searches a word and jumps to the
message; axe on the way. On one server with SQLite, and (when PostgreSQL and Redis are
configured) on two processes sharing them, Alice's page on one and Bob's on the other."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.helpers import require_postgres, require_redis  # noqa: E402
from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402
from tests.web.conftest import shot  # noqa: E402
from tests.web.kit import REPO, InThread, Server  # noqa: E402
from tests.web.test_files import png_bytes  # noqa: E402


async def _admin(url: str, statement: str) -> None:
    """Run ``statement`` (CREATE or DROP DATABASE) on the server of ``url``."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])])
def team_servers(request, browser, tmp_path):
    """(Alice's server, Bob's): one ``venn serve`` on a SQLite file; or two on a PostgreSQL
    database of this test's own and Redis, with one files folder (as behind a load balancer)."""
    if request.param == "sqlite":
        server = Server(tmp_path / "one").start()
        yield server, server
        server.stop()
        return
    pg_url, redis_url = require_postgres(), require_redis()
    name = f"venn_journey_{uuid.uuid4().hex[:10]}"
    url = pg_url.rsplit("/", 1)[0] + "/" + name
    runner = InThread()
    runner.run(_admin(pg_url, f'CREATE DATABASE "{name}"'))
    shared = dict(DATABASE_URL=url, REDIS_URL=redis_url, VENN_REDIS_PREFIX=f"venntest:{uuid.uuid4().hex[:12]}:",
                  VENN_DATA_DIR=str(tmp_path / "files"))
    servers = [Server(tmp_path / f"process{i}", **shared) for i in (1, 2)]
    try:
        # migrated once, before the two processes start
        done = subprocess.run([sys.executable, "-m", "venn", "migrate"], env=servers[0].env, cwd=REPO,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        for server in servers:
            server.start()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()
        runner.run(_admin(pg_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        runner.stop()


def test_alice_and_bob_move_their_daily_chat_onto_venn(team_servers, browser_pages):
    alice_server, bob_server = team_servers
    alice_pages, bob_pages = browser_pages(alice_server.url), browser_pages(bob_server.url)
    alice, bob = alice_pages.new(), ui.hooked_page(bob_pages)
    ui.sign_up(alice, "alice", display_name="Alice Liddell")
    ui.sign_up(bob, "bob", display_name="Bob Builder")
    ui.turn_on_notifications(bob)
    ui.create_channel(bob, "standup")  # where Bob is reading while Alice writes to him

    # Alice finds Bob and writes to him, mentioning him, while his tab is hidden
    ui.open_dm(alice, ("bob", "Bob Builder @bob"))
    expect(alice.locator(".channel-title h2")).to_have_text("@Bob Builder")
    bob.evaluate("window.__setHidden(true)")
    ui.send(alice, "@bob could you read the zebra release notes today?")
    [note] = ui.wait_for_notifications(bob, 1)
    assert note["body"] == "@bob could you read the zebra release notes today?"
    # a direct message that mentions him: told once, as either
    assert note["title"] in ("Alice Liddell mentioned you", "Alice Liddell sent you a message")
    bob.evaluate("window.__setHidden(false)")

    # Bob: the conversation is in his sidebar by Alice's name, with the mention counted
    item = bob.locator(".dm-list .channel-item", has_text="Alice Liddell")
    expect(item.locator(".mention-badge")).to_have_text("@1")
    check_a11y(bob, "a new conversation with a mention in the sidebar")
    item.get_by_role("link").click()
    expect(bob.locator(".channel-title h2")).to_have_text("@Alice Liddell")
    asked = ui.message(bob, "zebra release notes")
    expect(asked).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(asked.locator(".mention-me")).to_have_text("@bob")
    expect(item.locator(".mention-badge")).to_have_count(0)  # read: the count is gone

    # Bob reacts; Alice sees it live
    ui.react(bob, "zebra release notes", "thumbs up")
    mine = ui.message(bob, "zebra release notes").locator(".reaction-chip", has_text="👍")
    expect(mine).to_have_attribute("aria-pressed", "true")
    chip = ui.message(alice, "zebra release notes").locator(".reaction-chip", has_text="👍")
    expect(chip).to_have_accessible_name("thumbs up: 1 reaction")
    expect(chip).to_have_attribute("aria-pressed", "false")
    check_a11y(alice, "a direct conversation with a reaction")

    # Alice answers in Markdown, with an image attached
    ui.attach_files(alice, [{"name": "burndown.png", "mimeType": "image/png", "buffer": png_bytes()}])
    ui.send(alice, "**Done**, see `notes.md` and [the board](https://example.com/board):\n\n- zebra\n- okapi")
    sent = ui.message(bob, "see notes.md")
    body = sent.locator(".body")
    expect(body.locator("strong")).to_have_text("Done")
    expect(body.locator("code")).to_have_text("notes.md")
    expect(body.locator("ul > li")).to_have_text(["zebra", "okapi"])
    link = body.get_by_role("link", name="the board")
    expect(link).to_have_attribute("href", "https://example.com/board")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    image = sent.locator("img.file-thumb")
    expect(image).to_have_attribute("alt", "burndown.png")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 400  # the thumbnail, from Bob's server
    check_a11y(bob, "a Markdown message with an image")
    shot(bob, "journey-markdown-image")

    # Bob, back in his channel, searches a word and jumps to the message
    ui.open_channel(bob, "standup")
    results = ui.search(bob, "release")
    hits = results.locator(".search-hit")
    expect(hits).to_have_count(1)
    expect(hits.first.locator("mark")).to_have_text(["release"])
    check_a11y(bob, "search results")
    hits.first.click()
    expect(results).to_have_count(0)
    expect(bob.locator(".channel-title h2")).to_have_text("@Alice Liddell")
    found = ui.message(bob, "zebra release notes")
    expect(found).to_have_class(re.compile(r"\bflash\b"))
    expect(found).to_be_focused()
    expect(found).to_be_in_viewport()

    assert len(bob.evaluate("window.__notifications.shown")) == 1  # the mention, once
    for pages in (alice_pages, bob_pages):
        assert pages.errors == [] and pages.dialogs == []
