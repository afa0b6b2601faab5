"""Two people chat in two browsers: real time, threads, typing, safe rendering, sessions."""

from __future__ import annotations

import itertools
import urllib.request

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.conftest import shot  # noqa: E402

_n = itertools.count(1)


def name(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


def test_two_people_chat_live_and_reply_in_a_thread(pages, server):
    alice_name, bob_name, channel = name("alice"), name("bob"), name("general")
    alice, bob = pages.new(), pages.new()
    ui.sign_up(alice, alice_name, display_name="Alice Liddell")
    ui.sign_up(bob, bob_name)
    ui.create_channel(alice, channel, topic="Everything and anything")
    ui.join_channel(bob, channel)

    ui.send(alice, "Hello Bob, see https://example.com/docs")
    expect(ui.message(bob, "Hello Bob")).to_be_visible()
    # the display name is free text: the @username beside it says who really wrote
    expect(ui.message(bob, "Hello Bob").locator(".author")).to_have_text("Alice Liddell")
    expect(ui.message(bob, "Hello Bob").locator(".handle")).to_have_text(f"@{alice_name}")
    link = ui.message(bob, "Hello Bob").get_by_role("link", name="https://example.com/docs")
    expect(link).to_have_attribute("href", "https://example.com/docs")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")

    # typing shows on the other side; Shift+Enter is a new line, Enter sends
    box = bob.locator(".channel-view .composer-input")
    box.type("Hi Alice")
    expect(alice.locator(".channel-view .typing-line")).to_have_text(f"{bob_name} is typing…")
    box.press("Shift+Enter")
    box.type("two lines")
    box.press("Enter")
    reply = ui.message(alice, "two lines")
    expect(reply.locator(".body")).to_have_text("Hi Alice\ntwo lines")
    expect(alice.locator(".channel-view .typing-line")).to_have_text("")

    # presence: both are online in the people list
    expect(alice.locator(".person", has_text=bob_name).locator(".dot.online")).to_be_visible()

    # Bob answers Alice's message in a thread; Alice sees the reply count, then the reply
    root = ui.message(bob, "Hello Bob")
    root.hover()
    root.locator(".act-thread").click()
    expect(bob.locator(".thread-panel .msg.root")).to_contain_text("Hello Bob")
    ui.send(bob, "Replying in the thread", where=".thread-panel")
    expect(ui.message(bob, "Replying in the thread", where=".thread-panel")).to_be_visible()
    thread_link = ui.message(alice, "Hello Bob").locator(".thread-link")
    expect(thread_link).to_have_text("1 reply")
    thread_link.click()
    expect(ui.message(alice, "Replying in the thread", where=".thread-panel")).to_be_visible()
    ui.send(alice, "Thanks, Bob", where=".thread-panel")
    expect(ui.message(bob, "Thanks, Bob", where=".thread-panel")).to_be_visible()
    expect(ui.message(bob, "Hello Bob").locator(".thread-link")).to_have_text("2 replies")
    # only admins manage bots
    expect(bob.locator(".thread-panel .bots-toggle")).to_have_count(0)
    # the replies stay out of the channel's own stream
    expect(ui.message(alice, "Replying in the thread")).to_have_count(0)

    shot(alice, "chat-alice")
    shot(bob, "chat-bob")
    assert pages.errors == [] and pages.dialogs == []


def test_unread_counts_and_edit_and_delete(pages, server):
    alice_name, bob_name = name("alice"), name("bob")
    first, second = name("first"), name("second")
    alice, bob = pages.new(), pages.new()
    ui.sign_up(alice, alice_name)
    ui.sign_up(bob, bob_name)
    ui.create_channel(alice, first)
    ui.create_channel(alice, second)
    ui.join_channel(bob, first)
    ui.join_channel(bob, second)
    ui.open_channel(bob, first)

    # Alice writes in the channel Bob is not looking at: it counts as unread for him
    ui.open_channel(alice, second)
    ui.send(alice, "one")
    ui.send(alice, "two")
    badge = bob.locator(".channel-item", has_text=second).locator(".unread-badge")
    expect(badge).to_have_text("2")
    expect(bob).to_have_title("(2) Venn")
    ui.open_channel(bob, second)
    expect(badge).to_have_count(0)
    expect(bob).to_have_title("Venn")
    expect(ui.message(bob, "two")).to_be_visible()

    # Alice edits and deletes her own messages; Bob sees both live
    mine = ui.message(alice, "one")
    mine.hover()
    mine.locator(".act-edit").click()
    editor = alice.locator(".edit-box textarea")
    editor.fill("one (fixed)")
    editor.press("Enter")
    expect(ui.message(bob, "one (fixed)").locator(".edited")).to_be_visible()
    other = ui.message(alice, "two")
    other.hover()
    other.locator(".act-delete").click()
    alice.locator("dialog").get_by_role("button", name="Delete").click()
    expect(bob.locator(".channel-view .msg.deleted")).to_contain_text("This message was deleted.")
    # Bob cannot edit Alice's message: no edit button on it
    ui.message(bob, "one (fixed)").hover()
    expect(ui.message(bob, "one (fixed)").locator(".act-edit")).to_have_count(0)
    shot(bob, "edit-delete-bob")
    assert pages.errors == [] and pages.dialogs == []


def test_html_in_messages_is_text_and_runs_nothing(pages, server):
    alice_name, channel = name("alice"), name("xss")
    evil = "<img src=x onerror=alert(1)>"
    alice = pages.new()
    ui.sign_up(alice, alice_name)
    ui.create_channel(alice, channel)
    ui.send(alice, evil)
    # another person posts HTML and a javascript: link through the REST API
    bob = server.person(name("bob"))
    channel_id = int(alice.evaluate("location.hash").split("/")[2])
    server.ok("POST", f"/channels/{channel_id}/join", token=bob.token)
    server.ok("POST", "/messages", {"channel_id": channel_id, "body": '<script>alert("x")</script> javascript:alert(2) <b>bold</b>'}, bob.token)

    expect(ui.message(alice, evil).locator(".body")).to_have_text(evil)
    expect(ui.message(alice, "<script>").locator(".body")).to_contain_text('<script>alert("x")</script>')
    messages = ui.messages(alice)
    expect(messages.locator("img")).to_have_count(0)
    expect(messages.locator("script")).to_have_count(0)
    expect(messages.locator("b")).to_have_count(0)
    expect(messages.locator("a")).to_have_count(0)  # javascript: is not made a link
    alice.wait_for_timeout(300)  # an onerror would have fired by now
    assert pages.dialogs == []
    shot(alice, "html-as-text")

    # the page is served with a strict CSP: no inline scripts or styles anywhere
    with urllib.request.urlopen(server.url + "/") as resp:
        csp = resp.headers["Content-Security-Policy"]
        html = resp.read().decode()
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in html and "style=" not in html


def test_reload_keeps_the_session_and_sign_out_ends_it(pages, server):
    alice_name, channel = name("alice"), name("stay")
    alice = pages.new()
    ui.sign_up(alice, alice_name)
    ui.create_channel(alice, channel)
    ui.send(alice, "still here after a reload")
    expect(ui.message(alice, "still here")).to_be_visible()
    alice.reload()
    expect(alice.locator(".me-name")).to_contain_text(alice_name)
    expect(alice.locator(".channel-title h2")).to_contain_text(channel)
    expect(ui.message(alice, "still here")).to_be_visible()

    # an access token the server refuses is exchanged with the refresh token (rotated)
    before = alice.evaluate("JSON.parse(localStorage.getItem('venn.session')).refresh_token")
    alice.evaluate(
        """() => {
            const s = JSON.parse(localStorage.getItem('venn.session'));
            s.access_token = 'not-a-token';
            s.expires_at = Date.now() + 600000;
            localStorage.setItem('venn.session', JSON.stringify(s));
        }"""
    )
    alice.reload()
    expect(ui.message(alice, "still here")).to_be_visible()
    expect(alice.locator(".connection-banner")).to_be_hidden()
    after = alice.evaluate("JSON.parse(localStorage.getItem('venn.session')).refresh_token")
    assert after != before

    # signing out everywhere (here through the API, as from another device) ends it here too
    person = server.login(alice_name)
    assert server.call("POST", "/auth/logout", token=person.token)[0] == 204
    expect(alice.locator(".auth-form")).to_be_visible()
    expect(alice.locator(".notice")).to_contain_text("signed out")
    alice.reload()
    expect(alice.locator(".auth-form")).to_be_visible()

    # sign in again, then out with the button
    ui.sign_in(alice, alice_name)
    expect(alice.locator(".channel-title h2")).to_contain_text(channel)
    alice.get_by_role("button", name="Sign out").click()
    expect(alice.locator(".auth-form")).to_be_visible()
    alice.reload()
    expect(alice.locator(".auth-form")).to_be_visible()
    assert pages.errors == []


def test_narrow_screen(pages, server):
    alice = pages.new(width=390, height=780)
    alice_name, channel = name("alice"), name("mobile")
    ui.sign_up(alice, alice_name)
    # the sidebar is off-screen until the menu button opens it
    alice.get_by_role("button", name="Channels", exact=True).click()
    ui.create_channel(alice, channel)
    ui.send(alice, "typed on a phone")
    expect(ui.message(alice, "typed on a phone")).to_be_visible()
    expect(alice.locator(".sidebar")).not_to_be_in_viewport()
    shot(alice, "narrow")
    assert pages.errors == []


SQL_RESULT = {
    "type": "sql_result",
    "query_id": 7,
    "question": "Revenue by region?",
    "sql": "SELECT region, SUM(amount) AS revenue FROM orders GROUP BY region LIMIT 100",
    "columns": ["region", "revenue"],
    "rows": [["<b>north</b>", 1200.5], ["south", None]],
    "row_count": 2,
    "truncated": True,
    "elapsed_ms": 12,
    "csv_url": "https://evil.example/steal.csv",
}


def test_sql_result_renders_as_a_table_and_progress_in_place(pages, server):
    page = pages.new()
    # the SQL agent's module, installed as the page does after sign-in, draws through the registry
    page.evaluate(
        """async (payload) => {
            const { installModule, renderPayload, renderProgress } = await import("/static/js/renderers.js");
            await installModule("sql", "/plugins/sql/sql-result.js");
            const box = document.createElement("div");
            box.id = "probe";
            box.append(renderPayload(payload),
                       renderProgress({plugin: "sql", status: "running_sql", sql: "SELECT 1 <script>", query_id: 8}));
            document.body.prepend(box);
        }""",
        SQL_RESULT,
    )
    probe = page.locator("#probe")
    expect(probe.locator("th")).to_have_text(["region", "revenue"])
    expect(probe.locator("tbody tr")).to_have_count(2)
    expect(probe.locator("tbody tr").first.locator("td")).to_have_text(["<b>north</b>", "1200.5"])
    expect(probe.locator("td.null")).to_have_text("NULL")
    expect(probe.locator("b")).to_have_count(0)
    sql = probe.locator("details.sql-block")
    expect(sql.locator("pre")).not_to_be_visible()  # collapsed until opened
    sql.locator("summary").click()
    expect(sql.locator("pre")).to_have_text(SQL_RESULT["sql"])
    expect(probe.locator(".row-count")).to_have_text("2 rows · truncated · 12 ms")
    expect(probe.locator(".llm-progress")).to_contain_text("Running SQL…")
    expect(probe.locator(".llm-sql")).to_have_text("SELECT 1 <script>")
    # the CSV link carries the bearer token only to this server's API: others are refused
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    probe.get_by_role("link", name="Download CSV").click()
    expect(probe.locator(".csv-status")).to_have_text("This download link is not one of this server's.")
    assert not [u for u in requests if "evil.example" in u]
    shot(page, "sql-result")
    assert pages.errors == [] and pages.dialogs == []


def test_private_channel_add_people_and_older_history_on_scroll(pages, server):
    alice_name, bob_name = name("alice"), name("bob")
    public, private = name("lobby"), name("secret")
    alice, bob = pages.new(), pages.new()
    ui.sign_up(alice, alice_name)
    ui.sign_up(bob, bob_name)
    ui.create_channel(alice, public)
    ui.join_channel(bob, public)

    # Alice makes a private channel and adds Bob (suggested: they share #lobby)
    ui.create_channel(alice, private, private=True)
    alice.get_by_role("button", name="Add people").click()
    alice.fill("dialog input[name=person]", bob_name)
    alice.locator("dialog").get_by_role("button", name="Add").click()
    expect(alice.locator(".member-count")).to_have_text("2 members")
    # Bob's sidebar gets the channel live
    expect(bob.locator(".channel-item", has_text=private)).to_be_visible()

    # 70 messages in #lobby: Bob sees the newest page (50), and older ones as he scrolls up
    token = server.login(alice_name).token
    [channel_id] = [c["id"] for c in server.ok("GET", "/channels", token=token)["channels"] if c["name"] == public]
    for i in range(1, 71):
        server.ok("POST", "/messages", {"channel_id": channel_id, "body": f"history {i:03d}"}, token)
    bob.reload()
    ui.open_channel(bob, public)
    expect(ui.message(bob, "history 070")).to_be_visible()
    expect(ui.message(bob, "history 001")).to_have_count(0)
    scroller = bob.locator(".channel-view .message-scroll")
    start = bob.locator(".channel-view .history-start")
    for _ in range(10):
        if start.text_content() == "This is the very beginning of the conversation.":
            break
        scroller.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
        bob.wait_for_timeout(200)
    expect(start).to_have_text("This is the very beginning of the conversation.")
    expect(ui.message(bob, "history 001")).to_have_count(1)
    expect(bob.locator(".channel-view .msg:not(.pending) .body", has_text="history ")).to_have_count(70)
    # a new message while Bob reads old ones: a pill says so instead of jumping
    server.ok("POST", "/messages", {"channel_id": channel_id, "body": "fresh news"}, token)
    jump = bob.locator(".channel-view .jump-new")
    expect(jump).to_be_visible()
    jump.click()
    expect(ui.message(bob, "fresh news")).to_be_in_viewport()
    expect(jump).to_be_hidden()
    # one author within minutes: one header for the whole run
    expect(bob.locator(".channel-view .msg:not(.grouped) .author", has_text=alice_name)).to_have_count(1)
    assert pages.errors == []
