"""User lifecycle for admins: list users, change roles, deactivate and reactivate.

Deactivating ends every session of the user at once (their token version moves on
and their refresh tokens go), and their sockets are told ``session_revoked`` and
disconnected in every process. Their messages stay. Reactivating lets them log in
again; it does not bring old sessions back. The last active admin stays an admin.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from venn.db.models import RefreshToken, Role, User
from venn.errors import Conflict, Forbidden, NotFound
from venn.events import Event
from venn.schemas import AdminUserQuery, AdminUserUpdateIn
from venn.services.audit import require_admin
from venn.services.base import Service
from venn.services.views import iso, user_view

log = logging.getLogger("venn.admin")


def admin_user_view(user: User, viewer: User) -> dict[str, Any]:
    return {**user_view(user, viewer=viewer), "deactivated_at": iso(user.deactivated_at)}


class AdminService(Service):
    async def list_users(self, viewer: User, q: AdminUserQuery) -> dict[str, Any]:
        """People (not the plugins' bot accounts), newest first; ``before`` (a user id) pages back."""
        require_admin(viewer)
        query = User.filter(is_bot=False)
        if q.q:
            query = query.filter(Q(username_key__contains=q.q.casefold()) | Q(display_name__icontains=q.q))
        if q.role is not None:
            query = query.filter(role=Role(q.role))
        if q.deactivated is not None:
            query = query.filter(deactivated=q.deactivated)
        if q.before is not None:
            query = query.filter(id__lt=q.before)
        rows = await query.order_by("-id").limit(q.limit + 1)
        return {"users": [admin_user_view(u, viewer) for u in rows[: q.limit]], "has_more": len(rows) > q.limit}

    async def update_user(self, viewer: User, user_id: int, data: AdminUserUpdateIn) -> User:
        require_admin(viewer)
        revoked = False
        async with in_transaction():
            # The active admins first, always in id order, then the target: two admins
            # demoting each other at once wait for one another instead of deadlocking,
            # and the second sees the first's change.
            admins = (
                await User.filter(role=Role.ADMIN, deactivated=False, is_bot=False).order_by("id").select_for_update()
            )
            if viewer.id not in {a.id for a in admins}:  # demoted meanwhile
                raise Forbidden("Only admins can do that.", code="admin_only")
            target = await User.filter(id=user_id).select_for_update().first()
            if target is None:
                raise NotFound("No such user.")
            if target.is_bot:
                raise Conflict("Bot accounts belong to their plugins; they cannot be changed here.", code="bot_account")
            role = Role(data.role) if data.role is not None else target.role
            deactivated = data.deactivated if data.deactivated is not None else target.deactivated
            if target.role == Role.ADMIN and not target.deactivated and (role != Role.ADMIN or deactivated):
                if len(admins) <= 1:
                    raise Conflict(
                        "This is the last active admin: make someone else an admin first.", code="last_admin"
                    )
            changes: dict[str, Any] = {}
            if role != target.role:
                changes["role"] = role
                await self.core.audit.record(
                    viewer, "user.role", "user", target.id,
                    before={"role": str(target.role)}, after={"role": str(role)},
                )
            if deactivated and not target.deactivated:
                changes.update(deactivated=True, deactivated_at=datetime.now(UTC), token_version=F("token_version") + 1)
                await RefreshToken.filter(user_id=target.id).delete()
                await self.core.sessions.forget_all(target.id)
                await self.core.audit.record(
                    viewer, "user.deactivate", "user", target.id,
                    before={"deactivated": False}, after={"deactivated": True},
                )
                revoked = True
            elif not deactivated and target.deactivated:
                changes.update(deactivated=False, deactivated_at=None)
                await self.core.audit.record(
                    viewer, "user.reactivate", "user", target.id,
                    before={"deactivated": True}, after={"deactivated": False},
                )
            if changes:
                await User.filter(id=target.id).update(**changes)
            target = await User.get(id=target.id)
        if revoked:
            log.info("user deactivated", extra={"user_id": target.id, "by": viewer.id})
            # After commit: their sockets hear why, then are disconnected in every process.
            await self.events.publish(Event("session_revoked", {"user_id": target.id}, user_ids=(target.id,)))
        return target
