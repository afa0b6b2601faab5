"""Incoming webhooks in the browser: the channel's owner opens Webhooks from the header
(keyboard only), makes one, sees its URL once with a Copy button, posts through it from
outside (the message appears live under the webhook's name) and deletes it; a member who
is not an owner sees no Webhooks button. axe finds nothing serious."""

from __future__ import annotations

import itertools
import json
import urllib.error
import urllib.request

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402
from tests.web.conftest import shot  # noqa: E402

_n = itertools.count(1)


def post_hook(url: str, text: str) -> int:
    request = urllib.request.Request(url, data=json.dumps({"text": text}).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_owner_makes_uses_and_deletes_a_webhook(pages, server):
    alice_name, bob_name, channel = f"hookowner{next(_n)}", f"hookmember{next(_n)}", f"deploys{next(_n)}"
    alice = pages.new()
    ui.sign_up(alice, alice_name)
    ui.create_channel(alice, channel)

    button = alice.locator(".channel-view").get_by_role("button", name="Webhooks")
    expect(button).to_be_visible()
    button.focus()
    alice.keyboard.press("Enter")
    dialog = alice.get_by_role("dialog", name=f"Webhooks of #{channel}")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_text("No webhooks yet.")).to_be_visible()
    name = dialog.locator("input[name=name]")
    expect(name).to_be_focused()
    name.fill("Build bot")
    name.press("Enter")
    url_field = dialog.get_by_role("textbox", name="URL of webhook Build bot")
    expect(url_field).to_be_visible()
    expect(dialog.get_by_role("button", name="Copy")).to_be_visible()
    expect(dialog.locator(".webhook-item")).to_have_count(1)
    check_a11y(alice, "the webhooks dialog")
    shot(alice, "webhooks-dialog")
    url = url_field.input_value()
    assert url.startswith(server.url + "/hooks/")

    alice.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert post_hook(url, "Build **42** passed") == 200
    posted = ui.message(alice, "Build 42 passed")
    expect(posted).to_be_visible()
    expect(posted).to_contain_text("Build bot")

    # bob joins; he is a member, not an owner: no Webhooks button for him
    bob = pages.new()
    ui.sign_up(bob, bob_name)
    ui.join_channel(bob, channel)
    expect(ui.message(bob, "Build 42 passed")).to_be_visible()
    expect(bob.locator(".channel-view").get_by_role("button", name="Webhooks")).to_have_count(0)

    # alice deletes it: the URL stops working
    button.click()
    dialog = alice.get_by_role("dialog", name=f"Webhooks of #{channel}")
    dialog.get_by_role("button", name="Delete webhook Build bot").click()
    alice.get_by_role("dialog", name="Delete webhook").get_by_role("button", name="Delete").click()
    expect(dialog.get_by_text("No webhooks yet.")).to_be_visible()
    assert post_hook(url, "too late") == 404
