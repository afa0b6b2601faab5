"""Client → server events: thin callers of the service layer.

Every event answers through its ack: ``{"ok": true, ...}`` or ``{"ok": false,
"error": {"code", "message", ...}}``; nothing raises out of a handler. Before a
handler runs, the socket's flood guard, the payload size and the payload's shape
are checked. Events that touch the database load the user afresh and refuse a
revoked session (``send_message`` checks the session in the same query that checks
the sender's membership). Events of one socket that change state run one at a time, in
the order they arrived (``typing`` and ``ping`` skip the queue; ``send_message``s are
checked side by side and then take their places in their channels' order in the
order they arrived).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel
from tortoise.exceptions import DBConnectionError

from venn.db.models import User
from venn.errors import Forbidden, PayloadTooLarge, RateLimited, Unauthorized, Unavailable, ValidationFailed, VennError
from venn.realtime import schemas as s
from venn.realtime.connections import SocketState
from venn.realtime.server import Realtime, channel_room, thread_room
from venn.realtime.typing_status import Typist
from venn.realtime.wire import UNREADABLE_EVENT
from venn.schemas import MessageCreateIn, parse
from venn.services.views import iso, thread_view

log = logging.getLogger("venn.realtime.events")

try:  # the PostgreSQL driver's connection errors
    import asyncpg

    _DB_DOWN: tuple[type[BaseException], ...] = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError)
except ImportError:  # pragma: no cover
    _DB_DOWN = ()
_DB_DOWN = (*_DB_DOWN, DBConnectionError, ConnectionError, OSError)

Handler = Callable[[Realtime, SocketState, Any, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class EventSpec:
    name: str
    handler: Handler
    model: type[BaseModel]
    #: loads the user from the database (and so re-checks the session)
    needs_user: bool = True
    #: runs in arrival order with the socket's other ordered events
    ordered: bool = True
    #: payload may be omitted
    optional: bool = False


EVENTS: dict[str, EventSpec] = {}


def event(name: str, model: type[BaseModel], **options: Any):
    def register(handler: Handler) -> Handler:
        EVENTS[name] = EventSpec(name, handler, model, **options)
        return handler

    return register


def ok(**fields: Any) -> dict[str, Any]:
    return {"ok": True, **fields}


def failure(exc: VennError) -> dict[str, Any]:
    return {"ok": False, "error": exc.to_dict()}


def internal_error() -> dict[str, Any]:
    return {"ok": False, "error": {"code": "internal_error", "message": "Something went wrong on the server."}}


#: what a socket signed in with a ``read``-only personal access token may not do
WRITE_EVENTS = frozenset(
    {"send_message", "edit_message", "delete_message", "add_reaction", "remove_reaction", "mark_read", "typing",
     "message_action"}
)


def not_joined(what: str) -> Forbidden:
    return Forbidden(f"Join the {what} first.", code="not_joined")


# Dispatch ---------------------------------------------------------------------


def register_handlers(rt: Realtime) -> None:
    for spec in EVENTS.values():
        rt.sio.on(spec.name, _bind(rt, spec))

    async def unknown(event: Any, sid: str, *args: Any):
        state = rt.connections.get(sid)
        name = str(event)[:64]
        rt.services.metrics.socket_events.labels(event="unknown", outcome="ignored").inc()
        if state is not None and not state.bucket.take():
            _log_flood(state, name)
        else:
            log.info("unknown socket event ignored", extra={"event": name, "sid": sid})
        return rt.sio.not_handled  # no ack for unknown events

    rt.sio.on("*", unknown)

    async def unreadable(sid: str, *args: Any):
        # A payload that is not JSON or is nested too deeply (see venn/realtime/wire.py).
        state = rt.connections.get(sid)
        rt.services.metrics.socket_events.labels(event="unknown", outcome="refused").inc()
        if state is not None and not state.bucket.take():
            _log_flood(state, "unreadable")
        return failure(
            ValidationFailed([{"field": "payload", "message": "not valid JSON, or nested too deeply"}],
                             "The payload could not be read.")
        )

    rt.sio.on(UNREADABLE_EVENT, unreadable)


def _bind(rt: Realtime, spec: EventSpec):
    async def handle(sid: str, *args: Any):
        return await dispatch(rt, spec, sid, args)

    handle.__name__ = f"on_{spec.name}"
    return handle


async def dispatch(rt: Realtime, spec: EventSpec, sid: str, args: tuple[Any, ...]) -> dict[str, Any]:
    started = time.perf_counter()
    state = rt.connections.get(sid)
    outcome = "ok"
    try:
        if state is None:
            raise Unauthorized("The socket is not signed in; connect again.", code="not_connected")
        if not state.bucket.take():
            _log_flood(state, spec.name)
            outcome = "flood"
            return failure(RateLimited(1, "Too many events on this socket; slow down."))
        if state.read_only and spec.name in WRITE_EVENTS:
            raise Forbidden("This token may only read (its scopes: read).", code="insufficient_scope")
        payload = _payload(rt, spec, args)
        lock = state.lock if spec.ordered else contextlib.nullcontext()
        async with lock:
            user = await _current_user(rt, state) if spec.needs_user else None
            result = await spec.handler(rt, state, user, payload)
        return ok(**result)
    except VennError as exc:
        outcome = exc.code
        log.info(
            "socket event refused",
            extra={"event": spec.name, "sid": sid, "user_id": state.user_id if state else None,
                   "code": exc.code, "reason": exc.message},
        )
        return failure(exc)
    except _DB_DOWN:
        outcome = "unavailable"
        log.error("database unavailable", extra={"event": spec.name, "sid": sid}, exc_info=True)
        return failure(Unavailable("The database is unavailable; try again shortly."))
    except Exception:
        outcome = "internal_error"
        log.exception("socket event failed", extra={"event": spec.name, "sid": sid})
        return internal_error()
    finally:
        rt.services.metrics.socket_events.labels(event=spec.name, outcome=outcome).inc()
        elapsed = (time.perf_counter() - started) * 1000
        log.debug("socket event %s %s %.1fms", spec.name, outcome, elapsed, extra={"sid": sid})


def _payload(rt: Realtime, spec: EventSpec, args: tuple[Any, ...]) -> Any:
    if len(args) > 1:
        raise ValidationFailed([{"field": "body", "message": "send one object as the event's data"}])
    data = args[0] if args else None
    if data is None and spec.optional:
        data = {}
    try:
        size = len(orjson.dumps(data))  # compact UTF-8, as the payload came
    except TypeError:
        raise ValidationFailed([{"field": "body", "message": "expected a JSON object (no binary data)"}]) from None
    if size > rt.max_event_bytes:
        raise PayloadTooLarge(f"The event's data is larger than {rt.max_event_bytes} bytes.")
    return parse(spec.model, data)


async def _current_user(rt: Realtime, state: SocketState) -> User:
    user = await User.get_or_none(id=state.user_id)
    if user is None or user.token_version != state.token_version:
        raise _revoked(rt, state)
    return user


def _revoked(rt: Realtime, state: SocketState) -> Unauthorized:
    """Logged out meanwhile: the refusal to answer with; the disconnect follows it."""
    rt.sio.start_background_task(rt.drop, state.sid, "session_revoked")
    return Unauthorized("The session was revoked; log in again.", code="token_revoked")


def _log_flood(state: SocketState, event: str) -> None:
    now = time.monotonic()
    if now - state.last_flood_log >= 5:
        state.last_flood_log = now
        log.warning(
            "socket flood: events refused",
            extra={"sid": state.sid, "user_id": state.user_id, "event": event, "client_ip": state.client_ip},
        )


# Rooms --------------------------------------------------------------------------


@event("join_channel", s.ChannelRef)
async def join_channel(rt: Realtime, state: SocketState, user: User, data: s.ChannelRef):
    channels = rt.services.channels
    channel = await channels.require_member(user, data.channel_id)
    await rt.sio.enter_room(state.sid, channel_room(channel.id))
    state.channels.add(channel.id)
    return {"channel": await channels.view(user, channel)}


@event("leave_channel", s.ChannelRef, needs_user=False)
async def leave_channel(rt: Realtime, state: SocketState, user: None, data: s.ChannelRef):
    await rt.leave_channel_rooms(state, data.channel_id)
    return {"channel_id": data.channel_id}


@event("join_thread", s.ThreadRef)
async def join_thread(rt: Realtime, state: SocketState, user: User, data: s.ThreadRef):
    thread = await rt.services.threads.get_visible(user, data.thread_id)
    await rt.services.channels.require_member(user, thread.channel_id)
    await rt.sio.enter_room(state.sid, thread_room(thread.id))
    state.threads[thread.id] = thread.channel_id
    return {"thread": thread_view(thread)}


@event("leave_thread", s.ThreadRef, needs_user=False)
async def leave_thread(rt: Realtime, state: SocketState, user: None, data: s.ThreadRef):
    await rt.sio.leave_room(state.sid, thread_room(data.thread_id))
    state.threads.pop(data.thread_id, None)
    return {"thread_id": data.thread_id}


# Messages -----------------------------------------------------------------------


@event("send_message", s.SendMessageIn, needs_user=False, ordered=False)
async def send_message(rt: Realtime, state: SocketState, user: None, data: s.SendMessageIn):
    # The hot path: the service checks the session in the query that checks membership,
    # once per channel while nothing changes (the socket's ``may_post`` memo).
    # A socket's posts are checked side by side, then take their places in their
    # channels' order in the order they arrived, and are written from there.
    message = MessageCreateIn.model_construct(**data.model_dump())
    ticket = state.sends.ticket()
    try:
        result = await rt.services.messages.post_for_session(
            state.user_id, state.token_version, message,
            turn=lambda: state.sends.wait(ticket), queued=lambda: state.sends.done(ticket),
            checked=state.may_post,
        )
    except Unauthorized as exc:
        if exc.code == "token_revoked":
            raise _revoked(rt, state) from None
        raise
    finally:
        state.sends.done(ticket)
    return {"message": result.message, "created": result.created}


@event("edit_message", s.EditMessageIn)
async def edit_message(rt: Realtime, state: SocketState, user: User, data: s.EditMessageIn):
    return {"message": await rt.services.messages.edit(user, data.message_id, data.body)}


@event("delete_message", s.MessageRef)
async def delete_message(rt: Realtime, state: SocketState, user: User, data: s.MessageRef):
    return {"message": await rt.services.messages.delete(user, data.message_id)}


@event("add_reaction", s.ReactionIn)
async def add_reaction(rt: Realtime, state: SocketState, user: User, data: s.ReactionIn):
    return {"message": await rt.services.reactions.add(user, data.message_id, data.emoji)}


@event("remove_reaction", s.ReactionIn)
async def remove_reaction(rt: Realtime, state: SocketState, user: User, data: s.ReactionIn):
    return {"message": await rt.services.reactions.remove(user, data.message_id, data.emoji)}


@event("message_action", s.MessageActionIn)
async def message_action(rt: Realtime, state: SocketState, user: User, data: s.MessageActionIn):
    return await rt.services.actions.click(user, data.message_id, data.action_id, data.value)


@event("mark_read", s.MarkReadIn)
async def mark_read(rt: Realtime, state: SocketState, user: User, data: s.MarkReadIn):
    return await rt.services.channels.mark_read(user, data.channel_id, data.message_id)


@event("sync", s.SyncIn)
async def sync(rt: Realtime, state: SocketState, user: User, data: s.SyncIn):
    result = await rt.services.messages.sync(
        user,
        {int(k): v for k, v in data.cursors.items()},
        {int(k): v for k, v in data.thread_cursors.items()},
        data.limit,
    )
    return {**result, "server_time": iso(datetime.now(UTC))}


# Ephemeral ------------------------------------------------------------------------


@event("typing", s.TypingIn, needs_user=False, ordered=False)
async def typing(rt: Realtime, state: SocketState, user: None, data: s.TypingIn):
    # Only from a room this socket joined (so membership was checked): no database.
    if data.thread_id is not None:
        if state.threads.get(data.thread_id) != data.channel_id:
            raise not_joined("thread")
    elif data.channel_id not in state.channels:
        raise not_joined("channel")
    who = Typist(data.channel_id, data.thread_id, state.user_id, state.username)
    options = rt.options
    if data.typing:
        if await rt.typing.touch(who, options.typing_ttl, options.typing_throttle):
            await rt.emit_typing(who, True, skip_sid=state.sid)
    elif await rt.typing.stop(who):
        await rt.emit_typing(who, False, skip_sid=state.sid)
    return {}


@event("ping", s.PingIn, needs_user=False, ordered=False, optional=True)
async def ping(rt: Realtime, state: SocketState, user: None, data: s.PingIn):
    return {"server_time": iso(datetime.now(UTC))}
