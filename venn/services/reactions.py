"""Reactions: one emoji per user per message, added and removed idempotently.

An emoji is given as the emoji itself (``👍``, ``👍🏽``, ``❤`` or ``❤️``) or as a short
name (``+1``, ``:thumbsup:``, ``heart``); either way one canonical form is stored:
the fully-qualified emoji (``❤️``), so that every spelling counts as one reaction.
The message's ``reactions`` column holds the summary (see
:mod:`venn.services.annotations` for how it is changed safely).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import emoji as emoji_data

from venn.db.models import User
from venn.errors import Conflict, ValidationFailed
from venn.ratelimit import enforce
from venn.services.annotations import AnnotationService
from venn.services.views import reaction_views

_SHORT_NAME = re.compile(r"^:?([A-Za-z0-9_+\-]{1,60}):?$")


def _bad_emoji() -> ValidationFailed:
    return ValidationFailed(
        [{"field": "emoji", "message": "one emoji, or an emoji's short name such as +1 or heart"}],
        "That is not an emoji.",
    )


def canonical_emoji(text: str) -> tuple[str, str]:
    """``(emoji, name)``: the canonical form of one emoji or short name, and its name
    (``("👍", "thumbs up")``); :class:`ValidationFailed` for anything else."""
    text = text.strip() if isinstance(text, str) else ""
    if not text or len(text) > 64:
        raise _bad_emoji()
    if not emoji_data.is_emoji(text):
        match = _SHORT_NAME.match(text)
        if match is None:
            raise _bad_emoji()
        name = match.group(1)
        for candidate in (name, name.lower()):
            text = emoji_data.emojize(f":{candidate}:", language="alias")
            if emoji_data.is_emoji(text):
                break
        else:
            raise _bad_emoji()
    # demojize then emojize: one qualified form whatever variation selectors came in
    name = emoji_data.demojize(text)
    canonical = emoji_data.emojize(name)
    if not emoji_data.is_emoji(canonical):
        canonical = text
    return canonical, name.strip(":").replace("_", " ")


class ReactionService(AnnotationService):
    async def add(self, user: User, message_id: int, text: str) -> dict[str, Any]:
        """Add the user's reaction (nothing changes if it is there); the message's view."""
        return await self._change(user, message_id, text, adding=True)

    async def remove(self, user: User, message_id: int, text: str) -> dict[str, Any]:
        """Remove the user's reaction (nothing changes if it is not there); the message's view."""
        return await self._change(user, message_id, text, adding=False)

    async def _change(self, user: User, message_id: int, text: str, *, adding: bool) -> dict[str, Any]:
        emoji, name = canonical_emoji(text)
        await enforce(
            self.limiter, f"react:{user.id}", self.settings.rate_limit_reactions_per_minute,
            message="You are reacting too fast; slow down.",
        )
        await self._target(user, message_id)
        async with self._locked(message_id) as message:
            summary = [dict(r) for r in message.reactions or []]
            changed = (self._added if adding else self._removed)(summary, emoji, name, user.id)
            if changed:
                message.reactions = summary or None
                message.annotated_at = datetime.now(UTC)
                await message.save(update_fields=["reactions", "annotated_at"])
        if changed:
            await self._publish(
                "reaction_added" if adding else "reaction_removed", message, user,
                {"emoji": emoji, "reactions": reaction_views(message.reactions)},
            )
        return await self._view(message)

    def _added(self, summary: list[dict[str, Any]], emoji: str, name: str, user_id: int) -> bool:
        for entry in summary:
            if entry["emoji"] == emoji:
                if user_id in entry["user_ids"]:
                    return False
                entry["user_ids"] = [*entry["user_ids"], user_id]
                return True
        limit = self.settings.max_reactions_per_message
        if len(summary) >= limit:
            raise Conflict(
                f"A message can have at most {limit} different reactions.", code="too_many_reactions", limit=limit
            )
        summary.append({"emoji": emoji, "name": name, "user_ids": [user_id]})
        return True

    @staticmethod
    def _removed(summary: list[dict[str, Any]], emoji: str, name: str, user_id: int) -> bool:
        for i, entry in enumerate(summary):
            if entry["emoji"] == emoji and user_id in entry["user_ids"]:
                entry["user_ids"] = [u for u in entry["user_ids"] if u != user_id]
                if not entry["user_ids"]:
                    del summary[i]
                return True
        return False

