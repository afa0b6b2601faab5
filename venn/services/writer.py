"""The message writer: stores checked posts and publishes them, in id order per channel.

Every post, whichever door it came through, reaches :meth:`MessageWriter.write` once
:class:`~venn.services.messages.MessageService` has checked it. Writing is
batch-shaped: posts to a channel's stream that queue behind the one being written
are stored together by the next one to go, in one multi-row INSERT, and then
published one ``new_message`` event each, in id order (a group commit: under load a
channel pays one database round trip, and one turn of the cross-process lock, per
group rather than per message). A thread reply, which also updates counters, and a
post made inside a caller's transaction are a group of one.

Order: a channel's groups are written one at a time in this process (a striped
``asyncio.Lock``) and, when a ``channel_lock`` is given (Redis, with several
processes), across every process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from venn.db.models import Channel, Message, MessageKind, Thread, User
from venn.db.sql import SQLParams
from venn.errors import Conflict, Unavailable
from venn.events import Event, EventBus
from venn.files.service import attach_files
from venn.services.mentions import insert_rows, rows_of
from venn.services.views import message_view

#: a lock per channel id shared by every process (e.g. :class:`venn.realtime.locks.RedisChannelLock`)
ChannelLock = Callable[[int], AbstractAsyncContextManager[Any]]

#: at most this many posts are written in one group (one INSERT)
GROUP_MAX = 100
LOCK_STRIPES = 256
GROUP_INSERT = (
    "INSERT INTO messages"
    " (channel_id, author_id, body, kind, payload, client_msg_id, created_at, deleted, reply_count, reply_to_id,"
    " mentions)"
)
_PAYLOAD = Message._meta.fields_map["payload"]
_MENTIONS = Message._meta.fields_map["mentions"]
#: what a waiting post's turn resolves to when it is to write the next group itself
_LEAD = object()

@dataclass(slots=True)
class Draft:
    """A checked post, ready to be written."""

    user: User
    body: str
    kind: MessageKind
    payload: dict[str, Any] | None
    client_msg_id: str | None
    #: the message this one answers (bots' replies), or None
    reply_to: int | None = None
    #: uploads the message carries (attached in its transaction), and their summaries
    file_ids: list[int] = field(default_factory=list)
    files: list[dict[str, Any]] | None = None
    #: the users it mentions (resolved by the message service), stored with it
    mentions: tuple[int, ...] = ()


@dataclass(slots=True)
class _Waiter:
    """A post of a channel's stream waiting for its turn to be written."""

    draft: Draft
    #: resolved with the post's result by the post ahead, or with :data:`_LEAD`
    turn: asyncio.Future


class PostResult:
    """A posted message, and whether this call created it (False for an idempotent retry)."""

    __slots__ = ("message", "created")

    def __init__(self, message: dict[str, Any], created: bool) -> None:
        self.message = message
        self.created = created


async def find_retry(user: User, client_msg_id: str | None) -> Message | None:
    """The message ``user`` posted first with ``client_msg_id``, if any."""
    if not client_msg_id:
        return None
    return await Message.get_or_none(author_id=user.id, client_msg_id=client_msg_id)


def retry_result(existing: Message, channel_id: int, thread_id: int | None, user: User) -> PostResult:
    """The answer to a retry of ``existing``; :class:`Conflict` if the id was used elsewhere."""
    if existing.channel_id != channel_id or existing.thread_id != thread_id:
        raise Conflict("That client_msg_id was already used for another message.", code="duplicate_client_msg_id")
    return PostResult(message_view(existing, user), False)


