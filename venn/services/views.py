"""Public shapes of the core objects (what REST returns and Socket.IO emits)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from venn.db.models import Channel, Message, Role, Thread, User


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def author_view(user: User) -> dict[str, Any]:
    view = {"id": user.id, "username": user.username, "display_name": user.display_name, "is_bot": user.is_bot}
    if user.deactivated:  # only then: most authors are active, and the field says so
        view["deactivated"] = True
    return view


def user_view(user: User, *, viewer: User | None = None, status: str | None = None) -> dict[str, Any]:
    """A user; the email only for the user themself and for admins."""
    show_email = viewer is not None and (viewer.id == user.id or viewer.role == Role.ADMIN)
    view = {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email if show_email else None,
        "role": str(user.role),
        "is_bot": user.is_bot,
        "deactivated": user.deactivated,
        "created_at": iso(user.created_at),
        "last_seen": iso(user.last_seen_at),
    }
    if status is not None:
        view["status"] = status
    return view


def channel_view(
    channel: Channel, *, member_count: int, unread_count: int = 0, is_member: bool = True, mention_count: int = 0
) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "topic": channel.topic,
        "is_private": channel.is_private,
        "kind": str(channel.kind),
        "archived": channel.archived,
        "created_at": iso(channel.created_at),
        "member_count": member_count,
        "unread_count": unread_count,
        "mention_count": mention_count,
        "is_member": is_member,
    }


def reaction_views(summary: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """The public shape of a reactions summary: ``[{emoji, name, count, user_ids}]``."""
    return [
        {"emoji": r["emoji"], "name": r.get("name", ""), "count": len(r["user_ids"]), "user_ids": list(r["user_ids"])}
        for r in summary or []
        if r.get("user_ids")
    ]


def _annotations(deleted: bool, reactions: Any, pinned_at: datetime | None, pinned_by: int | None) -> dict[str, Any]:
    """A message view's reactions and pin (a deleted message has neither)."""
    pinned = pinned_at is not None and not deleted
    return {
        "reactions": [] if deleted else reaction_views(reactions),
        "pinned": pinned,
        "pinned_at": iso(pinned_at) if pinned else None,
        "pinned_by": pinned_by if pinned else None,
    }


def message_view(message: Message, author: User) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel_id": message.channel_id,
        "thread_id": message.thread_id,
        "author": author_view(author),
        "body": "" if message.deleted else message.body,
        "kind": str(message.kind),
        "payload": None if message.deleted else message.payload,
        "client_msg_id": message.client_msg_id,
        "created_at": iso(message.created_at),
        "edited_at": iso(message.edited_at),
        "deleted": message.deleted,
        "reply_count": message.reply_count,
        "started_thread_id": message.started_thread_id,
        "reply_to": message.reply_to_id,
        "files": [] if message.deleted else (message.files or []),
        "mentions": [] if message.deleted else list(message.mentions or []),
        **_annotations(message.deleted, message.reactions, message.pinned_at, message.pinned_by_id),
    }


#: the columns :func:`message_row_view` reads: messages as ``m``, their authors as ``u``
MESSAGE_ROW_COLUMNS = (
    "m.id, m.channel_id, m.thread_id, m.body, m.kind, m.payload, m.client_msg_id, m.created_at, m.edited_at, "
    "m.deleted, m.reply_count, m.started_thread_id, m.reply_to_id, m.author_id, u.username AS author_username, "
    "u.display_name AS author_display_name, u.is_bot AS author_is_bot, u.deactivated AS author_deactivated, "
    "m.files, m.reactions, m.pinned_at, m.pinned_by_id, m.mentions"
)
_decode_payload = Message._meta.fields_map["payload"].to_python_value
_decode_files = Message._meta.fields_map["files"].to_python_value
_decode_reactions = Message._meta.fields_map["reactions"].to_python_value
_decode_mentions = Message._meta.fields_map["mentions"].to_python_value


def _datetime(value: datetime | str | None) -> datetime | None:
    # SQLite hands timestamps back as text; PostgreSQL's driver as datetimes
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def message_row_view(row: dict[str, Any]) -> dict[str, Any]:
    """:func:`message_view` of a raw row of :data:`MESSAGE_ROW_COLUMNS` (same shape, no ORM objects)."""
    deleted = bool(row["deleted"])
    author = {
        "id": row["author_id"],
        "username": row["author_username"],
        "display_name": row["author_display_name"],
        "is_bot": bool(row["author_is_bot"]),
    }
    if row["author_deactivated"]:  # as author_view
        author["deactivated"] = True
    return {
        "id": row["id"],
        "channel_id": row["channel_id"],
        "thread_id": row["thread_id"],
        "author": author,
        "body": "" if deleted else row["body"],
        "kind": str(row["kind"]),
        "payload": None if deleted or row["payload"] is None else _decode_payload(row["payload"]),
        "client_msg_id": row["client_msg_id"],
        "created_at": iso(_datetime(row["created_at"])),
        "edited_at": iso(_datetime(row["edited_at"])),
        "deleted": deleted,
        "reply_count": row["reply_count"],
        "started_thread_id": row["started_thread_id"],
        "reply_to": row["reply_to_id"],
        "files": [] if deleted or row["files"] is None else _decode_files(row["files"]),
        "mentions": [] if deleted or row["mentions"] is None else _decode_mentions(row["mentions"]),
        **_annotations(
            deleted,
            None if row["reactions"] is None else _decode_reactions(row["reactions"]),
            _datetime(row["pinned_at"]),
            row["pinned_by_id"],
        ),
    }


def thread_view(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "channel_id": thread.channel_id,
        "root_message_id": thread.root_message_id,
        "title": thread.title,
        "created_by": thread.created_by_id,
        "created_at": iso(thread.created_at),
        "reply_count": thread.reply_count,
        "last_reply_at": iso(thread.last_reply_at),
    }
