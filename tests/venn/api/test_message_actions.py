"""Clicks on message actions over REST: who may click and which clicks are refused
(the bot runtime's handlers are covered with the bots)."""

from __future__ import annotations

import re

import pytest

from venn.services.actions import ActionsInvalid, check_actions


async def click(client, person, message_id, action_id, value=""):
    return await client.post(
        f"/api/v1/messages/{message_id}/actions", json={"action_id": action_id, "value": value}, headers=person.headers
    )


async def test_outsider_404_unknown_action_422(client, chat):
    alice = await chat.user("alice")
    channel = await chat.channel(alice, "general")
    message = await chat.post(alice, channel["id"], "no buttons here")
    resp = await click(client, alice, message["id"], "vote", "x")
    assert resp.status == 422
    assert (await resp.json())["error"]["code"] == "validation_error"
    resp = await click(client, alice, 999999, "vote", "x")
    assert resp.status == 404
    resp = await client.post(f"/api/v1/messages/{message['id']}/actions", json={"value": 3}, headers=alice.headers)
    assert resp.status == 422


def test_action_shapes_are_checked_with_clear_errors():
    ok = check_actions(
        [
            {"type": "button", "id": "vote", "label": "Pizza", "value": "pizza", "style": "primary"},
            {"type": "select", "id": "size", "label": "Size", "options": [{"label": "L", "value": "l"}]},
        ]
    )
    assert ok[0]["style"] == "primary" and ok[1]["options"] == [{"label": "L", "value": "l"}]
    assert check_actions([{"id": "go", "label": "Go"}])[0] == {
        "type": "button", "id": "go", "label": "Go", "value": "", "style": "default",
    }
    for bad, where in [
        ("nope", "payload.actions must be a list"),
        ([{"id": "Bad Id", "label": "x"}], "payload.actions[0].id"),
        ([{"id": "a", "label": "x", "style": "pink"}], "payload.actions[0].style"),
        ([{"type": "select", "id": "a", "label": "x", "options": []}], "payload.actions[0].options"),
        ([{"type": "slider", "id": "a", "label": "x"}], "payload.actions[0].type"),
        ([{"id": "a", "label": "x", "colour": "red"}], "unknown fields: colour"),
    ]:
        with pytest.raises(ActionsInvalid, match=re.escape(where)):
            check_actions(bad)
