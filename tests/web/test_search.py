"""Search in the browser: the box finds a message (keyboard only), the results mark the
words found, and choosing one opens its channel, reads older history until the message
is there, and highlights it; a thread reply opens its thread. axe finds nothing serious."""

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


def test_search_finds_a_message_and_jumps_to_it(pages, server):
    alice_name, old, other = name("alice"), name("archive"), name("elsewhere")
    alice = pages.new()
    ui.sign_up(alice, alice_name)
    ui.create_channel(alice, old)
    ui.create_channel(alice, other)
    person = server.login(alice_name)
    channels = {c["name"]: c["id"] for c in server.ok("GET", "/channels", token=person.token)["channels"]}
    # the message is older than the first page of its channel's history (50 messages)
    needle = server.ok("POST", "/messages", {"channel_id": channels[old], "body": "The zebra crossing at noon"},
                       person.token)["message"]
    for i in range(70):
        server.ok("POST", "/messages", {"channel_id": channels[old], "body": f"filler {i}"}, person.token)
    root = server.ok("POST", "/messages", {"channel_id": channels[old], "body": "a thread about lunch"},
                     person.token)["message"]
    thread = server.ok("POST", "/threads", {"channel_id": channels[old], "root_message_id": root["id"]},
                       person.token)["thread"]
    reply = server.ok("POST", "/messages", {"channel_id": channels[old], "thread_id": thread["id"],
                                            "body": "zebra stripes in the thread"}, person.token)["message"]
    ui.open_channel(alice, other)

    # "/" goes to the search box; Enter searches
    alice.locator(".composer-input").blur()
    alice.keyboard.press("/")
    box = alice.get_by_role("searchbox", name="Search messages")
    expect(box).to_be_focused()
    box.fill('"zebra crossing"')
    box.press("Enter")
    results = alice.get_by_role("dialog", name='Search: "zebra crossing"')
    expect(results).to_be_visible()
    hits = results.locator(".search-hit")
    expect(hits).to_have_count(1)
    expect(hits.first).to_be_focused()
    expect(hits.first.locator("mark")).to_have_text(["zebra crossing"])
    expect(hits.first).to_contain_text(f"#{old}")
    check_a11y(alice, "the search results")
    shot(alice, "search-results")

    alice.keyboard.press("Enter")
    expect(results).to_have_count(0)
    expect(alice.locator(".channel-title h2")).to_contain_text(old)
    found = alice.locator(f'.channel-view .msg[data-id="{needle["id"]}"]')
    expect(found).to_be_visible()
    expect(found).to_have_class(re.compile(r"\bflash\b"))
    expect(found).to_be_focused()
    expect(found).to_be_in_viewport()

    # a thread reply: its thread opens with the reply highlighted
    box.fill("zebra")
    box.press("Enter")
    results = alice.get_by_role("dialog", name="Search: zebra")
    expect(results.locator(".search-hit")).to_have_count(2)
    results.locator(".search-hit", has_text="stripes").click()
    in_thread = alice.locator(f'.thread-panel .msg[data-id="{reply["id"]}"]')
    expect(in_thread).to_be_visible()
    expect(in_thread).to_have_class(re.compile(r"\bflash\b"))
    check_a11y(alice, "a message found by search")

    # nothing found: said so, and Escape goes back to the box
    box.fill("okapi")
    box.press("Enter")
    results = alice.get_by_role("dialog", name="Search: okapi")
    expect(results.get_by_role("status")).to_contain_text("No messages match")
    alice.keyboard.press("Escape")
    expect(results).to_have_count(0)
    expect(box).to_be_focused()
