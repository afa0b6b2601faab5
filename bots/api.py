"""REST handlers for plugins, bot settings and the audit log (thin: see venn_bots.service)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from venn.api.routing import ApiRouter, Call, page_schema
from venn.db.models import Role
from venn.schemas import Id, Input
from venn_bots.keys import RUNTIME
from venn_bots.models import BotScope
from venn_bots.service import BotService

bots_api = ApiRouter(prefix="/api/v1")
ID = r"{%s:\d+}"
PLUGIN = r"{plugin:[A-Za-z0-9_-]+}"

PluginName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class EnableBotIn(Input):
    plugin: PluginName
    config: dict[str, Any] = Field(default_factory=dict)


class UpdateBotIn(Input):
    config: dict[str, Any]


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Id | None = None
    plugin: Annotated[str, StringConstraints(max_length=64)] | None = None
    channel_id: Id | None = None
    thread_id: Id | None = None


def _service(call: Call) -> BotService:
    return call.request.app[RUNTIME].service


@bots_api.get("/plugins", response="PluginList", tag="bots")
async def list_plugins(call: Call):
    """The installed plugins: description, version, commands and config schema (admins
    also see the plugins that failed to load, under ``skipped``)."""
    service = _service(call)
    result: dict[str, Any] = {"plugins": service.plugins()}
    if call.user.role == Role.ADMIN:
        result["skipped"] = service.skipped()
    return result


def _scoped(scope: BotScope, param: str, noun: str) -> None:
    base = f"/{noun}/" + ID % param + "/bots"

    async def list_bots(call: Call):
        return {"bots": await _service(call).list(call.user, scope, call.path_id(param))}

    async def enable_bot(call: Call):
        body: EnableBotIn = call.body
        bot = await _service(call).enable(call.user, scope, call.path_id(param), body.plugin, body.config)
        return {"bot": bot}

    async def update_bot(call: Call):
        plugin = call.request.match_info["plugin"]
        bot = await _service(call).update(call.user, scope, call.path_id(param), plugin, call.body.config)
        return {"bot": bot}

    async def disable_bot(call: Call):
        await _service(call).disable(call.user, scope, call.path_id(param), call.request.match_info["plugin"])
        return None

    where = "a thread (its channel's settings included)" if scope == BotScope.THREAD else "a channel"
    suffix = scope.value
    for func in (list_bots, enable_bot, update_bot, disable_bot):
        func.__name__ = f"{func.__name__}_{suffix}"
    bots_api.get(
        base, response="BotList", errors=(404,), tag="bots", summary=f"The bot settings of {where}."
    )(list_bots)
    bots_api.post(
        base, body=EnableBotIn, status=201, response="BotEnvelope", errors=(403, 404, 409, 503), tag="bots",
        summary=f"Enable a plugin on {scope.value} with its config (admins).",
    )(enable_bot)
    bots_api.patch(
        base + "/" + PLUGIN, body=UpdateBotIn, response="BotEnvelope", errors=(403, 404, 409, 503), tag="bots",
        summary=f"Change a plugin's config on {scope.value} (the given keys replace the old ones).",
    )(update_bot)
    bots_api.delete(
        base + "/" + PLUGIN, status=204, errors=(403, 404), tag="bots",
        summary=f"Disable a plugin on {scope.value}.",
    )(disable_bot)


_scoped(BotScope.THREAD, "thread_id", "threads")
_scoped(BotScope.CHANNEL, "channel_id", "channels")


@bots_api.get("/admin/bots/audit", query=AuditQuery, response="AuditPage", errors=(403,), tag="bots")
async def bot_audit(call: Call):
    """The audit log of bot changes, newest first (admins); ``before`` pages back. (They are
    in the core's admin audit too, ``GET /api/v1/admin/audit``, as ``bot.*`` actions.)"""
    q = call.query(AuditQuery)
    return await _service(call).audit(
        call.user, limit=q.limit, before=q.before, plugin=q.plugin, channel_id=q.channel_id, thread_id=q.thread_id
    )


_CONFIG = {"type": ["object", "null"], "description": "Shown only to those who may change it."}
_TS = {"type": ["string", "null"], "format": "date-time"}

bots_api.schemas.update(
    {
        "PluginCommand": {
            "type": "object",
            "required": ["name", "help", "usage"],
            "properties": {
                "name": {"type": "string"},
                "aliases": {"type": "array", "items": {"type": "string"}},
                "help": {"type": "string"},
                "usage": {"type": "string"},
                "args_schema": {"type": ["object", "null"]},
            },
        },
        "Plugin": {
            "type": "object",
            "required": ["name", "description", "version", "commands", "config_schema"],
            "properties": {
                "name": {"type": "string"},
                "description": {"type": "string"},
                "version": {"type": "string"},
                "commands": {"type": "array", "items": {"$ref": "#/components/schemas/PluginCommand"}},
                "events": {"type": "array", "items": {"type": "string"}},
                "handles_messages": {"type": "boolean"},
                "handles_mentions": {"type": "boolean"},
                "actions": {
                    "type": "array", "items": {"type": "string"},
                    "description": "Action ids of its messages' buttons and selects that it answers (@on_action)",
                },
                "config_schema": {"type": "object", "description": "JSON Schema of the plugin's config"},
                "bot_user": {"$ref": "#/components/schemas/Author"},
            },
        },
        "PluginList": {
            "type": "object",
            "required": ["plugins"],
            "properties": {
                "plugins": {"type": "array", "items": {"$ref": "#/components/schemas/Plugin"}},
                "skipped": {
                    "type": "array",
                    "description": "Admins only: plugins that failed to import or to set up.",
                    "items": {
                        "type": "object",
                        "properties": {"source": {"type": "string"}, "error": {"type": "string"}},
                    },
                },
            },
        },
        "BotSetting": {
            "type": "object",
            "required": ["plugin", "scope", "channel_id", "thread_id", "enabled", "config", "created_at"],
            "properties": {
                "plugin": {"type": "string"},
                "scope": {"type": "string", "enum": ["thread", "channel"], "description": "where the setting lives"},
                "channel_id": {"type": "integer"},
                "thread_id": {"type": ["integer", "null"]},
                "enabled": {"type": "boolean", "description": "false: a thread switched off its channel's plugin"},
                "config": _CONFIG,
                "enabled_by": {"type": ["integer", "null"]},
                "created_at": _TS,
                "updated_at": _TS,
            },
        },
        "BotList": {
            "type": "object",
            "required": ["bots"],
            "properties": {"bots": {"type": "array", "items": {"$ref": "#/components/schemas/BotSetting"}}},
        },
        "BotEnvelope": {
            "type": "object",
            "required": ["bot"],
            "properties": {"bot": {"$ref": "#/components/schemas/BotSetting"}},
        },
        "AuditEntry": {
            "type": "object",
            "required": ["id", "at", "actor", "action", "plugin", "scope", "channel_id", "thread_id"],
            "properties": {
                "id": {"type": "integer"},
                "at": _TS,
                "actor": {
                    "type": "object",
                    "properties": {"id": {"type": ["integer", "null"]}, "username": {"type": "string"}},
                },
                "action": {"type": "string", "enum": ["enable", "update", "disable"]},
                "plugin": {"type": "string"},
                "scope": {"type": "string", "enum": ["thread", "channel"]},
                "channel_id": {"type": "integer"},
                "thread_id": {"type": ["integer", "null"]},
                "old_config": {"type": ["object", "null"]},
                "new_config": {"type": ["object", "null"]},
            },
        },
        "AuditPage": page_schema("entries", "AuditEntry"),
    }
)
