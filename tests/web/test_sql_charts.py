"""The SQL agent's charts in the page: an answer whose result has a chart shows it (drawn
by vega-embed from the plugin's npm packages, as SVG), under the page's strict CSP with
no violation, and a button switches to the table and back. The LLM is the scripted
OpenAI-compatible server of the SQL agent's tests."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.conftest import shot  # noqa: E402
from tests.web.kit import InThread, Server  # noqa: E402
from venn.web.files import CSP  # noqa: E402

MONTHLY_REVENUE = (
    "SELECT date_trunc('month', o.ordered_at) AS month, SUM(i.quantity * i.unit_price) AS revenue "
    "FROM orders o JOIN order_items i ON i.order_id = o.order_id GROUP BY 1 ORDER BY 1"
)

MONTH = re.compile(r"^\d{4}-\d{2}-01$")

# Every CSP violation the document sees, recorded before any of the page's scripts run
# (an init script is injected by the browser's driver, not subject to the page's CSP).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def llm_stub(browser):
    from tests.plugins.sql_agent.openai_stub_server import OpenAIStub

    runner = InThread()
    stub = runner.run(OpenAIStub.start())
    yield stub
    runner.run(stub.close())
    runner.stop()


@pytest.fixture(scope="module")
def chart_server(browser, llm_stub, tmp_path_factory):
    """A server whose SQL agent talks to the scripted LLM, with an admin "boss" and a
    channel "charts" where the agent is on."""
    srv = Server(tmp_path_factory.mktemp("charts-server"), OPENAI_BASE_URL=llm_stub.base_url)
    srv.create_admin("boss")
    srv.start()
    boss = srv.login("boss")
    channel = srv.ok("POST", "/channels", {"name": "charts"}, boss.token)["channel"]
    config = {"allowed_tables": ["orders", "order_items", "customers", "products"], "max_rows": 100}
    srv.ok("POST", f"/channels/{channel['id']}/bots", {"plugin": "sql", "config": config}, boss.token)
    yield srv
    srv.stop()


def test_an_answer_with_a_chart_draws_it_under_the_csp_and_the_button_shows_the_table(
    browser_pages, chart_server, llm_stub
):
    from tests.plugins.sql_agent.openai_stub_server import call, text

    pages = browser_pages(chart_server.url)
    page = pages.new()
    page.context.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
    requested: list[str] = []
    page.on("request", lambda r: requested.append(urlsplit(r.url).path))
    document = page.reload()
    # the page's own policy, unchanged: no eval, no inline script or style
    assert document.headers["content-security-policy"] == CSP
    assert "unsafe-eval" not in CSP and "unsafe-inline" not in CSP

    ui.sign_in(page, "boss")
    ui.open_channel(page, "charts")
    # The model runs the query and suggests bars (Venn alone would draw a line over months).
    llm_stub.script(
        call("run_query", sql=MONTHLY_REVENUE),
        call("suggest_chart", type="bar", x="month", y="revenue"),
        text("Revenue by month, as bars."),
    )
    ui.send(page, "/ask Revenue by month?")
    answer = ui.message(page, "Revenue by month, as bars.")
    expect(answer).to_be_visible(timeout=30_000)
    result = answer.locator(".sql-result")
    chart = result.locator(".sql-chart")
    svg = chart.locator("svg")
    expect(svg).to_be_visible(timeout=20_000)
    # one bar per month of the result: marks drawn by Vega, not a placeholder
    months = result.locator(".result-table tbody tr").count()
    assert months >= 12  # the demo warehouse covers 18 months
    expect(svg.locator("g.mark-rect.role-mark path")).to_have_count(months)
    expect(chart).to_have_attribute("aria-label", "A bar chart of revenue by month.")
    expect(svg.locator("g.mark-text.role-axis-label text").first).to_have_text(MONTH)  # 2025-06-01, no time
    # the chart first, the table behind the button
    table = result.locator(".table-wrap")
    expect(table).to_be_hidden()
    shot(page, "sql-chart")

    toggle = result.get_by_role("button", name="Show table")
    toggle.click()
    expect(table).to_be_visible()
    expect(chart).to_be_hidden()
    expect(result.locator("th")).to_have_text(["month", "revenue"])
    shot(page, "sql-chart-table")
    result.get_by_role("button", name="Show chart").click()
    expect(chart).to_be_visible()
    expect(table).to_be_hidden()

    # the libraries came from the plugin's folder on this server (npm packages), under the CSP
    assert "/plugins/sql/node_modules/vega-embed/build/vega-embed.min.js" in requested
    assert page.evaluate("window.__cspViolations") == []
    assert not [line for line in console if "Content Security Policy" in line], console
    assert not [line for line in console if line.startswith("warning: sql:")], console
    assert pages.errors == [] and pages.dialogs == []


def test_without_the_chart_libraries_the_result_shows_as_a_table(browser_pages, chart_server, llm_stub):
    """The npm packages not installed (here: not served): the same answer, as a table, no button."""
    from tests.plugins.sql_agent.openai_stub_server import call, text

    pages = browser_pages(chart_server.url)
    page = pages.new()
    page.context.route("**/plugins/sql/node_modules/**", lambda route: route.fulfill(status=404, body="not installed"))
    ui.sign_in(page, "boss")
    ui.open_channel(page, "charts")
    llm_stub.script(call("run_query", sql=MONTHLY_REVENUE), text("Revenue by month, without libraries."))
    ui.send(page, "/ask Revenue by month, once more?")
    result = ui.message(page, "Revenue by month, without libraries.").locator(".sql-result")
    expect(result.locator(".table-wrap")).to_be_visible(timeout=30_000)
    expect(result.locator(".result-table th")).to_have_text(["month", "revenue"])
    expect(result.locator(".sql-chart")).to_have_count(0)
    expect(result.get_by_role("button", name="Show table")).to_have_count(0)
    expect(result.locator(".sql-views")).to_have_count(0)
    assert pages.errors == [] and pages.dialogs == []
