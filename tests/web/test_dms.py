"""Direct messages in two browsers: Alice finds Bob in the "New message" dialog (by
keyboard), writes to him; the conversation appears live in Bob's sidebar, named after
Alice, and he reads and answers it."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402
from tests.web.conftest import shot  # noqa: E402

_n = itertools.count(1)


def name(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


def test_alice_writes_to_bob_who_sees_the_conversation_appear_and_answers(pages, server):
    alice_name, bob_name = name("alice"), name("bob")
    alice, bob = pages.new(), pages.new()
    ui.sign_up(alice, alice_name, display_name="Alice Liddell")
    ui.sign_up(bob, bob_name, display_name="Bob Builder")
    expect(bob.locator(".dm-list")).to_contain_text("No conversations yet.")

    # the dialog, by keyboard: type a prefix, arrow to the suggestion, Enter picks, Enter opens
    alice.locator(".sidebar").get_by_role("button", name="New message").click()
    dialog = alice.get_by_role("dialog", name="New message")
    search = dialog.get_by_role("combobox", name="To")
    expect(search).to_be_focused()
    alice.keyboard.type("bob builder")
    suggestion = dialog.get_by_role("option", name=f"Bob Builder @{bob_name}")
    expect(suggestion).to_have_attribute("aria-selected", "true")
    expect(search).to_have_attribute("aria-expanded", "true")
    check_a11y(alice, "the new message dialog with suggestions")
    alice.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Remove Bob Builder")).to_be_visible()
    expect(search).to_have_attribute("aria-expanded", "false")
    expect(search).to_be_focused()
    check_a11y(alice, "the new message dialog with a person picked")
    shot(alice, "dm-dialog")
    alice.keyboard.press("Enter")
    expect(alice.locator("dialog")).to_have_count(0)
    expect(alice.locator(".channel-title h2")).to_have_text("@Bob Builder")
    # a conversation's people are fixed: nothing to add, nothing to leave
    expect(alice.locator(".channel-view").get_by_role("button", name="Leave")).to_have_count(0)
    expect(alice.locator(".channel-view").get_by_role("button", name="Add people")).to_have_count(0)
    ui.send(alice, "Hi Bob, just between us")
    expect(ui.message(alice, "just between us")).to_be_visible()

    # Bob: the conversation appears live, by Alice's name, with the unread message
    item = bob.locator(".dm-list .channel-item", has_text="Alice Liddell")
    expect(item.locator(".unread-badge")).to_have_text("1")
    check_a11y(bob, "a new conversation in the sidebar")
    item.get_by_role("link").click()
    expect(bob.locator(".channel-title h2")).to_have_text("@Alice Liddell")
    expect(ui.message(bob, "Hi Bob, just between us")).to_be_visible()
    ui.send(bob, "Hello Alice!")
    expect(ui.message(alice, "Hello Alice!")).to_be_visible()
    check_a11y(bob, "a direct conversation")
    shot(bob, "dm-bob")

    # asking again opens the same conversation (no second one in the sidebar)
    alice.locator(".sidebar").get_by_role("button", name="New message").click()
    alice.keyboard.type(bob_name)
    expect(alice.get_by_role("option", name=f"Bob Builder @{bob_name}")).to_be_visible()
    alice.keyboard.press("Enter")
    alice.keyboard.press("Enter")
    expect(alice.locator("dialog")).to_have_count(0)
    expect(alice.locator(".dm-list .channel-item")).to_have_count(1)
    expect(ui.message(alice, "Hello Alice!")).to_be_visible()
    assert pages.errors == [] and pages.dialogs == []
