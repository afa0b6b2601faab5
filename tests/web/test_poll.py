"""A bot message's buttons and selects in the browser: the bundled poll, voted on by two
people who see the tally change live (the focus stays on the button pressed), and a
select (an incoming webhook's message, which no plugin answers) chosen with the keyboard,
whose refusal shows under it; axe finds nothing serious in either."""

from __future__ import annotations

import itertools
import json
import re
import urllib.request

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402
from tests.web.conftest import shot  # noqa: E402
from tests.web.kit import Server  # noqa: E402

_n = itertools.count(1)


def name(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


@pytest.fixture(scope="module")
def admin_server(browser, tmp_path_factory):
    """A server with an admin, "boss", who switches the poll on (through the API)."""
    srv = Server(tmp_path_factory.mktemp("poll-server"))
    srv.create_admin("boss")
    srv.start()
    yield srv
    srv.stop()


def channel_id(page) -> int:
    return int(page.evaluate("location.hash").split("/")[2])


def test_two_people_vote_in_a_poll_and_see_the_tally_live(browser_pages, admin_server):
    server = admin_server
    pages = browser_pages(server.url)
    alice_name, bob_name, channel = name("alice"), name("bob"), name("lunch")
    alice, bob = pages.new(), pages.new()
    ui.sign_up(alice, alice_name)
    ui.sign_up(bob, bob_name)
    ui.create_channel(alice, channel)
    ui.join_channel(bob, channel)
    ui.send(alice, "Where do we eat today?")
    root_id = int(ui.message(alice, "Where do we eat today?").get_attribute("data-id"))

    # the admin switches the poll on in the message's thread
    boss = server.login("boss")
    where = {"channel_id": channel_id(alice), "root_message_id": root_id}
    server.ok("POST", f"/channels/{where['channel_id']}/join", token=boss.token)
    thread = server.ok("POST", "/threads", where, boss.token)["thread"]
    server.ok("POST", f"/threads/{thread['id']}/bots", {"plugin": "poll", "config": {}}, boss.token)

    for page in (alice, bob):
        ui.open_thread(page, "Where do we eat today?")
    ui.send(alice, '/poll "Lunch?" pizza sushi', where=".thread-panel")
    poll_for = {page: ui.message(page, "📊 Lunch?", where=".thread-panel") for page in (alice, bob)}
    buttons = {page: poll_for[page].get_by_role("group", name="Message actions") for page in (alice, bob)}
    expect(buttons[alice].get_by_role("button")).to_have_text(["pizza (0)", "sushi (0)"])
    expect(poll_for[alice].locator(".payload-raw")).to_have_count(0)  # the actions are not shown as data

    buttons[alice].get_by_role("button", name="pizza (0)").click()
    expect(buttons[alice].get_by_role("button")).to_have_text(["pizza (1)", "sushi (0)"])
    # Bob's page follows without a reload
    expect(buttons[bob].get_by_role("button")).to_have_text(["pizza (1)", "sushi (0)"])
    expect(poll_for[bob].locator(".body")).to_contain_text("pizza: 1 vote")

    # Bob votes with the keyboard; the redrawn poll keeps his focus on his button
    buttons[bob].get_by_role("button", name="sushi (0)").focus()
    bob.keyboard.press("Enter")
    expect(buttons[bob].get_by_role("button")).to_have_text(["pizza (1)", "sushi (1)"])
    expect(buttons[bob].get_by_role("button", name="sushi (1)")).to_be_focused()
    expect(buttons[alice].get_by_role("button")).to_have_text(["pizza (1)", "sushi (1)"])
    for page in (alice, bob):
        expect(poll_for[page].locator(".body")).to_contain_text("2 votes")
    check_a11y(bob, "a poll with its buttons")
    shot(bob, "poll-bob")
    assert pages.errors == [] and pages.dialogs == []


def test_a_select_chosen_by_keyboard_and_a_refused_click_shown(browser_pages, admin_server):
    server = admin_server
    pages = browser_pages(server.url)
    owner = server.person(name("carol"))
    channel = name("deploys")
    created = server.ok("POST", "/channels", {"name": channel}, owner.token)["channel"]
    hook = server.ok("POST", f"/channels/{created['id']}/webhooks", {"name": "deploy-bot"}, owner.token)["webhook"]
    actions = [
        {
            "type": "select",
            "id": "env",
            "label": "Environment",
            "options": [{"label": "Staging", "value": "staging"}, {"label": "Production", "value": "prod"}],
        },
        {"type": "button", "id": "cancel", "label": "Cancel the deploy", "value": "x", "style": "danger"},
    ]
    request = urllib.request.Request(
        server.url + hook["url"],
        data=json.dumps({"text": "Deploy where?", "payload": {"actions": actions}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200

    dave = pages.new()
    ui.sign_up(dave, name("dave"))
    ui.join_channel(dave, channel)
    message = ui.message(dave, "Deploy where?")
    group = message.get_by_role("group", name="Message actions")
    expect(group.get_by_role("button", name="Cancel the deploy")).to_have_class(re.compile(r"\bdanger\b"))
    choice = group.get_by_label("Environment", exact=True)
    expect(choice).to_have_value("")  # nothing chosen yet
    check_a11y(dave, "a message with a select and a button")

    # keyboard only: into the select, down to an option, on to its button, Enter
    choice.focus()
    dave.keyboard.press("ArrowDown")
    expect(choice).to_have_value("staging")
    dave.keyboard.press("Tab")
    send = group.get_by_role("button", name="Send Environment")
    expect(send).to_be_focused()
    dave.keyboard.press("Enter")
    # a webhook's message has no plugin behind it: the server's refusal shows under it
    expect(message.get_by_role("alert")).to_have_text(
        re.compile(r"^Not sent: No \w+ answers this message's \w+ here\.$")
    )
    expect(send).to_be_focused()
    expect(send).not_to_have_attribute("aria-disabled", "true")
    expect(choice).to_have_value("staging")  # kept for another try
    check_a11y(dave, "a refused action")
    shot(dave, "message-actions-refused")
    assert pages.errors == [] and pages.dialogs == []
