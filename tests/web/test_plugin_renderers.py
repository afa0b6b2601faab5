"""Plugins draw their payloads in the page: after sign-in the page lists the enabled
plugins' renderers and imports their modules; with a plugin disabled, the page works
the same and shows that plugin's payloads plainly."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.conftest import shot  # noqa: E402
from tests.web.kit import Server  # noqa: E402

PAYLOAD = {"type": "sql_result", "columns": ["n"], "rows": [[3]], "row_count": 1, "sql": "SELECT 3 AS n"}
BODY = "Three.\n\n```sql\nSELECT 3 AS n\n```\n\n| n |\n|---|\n| 3 |"

# what the registry makes of a sql_result payload and its message body, in the page
DRAW = """async ([payload, body]) => {
    const r = await import("/static/js/renderers.js");
    const drawn = r.renderPayload(payload);
    return {
        registered: r.hasRenderer("sql_result"),
        drawn: drawn.className,
        body: r.payloadBody(body, payload),
        stylesheets: [...document.querySelectorAll("link[rel=stylesheet]")].map((l) => new URL(l.href).pathname),
    };
}"""


def watch(page) -> list[str]:
    """The paths the page requests from now on."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(urlsplit(r.url).path))
    return seen


def test_after_sign_in_the_page_loads_the_enabled_plugins_renderers(pages, server):
    page = pages.new()
    requested = watch(page)
    ui.sign_up(page, "drawer")
    ui.create_channel(page, "drawings")
    assert "/api/v1/web/renderers" in requested
    assert "/plugins/sql/sql-result.js" in requested
    state = page.evaluate(DRAW, [PAYLOAD, BODY])
    assert state["registered"] is True
    assert state["drawn"] == "sql-result"
    assert state["body"] == "Three."  # the Markdown copy of the table is left to clients without one
    assert "/plugins/sql/sql-result.css" in state["stylesheets"]
    assert pages.errors == [] and pages.dialogs == []


@pytest.fixture(scope="module")
def server_without_sql(browser, tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("no-sql-server"), VENN_PLUGINS_DISABLED="sql").start()
    yield srv
    srv.stop()


def test_with_the_sql_plugin_disabled_the_page_works_and_shows_its_payloads_plainly(browser_pages, server_without_sql):
    server = server_without_sql
    pages = browser_pages(server.url)
    alice = pages.new()
    requested = watch(alice)
    ui.sign_up(alice, "alice")
    ui.create_channel(alice, "plain")
    bob = server.person("bob")
    channel_id = int(alice.evaluate("location.hash").split("/")[2])
    server.ok("POST", f"/channels/{channel_id}/join", token=bob.token)
    server.ok("POST", "/messages", {"channel_id": channel_id, "body": "hello without plugins"}, bob.token)
    expect(ui.message(alice, "hello without plugins")).to_be_visible()
    ui.send(alice, "and back")
    expect(ui.message(alice, "and back")).to_be_visible()

    assert "/api/v1/web/renderers" in requested
    assert not [path for path in requested if path.startswith("/plugins/")]
    assert alice.request.get("/plugins/sql/sql-result.js").status == 404
    state = alice.evaluate(DRAW, [PAYLOAD, BODY])
    assert state["registered"] is False
    assert state["drawn"] == "payload-raw"  # the plain JSON view, folded
    assert state["body"] == BODY  # all of the text, Markdown table included
    assert not [path for path in state["stylesheets"] if path.startswith("/plugins/")]
    shot(alice, "sql-disabled")
    assert pages.errors == [] and pages.dialogs == []
