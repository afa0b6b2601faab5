"""The bot runtime's tables, in the Tortoise app ``bots``.

Created and changed only by the bot runtime's own migrations (``bots/migrations``),
applied after the core's.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from venn.db.models import Channel, Thread, User


class BotScope(StrEnum):
    THREAD = "thread"
    CHANNEL = "channel"


class StoreScope(StrEnum):
    THREAD = "thread"
    CHANNEL = "channel"
    PLUGIN = "plugin"


class AuditAction(StrEnum):
    ENABLE = "enable"
    UPDATE = "update"
    DISABLE = "disable"


class BotEnablement(Model):
    """A plugin switched on (or, for a thread, explicitly off) in a thread or a channel.

    A channel's row applies to all its threads unless the thread has a row of its own.
    """

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharEnumField(BotScope, max_length=16)
    #: the channel's id for a channel row, the thread's id for a thread row
    scope_id = fields.BigIntField()
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "venn.Channel", related_name="bot_enablements", on_delete=fields.CASCADE
    )
    channel_id: int  # the column behind ``channel``, set by Tortoise
    thread: fields.ForeignKeyNullableRelation[Thread] = fields.ForeignKeyField(
        "venn.Thread", related_name="bot_enablements", null=True, on_delete=fields.CASCADE
    )
    thread_id: int | None  # the column behind ``thread``, set by Tortoise
    plugin = fields.CharField(max_length=32)
    #: False only for a thread row that switches off a plugin its channel enables
    enabled = fields.BooleanField(default=True)
    config: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    enabled_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="bot_enablements", null=True, on_delete=fields.SET_NULL
    )
    enabled_by_id: int | None  # the column behind ``enabled_by``, set by Tortoise
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "bot_enablements"
        unique_together = (("scope", "scope_id", "plugin"),)
        indexes = (Index(fields=("channel_id", "plugin"), name="ix_bot_enablement_channel"),)


class BotAuditLog(Model):
    """Who enabled, reconfigured or disabled which plugin where, with the configs before and after."""

    id = fields.BigIntField(primary_key=True)
    actor: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "venn.User", related_name="bot_audit_entries", null=True, on_delete=fields.SET_NULL
    )
    actor_id: int | None  # the column behind ``actor``, set by Tortoise
    #: kept as text too, so that the entry still says who after the account is gone
    actor_username = fields.CharField(max_length=32)
    action = fields.CharEnumField(AuditAction, max_length=16)
    plugin = fields.CharField(max_length=32)
    scope = fields.CharEnumField(BotScope, max_length=16)
    # Plain columns, not foreign keys: the log outlives deleted channels and threads.
    channel_id = fields.BigIntField()
    thread_id = fields.BigIntField(null=True)
    old_config: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    new_config: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "bot_audit_log"
        indexes = (
            Index(fields=("plugin", "id"), name="ix_bot_audit_plugin"),
            Index(fields=("channel_id", "id"), name="ix_bot_audit_channel"),
        )


class BotKV(Model):
    """One value of a plugin's key-value storage, scoped to a thread, a channel or the plugin."""

    id = fields.BigIntField(primary_key=True)
    plugin = fields.CharField(max_length=32)
    scope = fields.CharEnumField(StoreScope, max_length=16)
    #: the thread's or channel's id, 0 for the plugin's own storage
    scope_id = fields.BigIntField()
    key = fields.CharField(max_length=200)
    #: any JSON value (None too)
    value: fields.JSONField[Any] = fields.JSONField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "bot_kv"
        unique_together = (("plugin", "scope", "scope_id", "key"),)


class BotSchedule(Model):
    """A scheduled run: a recurring ``@schedule`` handler in one place, or a one-off
    run (``ctx.schedule_once``); ``due_ms`` is when it fires next (epoch milliseconds)."""

    id = fields.BigIntField(primary_key=True)
    plugin = fields.CharField(max_length=32)
    #: "cron", "every" or "once"
    kind = fields.CharField(max_length=8)
    #: identity of a recurring row (handler, place, rule); "once:<uuid>" for one-off runs
    slot = fields.CharField(max_length=200)
    handler = fields.CharField(max_length=64)
    channel: fields.ForeignKeyRelation[Channel] = fields.ForeignKeyField(
        "venn.Channel", related_name="bot_schedules", on_delete=fields.CASCADE
    )
    channel_id: int  # the column behind ``channel``, set by Tortoise
    thread: fields.ForeignKeyNullableRelation[Thread] = fields.ForeignKeyField(
        "venn.Thread", related_name="bot_schedules", null=True, on_delete=fields.CASCADE
    )
    thread_id: int | None  # the column behind ``thread``, set by Tortoise
    timezone = fields.CharField(max_length=64, default="UTC")
    due_ms = fields.BigIntField()
    #: a claimed one-off run is not claimed again before this (epoch ms)
    lease_ms = fields.BigIntField(default=0)
    data: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    #: who scheduled a one-off run (plain column: the run outlives nothing it needs)
    user_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "bot_schedules"
        unique_together = (("plugin", "slot"),)
        indexes = (Index(fields=("due_ms",), name="ix_bot_schedule_due"),)
