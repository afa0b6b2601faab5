"""Interactive messages: the buttons and selects a bot puts in ``payload.actions``, and
clicks on them.

The shape (checked by :func:`check_actions` when a plugin posts or updates a message)::

    [{"type": "button", "id": "vote", "label": "Pizza", "value": "pizza", "style": "primary"},
     {"type": "select", "id": "size", "label": "Size", "options": [{"label": "Large", "value": "l"}]}]

A click names an ``action_id`` and a ``value``: a button's own value, or one of a
select's option values. The core checks who may click and what may be clicked, then
hands the click to the dispatcher the bot runtime installs (``services.actions.dispatcher``,
see ``venn_bots.actions``). A bot changes its message with ``MessageService.update_own``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from venn.db.models import Message, User
from venn.errors import Conflict, Forbidden, NotFound, ValidationFailed
from venn.services.base import Service

ACTION_ID_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
STYLES = ("primary", "danger", "default")
MAX_ACTIONS = 25
MAX_OPTIONS = 100
MAX_LABEL = 80
MAX_VALUE = 200

#: (message, its author, who clicked, action id, value) -> what the click answers
Dispatcher = Callable[[Message, User, User, str, str], Awaitable[dict[str, Any]]]


class ActionsInvalid(ValidationFailed, ValueError):
    """``payload.actions`` does not have the documented shape (the message says where):
    a 422 ``validation_error`` with the field ``payload.actions``."""

    def __init__(self, problem: str) -> None:
        super().__init__([{"field": "payload.actions", "message": problem}], f"Invalid payload.actions: {problem}")


def _text(where: str, value: Any, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()) or len(value) > limit:
        raise ActionsInvalid(f"{where} must be a {'' if empty else 'non-empty '}string of at most {limit} characters")
    return value


def check_actions(actions: Any) -> list[dict[str, Any]]:
    """``actions`` in their normal form (``style`` filled in); raises :class:`ActionsInvalid`."""
    if not isinstance(actions, list) or len(actions) > MAX_ACTIONS:
        raise ActionsInvalid(f"payload.actions must be a list of at most {MAX_ACTIONS} buttons and selects")
    out = []
    for i, action in enumerate(actions):
        where = f"payload.actions[{i}]"
        if not isinstance(action, dict):
            raise ActionsInvalid(f"{where} must be an object")
        kind = action.get("type", "button")
        action_id = action.get("id")
        if not isinstance(action_id, str) or not ACTION_ID_RE.match(action_id):
            raise ActionsInvalid(f"{where}.id must match {ACTION_ID_RE.pattern}")
        label = _text(f"{where}.label", action.get("label"), MAX_LABEL)
        if kind == "button":
            extra = set(action) - {"type", "id", "label", "value", "style"}
            style = action.get("style", "default")
            if style not in STYLES:
                raise ActionsInvalid(f"{where}.style must be one of {', '.join(STYLES)}")
            value = _text(f"{where}.value", action.get("value", ""), MAX_VALUE, empty=True)
            item: dict[str, Any] = {"type": "button", "id": action_id, "label": label, "value": value, "style": style}
        elif kind == "select":
            extra = set(action) - {"type", "id", "label", "options"}
            options = action.get("options")
            if not isinstance(options, list) or not options or len(options) > MAX_OPTIONS:
                raise ActionsInvalid(f"{where}.options must be a list of 1 to {MAX_OPTIONS} options")
            checked = []
            for j, option in enumerate(options):
                if not isinstance(option, dict) or set(option) - {"label", "value"}:
                    raise ActionsInvalid(f"{where}.options[{j}] must be {{\"label\": ..., \"value\": ...}}")
                checked.append(
                    {
                        "label": _text(f"{where}.options[{j}].label", option.get("label"), MAX_LABEL),
                        "value": _text(f"{where}.options[{j}].value", option.get("value"), MAX_VALUE, empty=True),
                    }
                )
            item = {"type": "select", "id": action_id, "label": label, "options": checked}
        else:
            raise ActionsInvalid(f"{where}.type must be \"button\" or \"select\"")
        if extra:
            raise ActionsInvalid(f"{where} has unknown fields: {', '.join(sorted(extra))}")
        out.append(item)
    return out


def check_payload(payload: dict[str, Any] | None) -> dict[str, Any] | None:
    """``payload`` with its ``actions`` (if any) checked and normalised; raises
    :class:`ActionsInvalid` (422)."""
    if payload is not None and not isinstance(payload, dict):
        raise ValidationFailed([{"field": "payload", "message": "must be an object"}], "The payload must be an object.")
    if payload is None or "actions" not in payload:
        return payload
    return {**payload, "actions": check_actions(payload["actions"])}


def offers(message: Message, action_id: str, value: str) -> bool:
    """Whether the message shows an action ``action_id`` that can send ``value``."""
    actions = (message.payload or {}).get("actions") if isinstance(message.payload, dict) else None
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict) or action.get("id") != action_id:
            continue
        if action.get("type") == "select":
            if any(isinstance(o, dict) and o.get("value") == value for o in action.get("options") or []):
                return True
        elif action.get("value", "") == value:
            return True
    return False


class ActionService(Service):
    #: installed by the bot runtime when it starts; None: no bots run here
    dispatcher: Dispatcher | None = None

    async def click(self, user: User, message_id: int, action_id: str, value: str) -> dict[str, Any]:
        """A click on a message's button or select: 404 unless the user sees the message,
        422 ``validation_error`` unless the message offers it, 403 ``channel_archived`` in
        an archived channel, 409 ``plugin_disabled`` when no plugin answers it there any
        more (the dispatcher of the bot runtime decides), 503 when the bots are too busy."""
        message = await Message.get_or_none(id=message_id).prefetch_related("author")
        if message is None:
            raise NotFound("No such message.")
        channel = await self.core.channels.get_visible(user, message.channel_id)
        if message.deleted or not offers(message, action_id, value):
            raise ValidationFailed(
                [{"field": "action_id", "message": "this message has no such action (or not that value)"}],
                "Unknown action.",
            )
        if channel.archived:  # read-only
            raise Forbidden("The channel is archived.", code="channel_archived")
        if self.dispatcher is None or not message.author.is_bot:
            raise Conflict("No bot answers this message's actions here.", code="plugin_disabled")
        return await self.dispatcher(message, message.author, user, action_id, value)
