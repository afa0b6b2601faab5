"""Catch-up after a reconnect must start from the cursors held when the connection dropped.

The race (docs/realtime.md, "Reconnecting and catching up"): after a reconnect the page
joins its rooms, then calls ``sync``. A message committed while the page was not in the
channel's room is never broadcast to it; if a *live* message arrives between the join
and the ``sync``, a client that computes its cursors after joining syncs from the live
message's id and skips the earlier one for good.

The test makes that window deterministic, with no sleeps, by sitting between the page
and the server on the page's WebSocket (Playwright's ``route_web_socket``): after the
restart it holds the page's ``join_channel`` until a message ("committed meanwhile") has
been posted — the page is connected but not in the room, so that message is not sent to
it — then holds the server's answer to the join until a second message ("live in the
window") has reached the page live, and only then lets the join's answer through, so the
page's ``sync`` starts after the live message.
"""

from __future__ import annotations

import json
import re
import time

import pytest

pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install -e '.[dev]')")

from playwright.sync_api import expect  # noqa: E402

from tests.web import ui  # noqa: E402
from tests.web.kit import Server  # noqa: E402

JOIN = re.compile(r'^42(\d+)\["join_channel"')
ACK = re.compile(r"^43(\d+)\[")


class Gate:
    """The page's socket, relayed frame by frame; joins and their answers can be held."""

    def __init__(self) -> None:
        self.hold_joins = False
        self.hold_join_answers = False
        self.held_joins: list[tuple[object, str]] = []  # (server side, frame)
        self.held_answers: list[tuple[object, str]] = []  # (page side, frame)
        self.join_ids: set[str] = set()
        self.seen_by_page: list[str] = []

    def route(self, ws) -> None:
        server = ws.connect_to_server()

        def from_page(frame) -> None:
            match = JOIN.match(frame) if isinstance(frame, str) else None
            if match:
                self.join_ids.add(match.group(1))
                if self.hold_joins:
                    self.held_joins.append((server, frame))
                    return
            server.send(frame)

        def from_server(frame) -> None:
            match = ACK.match(frame) if isinstance(frame, str) else None
            if match and match.group(1) in self.join_ids and self.hold_join_answers:
                self.held_answers.append((ws, frame))
                return
            if isinstance(frame, str):
                self.seen_by_page.append(frame)
            ws.send(frame)

        ws.on_message(from_page)
        server.on_message(from_server)

    @staticmethod
    def release(held: list) -> None:
        while held:
            side, frame = held.pop(0)
            side.send(frame)


def wait_until(page, condition, what: str, timeout: float = 20) -> None:
    """Let Playwright relay frames until ``condition()`` holds (bounded)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


def live_message_with(frames: list[str], body: str) -> bool:
    for frame in frames:
        if frame.startswith('42["new_message"'):
            if json.loads(frame[2:])[1]["message"]["body"] == body:
                return True
    return False


@pytest.fixture
def own_server(browser, tmp_path):
    srv = Server(tmp_path / "data").start()
    yield srv
    srv.stop()


def test_sync_starts_from_the_cursors_held_at_the_disconnect(browser_pages, own_server):
    server = own_server
    pages = browser_pages(server.url)
    alice = pages.new()
    ui.sign_up(alice, "alice")
    ui.create_channel(alice, "catchup")
    channel_id = int(alice.evaluate("location.hash").split("/")[2])
    bob = server.person("bob")
    server.ok("POST", f"/channels/{channel_id}/join", token=bob.token)

    gate = Gate()
    alice.route_web_socket(re.compile(r"/socket\.io/"), gate.route)
    alice.reload()  # the session survives; its socket now goes through the gate
    expect(alice.locator(".channel-title h2")).to_contain_text("catchup")
    server.ok("POST", "/messages", {"channel_id": channel_id, "body": "before the drop"}, bob.token)
    expect(ui.message(alice, "before the drop")).to_be_visible()

    server.stop()
    expect(alice.locator(".connection-banner")).to_have_text("Reconnecting…")
    gate.hold_joins = gate.hold_join_answers = True
    server.start()

    # connected again, not in the channel's room yet: this one is committed, not sent to the page
    wait_until(alice, lambda: gate.held_joins, "the page to join its channel")
    server.ok("POST", "/messages", {"channel_id": channel_id, "body": "committed meanwhile"}, bob.token)
    gate.release(gate.held_joins)
    wait_until(alice, lambda: gate.held_answers, "the server to answer the join")

    # in the room now, the page's sync not sent yet: this one arrives live
    server.ok("POST", "/messages", {"channel_id": channel_id, "body": "live in the window"}, bob.token)
    wait_until(alice, lambda: live_message_with(gate.seen_by_page, "live in the window"), "the live message")
    expect(ui.message(alice, "live in the window")).to_be_visible()
    gate.hold_joins = gate.hold_join_answers = False
    gate.release(gate.held_answers)

    expect(alice.locator(".connection-banner")).to_be_hidden(timeout=20_000)
    expect(ui.message(alice, "committed meanwhile")).to_be_visible()
    # in id order, each once
    bodies = alice.locator(".channel-view .msg:not(.pending) .body").all_inner_texts()
    wanted = ["before the drop", "committed meanwhile", "live in the window"]
    assert [b for b in bodies if b in wanted] == wanted, bodies
    assert not live_message_with(gate.seen_by_page, "committed meanwhile")  # it came by sync, not live
    assert not pages.errors, pages.errors
