"""The SQL agent's curated knowledge in the page: an admin keeps it from the sidebar's
"Tools" panel, by keyboard, and saves an answer as a verified example from the result;
members are offered neither."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.conftest import shot  # noqa: E402


@pytest.fixture(scope="module")
def sql_server(bots_server):
    """A server (the demo warehouse) whose SQL agent talks to the scripted LLM, with an admin "boss"."""
    return bots_server


def entries(server, token, **params) -> list[dict]:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return server.ok("GET", f"/sql/knowledge?{query}", token=token)["entries"]


def test_an_admin_keeps_the_knowledge_from_the_tools_panel_by_keyboard(browser_pages, sql_server):
    server = sql_server
    pages = browser_pages(server.url)
    boss = pages.new()
    ui.sign_in(boss, "boss")
    token = server.login("boss").token

    tool = boss.locator(".sidebar").get_by_role("button", name="SQL knowledge")
    tool.focus()
    boss.keyboard.press("Enter")
    dialog = boss.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="SQL knowledge")).to_be_visible()
    expect(dialog.locator(".knowledge-about")).to_contain_text("Warehouse: ")
    expect(dialog.get_by_role("list", name="Knowledge entries")).to_contain_text("No entries yet.")

    # a glossary term, typed and saved with the keyboard only
    form = dialog.locator("form.knowledge-form")
    form.get_by_label("Kind").select_option("glossary")
    expect(form.get_by_label("Table")).to_be_hidden()
    form.get_by_label("Term").fill("active customer")
    form.get_by_label("Description").fill("ordered in the last 90 days")
    form.get_by_label("Description").press("Tab")  # to "Save" (Cancel edit is hidden)
    boss.keyboard.press("Enter")
    expect(dialog.get_by_role("status").first).to_have_text("Entry added.")
    listed = dialog.get_by_role("list", name="Knowledge entries")
    expect(listed.locator(".knowledge-entry")).to_have_count(1)
    expect(listed.locator(".knowledge-entry")).to_contain_text("active customer")
    [term] = entries(server, token)
    assert (term["kind"], term["term"], term["description"]) == ("glossary", "active customer", "ordered in the last 90 days")

    # an example that writes is refused with the guard's reason, next to the form
    form.get_by_label("Kind").select_option("example")
    expect(form.get_by_label("Note (optional)")).to_be_visible()
    form.get_by_label("Question").fill("Remove the returns")
    form.get_by_label("SQL").fill("DELETE FROM orders WHERE status = 'returned'")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_role("alert")).to_contain_text("sql: DELETE statements are not allowed")
    form.get_by_label("SQL").fill("SELECT COUNT(*) AS n FROM orders WHERE status = 'returned'")
    form.get_by_label("Question").fill("How many orders were returned?")
    form.get_by_role("button", name="Save").click()
    expect(listed.locator(".knowledge-entry")).to_have_count(2)
    shot(boss, "sql-knowledge-panel")

    # edit the term: the form takes its values, the kind stays
    listed.get_by_role("button", name="Edit active customer").click()
    expect(form.get_by_label("Kind")).to_be_disabled()
    expect(form.get_by_label("Term")).to_be_focused()
    form.get_by_label("Description").fill("ordered in the last 60 days")
    form.get_by_role("button", name="Save").click()
    expect(listed).to_contain_text("ordered in the last 60 days")
    assert [e["description"] for e in entries(server, token, kind="glossary")] == ["ordered in the last 60 days"]

    # filter, then delete with a confirmation that starts on "Keep"
    dialog.get_by_label("Kind").first.select_option("example")
    expect(listed.locator(".knowledge-entry")).to_have_count(1)
    listed.get_by_role("button", name="Delete How many orders were returned?").click()
    expect(listed.get_by_role("button", name="Keep")).to_be_focused()
    listed.get_by_role("button", name="Really delete How many orders were returned?").click()
    expect(dialog.get_by_role("status").first).to_have_text("Entry deleted.")
    assert entries(server, token, kind="example") == []
    boss.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    # a member is offered no such panel
    carol = pages.new()
    ui.sign_up(carol, "carol")
    expect(carol.locator(".sidebar").get_by_role("button", name="Browse channels")).to_be_visible()
    expect(carol.get_by_role("button", name="SQL knowledge")).to_have_count(0)
    assert pages.errors == [] and pages.dialogs == []


def test_an_admin_saves_an_answer_as_a_verified_example(browser_pages, sql_server, llm_stub):
    from tests.plugins.sql_agent.openai_stub_server import call, text

    server = sql_server
    boss_token = server.login("boss").token
    dave = server.person("dave")
    channel = server.ok("POST", "/channels", {"name": "numbers"}, token=dave.token)["channel"]
    server.ok("POST", f"/channels/{channel['id']}/members", {"user_id": server.login("boss").id}, token=dave.token)
    root = server.ok("POST", "/messages", {"channel_id": channel["id"], "body": "returns?"}, token=dave.token)["message"]
    thread = server.ok("POST", "/threads", {"channel_id": channel["id"], "root_message_id": root["id"]},
                       token=dave.token)["thread"]
    server.ok("POST", f"/threads/{thread['id']}/bots",
              {"plugin": "sql", "config": {"allowed_tables": ["orders"]}}, token=boss_token)
    llm_stub.script(
        call("run_query", sql="SELECT COUNT(*) AS n FROM orders WHERE status = 'returned'"),
        text("These orders were returned."),
    )
    pages = browser_pages(server.url)
    where = f"/#/channel/{channel['id']}/thread/{thread['id']}"
    member = pages.new()
    ui.sign_in(member, "dave")
    member.goto(where)
    ui.send(member, "/ask How many orders were returned?", where=".thread-panel")
    answer = ui.message(member, "These orders were returned.", where=".thread-panel")
    expect(answer.locator(".sql-result")).to_be_visible(timeout=20_000)
    expect(answer.get_by_role("button", name="Save as verified example")).to_have_count(0)  # members: no

    boss = pages.new()
    ui.sign_in(boss, "boss")
    boss.goto(where)
    result = ui.message(boss, "These orders were returned.", where=".thread-panel").locator(".sql-result")
    result.get_by_role("button", name="Save as verified example").click()
    expect(result.get_by_role("status")).to_have_text("Saved as a verified example.")
    shot(boss, "sql-verified-example")
    [example] = entries(server, boss_token, kind="example")
    assert example["question"] == "How many orders were returned?"
    assert example["sql"].startswith("SELECT COUNT(*) AS n FROM orders WHERE status = 'returned'")
    assert example["source_query_id"] is not None
    assert pages.errors == [] and pages.dialogs == []


PANELS = """async () => {
    const r = await import("/static/js/renderers.js");
    const refused = [];
    for (const bad of [{ id: "x", label: "", open: () => null }, { id: "y", label: "Y" }, { id: "", label: "Z", open: () => null }]) {
        try { r.registerPanel(bad, "probe"); } catch (err) { refused.push(err instanceof TypeError); }
    }
    const taken = r.registerPanel({ id: "sql-knowledge", label: "Mine", open: () => null }, "probe");
    const admin = r.panelsFor({ role: "admin" }).map((p) => `${p.plugin}:${p.label}`);
    const member = r.panelsFor({ role: "member" }).map((p) => p.label);
    return { refused, taken, admin, member };
}"""


def test_the_panel_registry_checks_what_it_is_given(browser_pages, sql_server):
    pages = browser_pages(sql_server.url)
    page = pages.new()
    ui.sign_in(page, "boss")
    expect(page.get_by_role("button", name="SQL knowledge")).to_be_visible()
    state = page.evaluate(PANELS)
    assert state["refused"] == [True, True, True]  # no label, no open function, no id
    assert state["taken"] is False  # an id is kept by the first plugin that registers it
    assert state["admin"] == ["sql:SQL knowledge"] and state["member"] == []
