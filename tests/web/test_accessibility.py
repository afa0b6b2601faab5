"""The web client by keyboard and screen reader: axe-core finds no serious or critical
violation in any state of the page people see, and the main flows work from the keyboard."""

from __future__ import annotations

import itertools
import re
import threading

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402
from tests.web.conftest import shot  # noqa: E402
from tests.web.kit import watch_llm_responses  # noqa: E402

_n = itertools.count(1)


def name(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


def focused(page, selector: str) -> bool:
    return page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector)


def tab_until(page, selector: str, key: str = "Tab", limit: int = 60) -> int:
    """Press ``key`` until the focused element matches ``selector``; how many presses (fails past ``limit``)."""
    for presses in range(1, limit + 1):
        page.keyboard.press(key)
        if focused(page, selector):
            return presses
    where = page.evaluate("document.activeElement?.outerHTML.slice(0, 200)")
    raise AssertionError(f"{key} x{limit} never reached {selector}; the focus is on {where}")


def wait_for(condition, page, limit: int = 200) -> None:
    """Let the page run until ``condition()`` holds (fails after ``limit`` short waits)."""
    for _ in range(limit):
        if condition():
            return
        page.wait_for_timeout(50)
    raise AssertionError("the page never reached the expected state")


# a bot's progress event, handed to the page's own handler as if the socket had brought it
REPLAY = """async (data) => {
    const { handlers } = await import("/static/js/live.js");
    handlers.llm_response(data);
}"""


def test_sign_in_and_sign_up_forms(pages, server):
    taken = server.person(name("taken")).username
    page = pages.new()
    expect(page.locator(".auth-form")).to_be_visible()
    check_a11y(page, "the sign-in form")
    page.get_by_role("button", name="New here? Create an account").click()
    expect(page.get_by_label("Display name (optional)")).to_be_visible()
    check_a11y(page, "the sign-up form")
    # a refused sign-up: the server's message, announced (role=alert)
    page.get_by_label("Username").fill(taken)
    page.get_by_label("Password").fill("correct-horse")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("alert")).not_to_have_text("")
    check_a11y(page, "the sign-up form with an error")

    # signing in by keyboard alone: the username has the focus, Tab to the password, Enter
    page.reload()
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type(taken)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type("correct-horse")
    page.keyboard.press("Enter")
    expect(page.locator(".me-name")).to_contain_text(taken)
    assert pages.errors == []


def test_chat_with_unread_presence_thread_and_dialogs(pages, server):
    alice_name, bob_name = name("alice"), name("bob")
    lobby, quiet = name("lobby"), name("quiet")
    alice, bob = pages.new(), pages.new()
    ui.sign_up(alice, alice_name, display_name="Alice Liddell")
    ui.sign_up(bob, bob_name)
    ui.create_channel(alice, lobby, topic="Everything and anything")
    ui.create_channel(alice, quiet, private=True)
    ui.join_channel(bob, lobby)
    # a public channel Alice is not in, for the browse dialog
    server.ok("POST", "/channels", {"name": name("elsewhere"), "topic": "Bob's corner"}, server.login(bob_name).token)

    # Bob writes in #lobby while Alice looks at #quiet: unread for her
    ui.send(bob, "Hello Alice, see https://example.com/docs")
    expect(alice.locator(".channel-item", has_text=lobby).locator(".unread-badge")).to_have_text("1")
    # the badge shows the number; a screen reader hears "1 unread" with the channel's name
    expect(alice.get_by_role("link", name=re.compile(rf"{lobby}\W*1 unread$"))).to_be_visible()
    check_a11y(alice, "the chat with an unread channel")

    # #lobby: the messages, and Bob online in the people list
    ui.open_channel(alice, lobby)
    ui.send(alice, "Hi Bob")
    expect(ui.message(alice, "Hi Bob")).to_be_visible()
    expect(alice.locator(".person", has_text=bob_name).get_by_role("img", name="online")).to_be_visible()
    check_a11y(alice, "a channel's messages, with presence")
    mine = ui.message(alice, "Hi Bob")
    mine.hover()
    check_a11y(alice, "a message with its actions shown")

    # a thread open in its side panel
    root = ui.message(alice, "Hello Alice")
    root.hover()
    root.get_by_role("button", name="Reply in thread").click()
    ui.send(alice, "Answering in the thread", where=".thread-panel")
    expect(ui.message(alice, "Answering in the thread", where=".thread-panel")).to_be_visible()
    expect(root.locator(".thread-link")).to_have_text("1 reply")
    check_a11y(alice, "a thread open in its side panel")
    shot(alice, "a11y-thread")

    # the dialogs: named by their titles, no violation, Escape closes them
    alice.locator(".sidebar").get_by_role("button", name="Browse channels").click()
    browse = alice.get_by_role("dialog", name="Browse channels")
    expect(browse.locator(".browse-item")).not_to_have_count(0)
    check_a11y(alice, "the browse channels dialog")
    alice.keyboard.press("Escape")
    expect(alice.locator("dialog")).to_have_count(0)
    alice.locator(".sidebar").get_by_role("button", name="Create a channel").click()
    create = alice.get_by_role("dialog", name="Create a channel")
    expect(create.get_by_label("Name")).to_be_focused()
    check_a11y(alice, "the create channel dialog")
    create.get_by_label("Name").fill(lobby)  # taken: the server says so
    create.get_by_role("button", name="Create").click()
    expect(create.get_by_role("alert")).not_to_have_text("")
    check_a11y(alice, "the create channel dialog with an error")
    alice.keyboard.press("Escape")
    expect(alice.locator("dialog")).to_have_count(0)

    # axe came in through the DevTools protocol: the page's CSP still refuses inline scripts
    ran = alice.evaluate(
        """() => {
            window.inlineRan = false;
            const script = document.createElement("script");
            script.textContent = "window.inlineRan = true";
            document.head.append(script);
            return [typeof window.axe, window.inlineRan];
        }"""
    )
    assert ran == ["object", False]
    assert pages.errors == [] and pages.dialogs == []


