"""Signed access and refresh tokens, and opaque paging cursors (itsdangerous).

A token carries the user id, the user's token version (bumped on logout, which
revokes every token of the user), the sign-in (session) it belongs to (ending that
session ends its tokens) and, for refresh tokens, a one-time id that the database
tracks so that a refresh token works once (rotation).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

ACCESS = "access"
REFRESH = "refresh"
#: the files cookie (venn.files): lets a browser's <img> fetch files, as an access token would
FILES = "files"


class TokenError(Exception):
    """The token is missing, malformed, forged or expired; the message says which."""


@dataclass(frozen=True)
class TokenClaims:
    user_id: int
    token_version: int
    kind: str
    jti: str | None = None
    #: the sign-in the token belongs to; None on tokens issued before sessions existed
    session_id: int | None = None


class TokenSigner:
    """Issues and verifies tokens with the server's secret key."""

    def __init__(self, secret_key: str, *, access_ttl: int, refresh_ttl: int) -> None:
        self._serializers = {
            ACCESS: URLSafeTimedSerializer(secret_key, salt="venn.access"),
            REFRESH: URLSafeTimedSerializer(secret_key, salt="venn.refresh"),
            FILES: URLSafeTimedSerializer(secret_key, salt="venn.files"),
        }
        self.ttl = {ACCESS: access_ttl, REFRESH: refresh_ttl, FILES: access_ttl}
        self._cursors = URLSafeSerializer(secret_key, salt="venn.cursor")

    def sign_cursor(self, data: Any) -> str:
        """An opaque paging cursor for ``data`` (JSON): clients cannot read or forge it."""
        return self._cursors.dumps(data)

    def read_cursor(self, cursor: str) -> Any:
        """The data of a cursor made by :meth:`sign_cursor`; :class:`TokenError` if it is not one."""
        if not cursor or len(cursor) > 1024:
            raise TokenError("The cursor is missing or malformed.")
        try:
            return self._cursors.loads(cursor)
        except BadSignature:
            raise TokenError("The cursor is invalid.") from None

    def issue_access(self, user_id: int, token_version: int, session_id: int | None = None) -> str:
        # a short nonce keeps two tokens issued in the same second distinct
        return self._serializers[ACCESS].dumps(_claims(user_id, token_version, session_id, n=secrets.token_urlsafe(6)))

    def issue_files(self, user_id: int, token_version: int, session_id: int | None = None) -> str:
        """The value of the files cookie (a different salt: it is no access token)."""
        return self._serializers[FILES].dumps(_claims(user_id, token_version, session_id, n=secrets.token_urlsafe(6)))

    def issue_refresh(self, user_id: int, token_version: int, session_id: int | None = None) -> tuple[str, str]:
        """Return ``(token, jti)``."""
        jti = secrets.token_urlsafe(24)
        return self._serializers[REFRESH].dumps(_claims(user_id, token_version, session_id, j=jti)), jti

    def verify(self, token: str, kind: str) -> TokenClaims:
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise TokenError("The token is missing or malformed.")
        try:
            data = self._serializers[kind].loads(token, max_age=self.ttl[kind])
        except SignatureExpired:
            raise TokenError("The token has expired.") from None
        except BadSignature:
            raise TokenError("The token is invalid.") from None
        if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("v"), int):
            raise TokenError("The token is invalid.")
        session_id = data.get("s")
        if session_id is not None and not isinstance(session_id, int):
            raise TokenError("The token is invalid.")
        return TokenClaims(
            user_id=data["u"], token_version=data["v"], kind=kind, jti=data.get("j"), session_id=session_id
        )


def _claims(user_id: int, token_version: int, session_id: int | None, **extra: str) -> dict[str, Any]:
    claims: dict[str, Any] = {"u": user_id, "v": token_version, **extra}
    if session_id is not None:
        claims["s"] = session_id
    return claims
