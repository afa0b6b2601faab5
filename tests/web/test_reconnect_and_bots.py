"""The page across a server restart, and an admin switching a bot on from the page."""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.conftest import shot  # noqa: E402
from tests.web.kit import watch_llm_responses  # noqa: E402


def test_reconnects_after_a_restart_and_catches_up(browser_pages, own_server):
    server = own_server
    pages = browser_pages(server.url)
    alice = pages.new()
    ui.sign_up(alice, "alice")
    ui.create_channel(alice, "general")
    bob = server.person("bob")
    channel_id = int(alice.evaluate("location.hash").split("/")[2])
    server.ok("POST", f"/channels/{channel_id}/join", token=bob.token)
    server.ok("POST", "/messages", {"channel_id": channel_id, "body": "before the restart"}, bob.token)
    expect(ui.message(alice, "before the restart")).to_be_visible()

    server.stop()
    banner = alice.locator(".connection-banner")
    expect(banner).to_have_text("Reconnecting…")
    # written while the server is down: shown as pending, sent after the reconnect
    ui.send(alice, "written while offline")
    expect(alice.locator(".channel-view .msg.pending")).to_contain_text("written while offline")
    shot(alice, "reconnecting")

    server.start()
    # sent by Bob right after the restart, before Alice's page is back: caught up by sync
    server.ok("POST", "/messages", {"channel_id": channel_id, "body": "sent meanwhile"}, bob.token)
    expect(banner).to_be_hidden(timeout=20_000)
    expect(ui.message(alice, "sent meanwhile")).to_be_visible()
    expect(ui.message(alice, "written while offline")).to_be_visible()
    expect(alice.locator(".channel-view .msg.pending")).to_have_count(0)
    # live again
    server.ok("POST", "/messages", {"channel_id": channel_id, "body": "live after the restart"}, bob.token)
    expect(ui.message(alice, "live after the restart")).to_be_visible()

    # the offline message was stored exactly once
    history = server.ok("GET", f"/messages/channel/{channel_id}?limit=50", token=bob.token)["messages"]
    bodies = [m["body"] for m in history]
    assert bodies.count("written while offline") == 1, bodies
    expect(alice.locator(".channel-view .body", has_text="written while offline")).to_have_count(1)
    shot(alice, "reconnected")
    assert pages.errors == []


def test_admin_enables_echo_on_a_thread_and_a_channel_from_the_page(browser_pages, bots_server):
    server = bots_server
    pages = browser_pages(server.url)
    boss = pages.new()
    ui.sign_in(boss, "boss")
    ui.create_channel(boss, "bots")
    ui.send(boss, "Let us try a bot")
    panel = ui.open_thread(boss, "Let us try a bot")
    panel.get_by_role("button", name="Bots").click()
    expect(panel.locator(".bots-panel")).to_contain_text("No bot is on here.")
    form = ui.enable_form(panel, "echo")
    # the form comes from echo's config schema
    prefix = form.locator("input[name=prefix]")
    expect(prefix).to_have_attribute("maxlength", "40")
    # past the browser's own check, the server's answer lands next to the field
    prefix.evaluate("el => { el.value = 'x'.repeat(41); }")
    form.get_by_role("button", name="Enable").click()
    expect(form.locator(".field", has=boss.locator("input[name=prefix]")).locator(".field-error")).to_contain_text("at most 40 characters")
    form.locator("input[name=prefix]").fill("echo: ")
    form.locator("input[name=uppercase]").check()
    form.get_by_role("button", name="Enable").click()
    expect(panel.locator(".bot-item[data-plugin=echo]")).to_contain_text("on (this thread)")

    ui.send(boss, "hello bot", where=".thread-panel")
    expect(ui.message(boss, "echo: HELLO BOT", where=".thread-panel")).to_be_visible()
    expect(ui.message(boss, "echo: HELLO BOT", where=".thread-panel").locator(".badge")).to_have_text("BOT")
    shot(boss, "bots-echo")

    panel.locator(".bot-item[data-plugin=echo]").get_by_role("button", name="Disable").click()
    boss.locator("dialog").get_by_role("button", name="Disable").click()
    expect(panel.locator(".bots-panel")).to_contain_text("No bot is on here.")

    # now on the whole channel, from the channel's header, with the same form
    head = boss.locator(".channel-view")
    head.locator(".channel-head").get_by_role("button", name="Bots").click()
    channel_bots = head.locator(".bots-panel[data-scope=channel]")
    expect(channel_bots).to_contain_text("Bots in this channel")
    channel_bots.get_by_label("Plugin to enable").select_option("echo")
    channel_bots.get_by_role("button", name="Enable…").click()
    channel_bots.locator("form.bot-form input[name=prefix]").fill("chan: ")
    channel_bots.locator("form.bot-form").get_by_role("button", name="Enable").click()
    expect(channel_bots.locator(".bot-item[data-plugin=echo]")).to_contain_text("on (the channel and its threads)")
    # the thread's open panel follows (bot_status) and shows the inherited settings
    inherited = panel.locator(".bot-item[data-plugin=echo][data-scope=channel]")
    expect(inherited).to_contain_text("on (whole channel)")
    expect(inherited.locator(".bot-config")).to_have_text('Channel settings: prefix: "chan: ", uppercase: false')
    # and echo answers in the thread of that channel
    ui.send(boss, "hello channel bot", where=".thread-panel")
    expect(ui.message(boss, "chan: hello channel bot", where=".thread-panel")).to_be_visible()
    shot(boss, "bots-echo-channel")

    # switched off in this thread only: the channel keeps it
    inherited.get_by_role("button", name="Disable here").click()
    boss.locator("dialog").get_by_role("button", name="Disable").click()
    expect(panel.locator(".bot-item[data-plugin=echo]")).to_contain_text("off in this thread")
    expect(channel_bots.locator(".bot-item[data-plugin=echo]")).to_contain_text("on (the channel and its threads)")

    # someone who may not change the bots sees them, and the server's refusal
    member = pages.new()
    ui.sign_up(member, "botwatcher")
    ui.join_channel(member, "bots")
    member.locator(".channel-head").get_by_role("button", name="Bots").click()
    theirs = member.locator(".channel-view .bots-panel")
    expect(theirs.locator(".bot-item[data-plugin=echo]")).to_contain_text("on (the channel and its threads)")
    expect(theirs.locator(".bot-config")).to_have_count(0)  # configs only for those who may change them
    theirs.locator(".bot-item[data-plugin=echo]").get_by_role("button", name="Disable").click()
    member.locator("dialog").get_by_role("button", name="Disable").click()
    expect(theirs.locator(".bots-refused")).to_contain_text("Only admins can change the bots here.")
    expect(theirs.get_by_role("button", name="Disable")).to_have_count(0)
    expect(channel_bots.locator(".bot-item[data-plugin=echo]")).to_contain_text("on (the channel and its threads)")
    assert pages.errors == [] and pages.dialogs == []


