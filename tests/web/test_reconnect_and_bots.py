"""The page across a server restart, and an admin switching a bot on from the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.web import ui
from tests.web.conftest import Pages, shot
from tests.web.kit import Server


@pytest.fixture
def own_server(browser, tmp_path):
    """A server of this test's own, which the test stops and starts again."""
    srv = Server(tmp_path / "data").start()
    yield srv
    srv.stop()


def test_reconnects_after_a_restart_and_catches_up(browser, own_server):
    server = own_server
    pages = Pages(browser, server.url)
    try:
        alice = pages.new()
        ui.sign_up(alice, "alice")
        ui.create_channel(alice, "general")
        bob = server.person("bob")
        channel_id = int(alice.evaluate("location.hash").split("/")[2])
        server.ok("POST", f"/channels/{channel_id}/join", token=bob.token)
        server.ok("POST", "/messages", {"channel_id": channel_id, "body": "before the restart"}, bob.token)
        expect(ui.message(alice, "before the restart")).to_be_visible()

        server.stop()
        banner = alice.locator(".connection-banner")
        expect(banner).to_have_text("Reconnecting…")
        # written while the server is down: shown as pending, sent after the reconnect
        ui.send(alice, "written while offline")
        expect(alice.locator(".channel-view .msg.pending")).to_contain_text("written while offline")
        shot(alice, "reconnecting")

        server.start()
        # sent by Bob right after the restart, before Alice's page is back: caught up by sync
        server.ok("POST", "/messages", {"channel_id": channel_id, "body": "sent meanwhile"}, bob.token)
        expect(banner).to_be_hidden(timeout=20_000)
        expect(ui.message(alice, "sent meanwhile")).to_be_visible()
        expect(ui.message(alice, "written while offline")).to_be_visible()
        expect(alice.locator(".channel-view .msg.pending")).to_have_count(0)
        # live again
        server.ok("POST", "/messages", {"channel_id": channel_id, "body": "live after the restart"}, bob.token)
        expect(ui.message(alice, "live after the restart")).to_be_visible()

        # the offline message was stored exactly once
        history = server.ok("GET", f"/messages/channel/{channel_id}?limit=50", token=bob.token)["messages"]
        bodies = [m["body"] for m in history]
        assert bodies.count("written while offline") == 1, bodies
        expect(alice.locator(".channel-view .body", has_text="written while offline")).to_have_count(1)
        shot(alice, "reconnected")
        assert pages.errors == []
    finally:
        pages.close()


def test_admin_enables_echo_on_a_thread_from_the_page(browser, own_server):
    server = own_server
    server.create_admin("boss")
    pages = Pages(browser, server.url)
    try:
        boss = pages.new()
        ui.sign_in(boss, "boss")
        ui.create_channel(boss, "bots")
        ui.send(boss, "Let us try a bot")
        root = ui.message(boss, "Let us try a bot")
        root.hover()
        root.locator(".act-thread").click()
        panel = boss.locator(".thread-panel")
        panel.get_by_role("button", name="Bots").click()
        expect(panel.locator(".bots-panel")).to_contain_text("No bot is on here.")
        panel.get_by_label("Plugin to enable").select_option("echo")
        panel.get_by_role("button", name="Enable…").click()
        form = panel.locator("form.bot-form")
        # the form comes from echo's config schema
        prefix = form.locator("input[name=prefix]")
        expect(prefix).to_have_attribute("maxlength", "40")
        # past the browser's own check, the server's answer lands next to the field
        prefix.evaluate("el => { el.value = 'x'.repeat(41); }")
        form.get_by_role("button", name="Enable").click()
        expect(form.locator(".field", has=boss.locator("input[name=prefix]")).locator(".field-error")).to_contain_text("at most 40 characters")
        form.locator("input[name=prefix]").fill("echo: ")
        form.locator("input[name=uppercase]").check()
        form.get_by_role("button", name="Enable").click()
        expect(panel.locator(".bot-item[data-plugin=echo]")).to_contain_text("on (this thread)")

        ui.send(boss, "hello bot", where=".thread-panel")
        expect(ui.message(boss, "echo: HELLO BOT", where=".thread-panel")).to_be_visible()
        expect(ui.message(boss, "echo: HELLO BOT", where=".thread-panel").locator(".badge")).to_have_text("BOT")
        shot(boss, "bots-echo")

        panel.locator(".bot-item[data-plugin=echo]").get_by_role("button", name="Disable").click()
        boss.locator("dialog").get_by_role("button", name="Disable").click()
        expect(panel.locator(".bots-panel")).to_contain_text("No bot is on here.")
        assert pages.errors == [] and pages.dialogs == []
    finally:
        pages.close()
