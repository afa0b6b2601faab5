"""Invite links (``VENN_REGISTRATION=invite``): admins make and revoke them; each
registration with a code counts one use, atomically, so a link with ``max_uses``
lets exactly that many accounts in however many register at once."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q

from venn.db.models import Invite, User
from venn.errors import Forbidden, NotFound
from venn.schemas import InviteCreateIn
from venn.services.audit import require_admin
from venn.services.base import Service
from venn.services.views import iso


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def invite_view(invite: Invite) -> dict[str, Any]:
    expires_at = _aware(invite.expires_at)
    expired = expires_at is not None and expires_at <= datetime.now(UTC)
    used_up = invite.max_uses is not None and invite.uses >= invite.max_uses
    return {
        "id": invite.id,
        "code": invite.code,
        "created_by": invite.created_by_id,
        "created_at": iso(invite.created_at),
        "expires_at": iso(invite.expires_at),
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "revoked": invite.revoked_at is not None,
        "active": invite.revoked_at is None and not expired and not used_up,
    }


class InviteService(Service):
    async def create(self, admin: User, data: InviteCreateIn) -> Invite:
        require_admin(admin)
        expires_at = None
        if data.expires_in_days is not None:
            expires_at = datetime.now(UTC) + timedelta(days=data.expires_in_days)
        invite = await Invite.create(
            code=secrets.token_urlsafe(18), created_by_id=admin.id, expires_at=expires_at, max_uses=data.max_uses
        )
        await self.core.audit.record(
            admin, "invite.create", "invite", invite.id,
            after={"expires_at": iso(expires_at), "max_uses": data.max_uses},
        )
        return invite

    async def list(self, admin: User) -> list[Invite]:
        """The newest 200 invites, revoked and used-up ones included."""
        require_admin(admin)
        return await Invite.all().order_by("-id").limit(200)

    async def revoke(self, admin: User, invite_id: int) -> None:
        require_admin(admin)
        invite = await Invite.get_or_none(id=invite_id)
        if invite is None:
            raise NotFound("No such invite.")
        if invite.revoked_at is not None:
            return
        await Invite.filter(id=invite.id, revoked_at=None).update(revoked_at=datetime.now(UTC))
        await self.core.audit.record(
            admin, "invite.revoke", "invite", invite.id, before={"revoked": False}, after={"revoked": True}
        )

    async def use(self, code: str) -> None:
        """Count one use of a valid code (in the caller's transaction), or refuse."""
        now = datetime.now(UTC)
        counted = (
            await Invite.filter(code=code, revoked_at=None)
            .filter(Q(expires_at=None) | Q(expires_at__gt=now))
            .filter(Q(max_uses=None) | Q(uses__lt=F("max_uses")))
            .update(uses=F("uses") + 1)
        )
        if not counted:
            raise Forbidden(
                "This invite link is not valid: it may have expired, been used up or revoked.", code="invalid_invite"
            )
