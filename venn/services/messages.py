"""Messages: the single path every message takes, whichever door it came through.

validate → persist (committed) → publish an event. REST, Socket.IO and bots all
call :meth:`MessageService.post`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta, timezone
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from venn.db.sql import SQLParams
from venn.db.models import Channel, Message, MessageKind, Role, Thread, User
from venn.errors import Conflict, Forbidden, NotFound, Unauthorized, Unavailable, ValidationFailed, VennError
from venn.events import Event
from venn.ratelimit import enforce
from venn.schemas import MessageCreateIn, PageQuery
from venn.services.base import Service
from venn.services.views import MESSAGE_ROW_COLUMNS, message_row_view, message_view

log = logging.getLogger("venn.messages")

#: bot and system messages (result tables) may be longer than people's messages
BOT_BODY_FACTOR = 10
_LOCK_STRIPES = 256
#: sync re-sends changes made a little before the cursor message, so that clock
#: differences between server processes cannot hide an edit
SYNC_CLOCK_MARGIN = timedelta(seconds=10)
#: at most this many thread roots are refreshed per channel in one sync
SYNC_MAX_ROOTS = 1000
#: at most this many changed messages per channel or thread in one sync (more:
#: ``updates_has_more``, and the client reloads that history instead)
SYNC_MAX_UPDATES = 200

#: the sender of a post (``u``), and with it the channel (``c_*``) when they are a member
SENDER_SELECT = (
    "SELECT u.id, u.username, u.display_name, u.is_bot, u.role, u.token_version, u.email, c.id AS c_id,"
    " c.name AS c_name, c.topic AS c_topic, c.is_private AS c_is_private, c.archived AS c_archived FROM users u"
)
#: a history page's rows: messages (``m``) with their authors' public fields
PAGE_SELECT = f"SELECT {MESSAGE_ROW_COLUMNS} FROM messages m JOIN users u ON u.id = m.author_id"


#: at most this many posts are written in one group (one INSERT)
GROUP_MAX = 100
GROUP_INSERT = (
    "INSERT INTO messages (channel_id, author_id, body, kind, payload, client_msg_id, created_at, deleted, reply_count)"
)
_PAYLOAD = Message._meta.fields_map["payload"]
#: what a waiting post's turn resolves to when it is to write the next group itself
_LEAD = object()


@dataclass(slots=True)
class _Post:
    """A post of a channel's stream waiting for its turn to be written."""

    user: User
    body: str
    kind: MessageKind
    payload: dict[str, Any] | None
    client_msg_id: str | None
    #: resolved with the post's result by the post ahead, or with :data:`_LEAD`
    turn: asyncio.Future


class PostResult:
    """A posted message, and whether this call created it (False for an idempotent retry)."""

    __slots__ = ("message", "created")

    def __init__(self, message: dict[str, Any], created: bool) -> None:
        self.message = message
        self.created = created


