"""The admin page in a browser: an admin deactivates someone whose page is open in
another browser, who is signed out at once; invite links and the audit log; the
page's accessibility (axe) and keyboard use."""

from __future__ import annotations

import itertools
import re

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402
from tests.web.conftest import shot  # noqa: E402

_n = itertools.count(1)


def test_an_admin_deactivates_someone_who_is_signed_out_at_once(pages, server):
    admin_name, bob_name = f"root{next(_n)}", f"bob{next(_n)}"
    server.create_admin(admin_name)
    admin, bob = pages.new(), pages.new()
    ui.sign_in(admin, admin_name)
    ui.sign_up(bob, bob_name)
    # members see no administration
    expect(bob.get_by_role("button", name="Administration")).to_have_count(0)

    admin.get_by_role("button", name="Administration").click()
    dialog = admin.locator("dialog")
    expect(dialog.get_by_role("tab", name="People")).to_have_attribute("aria-selected", "true")
    check_a11y(admin, "the admin page's people", "dialog")
    dialog.get_by_role("searchbox", name="Search").fill(bob_name)
    dialog.get_by_role("button", name="Search").click()
    row = dialog.locator(".admin-row", has_text=f"@{bob_name}")
    expect(row).to_have_count(1)
    row.get_by_role("button", name=f"Deactivate {bob_name}").click()
    admin.locator("dialog", has_text=f"Deactivate {bob_name}?").get_by_role("button", name="Deactivate").click()
    expect(dialog.locator(".admin-row", has_text=f"@{bob_name}").locator(".badge.deactivated")).to_be_visible()

    # Bob's open page is signed out and cannot sign in again
    expect(bob.locator(".auth-form")).to_be_visible()
    expect(bob.locator(".auth-form .notice")).to_contain_text("signed out")
    bob.fill("input[name=username]", bob_name)
    bob.fill("input[name=password]", "correct-horse")
    bob.get_by_role("button", name="Sign in").click()
    expect(bob.locator(".auth-form .form-error")).to_contain_text("deactivated")

    # the keyboard moves between the tabs; the invite links and the audit log
    dialog.get_by_role("tab", name="People").focus()
    admin.keyboard.press("ArrowRight")
    expect(dialog.get_by_role("tab", name="Invite links")).to_be_focused()
    dialog.get_by_label("Uses").fill("3")
    dialog.get_by_role("button", name="Create invite link").click()
    invite = dialog.locator("[data-invite-id]").first
    expect(invite.get_by_role("textbox", name="Invite link")).to_have_value(
        re.compile(r"/\?invite=[A-Za-z0-9_-]+$")
    )
    expect(invite).to_contain_text("used 0 of 3")
    check_a11y(admin, "the admin page's invite links", "dialog")
    invite.get_by_role("button", name="Revoke").click()
    expect(dialog.locator("[data-invite-id]").first).to_contain_text("revoked")

    dialog.get_by_role("tab", name="Invite links").focus()
    admin.keyboard.press("End")
    expect(dialog.get_by_role("tab", name="Audit log")).to_have_attribute("aria-selected", "true")
    entries = dialog.locator(".audit-entry")
    expect(entries.first).to_contain_text("invite.revoke")
    expect(dialog.locator(".audit-entry", has_text="user.deactivate")).to_have_count(1)
    dialog.get_by_role("combobox", name="Action").select_option("user")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("user.deactivate")
    check_a11y(admin, "the admin page's audit log", "dialog")
    shot(admin, "admin-page")
    assert pages.errors == []


def test_a_channel_owner_renames_sets_the_topic_and_removes_a_member(pages, server):
    owner_name, bob_name, channel = f"own{next(_n)}", f"bob{next(_n)}", f"plans{next(_n)}"
    owner, bob = pages.new(), pages.new()
    ui.sign_up(owner, owner_name)
    ui.sign_up(bob, bob_name)
    ui.create_channel(owner, channel)
    ui.join_channel(bob, channel)
    # only the owner gets the Manage button
    expect(owner.get_by_role("button", name="Manage")).to_be_visible()
    expect(bob.get_by_role("button", name="Manage")).to_have_count(0)

    owner.get_by_role("button", name="Manage").click()
    dialog = owner.locator("dialog", has_text=f"Manage #{channel}")
    check_a11y(owner, "the channel's Manage dialog", "dialog")
    dialog.get_by_role("textbox", name="Name").fill(f"{channel}-2026")
    dialog.get_by_role("textbox", name="Topic").fill("what comes next")
    dialog.get_by_role("button", name="Save").click()
    # Bob sees the new name and topic without reloading
    expect(bob.locator(".channel-title h2")).to_contain_text(f"{channel}-2026")
    expect(bob.locator(".channel-title .topic")).to_have_text("what comes next")

    # archived: read-only for everyone, still listed so the owner can open it again
    dialog.get_by_role("button", name="Archive channel").click()
    expect(bob.locator(".sidebar .channel-item", has_text=f"{channel}-2026").locator(".archived-mark")).to_be_visible()
    expect(bob.locator(".channel-view .archived-note")).to_contain_text("read-only")
    expect(bob.locator(".channel-view .composer-input")).to_have_count(0)
    check_a11y(bob, "an archived channel (sidebar mark, read-only note)")
    owner.get_by_role("button", name="Manage").click()
    dialog = owner.locator("dialog", has_text=f"Manage #{channel}-2026")
    dialog.get_by_role("button", name="Unarchive channel").click()
    expect(bob.locator(".channel-view .composer-input")).to_be_visible()
    expect(bob.locator(".sidebar .channel-item .archived-mark")).to_have_count(0)

    owner.get_by_role("button", name="Manage").click()
    dialog = owner.locator("dialog", has_text=f"Manage #{channel}-2026")
    dialog.get_by_role("button", name=f"Remove {bob_name}").click()
    owner.locator("dialog", has_text="Remove").last.get_by_role("button", name="Remove").click()
    expect(bob.locator(".sidebar .channel-item", has_text=f"{channel}-2026")).to_have_count(0)
    expect(owner.locator(".member-count")).to_have_text("1 member")
    assert pages.errors == []
