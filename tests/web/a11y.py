"""Accessibility checks of the page with axe-core (npm, a devDependency of web/).

axe is put into the page by Playwright's ``evaluate``, which goes through the DevTools
protocol: the page's Content-Security-Policy (no inline script, no eval) stays as the
server sent it, and the page itself never loads axe.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from tests.web.kit import WEB

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = WEB / "node_modules" / "axe-core" / "axe.min.js"

# the impacts the project's quality bar forbids (axe also reports "moderate" and "minor")
BLOCKING = ("serious", "critical")

RUN = """async (context) => {
    const result = await axe.run(context ?? document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        url: v.helpUrl,
        nodes: v.nodes.map((n) => ({ impact: n.impact, target: n.target.flat(Infinity).join(" "), summary: n.failureSummary })),
    }));
}"""


@cache
def axe_source() -> str:
    assert AXE.is_file(), f"{AXE} is missing: run `npm ci` in web/ with its devDependencies (make web)"
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Page, context: str | None = None) -> list[dict]:
    """Every violation axe finds in the page (or in the element matched by ``context``), any impact."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return page.evaluate(RUN, context)


def describe(violations: list[dict]) -> str:
    """One line per offending element: rule id, impact, target selector, help, and why."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            why = " ".join(node["summary"].split()) if node["summary"] else ""
            lines.append(f"- {v['id']} [{node['impact'] or v['impact']}] {node['target']}: {v['help']} ({why})")
    return "\n".join(lines)


def check_a11y(page: Page, state: str, context: str | None = None) -> None:
    """Fail with a readable list when axe finds a serious or critical violation in the page's current state."""
    blocking = []
    for v in axe_violations(page, context):
        nodes = [n for n in v["nodes"] if (n["impact"] or v["impact"]) in BLOCKING]
        if nodes:
            blocking.append({**v, "nodes": nodes})
    assert not blocking, f"axe: serious or critical violations in {state}:\n{describe(blocking)}"
