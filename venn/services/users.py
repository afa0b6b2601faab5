"""Accounts and sessions: register, log in, refresh, log out, profile."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.fields import CharField
from tortoise.transactions import in_transaction

from venn.db.models import PersonalToken, RefreshToken, Role, User
from venn.errors import Conflict, Forbidden, NotFound, RateLimited, Unauthorized, ValidationFailed
from venn.ratelimit import enforce
from venn.schemas import LoginIn, RegisterIn, UpdateMeIn
from venn.security.passwords import hash_password, verify_password
from venn.security.tokens import ACCESS, REFRESH, TokenError
from venn.services.base import Service
from venn.services.tokens import is_personal_token
from venn.services.views import user_view

log = logging.getLogger("venn.users")


@dataclass(frozen=True, slots=True)
class Credential:
    """Who a bearer token speaks for: the user, and the personal access token or the
    sign-in (session) it belongs to."""

    user: User
    personal_token: PersonalToken | None = None
    session_id: int | None = None


def username_key(username: str) -> str:
    """The case-folded form that makes usernames unique case-insensitively."""
    return username.strip().casefold()


class UserService(Service):
    async def register(
        self, data: RegisterIn, *, role: Role = Role.MEMBER, bypass_closed: bool = False, client_ip: str | None = None
    ) -> User:
        """Create an account, as ``VENN_REGISTRATION`` allows (``invite``: with a valid
        ``invite_code``, whose use is counted in the same transaction). With ``client_ip``
        (requests over the API) attempts are capped per address."""
        if client_ip is not None:
            # every attempt counts, so probing taken names or mass sign-ups are both slowed
            await enforce(
                self.limiter,
                f"register:{client_ip}",
                self.settings.registrations_per_address_per_minute,
                message="Too many registration attempts from your address; wait a minute and try again.",
            )
        policy = "open" if bypass_closed else self.settings.registration_policy
        if policy == "closed":
            raise Forbidden("Registration is closed on this server.", code="registration_closed")
        if policy == "invite" and not data.invite_code:
            raise Forbidden("Registration needs an invite link on this server.", code="invite_required")
        if await User.filter(username_key=username_key(data.username)).exists():
            raise Conflict("That username is taken.", code="username_taken")
        password_hash = await hash_password(data.password)
        try:
            async with in_transaction():
                if policy == "invite":
                    await self.core.invites.use(str(data.invite_code))
                user = await User.create(
                    username=data.username,
                    username_key=username_key(data.username),
                    email=data.email,
                    display_name=data.display_name or data.username,
                    password_hash=password_hash,
                    role=role,
                )
        except IntegrityError:
            raise Conflict("That username is taken.", code="username_taken") from None
        log.info("user registered", extra={"user_id": user.id, "role": str(role)})
        return user

    async def ensure_bot_user(self, username: str, display_name: str) -> User:
        """The bot account for a plugin (created on first use, no password)."""
        key = username_key(username)
        user = await User.get_or_none(username_key=key)
        if user is None:
            try:
                user = await User.create(
                    username=username, username_key=key, display_name=display_name, is_bot=True
                )
            except IntegrityError:
                user = await User.get(username_key=key)
        return user

    async def login(self, data: LoginIn, *, client_ip: str, user_agent: str | None = None) -> dict[str, Any]:
        await enforce(
            self.limiter,
            f"login:{username_key(data.username)}:{client_ip}",
            self.settings.rate_limit_logins_per_minute,
            message="Too many login attempts; wait a minute and try again.",
        )
        # Spraying many usernames from one address: its failed attempts are capped too.
        address_key = f"login-failed:{client_ip}"
        address_limit = self.settings.failed_logins_per_address_per_minute
        retry_after = await self.limiter.over(address_key, address_limit)
        if retry_after is not None:
            raise RateLimited(retry_after, "Too many failed logins from your address; wait a minute and try again.")
        key = username_key(data.username)
        # A name longer than any stored one (case folding can lengthen it) matches nobody.
        fits = len(key) <= cast(CharField, User._meta.fields_map["username_key"]).max_length
        user = await User.get_or_none(username_key=key, is_bot=False) if fits else None
        if not await verify_password(user.password_hash if user else None, data.password) or user is None:
            await self.limiter.hit(address_key, address_limit)
            raise Unauthorized("Wrong username or password.", code="invalid_credentials")
        if user.deactivated:
            # said only to whoever knows the password
            raise Unauthorized("This account has been deactivated by an administrator.", code="account_deactivated")
        session = await self.core.sessions.start(user, user_agent=user_agent, client_ip=client_ip)
        return await self._issue_session(user, session.id)

    async def refresh(self, refresh_token: str) -> dict[str, Any]:
        """Exchange a refresh token for a new pair; the old one stops working (rotation)."""
        try:
            claims = self.tokens.verify(refresh_token, REFRESH)
        except TokenError as exc:
            raise Unauthorized(str(exc), code="invalid_token") from None
        if claims.session_id is not None and not await self.core.sessions.exists([claims.session_id]):
            # the session was ended (its refresh tokens with it): no reuse, just over
            raise Unauthorized("This session has ended; log in again.", code="token_revoked")
        now = datetime.now(UTC)
        async with in_transaction():
            # Mark used atomically: exactly one of two racing refreshes wins.
            updated = await RefreshToken.filter(jti=claims.jti, used_at=None, user_id=claims.user_id).update(
                used_at=now
            )
            user = await User.get_or_none(id=claims.user_id)
        if user is None or user.token_version != claims.token_version or user.deactivated:
            raise Unauthorized("The token has been revoked.", code="token_revoked")
        if not updated:
            # A refresh token presented twice was stolen or replayed: revoke everything.
            await self.revoke_all(user)
            log.warning("refresh token reuse; all sessions revoked", extra={"user_id": user.id})
            raise Unauthorized("The token has already been used; please log in again.", code="token_revoked")
        session_id = claims.session_id
        if session_id is None:
            # issued before sessions existed: it becomes one now
            session_id = (await self.core.sessions.start(user, user_agent=None, client_ip=None)).id
        else:
            await self.core.sessions.check(user.id, session_id)
        return await self._issue_session(user, session_id)

    async def _issue_session(self, user: User, session_id: int) -> dict[str, Any]:
        access = self.tokens.issue_access(user.id, user.token_version, session_id)
        refresh, jti = self.tokens.issue_refresh(user.id, user.token_version, session_id)
        await RefreshToken.create(
            jti=jti,
            user_id=user.id,
            token_version=user.token_version,
            expires_at=datetime.now(UTC) + timedelta(seconds=self.tokens.ttl[REFRESH]),
            session_id=session_id,
        )
        await RefreshToken.filter(user_id=user.id, expires_at__lt=datetime.now(UTC)).delete()
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": self.tokens.ttl[ACCESS],
            "user": user_view(user, viewer=user),
        }

    async def authenticate(self, access_token: str) -> User:
        """The user behind an access token (or a personal access token), or
        :class:`Unauthorized` saying why."""
        return (await self.authenticate_any(access_token)).user

    async def authenticate_any(self, access_token: str) -> Credential:
        """Who an access token or personal access token speaks for, or
        :class:`Unauthorized` saying why (an ended session is ``token_revoked``)."""
        if is_personal_token(access_token):
            owner, personal = await self.core.personal_tokens.authenticate(access_token)
            return Credential(owner, personal_token=personal)
        try:
            claims = self.tokens.verify(access_token, ACCESS)
        except TokenError as exc:
            raise Unauthorized(str(exc), code="invalid_token") from None
        user = await User.get_or_none(id=claims.user_id)
        if user is None or user.token_version != claims.token_version or user.deactivated:
            raise Unauthorized("The token has been revoked.", code="token_revoked")
        if claims.session_id is not None:
            await self.core.sessions.check(user.id, claims.session_id)
        return Credential(user, session_id=claims.session_id)

    async def revoke_all(self, user: User) -> None:
        """Log out everywhere: every access and refresh token of the user stops working."""
        await User.filter(id=user.id).update(token_version=user.token_version + 1)
        user.token_version += 1
        await RefreshToken.filter(user_id=user.id).delete()
        await self.core.sessions.forget_all(user.id)
        await self.publish_user_event("session_revoked", user.id, {"user_id": user.id})

    async def publish_user_event(self, name: str, user_id: int, data: dict[str, Any]) -> None:
        from venn.events import Event

        await self.events.publish(Event(name=name, data=data, user_ids=(user_id,)))

    async def update_me(self, user: User, data: UpdateMeIn, *, session_id: int | None = None) -> User:
        """Change the profile; a new password ends every other session (all but
        ``session_id``, the one that asked) and every personal access token."""
        changes: dict[str, Any] = {}
        if data.display_name is not None:
            changes["display_name"] = data.display_name
        if "email" in data.model_fields_set:
            changes["email"] = data.email
        if data.password is not None:
            # guessing the current password through a stolen session is capped per user
            guess_key = f"password-change-failed:{user.id}"
            guess_limit = self.settings.failed_password_changes_per_user_per_minute
            retry_after = await self.limiter.over(guess_key, guess_limit)
            if retry_after is not None:
                raise RateLimited(retry_after, "Too many wrong current passwords; wait a minute and try again.")
            if not data.current_password or not await verify_password(user.password_hash, data.current_password):
                await self.limiter.hit(guess_key, guess_limit)
                raise ValidationFailed(
                    [{"field": "current_password", "message": "the current password is required and must match"}]
                )
            changes["password_hash"] = await hash_password(data.password)
        if changes:
            await User.filter(id=user.id).update(**changes)
            for key, value in changes.items():
                setattr(user, key, value)
        if "display_name" in changes:
            # internal (not sent to clients): the sockets' checked senders, which carry the
            # author's name into new messages, are loaded again in every process
            await self.publish_user_event("profile_changed", user.id, {"user_id": user.id})
        if "password_hash" in changes:
            # whoever knew the old password may hold a session or token made with it
            await self.core.sessions.end_others(user, keep=session_id)
            await self.core.personal_tokens.revoke_all_of(user.id)
        return user

    async def get(self, user_id: int) -> User:
        user = await User.get_or_none(id=user_id)
        if user is None:
            raise NotFound("No such user.")
        return user

    async def search(self, query: str, limit: int) -> list[User]:
        """People whose username or display name starts with ``query`` (any case):
        the exact username first, then by username; deactivated accounts are left out."""
        key = username_key(query)
        exact = await User.get_or_none(username_key=key, deactivated=False)
        matches = (
            await User.filter(Q(username_key__startswith=key) | Q(display_name__istartswith=query), deactivated=False)
            .exclude(username_key=key)
            .order_by("username_key")
            .limit(limit)
        )
        return ([exact] if exact is not None else []) + matches[: limit - (exact is not None)]

    async def touch_last_seen(self, user_id: int) -> None:
        await User.filter(id=user_id).update(last_seen_at=datetime.now(UTC))
