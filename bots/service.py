"""Enabling bots: the rules, the audit log and the notices (REST and other doors call this).

- Every plugin is off everywhere until an admin (or, with
  ``VENN_BOT_CHANNEL_OWNERS_CAN_ENABLE``, an owner of the channel) enables it on a
  thread or a channel, with a config validated against the plugin's model.
- A channel's setting applies to its threads unless the thread has its own: a thread
  can enable a plugin with another config, or switch off one its channel enables.
- Each change is written to the audit log in the same transaction, then announced:
  a system message from the plugin's bot user where it applies, and a ``bot_status``
  event.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pydantic import ValidationError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from venn.db.models import Channel, Role, Thread, User
from venn.errors import Conflict, Forbidden, NotFound, Unavailable, ValidationFailed, VennError
from venn.events import Event
from venn.schemas import field_errors
from venn.services.views import author_view, iso
from venn_bots.handle import ServiceHost
from venn_bots.models import AuditAction, BotAuditLog, BotEnablement, BotScope
from venn_bots.plugin import CHECK_CONFIG_TIMEOUT, ConfigRejected

log = logging.getLogger("venn.bots.service")


async def effective_enablements(channel_id: int, thread_id: int | None) -> dict[str, BotEnablement]:
    """The plugins switched on for a thread (or a channel's own stream), by name.

    A thread's row, on or off, wins over its channel's.
    """
    condition = Q(scope=BotScope.CHANNEL, scope_id=channel_id)
    if thread_id is not None:
        condition |= Q(scope=BotScope.THREAD, scope_id=thread_id)
    rows = await BotEnablement.filter(condition)
    chosen: dict[str, BotEnablement] = {}
    for row in sorted(rows, key=lambda r: r.scope == BotScope.THREAD):
        chosen[row.plugin] = row
    return {name: row for name, row in chosen.items() if row.enabled}


def setting_view(row: BotEnablement, *, show_config: bool) -> dict[str, Any]:
    return {
        "plugin": row.plugin,
        "scope": str(row.scope),
        "channel_id": row.channel_id,
        "thread_id": row.thread_id,
        "enabled": row.enabled,
        "config": row.config if show_config else None,
        "enabled_by": row.enabled_by_id,
        "created_at": iso(row.created_at),
        "updated_at": iso(row.updated_at),
    }


def audit_view(entry: BotAuditLog) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.created_at),
        "actor": {"id": entry.actor_id, "username": entry.actor_username},
        "action": str(entry.action),
        "plugin": entry.plugin,
        "scope": str(entry.scope),
        "channel_id": entry.channel_id,
        "thread_id": entry.thread_id,
        "old_config": entry.old_config,
        "new_config": entry.new_config,
    }


class BotService:
    """Enable, reconfigure and disable plugins; list settings and the audit log."""

    def __init__(self, runtime: ServiceHost) -> None:
        self.runtime = runtime

    @property
    def core(self):
        return self.runtime.services

    # Plugins ----------------------------------------------------------------

    def skipped(self) -> list[dict[str, str]]:
        """Plugins that failed to import or to set up, and why."""
        return [{"source": f.source, "error": f.error} for f in self.runtime.failures]

    def plugins(self) -> list[dict[str, Any]]:
        out = []
        for name in sorted(self.runtime.plugins):
            plugin = self.runtime.plugins[name]
            described = type(plugin).describe()
            bot = self.runtime.bot_users.get(name)
            described["bot_user"] = author_view(bot) if bot is not None else None
            out.append(described)
        return out

    def _plugin(self, name: str, *, field: str | None = None):
        plugin = self.runtime.plugins.get(name)
        if plugin is None:
            if field is not None:
                raise ValidationFailed([{"field": field, "message": f"no installed plugin is called {name!r}"}])
            raise NotFound(f"No installed plugin is called {name!r}.")
        return plugin

    def _validate_config(self, plugin, config: dict[str, Any]) -> dict[str, Any]:
        return self._config_model(plugin, config).model_dump(mode="json")

    @staticmethod
    def _config_model(plugin, config: dict[str, Any]) -> Any:
        try:
            return type(plugin).Config.model_validate(config)
        except ValidationError as exc:
            fields = [
                {**f, "field": f"config.{f['field']}" if f["field"] != "body" else "config"} for f in field_errors(exc)
            ]
            raise ValidationFailed(fields) from None

    async def _checked_config(self, plugin, config: dict[str, Any]) -> dict[str, Any]:
        """The config validated by the plugin's model and accepted by its
        :meth:`~venn_bots.plugin.Plugin.check_config` (ConfigRejected: 422 with fields)."""
        model = self._config_model(plugin, config)
        try:
            async with asyncio.timeout(CHECK_CONFIG_TIMEOUT):
                await plugin.check_config(model)
        except ConfigRejected as exc:
            fields = [{"field": f"config.{name}", "message": m} for name, m in exc.fields.items()]
            raise ValidationFailed(fields) from None
        except VennError:
            raise
        except TimeoutError:
            raise Unavailable(f"{plugin.name} did not finish checking its settings in time; try again.") from None
        except Exception:
            log.exception("a plugin's check_config failed", extra={"plugin": plugin.name})
            raise Unavailable(f"{plugin.name} could not check its settings; try again.") from None
        return model.model_dump(mode="json")

    # Access ----------------------------------------------------------------

    async def _target(self, user: User, scope: BotScope, target_id: int) -> tuple[Channel, Thread | None]:
        if scope == BotScope.THREAD:
            thread = await self.core.threads.get_visible(user, target_id)
            channel = await Channel.get(id=thread.channel_id)
            return channel, thread
        return await self.core.channels.get_visible(user, target_id), None

    async def can_manage(self, user: User, channel: Channel) -> bool:
        if user.role == Role.ADMIN:
            return True
        if self.runtime.settings.channel_owners_can_enable:
            return await self.core.channels.can_manage(user, channel)
        return False

    async def _require_manager(self, user: User, channel: Channel) -> None:
        if not await self.can_manage(user, channel):
            who = "admins and the channel's owners" if self.runtime.settings.channel_owners_can_enable else "admins"
            raise Forbidden(f"Only {who} can change the bots here.", code="forbidden")
        if channel.archived:
            raise Forbidden("The channel is archived.", code="channel_archived")

    # Queries ---------------------------------------------------------------

    async def list(self, user: User, scope: BotScope, target_id: int) -> list[dict[str, Any]]:
        """The bot settings that apply here (a thread's list includes its channel's).

        Configs are shown only to those who may change them.
        """
        channel, thread = await self._target(user, scope, target_id)
        show = await self.can_manage(user, channel)
        if thread is None:
            rows = await BotEnablement.filter(scope=BotScope.CHANNEL, scope_id=channel.id).order_by("plugin")
            return [setting_view(r, show_config=show) for r in rows]
        rows = await BotEnablement.filter(
            Q(scope=BotScope.CHANNEL, scope_id=channel.id) | Q(scope=BotScope.THREAD, scope_id=thread.id)
        )
        chosen: dict[str, BotEnablement] = {}
        for row in sorted(rows, key=lambda r: r.scope == BotScope.THREAD):
            chosen[row.plugin] = row
        return [setting_view(chosen[name], show_config=show) for name in sorted(chosen)]

    async def audit(
        self,
        user: User,
        *,
        limit: int = 50,
        before: int | None = None,
        plugin: str | None = None,
        channel_id: int | None = None,
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        if user.role != Role.ADMIN:
            raise Forbidden("Only admins can read the audit log.")
        query = BotAuditLog.all()
        if before is not None:
            query = query.filter(id__lt=before)
        if plugin:
            query = query.filter(plugin=plugin)
        if channel_id is not None:
            query = query.filter(channel_id=channel_id)
        if thread_id is not None:
            query = query.filter(thread_id=thread_id)
        rows = await query.order_by("-id").limit(limit + 1)
        return {"entries": [audit_view(r) for r in rows[:limit]], "has_more": len(rows) > limit}

    # Commands ----------------------------------------------------------------

    async def enable(
        self, user: User, scope: BotScope, target_id: int, plugin_name: str, config: dict[str, Any]
    ) -> dict[str, Any]:
        channel, thread = await self._target(user, scope, target_id)
        await self._require_manager(user, channel)
        plugin = self._plugin(plugin_name, field="plugin")
        clean = await self._checked_config(plugin, config)
        scope_id = thread.id if thread is not None else channel.id
        try:
            async with in_transaction():
                row = await BotEnablement.get_or_none(scope=scope, scope_id=scope_id, plugin=plugin.name)
                if row is not None and row.enabled:
                    raise Conflict(
                        f"{plugin.name} is already enabled here; change its config with PATCH.",
                        code="bot_already_enabled",
                    )
                if row is None:
                    row = await BotEnablement.create(
                        scope=scope,
                        scope_id=scope_id,
                        channel_id=channel.id,
                        thread_id=thread.id if thread else None,
                        plugin=plugin.name,
                        enabled=True,
                        config=clean,
                        enabled_by_id=user.id,
                    )
                else:  # a thread that had switched off its channel's plugin
                    row.enabled, row.config, row.enabled_by_id = True, clean, user.id
                    await row.save()
                entry = await self._audit(user, AuditAction.ENABLE, plugin.name, scope, channel, thread, None, clean)
        except IntegrityError:
            raise Conflict(f"{plugin.name} is already enabled here.", code="bot_already_enabled") from None
        await self._announce(user, entry, channel, thread, enabled=True)
        return setting_view(row, show_config=True)

    async def update(
        self, user: User, scope: BotScope, target_id: int, plugin_name: str, changes: dict[str, Any]
    ) -> dict[str, Any]:
        """Change the config: the given keys replace the current ones, then the whole
        config is validated again."""
        channel, thread = await self._target(user, scope, target_id)
        await self._require_manager(user, channel)
        plugin = self._plugin(plugin_name)
        scope_id = thread.id if thread is not None else channel.id
        # The plugin's own check (it may ask a remote service) runs outside the transaction.
        row = await BotEnablement.get_or_none(scope=scope, scope_id=scope_id, plugin=plugin.name, enabled=True)
        if row is None:
            raise await self._not_enabled(plugin.name, channel, thread)
        checked = await self._checked_config(plugin, {**(row.config or {}), **changes})
        async with in_transaction():
            row = await BotEnablement.get_or_none(scope=scope, scope_id=scope_id, plugin=plugin.name, enabled=True)
            if row is None:
                raise await self._not_enabled(plugin.name, channel, thread)
            old = dict(row.config or {})
            clean = self._validate_config(plugin, {**old, **changes})
            if clean != checked:  # changed by someone else while it was being checked
                raise Conflict(
                    f"The settings of {plugin.name} here were changed meanwhile; look at them again and retry.",
                    code="bot_config_changed",
                )
            row.config = clean
            row.enabled_by_id = user.id
            await row.save()
            entry = await self._audit(user, AuditAction.UPDATE, plugin.name, scope, channel, thread, old, clean)
        await self._announce(user, entry, channel, thread, enabled=True)
        return setting_view(row, show_config=True)

    async def disable(self, user: User, scope: BotScope, target_id: int, plugin_name: str) -> None:
        """Switch a plugin off here. In a thread whose channel enables it, a thread row
        that says "off" is kept, so that the channel's setting no longer applies."""
        channel, thread = await self._target(user, scope, target_id)
        await self._require_manager(user, channel)
        plugin = self._plugin(plugin_name)
        scope_id = thread.id if thread is not None else channel.id
        async with in_transaction():
            row = await BotEnablement.get_or_none(scope=scope, scope_id=scope_id, plugin=plugin.name)
            inherited = None
            if thread is not None:
                inherited = await BotEnablement.get_or_none(
                    scope=BotScope.CHANNEL, scope_id=channel.id, plugin=plugin.name, enabled=True
                )
            if row is not None and row.enabled:
                old = row.config
                if inherited is not None:
                    row.enabled, row.config, row.enabled_by_id = False, {}, user.id
                    await row.save()
                else:
                    await row.delete()
            elif row is None and inherited is not None:
                old = inherited.config
                await BotEnablement.create(
                    scope=scope,
                    scope_id=scope_id,
                    channel_id=channel.id,
                    thread_id=thread.id if thread else None,
                    plugin=plugin.name,
                    enabled=False,
                    config={},
                    enabled_by_id=user.id,
                )
            else:
                raise await self._not_enabled(plugin.name, channel, thread)
            entry = await self._audit(user, AuditAction.DISABLE, plugin.name, scope, channel, thread, old, None)
        await self._announce(user, entry, channel, thread, enabled=False, old_config=old)

    async def _not_enabled(self, name: str, channel: Channel, thread: Thread | None) -> NotFound:
        if thread is not None and await BotEnablement.filter(
            scope=BotScope.CHANNEL, scope_id=channel.id, plugin=name, enabled=True
        ).exists():
            return NotFound(
                f"{name} is enabled for the whole channel, not this thread: change it on the channel, "
                "or enable it on the thread (POST) to give the thread its own config.",
                code="bot_not_enabled",
            )
        return NotFound(f"{name} is not enabled here.", code="bot_not_enabled")

    async def _audit(
        self,
        user: User,
        action: AuditAction,
        plugin: str,
        scope: BotScope,
        channel: Channel,
        thread: Thread | None,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
    ) -> BotAuditLog:
        # also in the core's admin audit log (GET /api/v1/admin/audit), in this transaction
        target_type, target_id = ("thread", thread.id) if thread is not None else ("channel", channel.id)
        await self.core.audit.record(
            user, f"bot.{action.value}", target_type, target_id,
            before=None if old is None else {"plugin": plugin, "config": old},
            after=None if new is None else {"plugin": plugin, "config": new},
        )
        return await BotAuditLog.create(
            actor_id=user.id,
            actor_username=user.username,
            action=action,
            plugin=plugin,
            scope=scope,
            channel_id=channel.id,
            thread_id=thread.id if thread else None,
            old_config=old,
            new_config=new,
        )

    async def _announce(
        self,
        user: User,
        entry: BotAuditLog,
        channel: Channel,
        thread: Thread | None,
        *,
        enabled: bool,
        old_config: dict[str, Any] | None = None,
    ) -> None:
        """After commit: the system message where the change applies, and ``bot_status``."""
        await self.runtime.bot_settings_changed()
        action = {AuditAction.ENABLE: "enabled", AuditAction.UPDATE: "updated", AuditAction.DISABLE: "disabled"}[
            entry.action
        ]
        where = "this thread" if thread is not None else "this channel"
        text = {
            "enabled": f"@{user.username} enabled {entry.plugin} in {where}.",
            "updated": f"@{user.username} changed the settings of {entry.plugin} in {where}.",
            "disabled": f"@{user.username} disabled {entry.plugin} in {where}.",
        }[action]
        status = {
            "plugin": entry.plugin,
            "scope": str(entry.scope),
            "channel_id": channel.id,
            "thread_id": thread.id if thread else None,
            "enabled": enabled,
            "action": action,
            "by": user.id,
        }
        try:
            await self.runtime.post_as_bot(
                entry.plugin,
                channel.id,
                thread.id if thread else None,
                text,
                payload={"bot_status": status},
                client_msg_id=f"bot-audit:{entry.id}",
                system=True,
            )
        except Exception:
            log.exception("could not post the bot status message", extra={"plugin": entry.plugin})
        await self.core.events.publish(
            Event(
                "bot_status",
                status,
                channel_id=channel.id,
                thread_id=thread.id if thread else None,
                context={"user": user, "channel": channel, "thread": thread, "old_config": old_config},
            )
        )