class MessageWriter:
    """Stores posts and publishes ``new_message`` for each, in id order per channel."""

    def __init__(self, events: EventBus, channel_lock: ChannelLock | None = None) -> None:
        self._events = events
        # Posts to one channel are persisted and published one at a time in this
        # process, so that new_message events leave in id order.
        self._locks = [asyncio.Lock() for _ in range(LOCK_STRIPES)]
        #: channel id -> posts waiting behind the one being written (present while one is)
        self._waiting: dict[int, list[_Waiter]] = {}
        self._channel_lock = channel_lock

    def _shared_lock(self, channel_id: int) -> AbstractAsyncContextManager[Any]:
        if self._channel_lock is None:
            return contextlib.nullcontext()
        return self._channel_lock(channel_id)

    async def write(
        self,
        channel: Channel,
        thread: Thread | None,
        draft: Draft,
        *,
        turn: Callable[[], Awaitable[None]] | None = None,
        queued: Callable[[], None] | None = None,
    ) -> PostResult:
        """Store ``draft`` in ``channel`` (``thread``: a reply) and publish it.

        Awaits ``turn()`` (if given) before the post takes its place in the channel's
        order and calls ``queued()`` once it has it, before it is written. A retry
        (an author's ``client_msg_id`` used before) answers the message posted first.
        """
        if turn is not None:
            await turn()
        # a thread reply, a post with files (both need a transaction), or one inside a
        # caller's transaction: written alone
        if thread is not None or draft.file_ids or isinstance(connections.get("default"), TransactionalDBClient):
            async with self._locks[channel.id % LOCK_STRIPES], self._shared_lock(channel.id):
                if queued is not None:
                    queued()
                outcome = (await self._write_batch(channel, thread, [draft], one_insert=False))[0]
        else:
            waiter = _Waiter(draft, asyncio.get_running_loop().create_future())
            outcome = await self._write_grouped(channel, waiter, queued)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def _write_grouped(
        self, channel: Channel, waiter: _Waiter, queued: Callable[[], None] | None
    ) -> PostResult | BaseException:
        queue = self._waiting.get(channel.id)
        if queue is None:  # nobody is writing to this channel: go now
            queue = self._waiting[channel.id] = []
            if queued is not None:
                queued()
        else:  # wait: the post ahead writes this one with its group, or hands over the lead
            queue.append(waiter)
            if queued is not None:
                queued()
            try:
                outcome = await waiter.turn
            except asyncio.CancelledError:
                if waiter.turn.done() and not waiter.turn.cancelled() and waiter.turn.result() is _LEAD:
                    self._pass_lead(channel.id)
                raise
            if outcome is not _LEAD:
                return outcome
        batch = [waiter, *(w for w in queue[: GROUP_MAX - 1] if not w.turn.done())]
        del queue[: GROUP_MAX - 1]
        outcomes: list[PostResult | BaseException] = []
        try:
            async with self._locks[channel.id % LOCK_STRIPES], self._shared_lock(channel.id):
                outcomes = await self._write_batch(channel, None, [w.draft for w in batch], one_insert=True)
        except BaseException as exc:
            # e.g. the database is down, or this post's caller was cancelled mid-way
            failed = (
                exc if isinstance(exc, Exception) else Unavailable("The message could not be saved; send it again.")
            )
            outcomes = [exc, *([failed] * (len(batch) - 1))]
            raise
        finally:
            # one outcome per post; strict=False: nothing may raise before _pass_lead
            for other, outcome in zip(batch[1:], outcomes[1:], strict=False):
                if other.turn.done():
                    continue
                if isinstance(outcome, BaseException):
                    other.turn.set_exception(outcome)
                else:
                    other.turn.set_result(outcome)
            self._pass_lead(channel.id)
        return outcomes[0]

    def _pass_lead(self, channel_id: int) -> None:
        """The next waiting post of the channel writes next (or nobody is writing)."""
        queue = self._waiting[channel_id]
        while queue:
            following = queue.pop(0)
            if not following.turn.done():
                following.turn.set_result(_LEAD)
                return
        del self._waiting[channel_id]

    async def _write_batch(
        self, channel: Channel, thread: Thread | None, batch: list[Draft], *, one_insert: bool
    ) -> list[PostResult | BaseException]:
        """Store a group (in the channel's lock); publish one event each, in id order.

        ``one_insert``: the group (of the channel's stream) is one INSERT; if a
        ``client_msg_id`` used before is among them, they are written one at a time
        instead, each retry answering the message posted first. Otherwise (a thread
        reply, a post inside a caller's transaction) each post goes through the ORM.
        """
        if one_insert:
            now = datetime.now(UTC)
            try:
                ids = await self._insert_rows(channel, batch, now)
            except IntegrityError:
                pass  # one at a time, below
            else:
                results: list[PostResult | BaseException] = []
                for d, message_id in zip(batch, ids, strict=True):
                    message = Message(
                        id=message_id, channel_id=channel.id, thread_id=None, author_id=d.user.id, body=d.body,
                        kind=d.kind, payload=d.payload, client_msg_id=d.client_msg_id, created_at=now, deleted=False,
                        reply_count=0, reply_to_id=d.reply_to, mentions=list(d.mentions) or None,
                    )
                    results.append(await self._publish(message, d.user, channel, None))
                return results
        outcomes: list[PostResult | BaseException] = []
        for draft in batch:
            try:
                outcomes.append(await self._write_alone(channel, thread, draft))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    async def _insert_rows(self, channel: Channel, batch: list[Draft], now: datetime) -> list[int]:
        """One INSERT of posts to a channel's stream; their ids, in the posts' order.

        Posts that mention someone have their mention rows written in the same transaction.
        """
        if not any(d.mentions for d in batch):
            return await self._insert_messages(connections.get("default"), channel, batch, now)
        async with in_transaction() as conn:
            ids = await self._insert_messages(conn, channel, batch, now)
            await insert_rows(
                conn, [row for d, mid in zip(batch, ids, strict=True) for row in rows_of(mid, channel.id, d.mentions)]
            )
        return ids

    @staticmethod
    async def _insert_messages(conn: Any, channel: Channel, batch: list[Draft], now: datetime) -> list[int]:
        params = SQLParams(conn)
        rows = []
        for d in batch:
            values = (channel.id, d.user.id, d.body, d.kind.value, _PAYLOAD.to_db_value(d.payload, Message),
                      d.client_msg_id, now, False, 0, d.reply_to,
                      _MENTIONS.to_db_value(list(d.mentions) or None, Message))
            rows.append(f"({', '.join(params.add(v) for v in values)})")
        inserted = await conn.execute_query_dict(
            f"{GROUP_INSERT} VALUES {', '.join(rows)} RETURNING id", params.values
        )
        # ids are handed out in the order of the rows (RETURNING's order is not promised)
        return sorted(row["id"] for row in inserted)

    async def _write_alone(self, channel: Channel, thread: Thread | None, draft: Draft) -> PostResult:
        """Insert one post through the ORM (a reply also bumps its thread's counters)."""
        try:
            message = await self._insert(channel, thread, draft)
        except IntegrityError:
            # The (author, client_msg_id) index refused it: a retry, or a concurrent one.
            existing = await find_retry(draft.user, draft.client_msg_id)
            if existing is None:
                raise
            return retry_result(existing, channel.id, thread.id if thread else None, draft.user)
        return await self._publish(message, draft.user, channel, thread)

    @staticmethod
    async def _insert(channel: Channel, thread: Thread | None, draft: Draft) -> Message:
        fields = dict(
            channel_id=channel.id,
            thread_id=thread.id if thread else None,
            author_id=draft.user.id,
            body=draft.body,
            kind=draft.kind,
            payload=draft.payload,
            client_msg_id=draft.client_msg_id,
            reply_to_id=draft.reply_to,
            files=draft.files,
            mentions=list(draft.mentions) or None,
        )
        if thread is None and not draft.file_ids and not draft.mentions:
            # one INSERT commits on its own: no transaction round trips needed
            return await Message.create(**fields)
        async with in_transaction() as conn:
            message = await Message.create(**fields)
            if draft.file_ids:
                await attach_files(message.id, draft.user.id, channel.id, draft.file_ids)
            if thread is not None:
                await Thread.filter(id=thread.id).update(
                    reply_count=F("reply_count") + 1, last_reply_at=message.created_at
                )
                await Message.filter(id=thread.root_message_id).update(reply_count=F("reply_count") + 1)
            if draft.mentions:
                await insert_rows(conn, rows_of(message.id, channel.id, draft.mentions))
        return message

    async def _publish(self, message: Message, user: User, channel: Channel, thread: Thread | None) -> PostResult:
        view = message_view(message, user)
        await self._events.publish(
            Event(
                "new_message",
                {"message": view},
                channel_id=channel.id,
                thread_id=message.thread_id,
                context={"message": message, "author": user, "channel": channel, "thread": thread},
            )
        )
        if message.mentions:
            await publish_mention(self._events, view, message.mentions)
        return PostResult(view, True)


async def publish_mention(events: EventBus, view: dict[str, Any], user_ids: Iterable[int]) -> None:
    """``mention`` to the own sockets of each of ``user_ids`` (committed mentions of them)."""
    targets = tuple(sorted(set(user_ids) - {view["author"]["id"]}))
    if not targets:
        return
    await events.publish(
        Event(
            "mention",
            {"message": view},
            channel_id=view["channel_id"],
            thread_id=view["thread_id"],
            user_ids=targets,
        )
    )
