"""The profile dialog in a browser: someone signed in on two browsers sees both
sessions, signs the other one out from here (that page is signed out at once), renames
themselves, and a password change signs out the other sessions; axe finds nothing
serious in the dialog."""

from __future__ import annotations

import itertools

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402

_n = itertools.count(1)


def test_sessions_are_seen_and_ended_from_the_profile(pages):
    name = f"carol{next(_n)}"
    here, there = pages.new(), pages.new()
    ui.sign_up(here, name)
    ui.sign_in(there, name)

    here.get_by_role("button", name="Profile").click()
    dialog = here.locator("dialog", has_text="Your profile")
    sessions = dialog.get_by_role("list", name="Your sessions").locator(".admin-row")
    expect(sessions).to_have_count(2)
    expect(sessions.filter(has_text="this browser")).to_have_count(1)
    check_a11y(here, "the profile dialog", "dialog")

    other = sessions.filter(has_not_text="this browser")
    other.get_by_role("button").click()
    here.locator("dialog", has_text="Sign out this session?").get_by_role("button", name="Sign out").click()
    expect(sessions).to_have_count(1)
    # the other browser is signed out at once
    expect(there.locator(".auth-form")).to_be_visible()

    # a new display name shows at once in the sidebar
    dialog.get_by_role("textbox", name="Display name").fill("Carol C.")
    dialog.get_by_role("button", name="Save name").click()
    expect(here.locator(".me-name strong")).to_have_text("Carol C.")

    # a password change: the other browser, signed in again, is signed out; this one stays
    ui.sign_in(there, name)
    expect(sessions).to_have_count(1)  # the list is loaded when the dialog opens
    dialog.get_by_label("Current password").fill("wrong-horse")
    dialog.get_by_label("New password", exact=True).fill("another-horse-1")
    dialog.get_by_role("button", name="Change password").click()
    expect(dialog.get_by_role("form", name="Change password").get_by_role("alert")).to_contain_text("current_password")
    dialog.get_by_label("Current password").fill("correct-horse")
    dialog.get_by_role("button", name="Change password").click()
    expect(there.locator(".auth-form")).to_be_visible()
    expect(sessions).to_have_count(1)
    expect(sessions.first).to_contain_text("this browser")
    expect(here.locator(".me-name")).to_be_visible()
    assert pages.errors == []
