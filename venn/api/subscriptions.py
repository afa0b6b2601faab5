"""REST routes of event subscriptions, outgoing webhooks (``/admin/event-subscriptions``;
thin: see venn/services/subscriptions.py and delivery.py)."""

from __future__ import annotations

from venn.api.routing import ApiRouter, Call
from venn.schemas import EventSubscriptionIn

_TS = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS = {
    "EventSubscription": {
        "type": "object",
        "required": ["id", "url", "events", "channel_id", "created_at"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"type": "string"}},
            "channel_id": {"type": ["integer", "null"], "description": "null: every channel but DMs"},
            "created_at": _TS,
        },
    },
    "EventSubscriptionCreated": {
        "type": "object",
        "required": ["subscription", "signing_secret"],
        "properties": {
            "subscription": {"$ref": "#/components/schemas/EventSubscription"},
            "signing_secret": {"type": "string", "description": "whsec_...: shown only in this answer."},
        },
    },
    "EventSubscriptionList": {
        "type": "object",
        "required": ["subscriptions"],
        "properties": {
            "subscriptions": {"type": "array", "items": {"$ref": "#/components/schemas/EventSubscription"}}
        },
    },
    "EventDeliveryList": {
        "type": "object",
        "required": ["deliveries"],
        "properties": {
            "deliveries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "event", "status", "attempts", "response_code", "error", "created_at",
                                 "delivered_at", "next_attempt_at"],
                    "properties": {
                        "id": {"type": "integer"},
                        "event": {"type": "string"},
                        "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
                        "attempts": {"type": "integer"},
                        "response_code": {"type": ["integer", "null"]},
                        "error": {"type": ["string", "null"]},
                        "created_at": _TS,
                        "delivered_at": _TS,
                        "next_attempt_at": _TS,
                    },
                },
            }
        },
    },
}
subscriptions_api = ApiRouter(prefix="/api/v1", schemas=SCHEMAS)
ITEM = "/admin/event-subscriptions/{subscription_id:\\d+}"


@subscriptions_api.post("/admin/event-subscriptions", body=EventSubscriptionIn, status=201,
                        response="EventSubscriptionCreated", errors=(403, 404), tag="admin")
async def create_subscription(call: Call):
    """Subscribe a URL to events (admins); the signing secret is shown only here."""
    return await call.services.subscriptions.create(call.user, call.body)


@subscriptions_api.get("/admin/event-subscriptions", response="EventSubscriptionList", errors=(403,), tag="admin")
async def list_subscriptions(call: Call):
    """The event subscriptions (admins), without secrets."""
    return {"subscriptions": await call.services.subscriptions.list_all(call.user)}


@subscriptions_api.delete(ITEM, status=204, errors=(403, 404), tag="admin")
async def delete_subscription(call: Call):
    """Delete an event subscription (admins) and its pending deliveries."""
    await call.services.subscriptions.delete(call.user, call.path_id("subscription_id"))
    return None


@subscriptions_api.get(ITEM + "/deliveries", response="EventDeliveryList", errors=(403, 404), tag="admin")
async def list_deliveries(call: Call):
    """The newest 50 deliveries of a subscription (admins): status, attempts, response, next retry."""
    return {"deliveries": await call.services.subscriptions.deliveries(call.user, call.path_id("subscription_id"))}
