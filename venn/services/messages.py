"""Messages: the single path every message takes, whichever door it came through.

validate → persist (committed) → publish an event. REST, Socket.IO and bots all
call :meth:`MessageService.post`, which checks the post here and hands it to
:class:`~venn.services.writer.MessageWriter` to be stored and published (in groups,
in id order per channel).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from venn.db.models import Channel, ChannelKind, Message, MessageKind, Role, Thread, User
from venn.db.sql import SQLParams
from venn.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed, VennError
from venn.events import Event
from venn.ratelimit import enforce
from venn.schemas import MessageCreateIn, PageQuery
from venn.services.actions import check_payload
from venn.services.base import Service
from venn.services.mentions import delete_rows, insert_rows, rows_of
from venn.services.views import MESSAGE_ROW_COLUMNS, message_row_view, message_view
from venn.services.writer import Draft, MessageWriter, PostResult, find_retry, publish_mention, retry_result

__all__ = ["MessageService", "PostResult"]

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
    " c.name AS c_name, c.topic AS c_topic, c.is_private AS c_is_private, c.kind AS c_kind,"
    " c.archived AS c_archived FROM users u"
)
#: a history page's rows: messages (``m``) with their authors' public fields
PAGE_SELECT = f"SELECT {MESSAGE_ROW_COLUMNS} FROM messages m JOIN users u ON u.id = m.author_id"


class MessageService(Service):
    def __init__(self, core) -> None:
        super().__init__(core)
        #: stores checked posts and publishes them in id order per channel
        self.writer = MessageWriter(core.events, core.channel_lock)

    def _check_body(self, body: str, *, has_files: bool = False) -> str:
        text = body.strip()
        # bots too: the bot runtime cuts a plugin's longer reply to fit (venn_bots.poster)
        limit = self.settings.max_message_length
        if not text and not has_files:
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
        reply_to: int | None = None,
    ) -> PostResult:
        """Post a message. ``trusted`` (bots, system) skips membership and rate limits.

        ``reply_to`` is the id of the message this one answers (a bot's reply names the
        command or mention it answers); it must be a message of the same channel. People's
        posts never set it (REST and Socket.IO do not take it).

        A retry (same author and ``client_msg_id``) answers the message posted first,
        with ``created`` False. Retries are caught by the unique index on insert rather
        than looked up before every post; a retry refused by a check (rate limit,
        membership, archived channel) still answers the message posted first.
        """
        body = self._check_body(data.body, has_files=bool(data.file_ids))
        payload = check_payload(payload)
        try:
            channel, thread = await self._target(user, data, trusted)
            if reply_to is not None:
                await self._check_reply_to(channel, reply_to)
            files = await self.core.files.for_message(user, channel.id, data.file_ids)
        except VennError as refusal:
            return await self._answer_retry(user, data, refusal)
        return await self._commit(user, channel, thread, body, kind, payload, data.client_msg_id, reply_to=reply_to,
                                  file_ids=data.file_ids, files=files)

    async def post_for_session(
        self,
        user_id: int,
        token_version: int,
        data: MessageCreateIn,
        *,
        turn: Callable[[], Awaitable[None]] | None = None,
        queued: Callable[[], None] | None = None,
        checked: dict[int, tuple[User, Channel]] | None = None,
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

        ``checked`` is the caller's memo of that query (channel id -> sender, channel):
        a channel found there is not queried again, and one that passes is added. The
        caller must drop an entry as soon as the membership, the channel or the sender
        changes (the real-time layer does it on the events every process hears).
        """
        body = self._check_body(data.body, has_files=bool(data.file_ids))
        known = checked.get(data.channel_id) if checked is not None else None
        if known is not None:
            user, channel = known
        else:
            found, member_of = await self._sender_in_channel(user_id, data.channel_id)
            if found is None or found.token_version != token_version:
                raise Unauthorized("The session was revoked; log in again.", code="token_revoked")
            if member_of is None or member_of.archived:
                return await self.post(found, data)
            user, channel = found, member_of
            if checked is not None:
                checked[channel.id] = (user, channel)
        try:
            await self._rate_limit(user)
            thread = await self._thread_of(channel, data)
            files = await self.core.files.for_message(user, channel.id, data.file_ids)
        except VennError as refusal:
            return await self._answer_retry(user, data, refusal)
        return await self._commit(user, channel, thread, body, MessageKind.USER, None, data.client_msg_id,
                                  turn=turn, queued=queued, file_ids=data.file_ids, files=files)

    async def _sender_in_channel(self, user_id: int, channel_id: int) -> tuple[User | None, Channel | None]:
        """The user, and the channel if the user is a member of it, in one query."""
        conn = connections.get("default")
        params = SQLParams(conn)
        rows = await conn.execute_query_dict(
            f"{SENDER_SELECT} LEFT JOIN memberships mb"
            f" ON mb.user_id = u.id AND mb.channel_id = {params.add(channel_id)}"
            f" LEFT JOIN channels c ON c.id = mb.channel_id WHERE u.id = {params.add(user_id)}",
            params.values,
        )
        if not rows:
            return None, None
        row = rows[0]
        user = User(
            id=row["id"], username=row["username"], display_name=row["display_name"], is_bot=bool(row["is_bot"]),
            role=Role(row["role"]), token_version=row["token_version"], email=row["email"],
        )
        if row["c_id"] is None:
            return user, None
        channel = Channel(
            id=row["c_id"], name=row["c_name"], topic=row["c_topic"], is_private=bool(row["c_is_private"]),
            kind=ChannelKind(row["c_kind"]), archived=bool(row["c_archived"]),
        )
        return user, channel

    async def _answer_retry(self, user: User, data: MessageCreateIn, refusal: VennError) -> PostResult:
        """After a refused post: the message posted first if this is a retry of it,
        else the refusal."""
        existing = await find_retry(user, data.client_msg_id)
        if existing is None:
            raise refusal
        return retry_result(existing, data.channel_id, data.thread_id, user)

    async def _commit(
        self,
        user: User,
        channel: Channel,
        thread: Thread | None,
        body: str,
        kind: MessageKind,
        payload: dict[str, Any] | None,
        client_msg_id: str | None,
        *,
        turn: Callable[[], Awaitable[None]] | None = None,
        queued: Callable[[], None] | None = None,
        reply_to: int | None = None,
        file_ids: list[int] | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> PostResult:
        """Hand a checked post to the writer (which keeps ``new_message`` in id order)."""
        mentions = await self.core.mentions.resolve(channel, user.id, body)
        draft = Draft(
            user, body, kind, payload, client_msg_id, reply_to, list(file_ids or ()), files or None, tuple(mentions)
        )
        result = await self.writer.write(channel, thread, draft, turn=turn, queued=queued)
        if result.created:
            self.core.metrics_message_posted(kind)
        return result

    async def _target(self, user: User, data: MessageCreateIn, trusted: bool) -> tuple[Channel, Thread | None]:
        """The channel (and thread) to post into, once the user may post there."""
        if not trusted:
            await self._rate_limit(user)
            channel = await self.core.channels.require_member(user, data.channel_id)
        else:
            found = await Channel.get_or_none(id=data.channel_id)
            if found is None:
                raise NotFound("No such channel.")
            channel = found
        return channel, await self._thread_of(channel, data)

    @staticmethod
    async def _check_reply_to(channel: Channel, message_id: int) -> None:
        if not await Message.filter(id=message_id, channel_id=channel.id).exists():
            raise ValidationFailed([{"field": "reply_to", "message": "no such message in this channel"}])

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

    async def _editable(self, user: User, message_id: int) -> tuple[Message, User]:
        message = await Message.get_or_none(id=message_id).prefetch_related("author")
        if message is None:
            raise NotFound("No such message.")
        channel = await self.core.channels.get_visible(user, message.channel_id)
        if message.author_id != user.id and user.role != Role.ADMIN:
            raise Forbidden("Only the author or an admin can change this message.")
        if message.deleted:
            raise Conflict("The message was deleted.", code="message_deleted")
        if channel.archived:  # read-only
            raise Forbidden("The channel is archived.", code="channel_archived")
        return message, message.author

    async def edit(self, user: User, message_id: int, body: str) -> dict[str, Any]:
        message, author = await self._editable(user, message_id)
        text = self._check_body(body, has_files=bool(message.files))
        message.edited_at = datetime.now(UTC)
        return await self._rewrite(message, author, user, text, ["edited_at"])

    async def update_own(
        self, author: User, message_id: int, *, body: str | None = None, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A bot changes one of its own messages: its body and/or its payload (replaced
        whole, ``actions`` checked). Not marked edited: ``annotated_at`` moves, which
        socket ``sync`` reads; clients get ``message_updated`` as for an edit."""
        message = await Message.get_or_none(id=message_id).prefetch_related("author")
        if message is None:
            raise NotFound("No such message.")
        if message.author_id != author.id:
            raise Forbidden("A bot can only update its own messages.", code="not_author")
        if message.deleted:
            raise Conflict("The message was deleted.", code="message_deleted")
        if await Channel.filter(id=message.channel_id, archived=True).exists():
            raise Forbidden("The channel is archived.", code="channel_archived")
        fields = ["annotated_at"]
        message.annotated_at = datetime.now(UTC)
        if payload is not None:
            message.payload = check_payload(payload)
            fields.append("payload")
        text = None if body is None else self._check_body(body, has_files=bool(message.files))
        return await self._rewrite(message, message.author, author, text, fields)

    async def _rewrite(
        self, message: Message, author: User, editor: User, text: str | None, fields: list[str]
    ) -> dict[str, Any]:
        """Store a changed message (a new ``text`` re-reads its mentions) and tell the rooms."""
        before = set(message.mentions or [])
        mentions = list(before)
        if text is not None:
            channel = await Channel.get(id=message.channel_id)
            mentions = await self.core.mentions.resolve(channel, message.author_id, text)
            message.body = text
            message.mentions = mentions or None
            fields = [*fields, "body", "mentions"]
        async with in_transaction() as conn:
            await message.save(update_fields=fields, using_db=conn)
            if before != set(mentions):
                await delete_rows(conn, message.id)
                await insert_rows(conn, rows_of(message.id, message.channel_id, mentions))
        view = message_view(message, author)
        await self.events.publish(
            Event(
                "message_updated",
                {"message": view},
                channel_id=message.channel_id,
                thread_id=message.thread_id,
                context={"message": message, "author": author, "editor": editor},
            )
        )
        # those newly mentioned hear of it; those no longer mentioned dropped out above
        await publish_mention(self.events, view, set(mentions) - before)
        return view

    async def delete(self, user: User, message_id: int) -> dict[str, Any]:
        message, author = await self._editable(user, message_id)
        message.deleted = True
        message.deleted_at = datetime.now(UTC)
        message.body = ""
        message.payload = None
        # a deleted message keeps no reactions, no pin and no files
        message.reactions = message.pinned_at = message.pinned_by_id = None
        had_files = bool(message.files)
        message.files = None
        message.mentions = None
        async with in_transaction() as conn:
            await message.save(
                update_fields=[
                    "deleted", "deleted_at", "body", "payload", "reactions", "pinned_at", "pinned_by_id", "files",
                    "mentions",
                ],
                using_db=conn,
            )
            await delete_rows(conn, message.id)
        if had_files:
            await self.core.files.hide_for_message(message.id)
        data = {
            "message_id": message.id,
            "channel_id": message.channel_id,
            "thread_id": message.thread_id,
        }
        await self.events.publish(
            Event("message_deleted", data, channel_id=data["channel_id"], thread_id=data["thread_id"])
        )
        return message_view(message, author)

    async def get(self, user: User, message_id: int) -> dict[str, Any]:
        message = await Message.get_or_none(id=message_id).prefetch_related("author")
        if message is None:
            raise NotFound("No such message.")
        await self.core.channels.get_visible(user, message.channel_id)
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
        rows = await conn.execute_query_dict(
            f"{PAGE_SELECT} WHERE {where} ORDER BY m.id {order} LIMIT {limit}", params.values
        )
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
        messages up to the cursor edited, deleted, reacted to, pinned or unpinned since
        the cursor message was posted, or thread roots whose thread was started or replied to since then
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
                    "channel_id": thread.channel_id,
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
        changed = Q(edited_at__gt=since) | Q(deleted_at__gt=since) | Q(annotated_at__gt=since)
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
