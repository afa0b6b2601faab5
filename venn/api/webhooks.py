"""REST routes of incoming webhooks: managing a channel's webhooks (bearer token), and
``POST /hooks/{id}/{secret}``, where the secret in the URL is the only credential."""

from __future__ import annotations

from venn.api.routing import ApiRouter, Call
from venn.schemas import WebhookCreateIn, WebhookPostIn

_TS = {"type": ["string", "null"], "format": "date-time"}
_ID = {"type": "integer", "minimum": 1}
SCHEMAS = {
    "Webhook": {
        "type": "object",
        "required": ["id", "name", "channel_id", "created_by", "created_at", "bot_user"],
        "properties": {
            "id": _ID,
            "name": {"type": "string"},
            "channel_id": _ID,
            "created_by": {"type": ["integer", "null"]},
            "created_at": _TS,
            "bot_user": {"$ref": "#/components/schemas/Author"},
            "url": {
                "type": "string",
                "description": "/hooks/{id}/{secret}: only in the answer that made the webhook.",
            },
        },
    },
    "WebhookEnvelope": {
        "type": "object",
        "required": ["webhook"],
        "properties": {"webhook": {"$ref": "#/components/schemas/Webhook"}},
    },
    "WebhookList": {
        "type": "object",
        "required": ["webhooks"],
        "properties": {"webhooks": {"type": "array", "items": {"$ref": "#/components/schemas/Webhook"}}},
    },
    "WebhookPosted": {
        "type": "object",
        "required": ["ok", "message_id"],
        "properties": {"ok": {"type": "boolean", "enum": [True]}, "message_id": _ID},
    },
}
webhooks_api = ApiRouter(schemas=SCHEMAS)
CHANNEL = "/api/v1/channels/{channel_id:\\d+}/webhooks"


@webhooks_api.post(CHANNEL, body=WebhookCreateIn, status=201, response="WebhookEnvelope", errors=(403, 404),
                   tag="webhooks")
async def create_webhook(call: Call):
    """Make an incoming webhook for a channel (owners and admins); its url is shown only here."""
    return {"webhook": await call.services.webhooks.create(call.user, call.path_id("channel_id"), call.body)}


@webhooks_api.get(CHANNEL, response="WebhookList", errors=(403, 404), tag="webhooks")
async def list_webhooks(call: Call):
    """A channel's webhooks, without their secrets (owners and admins)."""
    return {"webhooks": await call.services.webhooks.in_channel(call.user, call.path_id("channel_id"))}


@webhooks_api.delete(CHANNEL + "/{webhook_id:\\d+}", status=204, errors=(403, 404), tag="webhooks")
async def delete_webhook(call: Call):
    """Delete a webhook: its URL stops working at once."""
    await call.services.webhooks.delete(call.user, call.path_id("channel_id"), call.path_id("webhook_id"))
    return None


@webhooks_api.post("/hooks/{webhook_id:\\d+}/{secret}", auth=False, body=WebhookPostIn, response="WebhookPosted",
                   errors=(403, 404, 429), tag="webhooks")
async def post_webhook(call: Call):
    """Post into the webhook's channel as its bot (the secret in the URL is the credential)."""
    hook_id = call.path_id("webhook_id")
    return await call.services.webhooks.post(hook_id, call.request.match_info["secret"], call.body)
