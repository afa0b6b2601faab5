"""REST handlers for admins: users, invite links and the audit log (thin: see
venn/services/admin.py, invites.py, audit.py)."""

from __future__ import annotations

from typing import Any

from venn.api.routing import ApiRouter, Call, page_schema
from venn.schemas import AdminUserQuery, AdminUserUpdateIn, AuditQuery, InviteCreateIn
from venn.services.admin import admin_user_view
from venn.services.invites import invite_view

_TS = {"type": ["string", "null"], "format": "date-time"}

admin_api = ApiRouter(
    prefix="/api/v1",
    schemas={
        "AdminUserPage": page_schema("users", "User"),
        "Invite": {
            "type": "object",
            "required": ["id", "code", "url", "created_at", "expires_at", "max_uses", "uses", "revoked", "active"],
            "properties": {
                "id": {"type": "integer"},
                "code": {"type": "string"},
                "url": {"type": "string", "description": "The link to share: opens registration with the code."},
                "created_by": {"type": ["integer", "null"]},
                "created_at": _TS,
                "expires_at": _TS,
                "max_uses": {"type": ["integer", "null"]},
                "uses": {"type": "integer"},
                "revoked": {"type": "boolean"},
                "active": {"type": "boolean", "description": "Not revoked, expired nor used up."},
            },
        },
        "InviteEnvelope": {
            "type": "object",
            "required": ["invite"],
            "properties": {"invite": {"$ref": "#/components/schemas/Invite"}},
        },
        "InviteList": {
            "type": "object",
            "required": ["invites"],
            "properties": {"invites": {"type": "array", "items": {"$ref": "#/components/schemas/Invite"}}},
        },
        "AdminAuditEntry": {
            "type": "object",
            "required": ["id", "at", "actor", "action", "target", "before", "after"],
            "properties": {
                "id": {"type": "integer"},
                "at": _TS,
                "actor": {
                    "type": "object",
                    "properties": {"id": {"type": ["integer", "null"]}, "username": {"type": "string"}},
                },
                "action": {"type": "string", "description": "e.g. user.role, user.deactivate, invite.create"},
                "target": {
                    "type": "object",
                    "properties": {"type": {"type": "string"}, "id": {"type": ["integer", "null"]}},
                },
                "before": {"type": ["object", "null"]},
                "after": {"type": ["object", "null"]},
            },
        },
        "AdminAuditPage": page_schema("entries", "AdminAuditEntry"),
    },
)
ID = r"{%s:\d+}"


def _invite(call: Call, invite) -> dict[str, Any]:
    # the web client opens registration with the code from ?invite=
    url = f"{call.request.scheme}://{call.request.host}/?invite={invite.code}"
    return {**invite_view(invite), "url": url}


@admin_api.get("/admin/users", query=AdminUserQuery, response="AdminUserPage", errors=(403,), tag="admin")
async def admin_list_users(call: Call):
    """Users, newest first (admins): search ``q``, filter ``role`` and ``deactivated``."""
    return await call.services.admin.list_users(call.user, call.query(AdminUserQuery))


@admin_api.patch("/admin/users/" + ID % "user_id", body=AdminUserUpdateIn, response="UserEnvelope",
                 errors=(403, 404, 409), tag="admin")
async def admin_update_user(call: Call):
    """Change a user's role or (de)activate them (admins); deactivating ends their sessions."""
    user = await call.services.admin.update_user(call.user, call.path_id("user_id"), call.body)
    return {"user": admin_user_view(user, call.user)}


@admin_api.post("/admin/invites", body=InviteCreateIn, status=201, response="InviteEnvelope", errors=(403,),
                tag="admin")
async def create_invite(call: Call):
    """Make an invite link (admins), optionally expiring or limited to a number of uses."""
    return {"invite": _invite(call, await call.services.invites.create(call.user, call.body))}


@admin_api.get("/admin/invites", response="InviteList", errors=(403,), tag="admin")
async def list_invites(call: Call):
    """The invite links, newest first (admins)."""
    return {"invites": [_invite(call, i) for i in await call.services.invites.list(call.user)]}


@admin_api.delete("/admin/invites/" + ID % "invite_id", status=204, errors=(403, 404), tag="admin")
async def revoke_invite(call: Call):
    """Revoke an invite link (admins): it lets nobody else register."""
    await call.services.invites.revoke(call.user, call.path_id("invite_id"))
    return None


@admin_api.get("/admin/audit", query=AuditQuery, response="AdminAuditPage", errors=(403,), tag="admin")
async def admin_audit(call: Call):
    """The admin audit log, newest first (admins): filter by actor_id, action, target; ``before`` pages back."""
    q = call.query(AuditQuery)
    return await call.services.audit.page(
        call.user, limit=q.limit, before=q.before, actor_id=q.actor_id, action=q.action, target=q.target
    )