def test_keyboard_reaches_the_composer_sends_and_opens_and_closes_a_thread(pages, server):
    page = pages.new()
    me, first, second = name("keys"), name("first"), name("second")
    ui.sign_up(page, me)
    ui.create_channel(page, first)
    ui.create_channel(page, second)
    composer = ".channel-view .composer-input"
    # opening a channel puts the keyboard in its composer
    expect(page.locator(composer)).to_be_focused()

    # from the sidebar, Tab goes through the channel's header and messages to the composer
    page.locator(".channel-item a", has_text=first).focus()
    page.keyboard.press("Enter")
    expect(page.locator(".channel-title h2")).to_contain_text(first)
    page.locator(".channel-item a", has_text=second).focus()
    tab_until(page, composer)
    # Enter sends, Shift+Enter makes a new line
    page.keyboard.type("typed with the keyboard")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    page.keyboard.press("Enter")
    sent = ui.message(page, "typed with the keyboard")
    expect(sent.locator(".body")).to_have_text("typed with the keyboard\nsecond line")

    # back from the composer to the message's actions, which show while they have the focus
    tab_until(page, ".channel-view .msg .act-thread", key="Shift+Tab", limit=10)
    actions = sent.locator(".actions")
    assert actions.evaluate("el => getComputedStyle(el).opacity") == "1"
    page.keyboard.press("Enter")
    panel = page.locator(".thread-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".composer-input")).to_be_focused()
    page.keyboard.type("a reply by keyboard")
    page.keyboard.press("Enter")
    expect(ui.message(page, "a reply by keyboard", where=".thread-panel")).to_be_visible()
    # Escape closes the panel (it has a close button too), and the focus goes back to the message
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    thread_link = sent.locator(".thread-link")
    expect(thread_link).to_have_text("1 reply")
    expect(thread_link).to_be_focused()
    page.keyboard.press("Enter")
    expect(panel.locator(".composer-input")).to_be_focused()
    tab_until(page, ".thread-panel button[aria-label='Close thread']", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(panel).to_be_hidden()
    expect(thread_link).to_be_focused()
    assert pages.errors == [] and pages.dialogs == []


def test_narrow_layout(pages, server):
    page = pages.new(width=390, height=780)
    me, channel = name("phone"), name("pocket")
    ui.sign_up(page, me)
    menu = page.get_by_role("button", name="Channels", exact=True)
    expect(menu).to_have_attribute("aria-expanded", "false")
    check_a11y(page, "the narrow layout without a channel")
    menu.click()
    ui.create_channel(page, channel)
    ui.send(page, "typed on a phone")
    expect(ui.message(page, "typed on a phone")).to_be_visible()
    check_a11y(page, "the narrow layout")

    # the menu by keyboard: it opens the sidebar with the focus in it; Escape closes it
    menu.focus()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".channel-item a", has_text=channel)).to_be_focused()
    expect(page.locator(".sidebar")).to_be_in_viewport(ratio=1)  # slid in
    check_a11y(page, "the narrow layout with the sidebar open")
    shot(page, "a11y-narrow-sidebar")
    page.keyboard.press("Escape")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(menu).to_be_focused()
    # while closed, the sidebar is out of the tab order
    expect(page.locator(".sidebar")).to_be_hidden()

    root = ui.message(page, "typed on a phone")
    root.hover()
    root.get_by_role("button", name="Reply in thread").click()
    expect(page.locator(".thread-panel .composer-input")).to_be_focused()
    check_a11y(page, "the narrow layout with a thread open")
    assert pages.errors == []


