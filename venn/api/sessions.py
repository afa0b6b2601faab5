"""REST routes of the caller's sign-ins (``/users/me/sessions``)."""

from __future__ import annotations

from venn.api.routing import ApiRouter, Call

_TS = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS = {
    "UserSession": {
        "type": "object",
        "required": ["id", "created_at", "last_used_at", "user_agent", "client_ip", "current"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "created_at": _TS,
            "last_used_at": _TS,
            "user_agent": {"type": ["string", "null"], "description": "The browser or client that logged in."},
            "client_ip": {"type": ["string", "null"], "description": "The address it logged in from."},
            "current": {"type": "boolean", "description": "The session of the token making this request."},
        },
    },
    "UserSessionList": {
        "type": "object",
        "required": ["sessions"],
        "properties": {"sessions": {"type": "array", "items": {"$ref": "#/components/schemas/UserSession"}}},
    },
}
sessions_api = ApiRouter(prefix="/api/v1", schemas=SCHEMAS)


@sessions_api.get("/users/me/sessions", response="UserSessionList", tag="users")
async def list_sessions(call: Call):
    """The caller's sign-ins, the most recently used first."""
    return {"sessions": await call.services.sessions.of_user(call.user, current_id=call.session_id)}


@sessions_api.delete("/users/me/sessions/{session_id:\\d+}", status=204, errors=(403, 404), tag="users")
async def end_session(call: Call):
    """End one sign-in: its tokens stop working at once and its sockets are disconnected."""
    await call.services.sessions.end(call.user, call.path_id("session_id"))
    return None
