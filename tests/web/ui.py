"""What a person does in the page, as Playwright steps (selectors live here only), and the
desktop notifications a page shows (recorded by :data:`NOTIFICATION_HOOKS`)."""

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


def open_dm(page: Page, *people: tuple[str, str]) -> None:
    """Open the conversation with ``people`` ((text to type, the suggestion's name) each)
    from the sidebar's "New message" dialog."""
    page.locator(".sidebar").get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog", name="New message")
    for typed, suggestion in people:
        dialog.get_by_role("combobox", name="To").fill(typed)
        dialog.get_by_role("option", name=suggestion).click()
    dialog.get_by_role("button", name="Open conversation").click()
    expect(page.locator("dialog")).to_have_count(0)


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


def attach_files(page: Page, files: list[dict], where: str = ".channel-view", wait: bool = True) -> None:
    """Attach ``files`` (Playwright's ``{name, mimeType, buffer}``) with the composer's button;
    returns once each shows as ready (unless not ``wait``)."""
    with page.expect_file_chooser() as chooser:
        page.locator(where).get_by_role("button", name="Attach files").click()
    chooser.value.set_files(files)
    for file in files if wait else ():
        item = page.locator(f"{where} .attachment", has_text=file["name"])
        expect(item.locator(".attachment-state")).to_have_text("ready")


def react(page: Page, text: str, emoji_name: str) -> None:
    """React to the message whose body contains ``text`` with the picker's ``emoji_name`` button."""
    found = message(page, text)
    found.hover()
    found.locator(".act-react").click()
    picker = page.get_by_role("dialog", name="Add a reaction")
    picker.get_by_role("button", name=emoji_name, exact=True).click()
    expect(picker).to_have_count(0)


def search(page: Page, query: str):
    """Search messages for ``query`` from the box; the results dialog."""
    box = page.get_by_role("searchbox", name="Search messages")
    box.fill(query)
    box.press("Enter")
    results = page.get_by_role("dialog", name=f"Search: {query}")
    expect(results).to_be_visible()
    return results


#: Records the page's Notification calls; reports "default" until the page asks (the
#: context has granted it), and lets the test hide the tab.
NOTIFICATION_HOOKS = """
(() => {
  const Real = window.Notification;
  const record = { asked: 0, shown: [] };
  window.__notifications = record;
  let asked = false;
  class Recorded {
    constructor(title, options = {}) {
      record.shown.push({ title, body: options.body || "", tag: options.tag || "" });
      this.onclick = null;
    }
    close() {}
    static get permission() { return asked ? Real.permission : "default"; }
    static requestPermission() { record.asked += 1; asked = true; return Real.requestPermission(); }
  }
  window.Notification = Recorded;
  let hidden = false;
  Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get() { return hidden ? "hidden" : "visible"; } });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get() { return hidden; } });
  window.__setHidden = (value) => { hidden = value; document.dispatchEvent(new Event("visibilitychange")); };
})();
"""


def hooked_page(pages):
    """A new page (of ``pages``, tests/web/conftest.py) whose context has granted
    notifications, with :data:`NOTIFICATION_HOOKS` installed."""
    context = pages.browser.new_context(
        viewport={"width": 1280, "height": 800}, base_url=pages.base_url, permissions=["notifications"]
    )
    context.set_default_timeout(10_000)
    pages.contexts.append(context)
    context.add_init_script(NOTIFICATION_HOOKS)
    page = context.new_page()
    page.on("pageerror", lambda err: pages.errors.append(str(err)))
    page.goto("/")
    return page


def turn_on_notifications(page: Page) -> None:
    """Click the offer to turn notifications on (asked then, and never on load)."""
    assert page.evaluate("window.__notifications.asked") == 0  # nothing asked on load
    offer = page.get_by_role("button", name="Turn on desktop notifications")
    expect(offer).to_be_visible()
    offer.click()
    expect(offer).to_have_count(0)
    assert page.evaluate("window.__notifications.asked") == 1


def wait_for_notifications(page: Page, count: int) -> list[dict]:
    """The notifications shown, once there are ``count`` (the page's CSP forbids wait_for_function's eval)."""
    for _ in range(200):
        shown = page.evaluate("window.__notifications.shown")
        if len(shown) >= count:
            return shown
        page.wait_for_timeout(50)
    raise AssertionError(f"{count} notifications expected, got {shown}")
