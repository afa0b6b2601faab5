"""Sign-ins (sessions): one row per login, named by that login's access and refresh tokens.

Ending a session deletes its row and refresh tokens, so its access tokens fail their
next check (REST checks on every request) and its sockets are disconnected in every
process (the internal ``sessions_ended`` event; the sockets' heartbeat re-check catches
one lost while Redis was away). A password change ends every session but the one that
changed it. ``last_used_at`` is written at most once a minute per session.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from venn.db.models import RefreshToken, User, UserSession
from venn.errors import NotFound, Unauthorized
from venn.events import Event
from venn.services.base import Service
from venn.services.views import iso

log = logging.getLogger("venn.sessions")

#: last_used_at is written at most this often per session (not on every request)
TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_CHARS = 256


def clean_user_agent(raw: str | None) -> str | None:
    """A user agent fit to store and show: no control or format characters, bounded."""
    if not raw:
        return None
    text = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C").strip()
    return text[:USER_AGENT_CHARS] or None


def session_view(session: UserSession, *, current_id: int | None) -> dict[str, Any]:
    return {
        "id": session.id,
        "created_at": iso(session.created_at),
        "last_used_at": iso(session.last_used_at),
        "user_agent": session.user_agent,
        "client_ip": session.client_ip,
        "current": session.id == current_id,
    }


class SessionService(Service):
    async def start(self, user: User, *, user_agent: str | None, client_ip: str | None) -> UserSession:
        """A new sign-in of ``user``."""
        return await UserSession.create(
            user_id=user.id,
            last_used_at=datetime.now(UTC),
            user_agent=clean_user_agent(user_agent),
            client_ip=(client_ip or None) and client_ip[:64],
        )

    async def check(self, user_id: int, session_id: int) -> None:
        """:class:`Unauthorized` (``token_revoked``) unless the session is still there;
        records that it was used."""
        session = await UserSession.get_or_none(id=session_id, user_id=user_id)
        if session is None:
            raise Unauthorized("This session has ended; log in again.", code="token_revoked")
        now = datetime.now(UTC)
        if now - session.last_used_at > TOUCH_EVERY:
            await UserSession.filter(id=session_id).update(last_used_at=now)

    async def of_user(self, user: User, *, current_id: int | None) -> list[dict[str, Any]]:
        """The user's sessions, the most recently used first."""
        sessions = await UserSession.filter(user_id=user.id).order_by("-last_used_at", "-id")
        return [session_view(s, current_id=current_id) for s in sessions]

    async def end(self, user: User, session_id: int) -> None:
        """End one of the user's sessions (404 when it is not theirs or already over)."""
        if not await self._end(user.id, [session_id]):
            raise NotFound("No such session.")

    async def end_others(self, user: User, *, keep: int | None) -> int:
        """End every session of the user but ``keep``; returns how many ended."""
        query = UserSession.filter(user_id=user.id)
        if keep is not None:
            query = query.exclude(id=keep)
        ids = [s.id for s in await query.only("id")]
        return await self._end(user.id, ids)

    async def forget_all(self, user_id: int) -> None:
        """Delete the rows of every session of the user, whose tokens a bumped
        ``token_version`` has already ended (log out everywhere, deactivation)."""
        await UserSession.filter(user_id=user_id).delete()

    async def exists(self, session_ids: list[int]) -> set[int]:
        """Which of these sessions are still there (the sockets' heartbeat re-check)."""
        if not session_ids:
            return set()
        return {s.id for s in await UserSession.filter(id__in=session_ids).only("id")}

    async def _end(self, user_id: int, session_ids: list[int]) -> int:
        if not session_ids:
            return 0
        ended = await UserSession.filter(id__in=session_ids, user_id=user_id).delete()
        if ended:
            await RefreshToken.filter(session_id__in=session_ids).delete()
            log.info("sessions ended", extra={"user_id": user_id, "count": ended})
            # not for clients: every process disconnects the sockets of those sessions
            data = {"user_id": user_id, "session_ids": session_ids}
            await self.events.publish(Event("sessions_ended", data, user_ids=(user_id,)))
        return ended
