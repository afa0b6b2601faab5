"""Public shapes of the core objects (what REST returns and Socket.IO emits)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from venn.db.models import Channel, Message, Role, Thread, User


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def author_view(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "is_bot": user.is_bot}


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
        "created_at": iso(user.created_at),
        "last_seen": iso(user.last_seen_at),
    }
    if status is not None:
        view["status"] = status
    return view


def channel_view(channel: Channel, *, member_count: int, unread_count: int = 0, is_member: bool = True) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "topic": channel.topic,
        "is_private": channel.is_private,
        "archived": channel.archived,
        "created_at": iso(channel.created_at),
        "member_count": member_count,
        "unread_count": unread_count,
        "is_member": is_member,
    }


def message_view(message: Message, author: User) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel_id": message.channel_id,  # type: ignore[attr-defined]
        "thread_id": message.thread_id,  # type: ignore[attr-defined]
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
    }


def thread_view(thread: Thread) -> dict[str, Any]:
    return {
        "id": thread.id,
        "channel_id": thread.channel_id,  # type: ignore[attr-defined]
        "root_message_id": thread.root_message_id,
        "title": thread.title,
        "created_by": thread.created_by_id,  # type: ignore[attr-defined]
        "created_at": iso(thread.created_at),
        "reply_count": thread.reply_count,
        "last_reply_at": iso(thread.last_reply_at),
    }
