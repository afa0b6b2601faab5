"""The chat core's tables (Tortoise ORM models).

The schema is created and changed only by the migrations in ``venn/db/migrations``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class Role(StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class MemberRole(StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class ChannelKind(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    #: a direct conversation of two people
    DM = "dm"
    #: a direct conversation of three to nine people
    GROUP_DM = "group_dm"


#: the kinds whose members are fixed when they are made (direct messages)
DM_KINDS = frozenset({ChannelKind.DM, ChannelKind.GROUP_DM})


class MessageKind(StrEnum):
    USER = "user"
    BOT = "bot"
    SYSTEM = "system"


class User(Model):
    id = fields.BigIntField(primary_key=True)
    username = fields.CharField(max_length=32)
    # Usernames are unique case-insensitively: the folded form carries the constraint.
    username_key = fields.CharField(max_length=32, unique=True)
    email = fields.CharField(max_length=254, null=True)
    display_name = fields.CharField(max_length=64)
    password_hash = fields.CharField(max_length=255, null=True)
    role = fields.CharEnumField(Role, max_length=16, default=Role.MEMBER)
    is_bot = fields.BooleanField(default=False)
    token_version = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(null=True)
    # A deactivated account cannot log in; its messages stay (admins: venn/services/admin.py).
    deactivated = fields.BooleanField(default=False, db_default=False)  # old processes insert without it
    deactivated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "users"


class RefreshToken(Model):
    """One issued refresh token, used once (rotation) and then replaced."""

    id = fields.BigIntField(primary_key=True)
    jti = fields.CharField(max_length=64, unique=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="refresh_tokens", on_delete=fields.CASCADE
    )
    user_id: int  # the column behind ``user``, set by Tortoise
    token_version = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    #: the sign-in (:class:`UserSession`) it belongs to; ending that session deletes it
    session_id = fields.BigIntField(null=True, db_index=True)

    class Meta:
        table = "refresh_tokens"


class UserSession(Model):
    """One sign-in (a login on a device): its access and refresh tokens name it, and
    deleting the row ends them. Listed to the user under ``/users/me/sessions``."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="sessions", on_delete=fields.CASCADE
    )
    user_id: int  # the column behind ``user``, set by Tortoise
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField()
    user_agent = fields.CharField(max_length=256, null=True)
    client_ip = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "sessions"


class Channel(Model):
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(max_length=80, unique=True)
    topic = fields.CharField(max_length=250, default="")
    is_private = fields.BooleanField(default=False)
    #: public, private, or a direct conversation (whose ``is_private`` is true too)
    kind = fields.CharEnumField(ChannelKind, max_length=16, default=ChannelKind.PUBLIC, db_default=ChannelKind.PUBLIC)
    #: a direct conversation's set of members (sorted ids, hashed): one per set, even
    #: when two processes create it at once; NULL for other channels
    dm_key = fields.CharField(max_length=64, null=True, unique=True)
    archived = fields.BooleanField(default=False)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="created_channels", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None  # the column behind ``created_by``, set by Tortoise
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "channels"


class Membership(Model):
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="memberships", on_delete=fields.CASCADE
    )
    user_id: int  # the column behind ``user``, set by Tortoise
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "venn.Channel", related_name="memberships", on_delete=fields.CASCADE
    )
    channel_id: int  # the column behind ``channel``, set by Tortoise
    role = fields.CharEnumField(MemberRole, max_length=16, default=MemberRole.MEMBER)
    last_read_message_id = fields.BigIntField(null=True)
    joined_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "memberships"
        unique_together = (("user", "channel"),)
        indexes = (Index(fields=("channel_id", "user_id"), name="ix_membership_channel_user"),)


