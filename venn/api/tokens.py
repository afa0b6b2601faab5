"""REST routes of personal access tokens (``/users/me/tokens``)."""

from __future__ import annotations

from venn.api.routing import ApiRouter, Call
from venn.schemas import TokenCreateIn

_TS = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS = {
    "PersonalToken": {
        "type": "object",
        "required": ["id", "name", "scopes", "created_at", "expires_at", "last_used_at"],
        "properties": {
            "id": {"type": "integer", "minimum": 1},
            "name": {"type": "string"},
            "scopes": {"type": "array", "items": {"type": "string", "enum": ["read", "write"]}},
            "created_at": _TS,
            "expires_at": _TS,
            "last_used_at": _TS,
        },
    },
    "PersonalTokenCreated": {
        "type": "object",
        "required": ["token", "secret"],
        "properties": {
            "token": {"$ref": "#/components/schemas/PersonalToken"},
            "secret": {"type": "string", "description": "venn_pat_...: shown only in this answer."},
        },
    },
    "PersonalTokenList": {
        "type": "object",
        "required": ["tokens"],
        "properties": {"tokens": {"type": "array", "items": {"$ref": "#/components/schemas/PersonalToken"}}},
    },
}
tokens_api = ApiRouter(prefix="/api/v1", schemas=SCHEMAS)


@tokens_api.post("/users/me/tokens", body=TokenCreateIn, status=201, response="PersonalTokenCreated", errors=(403,),
                 tag="users")
async def create_token(call: Call):
    """Make a personal access token (scopes read and/or write); its secret is shown only here."""
    return await call.services.personal_tokens.create(call.user, call.body)


@tokens_api.get("/users/me/tokens", response="PersonalTokenList", errors=(403,), tag="users")
async def list_tokens(call: Call):
    """The caller's personal access tokens (without secrets)."""
    return {"tokens": await call.services.personal_tokens.of_user(call.user)}


@tokens_api.delete("/users/me/tokens/{token_id:\\d+}", status=204, errors=(403, 404), tag="users")
async def revoke_token(call: Call):
    """Revoke a personal access token: it stops working at once, and its sockets are disconnected."""
    await call.services.personal_tokens.revoke(call.user, call.path_id("token_id"))
    return None
