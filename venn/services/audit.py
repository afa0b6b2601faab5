"""The admin audit log: every administrative action, who took it, when, on what,
and the state before and after (users, invites, channels; bots record theirs too)."""

from __future__ import annotations

import re
from typing import Any

from venn.db.models import AdminAudit, Role, User
from venn.errors import Forbidden, ValidationFailed
from venn.services.base import Service
from venn.services.views import iso

#: ``type`` or ``type:id``, e.g. ``user:12``, ``channel``
MAX_ID = 2**63 - 1
_TARGET = re.compile(r"^([a-z_]{1,32})(?::([0-9]{1,30}))?$")


def audit_view(entry: AdminAudit) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": iso(entry.created_at),
        "actor": {"id": entry.actor_id, "username": entry.actor_username},
        "action": entry.action,
        "target": {"type": entry.target_type, "id": entry.target_id},
        "before": entry.before,
        "after": entry.after,
    }


def require_admin(user: User) -> None:
    if user.role != Role.ADMIN:
        raise Forbidden("Only admins can do that.", code="admin_only")


class AuditService(Service):
    async def record(
        self,
        actor: User | None,
        action: str,
        target_type: str,
        target_id: int | None,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> AdminAudit:
        """Write one entry; call it inside the transaction that makes the change."""
        return await AdminAudit.create(
            actor_id=actor.id if actor is not None else None,
            actor_username=actor.username if actor is not None else "",
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=before,
            after=after,
        )

    async def page(
        self,
        viewer: User,
        *,
        limit: int = 50,
        before: int | None = None,
        actor_id: int | None = None,
        action: str | None = None,
        target: str | None = None,
    ) -> dict[str, Any]:
        """Entries newest first; ``before`` (an entry id) pages back."""
        require_admin(viewer)
        query = AdminAudit.all()
        if before is not None:
            query = query.filter(id__lt=before)
        if actor_id is not None:
            query = query.filter(actor_id=actor_id)
        if action:
            # "user" matches user.role, user.deactivate, ...; "user.role" only itself
            query = query.filter(action=action) if "." in action else query.filter(action__startswith=action + ".")
        if target:
            match = _TARGET.match(target)
            if match is None:
                raise ValidationFailed([{"field": "target", "message": "expected type or type:id, e.g. user:12"}])
            query = query.filter(target_type=match.group(1))
            if match.group(2) is not None:
                if int(match.group(2)) > MAX_ID:
                    return {"entries": [], "has_more": False}
                query = query.filter(target_id=int(match.group(2)))
        rows = await query.order_by("-id").limit(limit + 1)
        return {"entries": [audit_view(r) for r in rows[:limit]], "has_more": len(rows) > limit}
