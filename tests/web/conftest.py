"""Fixtures of the browser tests: headless Chromium (Debian's package, through
Playwright's Python API with ``executable_path``) against a real ``venn serve``.

Skipped, with the reason, only where Chromium, Playwright or npm is missing.
Screenshots go to ``test-artifacts/web/``.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.web.kit import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    InThread,
    Server,
    ensure_web_packages,
)


@pytest.fixture(scope="module")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; or set VENN_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the playwright Python package is not installed (pip install -e '.[dev]')")
    reason = ensure_web_packages()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import expect

    expect.set_options(timeout=10_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(browser, tmp_path_factory):
    """One server for the module's tests (each test makes its own users and channels)."""
    srv = Server(tmp_path_factory.mktemp("web-server")).start()
    yield srv
    srv.stop()


@pytest.fixture
def own_server(browser, tmp_path):
    """A server of this test's own, which the test stops and starts again."""
    srv = Server(tmp_path / "data").start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def llm_stub(browser):
    """The scripted OpenAI-compatible server of the SQL agent's tests, on its own loop."""
    from tests.plugins.sql_agent.openai_stub_server import OpenAIStub

    runner = InThread()
    stub = runner.run(OpenAIStub.start())
    yield stub
    runner.run(stub.close())
    runner.stop()


@pytest.fixture(scope="module")
def bots_server(browser, llm_stub, tmp_path_factory):
    """A server whose SQL agent talks to the scripted LLM server, with an admin "boss"."""
    srv = Server(tmp_path_factory.mktemp("bots-server"), OPENAI_BASE_URL=llm_stub.base_url)
    srv.create_admin("boss")
    srv.start()
    yield srv
    srv.stop()


class Pages:
    """Open pages in separate browser contexts (separate people); watch for dialogs and errors."""

    def __init__(self, browser, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []

    def new(self, *, width: int = 1280, height: int = 800):
        context = self.browser.new_context(viewport={"width": width, "height": height}, base_url=self.base_url)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda err: self.errors.append(str(err)))
        # the client's own handler failures (console.error("venn: ...")); network noise is not one
        page.on("console", lambda msg: msg.type == "error" and msg.text.startswith("venn:") and self.errors.append(msg.text))
        page.goto("/")
        return page

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's outcome on the test item (``item.rep_call``), for screenshots on failure."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def browser_pages(request, browser):
    """``browser_pages(url)`` -> :class:`Pages` on that server; closed (after screenshots, on failure) at the end."""
    made: list[Pages] = []

    def make(url: str) -> Pages:
        made.append(Pages(browser, url))
        return made[-1]

    yield make
    for opened in made:
        failed(request, opened)
        opened.close()


@pytest.fixture
def pages(browser_pages, server):
    return browser_pages(server.url)


def failed(request, opened: Pages) -> None:
    """After a failed test: a screenshot of every page it opened, to see what the user saw."""
    report = getattr(request.node, "rep_call", None)
    if report is None or not report.failed:
        return
    for number, context in enumerate(opened.contexts):
        for page in context.pages:
            try:
                shot(page, f"failed-{request.node.name}-{number}")
            except Exception:
                pass


def shot(page, name: str) -> None:
    """Save a screenshot as a test artifact."""
    page.screenshot(path=str(ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"))