class Message(Model):
    id = fields.BigIntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "venn.Channel", related_name="messages", on_delete=fields.CASCADE
    )
    channel_id: int  # the column behind ``channel``, set by Tortoise
    # The thread this message is a reply in; NULL for the channel's own stream.
    thread: fields.ForeignKeyNullableRelation[Thread] = fields.ForeignKeyField(
        "venn.Thread", related_name="replies", null=True, on_delete=fields.CASCADE
    )
    thread_id: int | None  # the column behind ``thread``, set by Tortoise
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="messages", on_delete=fields.CASCADE
    )
    author_id: int  # the column behind ``author``, set by Tortoise
    body = fields.TextField()
    kind = fields.CharEnumField(MessageKind, max_length=16, default=MessageKind.USER)
    #: what bots attach to a message (a JSON object)
    payload: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    client_msg_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    edited_at = fields.DatetimeField(null=True)
    deleted = fields.BooleanField(default=False)
    deleted_at = fields.DatetimeField(null=True)
    # Denormalised for thread roots: the thread started from this message and its size.
    started_thread_id = fields.BigIntField(null=True)
    reply_count = fields.IntField(default=0)
    # A bot's reply: the message it answers (the command or mention that triggered it).
    # A plain column, not a foreign key: the answered message may be deleted for good
    # while the answer stays, and nothing joins on it.
    reply_to_id = fields.BigIntField(null=True)
    # Reactions, as their summary ``[{"emoji", "user_ids"}]`` in the order first given:
    # denormalised so that history pages need no join; changed only under the row's lock
    # (venn/services/reactions.py). NULL: none.
    reactions: fields.JSONField[list[dict[str, Any]] | None] = fields.JSONField(null=True)
    pinned_at = fields.DatetimeField(null=True)
    # A plain column: who pinned it (shown only; nothing joins on it).
    pinned_by_id = fields.BigIntField(null=True)
    # When reactions or the pin last changed: how socket ``sync`` finds messages to resend.
    annotated_at = fields.DatetimeField(null=True)
    #: the attached files' public summaries (venn.files.service.file_view), kept on the
    #: message so that history needs no join; None: no files
    files: fields.JSONField[list[dict[str, Any]] | None] = fields.JSONField(null=True)
    #: the ids of the users the message mentions (resolved when posted and on edit)
    mentions: fields.JSONField[list[int] | None] = fields.JSONField(null=True)

    class Meta:
        table = "messages"
        unique_together = (("author", "client_msg_id"),)
        indexes = (
            # channel history (thread_id IS NULL) and unread counts
            Index(fields=("channel_id", "thread_id", "id"), name="ix_message_channel_thread_id"),
            # thread history
            Index(fields=("thread_id", "id"), name="ix_message_thread_id"),
            # a channel's pins
            Index(fields=("channel_id", "pinned_at"), name="ix_message_channel_pinned"),
        )


class Thread(Model):
    id = fields.BigIntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "venn.Channel", related_name="threads", on_delete=fields.CASCADE
    )
    channel_id: int  # the column behind ``channel``, set by Tortoise
    # A plain column rather than a foreign key: Message already points at Thread, and
    # the two-way reference would make a cycle that the schema cannot be built from.
    root_message_id = fields.BigIntField(unique=True)
    title = fields.CharField(max_length=200, default="")
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="created_threads", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None  # the column behind ``created_by``, set by Tortoise
    created_at = fields.DatetimeField(auto_now_add=True)
    reply_count = fields.IntField(default=0)
    last_reply_at = fields.DatetimeField(null=True)

    class Meta:
        table = "threads"