class MessageService(Service):
    def __init__(self, core) -> None:
        super().__init__(core)
        # Posts to one channel are persisted and published one at a time in this
        # process, so that new_message events leave in id order.
        self._locks = [asyncio.Lock() for _ in range(_LOCK_STRIPES)]
        #: channel id -> posts waiting behind the one being written (present while one is)
        self._waiting: dict[int, list[_Post]] = {}
        #: Optional lock per channel shared by every process (the real-time layer sets
        #: one on Redis when REDIS_URL is set), so that the order holds across processes.
        self.shared_lock: Callable[[int], AbstractAsyncContextManager[Any]] | None = None

    def _shared_lock(self, channel_id: int) -> AbstractAsyncContextManager[Any]:
        if self.shared_lock is None:
            return contextlib.nullcontext()
        return self.shared_lock(channel_id)

    def _check_body(self, body: str, kind: MessageKind) -> str:
        text = body.strip()
        limit = self.settings.max_message_length * (1 if kind == MessageKind.USER else BOT_BODY_FACTOR)
        if not text:
            raise ValidationFailed([{"field": "body", "message": "the message is empty"}])
        if len(text) > limit:
            raise ValidationFailed([{"field": "body", "message": f"at most {limit} characters"}])
        return text

    async def post(
        self,
        user: User,
        data: MessageCreateIn,
        *,
        kind: MessageKind = MessageKind.USER,
        payload: dict[str, Any] | None = None,
        trusted: bool = False,
    ) -> PostResult:
        """Post a message. ``trusted`` (bots, system) skips membership and rate limits.

        A retry (same author and ``client_msg_id``) answers the message posted first,
        with ``created`` False. Retries are caught by the unique index on insert rather
        than looked up before every post; a retry refused by a check (rate limit,
        membership, archived channel) still answers the message posted first.
        """
        body = self._check_body(data.body, kind)
        try:
            channel, thread = await self._target(user, data, trusted)
        except VennError as refusal:
            return await self._answer_retry(user, data, refusal)
        return await self._commit(user, channel, thread, body, kind, payload, data.client_msg_id)

    async def post_for_session(
        self,
        user_id: int,
        token_version: int,
        data: MessageCreateIn,
        *,
        turn: Callable[[], Awaitable[None]] | None = None,
        queued: Callable[[], None] | None = None,
    ) -> PostResult:
        """:meth:`post` for a signed-in socket, whose session is checked here, not before.

        The sender (with the session check: the token version must still be
        ``token_version``), the channel and the sender's membership come from one
        query; a revoked session raises :class:`Unauthorized` (``token_revoked``).
        Anything unusual (not a member, an archived channel) takes :meth:`post`'s path,
        which gives the same answers. Once checked, the post awaits ``turn()`` before
        it takes its place in the channel's order, and calls ``queued()`` once it has
        it (before it is written): a socket's posts can be checked side by side and
        still be written in the order they were sent.
        """
        body = self._check_body(data.body, MessageKind.USER)
        user, channel = await self._sender_in_channel(user_id, data.channel_id)
        if user is None or user.token_version != token_version:
            raise Unauthorized("The session was revoked; log in again.", code="token_revoked")
        if channel is None or channel.archived:
            return await self.post(user, data)
        try:
            await self._rate_limit(user)
            thread = await self._thread_of(channel, data)
        except VennError as refusal:
            return await self._answer_retry(user, data, refusal)
        return await self._commit(user, channel, thread, body, MessageKind.USER, None, data.client_msg_id,
                                  turn=turn, queued=queued)

    async def _sender_in_channel(self, user_id: int, channel_id: int) -> tuple[User | None, Channel | None]:
        """The user, and the channel if the user is a member of it, in one query."""
        conn = connections.get("default")
        params = SQLParams(conn)
        rows = await conn.execute_query_dict(
            f"{SENDER_SELECT} LEFT JOIN memberships mb ON mb.user_id = u.id AND mb.channel_id = {params.add(channel_id)}"
            f" LEFT JOIN channels c ON c.id = mb.channel_id WHERE u.id = {params.add(user_id)}",
            params.values,
        )
        if not rows:
            return None, None
        row = rows[0]
        user = User(id=row["id"], username=row["username"], display_name=row["display_name"], is_bot=bool(row["is_bot"]),
                    role=Role(row["role"]), token_version=row["token_version"], email=row["email"])
        if row["c_id"] is None:
            return user, None
        channel = Channel(id=row["c_id"], name=row["c_name"], topic=row["c_topic"], is_private=bool(row["c_is_private"]),
                          archived=bool(row["c_archived"]))
        return user, channel

    async def _answer_retry(self, user: User, data: MessageCreateIn, refusal: VennError) -> PostResult:
        """After a refused post: the message posted first if this is a retry of it,
        else the refusal."""
        existing = await self._by_client_id(user, data.client_msg_id) if data.client_msg_id else None
        if existing is None:
            raise refusal
        return self._retry_result(existing, data.channel_id, data.thread_id, user)

    async def _commit(
        self, user, channel, thread, body, kind, payload, client_msg_id, *, turn=None, queued=None
    ) -> PostResult:
        """Insert and publish under the channel's lock, so that ``new_message`` leaves in
        id order.

        Posts to a channel's stream that arrive while another is being written are
        written together by the next one to go: one INSERT for all of them, then one
        event each, in order (a group commit: under load a channel pays one database
        round trip, and one turn of the cross-process lock, per group rather than per
        message). Thread replies, which also update counters, and posts made inside
        a caller's transaction go one at a time.
        """
        if turn is not None:
            await turn()
        if thread is not None or isinstance(connections.get("default"), TransactionalDBClient):
            async with self._locks[channel.id % _LOCK_STRIPES], self._shared_lock(channel.id):
                if queued is not None:
                    queued()
                result = await self._write_one(channel, thread, user, body, kind, payload, client_msg_id)
        else:
            post = _Post(user, body, kind, payload, client_msg_id, asyncio.get_running_loop().create_future())
            result = await self._write_grouped(channel, post, queued)
        if result.created:
            self.core.metrics_message_posted(kind)
        return result

    async def _write_grouped(self, channel: Channel, post: _Post, queued: Callable[[], None] | None) -> PostResult:
        queue = self._waiting.get(channel.id)
        if queue is None:  # nobody is writing to this channel: go now
            queue = self._waiting[channel.id] = []
            if queued is not None:
                queued()
        else:  # wait: the post ahead writes this one with its group, or hands over the lead
            queue.append(post)
            if queued is not None:
                queued()
            try:
                outcome = await post.turn
            except asyncio.CancelledError:
                if post.turn.done() and not post.turn.cancelled() and post.turn.result() is _LEAD:
                    self._pass_lead(channel.id)
                raise
            if outcome is not _LEAD:
                return outcome
        batch = [post, *(p for p in queue[: GROUP_MAX - 1] if not p.turn.done())]
        del queue[: GROUP_MAX - 1]
        outcomes: list[PostResult | BaseException] = []
        try:
            async with self._locks[channel.id % _LOCK_STRIPES], self._shared_lock(channel.id):
                outcomes = await self._write_group(channel, batch)
        except BaseException as exc:
            # e.g. the database is down, or this post's caller was cancelled mid-way
            failed = exc if isinstance(exc, Exception) else Unavailable("The message could not be saved; send it again.")
            outcomes = [exc, *([failed] * (len(batch) - 1))]
            raise
        finally:
            for other, outcome in zip(batch[1:], outcomes[1:]):
                if other.turn.done():
                    continue
                if isinstance(outcome, BaseException):
                    other.turn.set_exception(outcome)
                else:
                    other.turn.set_result(outcome)
            self._pass_lead(channel.id)
        if isinstance(outcomes[0], BaseException):
            raise outcomes[0]
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

    async def _write_group(self, channel: Channel, batch: list[_Post]) -> list[PostResult | BaseException]:
        now = datetime.now(timezone.utc)
        try:
            ids = await self._insert_group(channel, batch, now)
        except IntegrityError:
            # A client_msg_id used before is among them: one at a time, as lone posts.
            outcomes: list[PostResult | BaseException] = []
            for p in batch:
                try:
                    outcomes.append(await self._write_one(channel, None, p.user, p.body, p.kind, p.payload,
                                                          p.client_msg_id))
                except Exception as exc:
                    outcomes.append(exc)
            return outcomes
        results: list[PostResult | BaseException] = []
        for p, message_id in zip(batch, ids):
            message = Message(
                id=message_id, channel_id=channel.id, thread_id=None, author_id=p.user.id, body=p.body, kind=p.kind,
                payload=p.payload, client_msg_id=p.client_msg_id, created_at=now, deleted=False, reply_count=0,
            )
            results.append(await self._publish_new(message, p.user, channel, None))
        return results

    async def _insert_group(self, channel: Channel, batch: list[_Post], now: datetime) -> list[int]:
        """One INSERT of the posts of a channel's stream; their ids, in the posts' order."""
        conn = connections.get("default")
        params = SQLParams(conn)
        rows = []
        for p in batch:
            values = (channel.id, p.user.id, p.body, p.kind.value, _PAYLOAD.to_db_value(p.payload, None),
                      p.client_msg_id, now, False, 0)
            rows.append(f"({', '.join(params.add(v) for v in values)})")
        inserted = await conn.execute_query_dict(
            f"{GROUP_INSERT} VALUES {', '.join(rows)} RETURNING id", params.values
        )
        # ids are handed out in the order of the rows (RETURNING's order is not promised)
        return sorted(row["id"] for row in inserted)

    async def _write_one(self, channel, thread, user, body, kind, payload, client_msg_id) -> PostResult:
        """Insert one post (in the channel's lock) and publish it."""
        try:
            message = await self._insert(channel, thread, user, body, kind, payload, client_msg_id)
        except IntegrityError:
            # The (author, client_msg_id) index refused it: a retry, or a concurrent one.
            existing = await self._by_client_id(user, client_msg_id) if client_msg_id else None
            if existing is None:
                raise
            return self._retry_result(existing, channel.id, thread.id if thread else None, user)
        return await self._publish_new(message, user, channel, thread)

    async def _publish_new(self, message: Message, user: User, channel: Channel, thread: Thread | None) -> PostResult:
        view = message_view(message, user)
        await self.events.publish(
            Event(
                "new_message",
                {"message": view},
                channel_id=channel.id,
                thread_id=message.thread_id,  # type: ignore[attr-defined]
                context={"message": message, "author": user, "channel": channel, "thread": thread},
            )
        )
        return PostResult(view, True)

    async def _target(self, user: User, data: MessageCreateIn, trusted: bool) -> tuple[Channel, Thread | None]:
        """The channel (and thread) to post into, once the user may post there."""
        if not trusted:
            await self._rate_limit(user)
            channel = await self.core.channels.require_member(user, data.channel_id)
        else:
            channel = await Channel.get_or_none(id=data.channel_id)
            if channel is None:
                raise NotFound("No such channel.")
        return channel, await self._thread_of(channel, data)

    async def _rate_limit(self, user: User) -> None:
        await enforce(
            self.limiter,
            f"msg:{user.id}",
            self.settings.rate_limit_messages_per_minute,
            message="You are sending messages too fast; slow down.",
        )

    async def _thread_of(self, channel: Channel, data: MessageCreateIn) -> Thread | None:
        """The thread posted into (None for the channel's stream), once the channel takes posts."""
        if channel.archived:
            raise Forbidden("The channel is archived.", code="channel_archived")
        if data.thread_id is None:
            return None
        thread = await Thread.get_or_none(id=data.thread_id, channel_id=channel.id)
        if thread is None:
            raise NotFound("No such thread in this channel.")
        return thread

    async def _insert(self, channel, thread, user, body, kind, payload, client_msg_id) -> Message:
        fields = dict(
            channel_id=channel.id,
            thread_id=thread.id if thread else None,
            author_id=user.id,
            body=body,
            kind=kind,
            payload=payload,
            client_msg_id=client_msg_id,
        )
        if thread is None:
            # one INSERT commits on its own: no transaction round trips needed
            return await Message.create(**fields)
        async with in_transaction():
            message = await Message.create(**fields)
            await Thread.filter(id=thread.id).update(reply_count=F("reply_count") + 1, last_reply_at=message.created_at)
            await Message.filter(id=thread.root_message_id).update(reply_count=F("reply_count") + 1)
        return message

    async def _by_client_id(self, user: User, client_msg_id: str) -> Message | None:
        return await Message.get_or_none(author_id=user.id, client_msg_id=client_msg_id)

    def _retry_result(self, existing: Message, channel_id: int, thread_id: int | None, user: User) -> PostResult:
        if existing.channel_id != channel_id or existing.thread_id != thread_id:  # type: ignore[attr-defined]
            raise Conflict("That client_msg_id was already used for another message.", code="duplicate_client_msg_id")
        return PostResult(message_view(existing, user), False)

    async def _editable(self, user: User, message_id: int) -> tuple[Message, User]:
        message = await Message.get_or_none(id=message_id).prefetch_related("author")
        if message is None:
            raise NotFound("No such message.")
        await self.core.channels.get_visible(user, message.channel_id)  # type: ignore[attr-defined]
        if message.author_id != user.id and user.role != Role.ADMIN:  # type: ignore[attr-defined]
            raise Forbidden("Only the author or an admin can change this message.")
        if message.deleted:
            raise Conflict("The message was deleted.", code="message_deleted")
        return message, message.author

    async def edit(self, user: User, message_id: int, body: str) -> dict[str, Any]:
        message, author = await self._editable(user, message_id)
        text = self._check_body(body, message.kind)
        message.body = text
        message.edited_at = datetime.now(timezone.utc)
        await message.save(update_fields=["body", "edited_at"])
        view = message_view(message, author)
        await self.events.publish(
            Event(
                "message_updated",
                {"message": view},
                channel_id=message.channel_id,  # type: ignore[attr-defined]
                thread_id=message.thread_id,  # type: ignore[attr-defined]
                context={"message": message, "author": author, "editor": user},
            )
        )
        return view

    async def delete(self, user: User, message_id: int) -> dict[str, Any]:
        message, author = await self._editable(user, message_id)
        message.deleted = True
        message.deleted_at = datetime.now(timezone.utc)
        message.body = ""
        message.payload = None
        await message.save(update_fields=["deleted", "deleted_at", "body", "payload"])
        data = {
            "message_id": message.id,
            "channel_id": message.channel_id,  # type: ignore[attr-defined]
            "thread_id": message.thread_id,  # type: ignore[attr-defined]
        }
        await self.events.publish(
            Event("message_deleted", data, channel_id=data["channel_id"], thread_id=data["thread_id"])
        )
        return message_view(message, author)

    async def get(self, user: User, message_id: int) -> dict[str, Any]:
        message = await Message.get_or_none(id=message_id).prefetch_related("author")
        if message is None:
            raise NotFound("No such message.")
        await self.core.channels.get_visible(user, message.channel_id)  # type: ignore[attr-defined]
        return message_view(message, message.author)

    # History ------------------------------------------------------------

    async def channel_history(self, user: User, channel_id: int, page: PageQuery) -> dict[str, Any]:
        """The channel's own stream (thread replies excluded), oldest first."""
        channel = await self.core.channels.get_visible(user, channel_id)
        return await self._page("m.channel_id", channel.id, page)

    async def thread_history(self, user: User, thread_id: int, page: PageQuery) -> dict[str, Any]:
        thread = await self.core.threads.get_visible(user, thread_id)
        return await self._page("m.thread_id", thread.id, page)

    async def _page(self, column: str, value: int, page: PageQuery) -> dict[str, Any]:
        """One keyset page of a stream, in one hand-written query (messages joined to
        their authors): the hot read path, where the ORM's query building and row
        conversion cost several times the query itself."""
        conn = connections.get("default")
        params = SQLParams(conn)
        where = f"{column} = {params.add(value)}"
        if column == "m.channel_id":
            where += " AND m.thread_id IS NULL"
        if page.after is not None:
            where += f" AND m.id > {params.add(page.after)}"
            order = "ASC"
        else:
            if page.before is not None:
                where += f" AND m.id < {params.add(page.before)}"
            order = "DESC"
        limit = params.add(page.limit + 1)
        rows = await conn.execute_query_dict(f"{PAGE_SELECT} WHERE {where} ORDER BY m.id {order} LIMIT {limit}", params.values)
        has_more = len(rows) > page.limit
        rows = rows[: page.limit]
        if order == "DESC":
            rows.reverse()
        return {"messages": [message_row_view(row) for row in rows], "has_more": has_more}

    # Catch-up ------------------------------------------------------------

    async def sync(
        self, user: User, cursors: dict[int, int], thread_cursors: dict[int, int], limit: int
    ) -> dict[str, Any]:
        """What a reconnecting client missed since its cursors (last message id seen).

        For each channel stream (and each thread) given: ``messages`` newer than the
        cursor, oldest first, at most ``limit`` with ``has_more``; and ``updates``:
        messages up to the cursor edited or deleted since the cursor message was
        posted, or thread roots whose thread was started or replied to since then
        (their ``reply_count`` changed), at most :data:`SYNC_MAX_UPDATES` with
        ``updates_has_more``. A channel or thread the user cannot see answers
        ``error`` instead.
        """
        channels = []
        for channel_id, cursor in cursors.items():
            try:
                channel = await self.core.channels.get_visible(user, channel_id)
            except VennError as exc:
                channels.append({"channel_id": channel_id, "error": exc.to_dict()})
                continue
            stream = Message.filter(channel_id=channel.id, thread_id=None)
            channels.append({"channel_id": channel.id, **await self._catch_up(stream, cursor, limit, channel.id)})
        threads = []
        for thread_id, cursor in thread_cursors.items():
            try:
                thread = await self.core.threads.get_visible(user, thread_id)
            except VennError as exc:
                threads.append({"thread_id": thread_id, "error": exc.to_dict()})
                continue
            stream = Message.filter(thread_id=thread.id)
            threads.append(
                {
                    "thread_id": thread.id,
                    "channel_id": thread.channel_id,  # type: ignore[attr-defined]
                    **await self._catch_up(stream, cursor, limit, None),
                }
            )
        return {"channels": channels, "threads": threads}

    async def _catch_up(self, stream, cursor: int, limit: int, roots_of: int | None) -> dict[str, Any]:
        rows = await stream.filter(id__gt=cursor).order_by("id").limit(limit + 1).select_related("author")
        result: dict[str, Any] = {
            "messages": [message_view(m, m.author) for m in rows[:limit]],
            "has_more": len(rows) > limit,
            "updates": [],
            "updates_has_more": False,
        }
        anchor = await stream.filter(id__lte=cursor).order_by("-id").first()
        if anchor is None:
            return result
        since = anchor.created_at - SYNC_CLOCK_MARGIN
        changed = Q(edited_at__gt=since) | Q(deleted_at__gt=since)
        if roots_of is not None:
            roots = await (
                Thread.filter(channel_id=roots_of, root_message_id__lte=cursor)
                .filter(Q(created_at__gt=since) | Q(last_reply_at__gt=since))
                .order_by("-id")
                .limit(SYNC_MAX_ROOTS)
                .values_list("root_message_id", flat=True)
            )
            if roots:
                changed = changed | Q(id__in=list(roots))
        updated = await (
            stream.filter(id__lte=cursor)
            .filter(changed)
            .order_by("id")
            .limit(SYNC_MAX_UPDATES + 1)
            .select_related("author")
        )
        result["updates"] = [message_view(m, m.author) for m in updated[:SYNC_MAX_UPDATES]]
        result["updates_has_more"] = len(updated) > SYNC_MAX_UPDATES
        return result
