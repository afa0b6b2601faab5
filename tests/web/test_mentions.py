"""Mentions in the browser: `@` suggests people (picked by keyboard), a mention of me is
highlighted, the sidebar shows a mention badge, and a hidden tab gets a desktop
notification once notifications were turned on with a click (never asked on load);
axe finds nothing serious in the suggestions or the highlighted message."""

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


def test_suggest_by_keyboard_highlight_and_badge(pages, server):
    alice_name, bob_name, carol_name = name("alice"), name("bob"), name("bobby")
    channel, elsewhere = name("mentions"), name("elsewhere")
    alice, bob, carol = pages.new(), pages.new(), pages.new()
    ui.sign_up(alice, alice_name)
    ui.sign_up(bob, bob_name, display_name="Bob Builder")
    ui.sign_up(carol, carol_name)
    ui.create_channel(alice, channel)
    ui.join_channel(bob, channel)
    ui.join_channel(carol, channel)
    ui.create_channel(bob, elsewhere)  # bob looks at another channel meanwhile
    expect(alice.locator(".people-list")).to_contain_text("Bob Builder")

    box = alice.locator(".channel-view .composer-input")
    box.click()
    box.press_sequentially("Hi @bob")
    picker = alice.get_by_role("listbox", name="People to mention")
    expect(picker).to_be_visible()
    options = picker.get_by_role("option")
    expect(options).to_have_count(2)  # bob and bobby, not alice herself
    expect(options.nth(0)).to_have_attribute("aria-selected", "true")
    expect(options.nth(0)).to_contain_text(f"@{bob_name}")
    check_a11y(alice, "the mention suggestions")
    box.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", options.nth(1).get_attribute("id"))
    box.press("ArrowUp")
    box.press("Enter")  # picks, does not send
    expect(picker).to_be_hidden()
    expect(box).to_have_value(f"Hi @{bob_name} ")
    # Escape closes the suggestions and keeps the text; Tab picks too
    box.press_sequentially("and @")
    expect(picker).to_be_visible()
    box.press("Escape")
    expect(picker).to_be_hidden()
    box.press_sequentially("bobb")
    box.press("Tab")
    expect(box).to_have_value(f"Hi @{bob_name} and @{carol_name} ")
    box.press_sequentially("look at `@nobody` here")
    box.press("Enter")
    sent = ui.message(alice, "look at")
    expect(sent.locator(".mention")).to_have_count(2)
    expect(sent.locator(".mention-me")).to_have_count(0)  # not alice's own name

    # bob, in another channel: a mention badge beside the unread badge
    item = bob.locator(".channel-item", has_text=channel)
    expect(item.locator(".mention-badge")).to_have_text("@1")
    expect(item).to_contain_text("1 mention")
    ui.open_channel(bob, channel)
    mine = ui.message(bob, "look at")
    expect(mine).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(mine.locator(".mention-me")).to_have_text(f"@{bob_name}")
    expect(mine.locator(".mention:not(.mention-me)")).to_have_text(f"@{carol_name}")
    expect(bob.locator(".channel-item", has_text=channel).locator(".mention-badge")).to_have_count(0)
    check_a11y(bob, "a message that mentions me")
    shot(bob, "mention-highlight")
    assert pages.errors == [] and pages.dialogs == []


def test_desktop_notification_for_a_mention_while_hidden(pages, server):
    alice_name, bob_name, channel = name("alice"), name("bob"), name("notify")
    alice = pages.new()
    bob = ui.hooked_page(pages)
    ui.sign_up(alice, alice_name)
    ui.sign_up(bob, bob_name)
    ui.create_channel(alice, channel)
    ui.join_channel(bob, channel)

    # nothing asked on load: a button offers it, and asks when clicked
    expect(bob.get_by_role("button", name="Turn on desktop notifications")).to_be_visible()
    check_a11y(bob, "the notifications offer")
    ui.turn_on_notifications(bob)

    bob.evaluate("window.__setHidden(true)")
    ui.send(alice, "no mention in this one")
    ui.send(alice, f"@{bob_name} the build is red")
    ui.wait_for_notifications(bob, 1)
    ui.send(alice, f"and again @{bob_name}, please")
    shown = ui.wait_for_notifications(bob, 2)
    assert [n["title"] for n in shown] == [f"{alice_name} mentioned you in #{channel}"] * 2
    assert [n["body"] for n in shown] == [f"@{bob_name} the build is red", f"and again @{bob_name}, please"]
    bob.evaluate("window.__setHidden(false)")
    assert pages.errors == [] and pages.dialogs == []


def test_desktop_notification_for_a_direct_message_while_hidden(pages, server):
    alice_name, bob_name = name("alice"), name("bob")
    server.person(bob_name)
    alice = server.person(alice_name)
    bob_id = server.login(bob_name).id
    status, answer = server.call("POST", "/dms", {"user_ids": [bob_id]}, alice.token)
    if status == 404:
        pytest.skip("this server has no direct messages")
    assert status in (200, 201), answer
    dm = answer["channel"]
    bob = ui.hooked_page(pages)
    ui.sign_in(bob, bob_name)
    ui.create_channel(bob, name("own"))  # bob looks at a channel of his, not the conversation
    ui.turn_on_notifications(bob)
    item = bob.locator(".dm-list .channel-item", has_text=alice_name)
    expect(item).to_be_visible()
    expect(item.locator(".unread-badge")).to_have_count(0)
    # a first message while bob looks elsewhere: it arrives live (his page is in its room)
    server.ok("POST", "/messages", {"channel_id": dm["id"], "body": "are you there?"}, alice.token)
    expect(item.locator(".unread-badge")).to_have_text("1")
    assert bob.evaluate("window.__notifications.shown") == []  # the tab is not hidden

    bob.evaluate("window.__setHidden(true)")
    server.ok("POST", "/messages", {"channel_id": dm["id"], "body": "just between us"}, alice.token)
    server.ok("POST", "/messages", {"channel_id": dm["id"], "body": f"@{bob_name} and this too"}, alice.token)
    shown = ui.wait_for_notifications(bob, 2)
    assert [n["body"] for n in shown] == ["just between us", f"@{bob_name} and this too"]  # each once
    assert all(n["title"] == f"{alice_name} sent you a message" for n in shown)
    bob.evaluate("window.__setHidden(false)")
    assert pages.errors == [] and pages.dialogs == []
