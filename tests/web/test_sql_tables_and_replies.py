"""In the page: an admin ticks the warehouse's tables to enable the SQL agent (the config
schema's "x-venn-options"), and a bot's reply names the message it answers, which one
click (or Enter) shows, older history included."""

from __future__ import annotations

import re
import threading

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.conftest import shot  # noqa: E402

OPTIONS_SCHEMA = {
    "properties": {
        "allowed_tables": {"type": "array", "items": {"type": "string"}, "x-venn-options": "/api/v1/sql/tables"},
        "elsewhere": {"type": "array", "items": {"type": "string"}, "x-venn-options": "https://example.com/list"},
    },
    "required": ["allowed_tables"],
}
PROBE = """async ([schema, values]) => {
    const { schemaFields } = await import("/static/js/views/schema-form.js");
    window.probe = schemaFields(schema, values);
    window.probe.el.id = "probe";
    document.body.append(window.probe.el);
}"""


@pytest.fixture(scope="module")
def llm(llm_stub):
    """The scripted OpenAI-compatible server (tests/web/conftest.py)."""
    return llm_stub


@pytest.fixture(scope="module")
def sql_server(bots_server):
    return bots_server


def test_admin_ticks_tables_and_a_reply_shows_what_it_answers(browser_pages, sql_server):
    pages = browser_pages(sql_server.url)
    boss = pages.new()
    ui.sign_in(boss, "boss")
    ui.create_channel(boss, "warehouse")
    ui.send(boss, "What do we have?")
    panel = ui.open_thread(boss, "What do we have?")
    panel.get_by_role("button", name="Bots").click()
    form = ui.enable_form(panel, "sql")
    choices = form.get_by_role("group", name="Allowed Tables")
    expect(choices.locator(".option")).to_have_count(4)
    customers = choices.locator(".option", has=boss.locator("input[value=customers]"))
    expect(customers.locator(".option-notes")).to_have_text("One row per customer account. · 900 rows")
    expect(form.locator("textarea[name=allowed_tables]")).to_be_hidden()
    shot(boss, "sql-enable-tables")
    # nothing ticked: the server's refusal lands next to the field
    form.get_by_role("button", name="Enable").click()
    expect(form.locator(".field", has=boss.locator(".options-field")).locator(".field-error")).to_contain_text(
        "at least 1 item"
    )
    # ticked with the mouse, and with the keyboard
    customers.locator("input").check()
    orders = choices.locator("input[value=orders]")
    orders.focus()
    orders.press("Space")
    expect(orders).to_be_checked()
    form.get_by_role("button", name="Enable").click()
    expect(panel.locator(".bot-item[data-plugin=sql]")).to_contain_text("on (this thread)")
    panel.get_by_role("button", name="Bots").click()  # fold the bots away

    ui.send(boss, "/tables", where=".thread-panel")
    answer = ui.message(boss, "Tables you can ask about here (2)", where=".thread-panel")
    expect(answer.locator(".body")).to_contain_text("customers: One row per customer account. · 900 rows")
    line = answer.locator(".reply-to")
    expect(line).to_have_text("↪ in reply to @boss: /tables")
    shot(boss, "sql-reply-to")
    line.focus()
    line.press("Enter")
    asked = panel.locator(".msg", has=boss.locator(".body", has_text="/tables")).first
    expect(asked).to_be_focused()
    expect(asked).to_have_class(re.compile(r"\bflash\b"))
    # people's own messages name nothing
    expect(panel.locator(".msg:not(.bot) .reply-to")).to_have_count(0)
    assert pages.errors == [] and pages.dialogs == []


def test_a_reply_to_an_older_message_loads_it(browser_pages, sql_server, llm):
    """The question is out of the loaded page: the line says so, and a click reads older
    history until the question is there."""
    from tests.plugins.sql_agent.openai_stub_server import text

    boss = sql_server.login("boss")
    channel = sql_server.ok("POST", "/channels", {"name": "busy"}, boss.token)["channel"]
    sql_server.ok("POST", f"/channels/{channel['id']}/bots",
                  {"plugin": "sql", "config": {"allowed_tables": ["customers"]}}, boss.token)
    released = threading.Event()

    def answer_when_released(body):
        released.wait(60)  # holds the model's answer until the chatter below is posted
        return text("We have 900 customers.")

    llm.script(answer_when_released)
    sql_server.ok("POST", "/messages", {"channel_id": channel["id"], "body": "/ask how many customers?"}, boss.token)
    try:
        for n in range(60):
            sql_server.ok("POST", "/messages", {"channel_id": channel["id"], "body": f"chatter {n}"}, boss.token)
    finally:
        released.set()

    pages = browser_pages(sql_server.url)
    page = pages.new()
    ui.sign_in(page, "boss")
    ui.open_channel(page, "busy")
    answer = ui.message(page, "We have 900 customers.")
    line = answer.locator(".reply-to")
    expect(line).to_have_text("↪ in reply to an earlier message")
    expect(ui.message(page, "/ask how many customers?")).to_have_count(0)
    line.click()
    asked = ui.message(page, "/ask how many customers?")
    expect(asked).to_be_focused()
    expect(asked).to_be_in_viewport()
    expect(answer.locator(".reply-to")).to_have_text("↪ in reply to @boss: /ask how many customers?")
    assert pages.errors == [] and pages.dialogs == []


def test_options_that_cannot_be_read_leave_the_plain_list(browser_pages, sql_server):
    pages = browser_pages(sql_server.url)
    carol = pages.new()
    ui.sign_up(carol, "carol")  # no admin: GET /sql/tables answers 403
    carol.evaluate(PROBE, [OPTIONS_SCHEMA, {"allowed_tables": ["orders"]}])
    probe = carol.locator("#probe")
    expect(probe.locator(".options-note")).to_contain_text("could not be loaded (Only admins can list")
    expect(probe.locator("textarea[name=allowed_tables]")).to_have_value("orders")
    probe.locator("textarea[name=allowed_tables]").fill("orders, customers")
    # a hint that is no API path of this server is not followed
    expect(probe.locator(".options-field")).to_have_count(1)
    assert carol.evaluate("window.probe.read()") == {"allowed_tables": ["orders", "customers"], "elsewhere": []}
    assert pages.errors == [] and pages.dialogs == []
