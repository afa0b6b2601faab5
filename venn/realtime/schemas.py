"""Input models of the client → server Socket.IO events (strict: unknown fields,
wrong types and missing fields are refused with ``validation_error``)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, StringConstraints, field_validator, model_validator

from venn.schemas import Body, ClientMsgId, EmojiText, FileIds, Id, Input

Cursor = Annotated[int, Field(ge=0, le=2**63 - 1)]
MAX_CURSORS = 100
_ID_KEY = re.compile(r"^[1-9][0-9]{0,18}$")


class ChannelRef(Input):
    channel_id: Id


class ThreadRef(Input):
    thread_id: Id


class MessageRef(Input):
    message_id: Id


class SendMessageIn(Input):
    channel_id: Id
    body: Body
    thread_id: Id | None = None
    #: required over the socket: it is what makes a retry safe
    client_msg_id: ClientMsgId
    #: uploads (POST /api/v1/files) the message carries; the body may then be empty
    file_ids: FileIds = Field(default_factory=list)


class EditMessageIn(Input):
    message_id: Id
    body: Body


class ReactionIn(Input):
    message_id: Id
    emoji: EmojiText


class MessageActionIn(Input):
    message_id: Id
    action_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    value: Annotated[str, StringConstraints(max_length=200)] = ""


class TypingIn(Input):
    channel_id: Id
    thread_id: Id | None = None
    #: false says "stopped typing" (e.g. the input was cleared)
    typing: bool = True


class MarkReadIn(Input):
    channel_id: Id
    message_id: Id


class SyncIn(Input):
    """``cursors``: channel id (a string, as JSON keys are) → last message id seen in
    its stream (0: none); ``thread_cursors``: the same for threads."""

    cursors: dict[str, Cursor] = Field(default_factory=dict)
    thread_cursors: dict[str, Cursor] = Field(default_factory=dict)
    limit: Annotated[int, Field(ge=1, le=200)] = 50

    @field_validator("cursors", "thread_cursors")
    @classmethod
    def _ids(cls, value: dict[str, int]) -> dict[str, int]:
        if len(value) > MAX_CURSORS:
            raise ValueError(f"at most {MAX_CURSORS} entries")
        for key in value:
            if not _ID_KEY.match(key) or int(key) > 2**63 - 1:
                raise ValueError(f"keys are ids (positive integers), not {key[:24]!r}")
        return value

    @model_validator(mode="after")
    def _something(self) -> SyncIn:
        if not self.cursors and not self.thread_cursors:
            raise ValueError("give cursors or thread_cursors")
        return self


class PingIn(Input):
    pass
