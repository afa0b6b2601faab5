"""The page in Firefox: sign up, create a channel, chat live with safe rendering.

Firefox is driven over WebDriver BiDi (tests/web/bidi.py). Skipped where Firefox is
not installed (``apt-get install firefox-esr``; CI installs only Chromium).
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.web.bidi import Firefox, firefox_path
from tests.web.kit import ARTIFACTS, Server, ensure_web_packages


@pytest.fixture
async def firefox():
    path = firefox_path()
    if path is None:
        pytest.skip("Firefox is not installed (apt-get install firefox-esr; or set VENN_FIREFOX)")
    reason = ensure_web_packages()
    if reason:
        pytest.skip(reason)
    browser = await Firefox(path).start()
    yield browser
    await browser.close()


def set_value(selector: str, value: str) -> str:
    """JavaScript: type ``value`` into the field (as the input event a person makes)."""
    return (
        f"(() => {{ const el = document.querySelector({json.dumps(selector)}); el.value = {json.dumps(value)};"
        " el.dispatchEvent(new Event('input', {bubbles: true})); return true; })()"
    )


def click(selector: str) -> str:
    return f"(() => {{ document.querySelector({json.dumps(selector)}).click(); return true; }})()"


def bodies(where: str = ".channel-view") -> str:
    return f"[...document.querySelectorAll('{where} .msg:not(.pending) .body')].map(b => b.textContent)"


async def test_chat_in_firefox(firefox, tmp_path):
    server = await asyncio.to_thread(lambda: Server(tmp_path / "data").start())
    try:
        ff = firefox
        await ff.goto(server.url + "/")
        await ff.until("!!document.querySelector('.auth-form')")
        await ff.js(click("p.switch button"))
        await ff.js(set_value("input[name=username]", "fox"))
        await ff.js(set_value("input[name=password]", "correct-horse"))
        await ff.js(click(".auth-form button[type=submit]"))
        await ff.until("!!document.querySelector('.layout')")
        await ff.js(click(".sidebar button[aria-label='Create a channel']"))
        await ff.until("!!document.querySelector('dialog input[name=name]')")
        await ff.js(set_value("dialog input[name=name]", "firefox"))
        await ff.js(click("dialog button[type=submit]"))
        await ff.until("!!document.querySelector('.channel-view .composer-input')")
        await ff.until("document.querySelector('.connection-banner').hidden")

        # Enter sends; the message is acked and shown once, as text
        evil = "Hello from Firefox <img src=x onerror=alert(1)> https://example.com"
        await ff.js(set_value(".channel-view .composer-input", evil))
        await ff.js(
            "document.querySelector('.channel-view .composer-input')"
            ".dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}))"
        )
        assert await ff.until(f"{bodies()}.filter(t => t === {json.dumps(evil)}).length === 1")
        assert await ff.js("document.querySelectorAll('.messages img').length") == 0
        assert await ff.js("document.querySelector('.messages a').rel") == "noopener noreferrer nofollow"

        # someone else's message arrives live
        bob = await asyncio.to_thread(server.person, "bob")
        channel_id = int((await ff.js("location.hash")).split("/")[2])
        await asyncio.to_thread(server.ok, "POST", f"/channels/{channel_id}/join", None, bob.token)
        await asyncio.to_thread(server.ok, "POST", "/messages", {"channel_id": channel_id, "body": "Hi fox"}, bob.token)
        await ff.until(f"{bodies()}.includes('Hi fox')")
        await ff.screenshot(ARTIFACTS / "firefox-chat.png")
    finally:
        await asyncio.to_thread(server.stop)