class Invite(Model):
    """An invite link (``VENN_REGISTRATION=invite``): registering with its code counts a use."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="invites", null=True, on_delete=fields.SET_NULL
    )
    created_by_id: int | None  # the column behind ``created_by``, set by Tortoise
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    max_uses = fields.IntField(null=True)
    uses = fields.IntField(default=0)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "invites"


class AdminAudit(Model):
    """One administrative action: who, when, what, on what, and the state before and after."""

    id = fields.BigIntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="admin_actions", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None  # the column behind ``actor``, set by Tortoise
    # kept as it was when acting: the actor's account may be renamed or gone later
    actor_username = fields.CharField(max_length=32, default="")
    action = fields.CharField(max_length=64)
    target_type = fields.CharField(max_length=32)
    target_id = fields.BigIntField(null=True)
    before: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    after: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)

    class Meta:
        table = "admin_audit"
        indexes = (
            Index(fields=("actor_id", "id"), name="ix_admin_audit_actor"),
            Index(fields=("target_type", "target_id", "id"), name="ix_admin_audit_target"),
        )


class File(Model):
    """An upload: stored under ``storage_key`` (and its thumbnail under ``thumb_key``)
    in the file storage (venn.files.storage); attached to at most one message."""

    id = fields.BigIntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "venn.Channel", related_name="files", on_delete=fields.CASCADE
    )
    channel_id: int  # the column behind ``channel``, set by Tortoise
    uploader: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="files", on_delete=fields.CASCADE
    )
    uploader_id: int  # the column behind ``uploader``, set by Tortoise
    # A plain column: set once, in the transaction that writes the message.
    message_id = fields.BigIntField(null=True)
    name = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=127)
    size = fields.BigIntField()
    storage_key = fields.CharField(max_length=128)
    thumb_key = fields.CharField(max_length=128, null=True)
    width = fields.IntField(null=True)
    height = fields.IntField(null=True)
    #: the message was deleted: the file is no longer served, and the sweep removes it
    hidden = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "files"
        indexes = (
            Index(fields=("message_id",), name="ix_file_message"),
            # the sweep of old uploads never attached
            Index(fields=("created_at",), name="ix_file_created"),
        )


class Mention(Model):
    """A user mentioned by a message: the rows behind mention counts and ``GET /mentions``.

    Plain columns, not foreign keys: rows are written with the message in one
    hand-written INSERT and removed with it (edit, delete).
    """

    id = fields.BigIntField(primary_key=True)
    message_id = fields.BigIntField()
    user_id = fields.BigIntField()
    channel_id = fields.BigIntField()

    class Meta:
        table = "mentions"
        unique_together = (("message_id", "user_id"),)
        indexes = (
            # the caller's mention counts per channel, and the paging of their mentions
            Index(fields=("user_id", "channel_id", "message_id"), name="ix_mention_user_channel_message"),
            Index(fields=("user_id", "message_id"), name="ix_mention_user_message"),
        )


class Webhook(Model):
    """An incoming webhook: ``POST /hooks/{id}/{secret}`` posts into ``channel`` as ``bot_user``."""

    id = fields.BigIntField(primary_key=True)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "venn.Channel", related_name="webhooks", on_delete=fields.CASCADE
    )
    channel_id: int  # the column behind ``channel``, set by Tortoise
    name = fields.CharField(max_length=64)
    #: SHA-256 (hex) of the secret: the secret itself is shown once and never stored
    secret_hash = fields.CharField(max_length=64)
    #: the bot account the webhook posts as (one per webhook, named after it)
    bot_user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="webhooks", on_delete=fields.CASCADE
    )
    bot_user_id: int  # the column behind ``bot_user``, set by Tortoise
    # A plain column: who made it (shown only; nothing joins on it).
    created_by_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhooks"


class PersonalToken(Model):
    """A personal access token: a long-lived bearer credential with scopes (``read``,
    ``write``), for scripts. Only a SHA-256 of its secret is stored."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="personal_tokens", on_delete=fields.CASCADE
    )
    user_id: int  # the column behind ``user``, set by Tortoise
    name = fields.CharField(max_length=64)
    scopes: fields.JSONField[list[str]] = fields.JSONField()
    secret_hash = fields.CharField(max_length=64)
    #: the user's token_version when it was made: logging out everywhere (or being
    #: deactivated) bumps the version, and the token stops working
    token_version = fields.IntField()
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "personal_tokens"


class EventSubscription(Model):
    """An outgoing webhook: the chosen events (of one channel, or of every non-DM
    channel) are POSTed, signed with ``secret``, to ``url``."""

    id = fields.BigIntField(primary_key=True)
    url = fields.CharField(max_length=2048)
    events: fields.JSONField[list[str]] = fields.JSONField()
    # A plain column: a deleted channel leaves a subscription that matches nothing.
    channel_id = fields.BigIntField(null=True)
    #: the HMAC key; kept in clear because every delivery is signed with it
    secret = fields.CharField(max_length=128)
    created_by_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "event_subscriptions"


class EventDelivery(Model):
    """One event for one subscription: the outbox row, written when the event is
    published and sent (in id order per subscription) by whichever process claims it."""

    id = fields.BigIntField(primary_key=True)
    subscription: fields.ForeignKeyRelation[EventSubscription] = fields.ForeignKeyField(
        "venn.EventSubscription", related_name="deliveries", on_delete=fields.CASCADE
    )
    subscription_id: int  # the column behind ``subscription``, set by Tortoise
    event = fields.CharField(max_length=64)
    #: the exact JSON body sent (and signed) on every attempt
    body = fields.TextField()
    #: pending, delivered or failed (gave up)
    status = fields.CharField(max_length=16, default="pending")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    #: a process owns the row until then (the claim); a crashed sender's row is retried after
    claimed_until = fields.DatetimeField(null=True)
    response_code = fields.IntField(null=True)
    last_error = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    delivered_at = fields.DatetimeField(null=True)

    class Meta:
        table = "event_deliveries"
        indexes = (Index(fields=("subscription_id", "status", "id"), name="ix_delivery_sub_status_id"),)
