"""What a person does in the page, as Playwright steps (selectors live here only)."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def sign_up(page: Page, username: str, password: str = "correct-horse", display_name: str = "") -> None:
    page.get_by_role("button", name="New here? Create an account").click()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    if display_name:
        page.fill("input[name=display_name]", display_name)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".me-name")).to_contain_text(display_name or username)


def sign_in(page: Page, username: str, password: str = "correct-horse") -> None:
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".me-name")).to_contain_text(username)


def create_channel(page: Page, name: str, topic: str = "", private: bool = False) -> None:
    page.locator(".sidebar").get_by_role("button", name="Create a channel").click()
    page.fill("dialog input[name=name]", name)
    if topic:
        page.fill("dialog input[name=topic]", topic)
    if private:
        page.check("dialog input[name=is_private]")
    page.locator("dialog").get_by_role("button", name="Create").click()
    expect(page.locator(".channel-title h2")).to_contain_text(name)


def join_channel(page: Page, name: str) -> None:
    page.locator(".sidebar").get_by_role("button", name="Browse channels").click()
    page.locator("dialog .browse-item", has_text=f"#{name}").get_by_role("button", name="Join").click()
    expect(page.locator(".channel-title h2")).to_contain_text(name)


def open_channel(page: Page, name: str) -> None:
    page.locator(".channel-item a", has_text=name).click()
    expect(page.locator(".channel-title h2")).to_contain_text(name)


def send(page: Page, text: str, where: str = ".channel-view") -> None:
    box = page.locator(f"{where} .composer-input")
    box.fill(text)
    box.press("Enter")


def messages(page: Page, where: str = ".channel-view"):
    return page.locator(f"{where} .messages")


def message(page: Page, text: str, where: str = ".channel-view"):
    """The message whose body contains ``text``."""
    return page.locator(f"{where} .msg:not(.pending)", has=page.locator(".body", has_text=text))


def open_thread(page: Page, text: str):
    """Open the thread of the message whose body contains ``text``; the thread panel."""
    root = message(page, text)
    root.hover()
    root.locator(".act-thread").click()
    return page.locator(".thread-panel")


def enable_form(panel, plugin: str):
    """In an open bots panel, choose ``plugin`` and open its enable form; the form."""
    panel.get_by_label("Plugin to enable").select_option(plugin)
    panel.get_by_role("button", name="Enable…").click()
    return panel.locator("form.bot-form")
