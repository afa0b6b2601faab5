"""Reactions and pins in the browser: a reaction chosen in the picker (by keyboard)
shows live as a chip on the other side, a chip toggles; a pin shows in the channel's
pins list; axe finds nothing serious in the picker, the chips or the list."""

from __future__ import annotations

import itertools
import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402
from tests.web.conftest import shot  # noqa: E402

_n = itertools.count(1)


def name(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


def test_react_with_the_picker_and_see_it_live(pages, server):
    alice_name, bob_name, channel = name("alice"), name("bob"), name("react")
    alice, bob = pages.new(), pages.new()
    ui.sign_up(alice, alice_name)
    ui.sign_up(bob, bob_name)
    ui.create_channel(alice, channel)
    ui.join_channel(bob, channel)
    ui.send(alice, "Shall we ship it?")

    # Bob opens the picker from the message's actions, with the keyboard only
    message = ui.message(bob, "Shall we ship it?")
    message.hover()
    message.locator(".act-react").focus()
    bob.keyboard.press("Enter")
    picker = bob.get_by_role("dialog", name="Add a reaction")
    expect(picker).to_be_visible()
    expect(picker.get_by_role("button", name="thumbs up")).to_be_focused()
    check_a11y(bob, "the reaction picker")
    bob.keyboard.press("ArrowRight")  # red heart
    bob.keyboard.press("ArrowRight")  # face with tears of joy
    bob.keyboard.press("ArrowLeft")
    expect(picker.get_by_role("button", name="red heart")).to_be_focused()
    bob.keyboard.press("Enter")
    expect(picker).to_have_count(0)

    heart_for_bob = ui.message(bob, "Shall we ship it?").locator(".reaction-chip", has_text="❤️")
    expect(heart_for_bob).to_have_attribute("aria-pressed", "true")
    expect(heart_for_bob).to_have_accessible_name("red heart: 1 reaction, including yours")
    # Alice sees it live, not pressed (not hers); she joins in by pressing the chip
    heart = ui.message(alice, "Shall we ship it?").locator(".reaction-chip", has_text="❤️")
    expect(heart).to_have_attribute("aria-pressed", "false")
    expect(heart).to_contain_text("1")
    heart.click()
    expect(heart).to_have_attribute("aria-pressed", "true")
    expect(heart).to_contain_text("2")
    expect(heart_for_bob).to_contain_text("2")
    check_a11y(alice, "a message with reaction chips")

    # a short name typed in the picker, from the add button beside the chips
    ui.message(alice, "Shall we ship it?").locator(".reaction-add").click()
    dialog = alice.get_by_role("dialog", name="Add a reaction")
    dialog.get_by_label("Or type an emoji or its name").fill(":tada:")
    dialog.get_by_role("button", name="Add").click()
    expect(ui.message(bob, "Shall we ship it?").locator(".reaction-chip", has_text="🎉")).to_contain_text("1")

    # toggling off: Bob takes his heart back, everyone sees the count go down
    heart_for_bob.click()
    expect(heart_for_bob).to_have_attribute("aria-pressed", "false")
    expect(heart).to_contain_text("1")
    shot(alice, "reactions-alice")
    assert pages.errors == [] and pages.dialogs == []


def test_pin_a_message_and_find_it_in_the_pins_list(pages, server):
    alice_name, bob_name, channel = name("alice"), name("bob"), name("pins")
    alice, bob = pages.new(), pages.new()
    ui.sign_up(alice, alice_name)
    ui.sign_up(bob, bob_name)
    ui.create_channel(alice, channel)
    ui.join_channel(bob, channel)
    ui.send(alice, "The release checklist lives in the wiki")
    ui.send(alice, "Lunch at noon?")

    message = ui.message(alice, "release checklist")
    message.hover()
    message.get_by_role("button", name="Pin message").click()
    expect(ui.message(alice, "release checklist").locator(".pinned-note")).to_have_text("📌 Pinned")
    # a message without reactions shows no reaction bar (nor anything in its place)
    expect(ui.message(alice, "Lunch at noon?").locator(".content")).to_have_text(re.compile(r"^Lunch at noon\?$"))
    expect(ui.message(bob, "release checklist").locator(".pinned-note")).to_be_visible()  # live

    bob.locator(".channel-head").get_by_role("button", name="Pins").click()
    pins = bob.get_by_role("dialog", name=f"Pinned in #{channel}")
    items = pins.locator(".pin-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("The release checklist lives in the wiki")
    check_a11y(bob, "the pins list")
    # pinned elsewhere meanwhile: the open list follows
    other = ui.message(alice, "Lunch at noon?")
    other.hover()
    other.get_by_role("button", name="Pin message").click()
    expect(items).to_have_count(2)
    expect(items.first).to_contain_text("Lunch at noon?")  # the latest pinned first
    # Show closes the list and brings the message into view, with the focus on it
    items.nth(1).get_by_role("button", name="Show", exact=False).click()
    expect(pins).to_have_count(0)
    expect(ui.message(bob, "release checklist")).to_be_focused()
    # unpinned from the list
    bob.locator(".channel-head").get_by_role("button", name="Pins").click()
    expect(items).to_have_count(2)
    items.first.get_by_role("button", name="Unpin", exact=False).click()
    expect(items).to_have_count(1)
    expect(ui.message(alice, "Lunch at noon?").locator(".pinned-note")).to_have_count(0)
    bob.keyboard.press("Escape")
    expect(pins).to_have_count(0)
    shot(bob, "pins-bob")
    assert pages.errors == [] and pages.dialogs == []


def test_reactions_and_pins_made_while_the_page_was_away_show_after_it_reconnects(browser_pages, own_server):
    """Made right after a server restart, before the page is back (the page's `sync`
    brings the message again, with its reactions and pin)."""
    server = own_server
    pages = browser_pages(server.url)
    alice = pages.new()
    ui.sign_up(alice, "alice")
    ui.create_channel(alice, "general")
    bob = server.person("bob")
    channel_id = int(alice.evaluate("location.hash").split("/")[2])
    server.ok("POST", f"/channels/{channel_id}/join", token=bob.token)
    message = server.ok("POST", "/messages", {"channel_id": channel_id, "body": "vote here"}, bob.token)["message"]
    expect(ui.message(alice, "vote here")).to_be_visible()

    server.stop()
    expect(alice.locator(".connection-banner")).to_have_text("Reconnecting…")
    server.start()
    server.ok("POST", f"/messages/{message['id']}/reactions", {"emoji": "rocket"}, bob.token)
    server.ok("POST", f"/messages/{message['id']}/pin", token=bob.token)
    expect(alice.locator(".connection-banner")).to_be_hidden(timeout=20_000)
    chip = ui.message(alice, "vote here").locator(".reaction-chip")
    expect(chip).to_have_accessible_name("rocket: 1 reaction")
    expect(chip).to_have_attribute("aria-pressed", "false")
    expect(ui.message(alice, "vote here").locator(".pinned-note")).to_be_visible()
    assert pages.errors == []