def test_bots_panel_config_form_and_sql_answer(browser_pages, bots_server, llm_stub):
    from tests.plugins.sql_agent.openai_stub_server import call, text

    pages = browser_pages(bots_server.url)
    boss = pages.new()
    events = watch_llm_responses(boss)
    ui.sign_in(boss, "boss")
    ui.create_channel(boss, name("data"))
    ui.send(boss, "Questions about our customers")
    panel = ui.open_thread(boss, "Questions about our customers")
    panel.get_by_role("button", name="Bots").click()
    expect(panel.locator(".bots-panel")).to_contain_text("No bot is on here.")
    check_a11y(boss, "the bots panel")
    form = ui.enable_form(panel, "sql")
    # the warehouse's tables are offered to tick (the config's "x-venn-options")
    expect(form.locator("input[type=checkbox][value=customers]")).to_be_visible()
    check_a11y(boss, "the bots panel's config form")
    # no table allowed: the server's error shows by the field
    form.get_by_role("button", name="Enable").click()
    field = form.locator(".field", has=boss.locator("input[type=checkbox][name=allowed_tables]"))
    expect(field.get_by_role("alert")).not_to_have_text("")
    check_a11y(boss, "the config form with a field error")
    form.locator("input[type=checkbox][value=customers]").check()
    form.get_by_role("button", name="Enable").click()
    expect(panel.locator(".bot-item[data-plugin=sql]")).to_contain_text("on (this thread)")
    check_a11y(boss, "the bots panel with a bot on")
    panel.get_by_role("button", name="Bots").click()

    # a SQL answer: its table, its SQL folded away (then unfolded), its CSV link
    ui.send(boss, "/sql SELECT 'a' AS label, 42 AS answer, NULL AS nothing", where=".thread-panel")
    result = panel.locator(".sql-result")
    expect(result.locator("tbody td")).to_have_text(["a", "42", "NULL"])
    expect(result.get_by_role("link", name="Download CSV")).to_be_visible()
    check_a11y(boss, "a SQL result")
    result.locator("details.sql-block summary").click()
    expect(result.locator("details.sql-block pre")).to_be_visible()
    check_a11y(boss, "a SQL result with its SQL unfolded")

    # the agent's progress, held on screen: the model's second answer waits for the gate
    gate = threading.Event()

    def held(_body):
        gate.wait(30)
        return text("There are that many customers.")

    llm_stub.script(call("run_query", sql="SELECT COUNT(*) AS n FROM customers"), held)
    try:
        ui.send(boss, "/ask How many customers are there?", where=".thread-panel")
        # thinking, running the SQL, thinking again (held): the page has had all three
        wait_for(lambda: [e.get("status") for e in events][-3:] == ["thinking", "running_sql", "thinking"], boss)
        progress = panel.locator(".llm-progress")
        expect(progress).to_have_text("Thinking…")
        check_a11y(boss, "the SQL agent's progress (thinking)")
        # the plugin's own drawing ("Running SQL…" with the statement) of the event the page
        # got, drawn again as another query's progress so that it stays on screen
        running = [e for e in events if e.get("status") == "running_sql"][-1]
        again = {**running, "query_id": running["query_id"] + 1000}
        boss.evaluate(REPLAY, again)
        expect(progress.locator(".llm-sql")).to_have_text("SELECT COUNT(*) AS n FROM customers")
        check_a11y(boss, "the SQL agent's progress (running SQL)")
        shot(boss, "a11y-sql-progress")
        boss.evaluate(REPLAY, {**again, "status": "done"})
    finally:
        gate.set()
    answer = ui.message(boss, "There are that many customers.", where=".thread-panel")
    expect(answer.locator(".sql-result th")).to_have_text(["n"], timeout=20_000)
    expect(panel.locator(".llm-progress")).to_have_count(0)
    check_a11y(boss, "the SQL agent's answer")
    assert pages.errors == [] and pages.dialogs == []


def test_reconnecting_banner(browser_pages, own_server):
    pages = browser_pages(own_server.url)
    page = pages.new()
    ui.sign_up(page, "offline")
    ui.create_channel(page, "waiting")
    own_server.stop()
    banner = page.get_by_role("status").filter(has_text="Reconnecting…")
    expect(banner).to_be_visible()
    ui.send(page, "written while offline")
    expect(page.locator(".channel-view .msg.pending")).to_contain_text("Waiting for the connection…")
    check_a11y(page, "the reconnecting banner with a pending message")
    shot(page, "a11y-reconnecting")
