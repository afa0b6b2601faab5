"""Personal access tokens: long-lived bearer credentials with scopes, for scripts.

A token reads ``venn_pat_<id>_<secret>``; only a SHA-256 of the secret is stored, and
it is compared in constant time. A token stops working when it is revoked, when it
expires, when its user logs out everywhere or is deactivated (both bump the user's
``token_version``, which the token was made under) and when its user's password
changes (the user's tokens are then deleted). Revoking publishes ``pat_revoked``, on
which every server process disconnects the sockets signed in with those tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from venn.db.models import PersonalToken, User
from venn.errors import NotFound, Unauthorized
from venn.events import Event
from venn.schemas import TokenCreateIn
from venn.services.base import Service
from venn.services.views import iso

log = logging.getLogger("venn.tokens")

PREFIX = "venn_pat_"
#: last_used_at is written at most this often per token (not on every request)
TOUCH_EVERY = timedelta(minutes=1)
_NO_HASH = hashlib.sha256(b"no such token").hexdigest()


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def token_view(token: PersonalToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "name": token.name,
        "scopes": list(token.scopes),
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "last_used_at": iso(token.last_used_at),
    }


def is_personal_token(raw: str) -> bool:
    return raw.startswith(PREFIX)


class PersonalTokenService(Service):
    async def create(self, user: User, data: TokenCreateIn) -> dict[str, Any]:
        """A new token; its secret is in this answer only."""
        secret = secrets.token_urlsafe(32)
        expires = (
            datetime.now(UTC) + timedelta(days=data.expires_in_days) if data.expires_in_days is not None else None
        )
        scopes = sorted(set(data.scopes))
        token = await PersonalToken.create(
            user_id=user.id, name=data.name, scopes=scopes, secret_hash=_hash(secret),
            token_version=user.token_version, expires_at=expires,
        )
        log.info("personal token created", extra={"user_id": user.id, "token_id": token.id})
        return {"token": token_view(token), "secret": f"{PREFIX}{token.id}_{secret}"}

    async def of_user(self, user: User) -> list[dict[str, Any]]:
        tokens = await PersonalToken.filter(user_id=user.id, token_version=user.token_version).order_by("id")
        return [token_view(t) for t in tokens]

    async def revoke(self, user: User, token_id: int) -> None:
        deleted = await PersonalToken.filter(id=token_id, user_id=user.id).delete()
        if not deleted:
            raise NotFound("No such token.")
        await self._revoked(user.id, [token_id])

    async def revoke_all_of(self, user_id: int) -> None:
        """Every token of the user (a password change)."""
        ids: list[int] = [t.id for t in await PersonalToken.filter(user_id=user_id).only("id")]
        if ids:
            await PersonalToken.filter(id__in=ids).delete()
            await self._revoked(user_id, ids)

    async def _revoked(self, user_id: int, token_ids: list[int]) -> None:
        data = {"user_id": user_id, "token_ids": token_ids}
        await self.events.publish(Event("pat_revoked", data, user_ids=(user_id,)))

    async def authenticate(self, raw: str) -> tuple[User, PersonalToken]:
        """The user and token behind ``venn_pat_<id>_<secret>``, or :class:`Unauthorized`."""
        token_id, _, secret = raw[len(PREFIX):].partition("_")
        token = None
        if token_id.isdigit() and len(token_id) <= 18 and secret:
            token = await PersonalToken.get_or_none(id=int(token_id))
        matches = hmac.compare_digest(_hash(secret), token.secret_hash if token is not None else _NO_HASH)
        if token is None or not matches:
            raise Unauthorized("The token is invalid.", code="invalid_token")
        now = datetime.now(UTC)
        if token.expires_at is not None and token.expires_at <= now:
            raise Unauthorized("The token has expired.", code="invalid_token")
        user = await User.get_or_none(id=token.user_id)
        if user is None or user.token_version != token.token_version or user.deactivated:
            raise Unauthorized("The token has been revoked.", code="token_revoked")
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            await PersonalToken.filter(id=token.id).update(last_used_at=now)
        return user, token

    async def exists(self, token_ids: list[int]) -> set[int]:
        """Which of these tokens are still there (the sockets' heartbeat re-check)."""
        if not token_ids:
            return set()
        return {t.id for t in await PersonalToken.filter(id__in=token_ids).only("id")}
