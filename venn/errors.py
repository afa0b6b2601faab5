"""Errors the service layer raises; every transport turns them into its error shape.

REST answers ``{"error": {"code", "message"}}`` with ``status``; Socket.IO acks
``{"ok": false, "error": {"code", "message"}}``. Messages are safe to show to users.
"""

from __future__ import annotations

from typing import Any


class VennError(Exception):
    """Base of all client-facing errors."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.extra = extra

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class BadRequest(VennError):
    status, code = 400, "bad_request"


class Unauthorized(VennError):
    status, code = 401, "unauthorized"


class Forbidden(VennError):
    status, code = 403, "forbidden"


class NotFound(VennError):
    status, code = 404, "not_found"


class Conflict(VennError):
    status, code = 409, "conflict"


class PayloadTooLarge(VennError):
    status, code = 413, "payload_too_large"


class ValidationFailed(VennError):
    """Field errors: ``fields`` lists ``{"field": "a.b", "message": "..."}``."""

    status, code = 422, "validation_error"

    def __init__(self, fields: list[dict[str, str]], message: str | None = None) -> None:
        names = ", ".join(f["field"] for f in fields) or "request"
        super().__init__(message or f"Invalid value for: {names}.", fields=fields)
        self.fields = fields


class RateLimited(VennError):
    status, code = 429, "rate_limited"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        super().__init__(
            message or f"Too many requests; try again in {retry_after} s.", retry_after=retry_after
        )
        self.retry_after = retry_after


class Unavailable(VennError):
    status, code = 503, "unavailable"
