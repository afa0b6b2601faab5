"""Input models shared by every door (REST, Socket.IO, bots).

Unknown fields and wrong types are refused (422 with the failing fields). Rules
that depend on settings (message length) are checked in the service layer.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from venn.errors import ValidationFailed

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]
#: format characters allowed in names: the joiners that emoji sequences and some scripts need
_NAME_JOINERS = {"\u200c", "\u200d"}


def _clean_display_name(value: object) -> object:
    """NFC, and no control, line-separator or invisible format characters (bidirectional
    overrides among them): a name must look like what it is, so no look-alike can pass
    for someone else by reordering or hiding characters."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", value)
    for char in value:
        if unicodedata.category(char) in {"Cc", "Zl", "Zp", "Co", "Cs"} or (
            unicodedata.category(char) == "Cf" and char not in _NAME_JOINERS
        ):
            raise ValueError(f"must not contain control or invisible formatting characters (U+{ord(char):04X})")
    return value


DisplayName = Annotated[
    str,
    AfterValidator(_clean_display_name),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
]
ChannelName = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    StringConstraints(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_-]*$"),
]
Topic = Annotated[str, StringConstraints(strip_whitespace=True, max_length=250)]
ClientMsgId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
# Bodies are checked against VENN_MAX_MESSAGE_LENGTH in the service; this bound only
# stops absurd payloads early.
Body = Annotated[str, StringConstraints(max_length=100_000)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=False)


InviteCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class RegisterIn(Input):
    username: Username
    password: Password
    email: Email | None = None
    display_name: DisplayName | None = None
    #: needed when VENN_REGISTRATION=invite (ignored otherwise)
    invite_code: InviteCode | None = None


class LoginIn(Input):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RefreshIn(Input):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class UpdateMeIn(Input):
    display_name: DisplayName | None = None
    email: Email | None = None
    password: Password | None = None
    current_password: Annotated[str, StringConstraints(max_length=256)] | None = None


class ChannelCreateIn(Input):
    name: ChannelName
    topic: Topic = ""
    is_private: bool = False


class ChannelUpdateIn(Input):
    name: ChannelName | None = None
    topic: Topic | None = None


class AddMemberIn(Input):
    user_id: Id


#: the most people a direct conversation has besides the one who starts it
MAX_DM_OTHERS = 8


class DmCreateIn(Input):
    """The other people of a direct conversation (the caller is always in it)."""

    user_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_DM_OTHERS)]


class UserSearchQuery(BaseModel):
    """People search (query string): ``q`` a prefix of a username or display name."""

    model_config = ConfigDict(extra="ignore")
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    limit: Annotated[int, Field(ge=1, le=50)] = 20


class MarkReadIn(Input):
    message_id: Id


#: uploads (POST /files) a new message carries; the body may then be empty
FileIds = Annotated[list[Id], Field(max_length=10)]


class MessageCreateIn(Input):
    channel_id: Id
    body: Body
    thread_id: Id | None = None
    client_msg_id: ClientMsgId | None = None
    file_ids: FileIds = Field(default_factory=list)


class MessageEditIn(Input):
    body: Body


#: one emoji or a short name (``+1``); the service checks it is one (venn/services/reactions.py)
EmojiText = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ReactionIn(Input):
    emoji: EmojiText


ActionId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
ActionValue = Annotated[str, StringConstraints(max_length=200)]


class MessageActionIn(Input):
    """A click on a message's button (its value) or select (the option's value)."""

    action_id: ActionId
    value: ActionValue = ""


class TokenCreateIn(Input):
    name: DisplayName
    #: ``read``: GET requests (and reading over Socket.IO) only; ``write``: everything
    scopes: Annotated[list[Literal["read", "write"]], Field(min_length=1, max_length=2)]
    expires_in_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class EventSubscriptionIn(Input):
    #: checked in the service (after the admin check): scheme, host, addresses
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2048)]
    events: Annotated[list[Annotated[str, StringConstraints(max_length=64)]], Field(max_length=50)]
    channel_id: Id | None = None


class WebhookCreateIn(Input):
    #: the webhook's name: also the display name of the bot user it posts as
    name: DisplayName


class WebhookPostIn(Input):
    """What ``POST /hooks/{id}/{secret}`` takes: the text (checked like a message body)
    and an optional JSON object stored as the message's ``payload``."""

    text: Body
    payload: dict[str, Any] | None = None


class ThreadCreateIn(Input):
    channel_id: Id
    root_message_id: Id
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class PageQuery(BaseModel):
    """History paging (query string): ``limit`` 1..200, and at most one of before/after."""

    model_config = ConfigDict(extra="ignore")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Id | None = None
    after: Id | None = None

    @field_validator("after")
    @classmethod
    def _one_cursor(cls, value: int | None, info: Any) -> int | None:
        if value is not None and info.data.get("before") is not None:
            raise ValueError("give either before or after, not both")
        return value


class AdminUserQuery(BaseModel):
    """``GET /admin/users``: search by name, filter by role or state, page back with ``before``."""

    model_config = ConfigDict(extra="ignore")
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    role: Literal["admin", "member"] | None = None
    deactivated: bool | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Id | None = None


class AdminUserUpdateIn(Input):
    role: Literal["admin", "member"] | None = None
    deactivated: bool | None = None


class InviteCreateIn(Input):
    expires_in_days: Annotated[int, Field(ge=1, le=365)] | None = None
    max_uses: Annotated[int, Field(ge=1, le=100_000)] | None = None


class AuditQuery(BaseModel):
    """``GET /admin/audit``: newest first, filtered by actor, action (``user`` or
    ``user.role``) and target (``user`` or ``user:12``)."""

    model_config = ConfigDict(extra="ignore")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Id | None = None
    actor_id: Id | None = None
    action: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    target: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None


#: an ISO 8601 date or date and time (UTC when no offset is given)
SearchDate = Annotated[
    datetime,
    WithJsonSchema({"type": "string", "description": "ISO 8601 date or date-time; UTC when no offset is given"}),
]


class SearchQueryIn(BaseModel):
    """Search (query string): ``q`` (words, "phrases", -excluded, OR), optional filters,
    ``limit`` 1..50 and the ``cursor`` of the previous page."""

    model_config = ConfigDict(extra="ignore")
    # The limits stay out of the OpenAPI document: a URL far over them is refused by
    # the HTTP parser (400, not JSON) before it reaches this model.
    q: Annotated[
        str,
        StringConstraints(min_length=1, max_length=256),
        WithJsonSchema({"type": "string", "minLength": 1, "description": "The query: at most 256 characters."}),
    ]
    channel_id: Id | None = None
    from_user_id: Id | None = None
    before: SearchDate | None = None
    after: SearchDate | None = None
    limit: Annotated[int, Field(ge=1, le=50)] = 20
    cursor: Annotated[
        str,
        StringConstraints(min_length=1, max_length=1024),
        WithJsonSchema({"type": "string", "description": "The next_cursor of the previous page (opaque)."}),
    ] | None = None


class MentionQuery(BaseModel):
    """Paging the caller's mentions (query string): ``limit`` 1..200, ``before`` a message id."""

    model_config = ConfigDict(extra="ignore")
    limit: Annotated[int, Field(ge=1, le=200)] = 50
    before: Id | None = None


M = TypeVar("M", bound=BaseModel)


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as ``[{"field", "message"}]``, without echoing input values."""
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append({"field": loc, "message": msg})
    return out


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` into ``model`` or raise :class:`ValidationFailed`."""
    if not isinstance(data, dict):
        raise ValidationFailed([{"field": "body", "message": "expected a JSON object"}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(field_errors(exc)) from None
