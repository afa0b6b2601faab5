"""Speaking as a plugin's bot user: replies, live events, and the runtime's notices
about a job (errors, timeouts, a full queue)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from venn.db.models import MessageKind, User
from venn.events import Event
from venn.schemas import MessageCreateIn
from venn_bots.queue import Job

log = logging.getLogger("venn.bots")


def cut_to(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and a marker saying how
    much was cut (the whole still fits): a plugin's long reply is shortened, never refused."""
    if len(text) <= limit:
        return text
    # room for the longest marker this text can need (the count is at most len(text))
    keep = limit - len(_cut_marker(len(text)))
    if keep <= 0:
        return text[:limit]
    return text[:keep] + _cut_marker(len(text) - keep)


def _cut_marker(count: int) -> str:
    return f"\n\n[… {count:,} more characters cut]"


class Poster:
    """Posts through the one message path (validated, stored, broadcast) as bot users."""

    def __init__(self, services: Any, bot_users: Mapping[str, User]) -> None:
        self._services = services
        #: the loader's bot users by plugin name (the same mapping, kept current by it)
        self._bot_users = bot_users

    async def post(
        self,
        plugin: str,
        channel_id: int,
        thread_id: int | None,
        text: str,
        *,
        payload: dict[str, Any] | None = None,
        client_msg_id: str | None = None,
        system: bool = False,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """Post as a plugin's bot user; returns the message as REST shows it. ``reply_to``
        is the id of the message the post answers (the message view's ``reply_to``)."""
        user = self._bot_users[plugin]
        text = cut_to(text.strip(), self._services.settings.max_message_length)
        data = MessageCreateIn(channel_id=channel_id, body=text, thread_id=thread_id, client_msg_id=client_msg_id)
        result = await self._services.messages.post(
            user, data, kind=MessageKind.SYSTEM if system else MessageKind.BOT, payload=payload, trusted=True,
            reply_to=reply_to,
        )
        return result.message

    async def update(
        self, plugin: str, message_id: int, *, body: str | None = None, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Change one of the bot user's own messages through the message service (stored,
        then ``message_updated``); a longer body is cut like a reply's."""
        if body is not None:
            body = cut_to(str(body).strip(), self._services.settings.max_message_length)
        return await self._services.messages.update_own(
            self._bot_users[plugin], message_id, body=body, payload=payload
        )

    async def emit(
        self, plugin: str, event: str, data: dict[str, Any], *, channel_id: int, thread_id: int | None
    ) -> None:
        """A live event to the thread's (or channel's) clients, marked with the plugin."""
        await self._services.events.publish(
            Event(
                event,
                {**data, "plugin": plugin, "channel_id": channel_id, "thread_id": thread_id},
                channel_id=channel_id,
                thread_id=thread_id,
            )
        )

    async def notice(self, job: Job, text: str, key: str) -> None:
        """A short message from the plugin's bot user about a job (errors, busy), answering
        the job's message if it has one; once per job and ``key``, and never an exception
        (the job's outcome says the rest)."""
        if job.plugin not in self._bot_users:
            return
        try:
            await self.post(
                job.plugin, job.channel_id, job.thread_id, text, client_msg_id=f"job:{job.id}:{key}"[:64],
                reply_to=job.message_id,
            )
        except Exception:
            log.exception("could not post a bot notice", extra={"plugin": job.plugin, "job_id": job.id})