def test_sql_agent_in_the_page_table_csv_and_progress(browser_pages, bots_server, llm_stub):
    from tests.plugins.sql_agent.openai_stub_server import Reply, call

    server = bots_server
    pages = browser_pages(server.url)
    boss = pages.new()
    progress_events = watch_llm_responses(boss)
    ui.sign_in(boss, "boss")
    ui.create_channel(boss, "data")
    ui.send(boss, "Questions about our customers")
    panel = ui.open_thread(boss, "Questions about our customers")
    panel.get_by_role("button", name="Bots").click()
    form = ui.enable_form(panel, "sql")
    # the warehouse's tables are offered to tick (the config's "x-venn-options")
    for table in ("customers", "products", "orders"):
        form.locator(f"input[type=checkbox][value={table}]").check()
    form.locator("input[name=max_rows]").fill("5")
    form.get_by_role("button", name="Enable").click()
    expect(panel.locator(".bot-item[data-plugin=sql]")).to_contain_text("on (this thread)")
    panel.locator(".bot-item[data-plugin=sql]").get_by_role("button", name="Settings").click()
    for table in ("customers", "products", "orders"):
        expect(form.locator(f"input[type=checkbox][value={table}]")).to_be_checked()
    expect(form.locator("input[type=checkbox][value=order_items]")).not_to_be_checked()
    form.get_by_role("button", name="Cancel").click()
    panel.get_by_role("button", name="Bots").click()  # fold the bots away

    # /sql: the result is a table with its SQL folded away, a row count and a CSV link
    ui.send(boss, "/sql SELECT 'a<b>' AS label, 42 AS answer", where=".thread-panel")
    result = panel.locator(".sql-result")
    expect(result.locator("th")).to_have_text(["label", "answer"])
    expect(result.locator("tbody td")).to_have_text(["a<b>", "42"])
    expect(result.locator(".row-count")).to_contain_text("1 row")
    expect(result.locator("details.sql-block pre")).not_to_be_visible()
    # the body's Markdown copy of the result (for clients without tables) is not repeated
    expect(panel.locator(".msg", has=boss.locator(".sql-result")).locator(".body")).to_have_count(0)
    with boss.expect_download() as download_info:
        result.get_by_role("link", name="Download CSV").click()
    csv_text = open(download_info.value.path(), encoding="utf-8").read()
    assert csv_text.splitlines()[:2] == ["label,answer", "a<b>,42"], csv_text
    shot(boss, "sql-result-live")

    # /ask: the agent's progress shows in place, then the answer with its table
    llm_stub.script(
        Reply(content=None, tool_calls=call("run_query", sql="SELECT COUNT(*) AS n FROM customers").tool_calls, delay=0.8),
        Reply(content="There are that many customers.", delay=0.8),
    )
    ui.send(boss, "/ask How many customers are there?", where=".thread-panel")
    progress = panel.locator(".llm-progress")
    expect(progress).to_be_visible()
    expect(progress).to_contain_text("…")
    shot(boss, "sql-agent-progress")
    expect(ui.message(boss, "There are that many customers.", where=".thread-panel")).to_be_visible(timeout=20_000)
    expect(progress).to_have_count(0)
    expect(panel.locator(".sql-result")).to_have_count(2)
    expect(panel.locator(".sql-result").last.locator("th")).to_have_text(["n"])
    answer = ui.message(boss, "There are that many customers.", where=".thread-panel")
    expect(answer.locator(".body")).to_have_text("There are that many customers.")
    expect(answer.locator(".sql-question")).to_have_text("How many customers are there?")
    shot(boss, "sql-agent-answer")
    # the "Running SQL…" event the page got names its plugin, whose module draws it
    running = [d for d in progress_events if d.get("status") == "running_sql"]
    assert running and all(d["plugin"] == "sql" for d in running), progress_events
    drawn = boss.evaluate(
        """async (item) => {
            const { renderProgress } = await import("/static/js/renderers.js");
            const box = renderProgress(item);
            return [box.querySelector(".llm-status").textContent, box.querySelector(".llm-sql").textContent];
        }""",
        running[-1],
    )
    assert drawn == ["Running SQL…", "SELECT COUNT(*) AS n FROM customers"]
    assert pages.errors == [] and pages.dialogs == []
