"""Files in the browser: attach with the button (with upload progress) or by dropping,
images shown inline from their thumbnail to the other person, other files as a
download link with name and size; no serious accessibility violation on the way."""

from __future__ import annotations

import io
import itertools

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from PIL import Image  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.a11y import check_a11y  # noqa: E402
from tests.web.conftest import shot  # noqa: E402

_n = itertools.count(1)


def name(prefix: str) -> str:
    return f"{prefix}{next(_n)}"


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def test_an_image_attached_with_the_button_shows_inline_for_the_other_person(pages, server):
    alice_name, bob_name, channel = name("alice"), name("bob"), name("photos")
    alice, bob = pages.new(), pages.new()
    ui.sign_up(alice, alice_name)
    ui.sign_up(bob, bob_name)
    ui.create_channel(alice, channel)
    ui.join_channel(bob, channel)

    ui.attach_files(
        alice,
        [
            {"name": "lake.png", "mimeType": "image/png", "buffer": png_bytes()},
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"bring snacks\n" * 100},
        ],
    )
    attachments = alice.locator(".channel-view .attachment")
    expect(attachments).to_have_count(2)
    check_a11y(alice, "the composer with two files attached")
    shot(alice, "files-composer")
    ui.send(alice, "Photos from the trip")

    sent = ui.message(bob, "Photos from the trip")
    image = sent.locator("img.file-thumb")
    expect(image).to_have_attribute("alt", "lake.png")
    # loaded through the files cookie (an <img> sends no Authorization header)
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") == 400
    expect(sent.get_by_role("link", name="Open image lake.png")).to_have_attribute("href", image.evaluate(
        "img => img.closest('a').getAttribute('href')"))
    link = sent.locator("a.file-link")
    expect(link).to_contain_text("notes.txt")
    expect(link).to_contain_text("1.3 KB")
    with bob.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "notes.txt"
    with open(download.value.path(), "rb") as fh:
        assert fh.read() == b"bring snacks\n" * 100
    check_a11y(bob, "a message with an image and a file")
    shot(bob, "files-bob")

    # a message of files only: no text needed; dropping a file works too
    alice.locator(".channel-view .composer").dispatch_event(
        "drop", {"dataTransfer": alice.evaluate_handle(
            "() => { const d = new DataTransfer();"
            " d.items.add(new File(['x,y\\n1,2\\n'], 'table.csv', {type: 'text/csv'})); return d; }"
        )},
    )
    expect(attachments.filter(has_text="table.csv").locator(".attachment-state")).to_have_text("ready")
    alice.locator(".channel-view .composer-input").press("Enter")
    expect(bob.locator(".channel-view a.file-link", has_text="table.csv")).to_be_visible()

    # on a slow line the upload shows its progress (a progress bar named after the file) until ready
    cdp = alice.context.new_cdp_session(alice)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 64 * 1024})
    ui.attach_files(alice, [{"name": "big.bin", "mimeType": "application/octet-stream", "buffer": bytes(160_000)}],
                    wait=False)
    progress = alice.get_by_role("progressbar", name="Uploading big.bin")
    expect(progress).to_be_visible()
    for _ in range(200):  # moving: some of it sent, not all (the CSP forbids wait_for_function's eval)
        if 0 < progress.evaluate("p => p.value") < 1:
            break
        alice.wait_for_timeout(20)
    else:
        raise AssertionError("the progress bar never moved")
    check_a11y(alice, "an upload in progress")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})
    expect(attachments.filter(has_text="big.bin").locator(".attachment-state")).to_have_text("ready")
    expect(progress).to_have_count(0)
    assert pages.errors == [] and pages.dialogs == []
