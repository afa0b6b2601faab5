"""The Socket.IO server: connections, presence and typing broadcasts, control messages.

One :class:`Realtime` per app. It owns python-socketio's ``AsyncServer`` (attached at
``/socket.io/``), the registry of this process's sockets, and a ticker that
announces users going offline, ends expired typing indicators and, every few
seconds, sends the presence heartbeat and re-checks that every socket's session is
still valid.

Delivery is the client manager's job (``venn/realtime/managers.py``: with
``REDIS_URL`` every emit reaches the sockets of every process, and control
messages reach :meth:`Realtime.control` in every process). What python-socketio
offers no public hook for goes through ``venn/realtime/sio_compat.py``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web
from socketio.exceptions import ConnectionRefusedError as Refused

from venn.config import Settings
from venn.db.models import User
from venn.errors import VennError
from venn.presence import OFFLINE, ONLINE
from venn.proxies import client_address, origin_matches_host, public_host
from venn.realtime import sio_compat as compat
from venn.realtime.connections import Connections, SocketState, TokenBucket
from venn.realtime.managers import CONTROL_EVENT, CONTROL_ROOM, LocalManager, RedisManager
from venn.realtime.options import RealtimeOptions
from venn.realtime.typing_status import MemoryTyping, RedisTyping, TypingStore, Typist
from venn.realtime.wire import WirePacket
from venn.services import Services
from venn.services.views import iso

log = logging.getLogger("venn.realtime")

__all__ = ["CONTROL_EVENT", "REALTIME", "Realtime", "channel_room", "spawn", "thread_room", "user_room"]

#: Socket.IO packets larger than this close the connection (engine level); events
#: over VENN_MAX_BODY_BYTES are refused one by one with an error ack.
MIN_ENGINE_BUFFER = 1024 * 1024
#: on shutdown, how long sockets get to flush what is queued for them
SHUTDOWN_FLUSH_SECONDS = 2.0
#: a socket may send this many times its per-second allowance at once (e.g. joining
#: the rooms of all its channels after connecting)
BURST_FACTOR = 4
#: references to fire-and-forget tasks, so that they are not collected mid-way
_background: set[asyncio.Task] = set()


def spawn(coro) -> asyncio.Task:
    """Run ``coro`` on its own, keeping a reference until it ends."""
    task = asyncio.ensure_future(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def channel_room(channel_id: int) -> str:
    return f"channel:{channel_id}"


def thread_room(thread_id: int) -> str:
    return f"thread:{thread_id}"


def refuse(message: str, code: str) -> Refused:
    """A refused connection: the client's ``connect_error`` has ``message`` and ``data.code``."""
    return Refused(message, {"code": code})


def check_origin(settings: Settings, environ: Any, logged: set[tuple[str, str]] | None = None) -> None:
    """Refuse (``origin_not_allowed``) a browser whose page is on another origin than the
    server's public host and not in ``VENN_CORS_ORIGINS``. Clients that send no
    ``Origin`` (not browsers) pass.

    The public host is ``X-Forwarded-Host`` from a trusted proxy, else ``Host``, port
    included (venn/proxies.py). A refusal is logged once per origin and host in ``logged``.
    """
    origin = environ.get("HTTP_ORIGIN") if isinstance(environ, dict) else None
    if not origin:
        return
    allowed = settings.cors_origins
    if "*" in allowed or origin.rstrip("/") in allowed:
        return
    request = compat.http_request(environ)
    host = public_host(request) if request is not None else str(environ.get("HTTP_HOST", ""))
    if origin_matches_host(origin, host):
        return
    if logged is None or ((origin, host) not in logged and len(logged) < 100):
        if logged is not None:
            logged.add((origin, host))
        log.warning(
            "socket refused: origin not allowed (behind a proxy, pass the public host with its port: "
            "Host $http_host, or X-Forwarded-Host from VENN_TRUSTED_PROXIES; or list the origin in "
            "VENN_CORS_ORIGINS)",
            extra={"origin": origin[:200], "host": host[:200],
                   "client_ip": client_address(request) if request is not None else "unknown"},
        )
    raise refuse(
        f"The origin {origin[:200]} may not open a socket on this server: open the page from the "
        "server's own address, or ask its administrator to add the origin to VENN_CORS_ORIGINS.",
        "origin_not_allowed",
    )


class Realtime:
    def __init__(self, settings: Settings, services: Services, options: RealtimeOptions, redis=None) -> None:
        self.settings = settings
        self.services = services
        self.options = options
        self.connections = Connections()
        self.typing: TypingStore = (
            RedisTyping(redis, prefix=options.redis_prefix) if redis is not None else MemoryTyping()
        )
        manager: socketio.AsyncManager
        if settings.redis_url:
            manager = RedisManager(
                settings.redis_url, channel=f"{options.redis_prefix}socketio", on_control=self.control,
                on_resubscribed=self.resync_sockets,
            )
        else:
            manager = LocalManager(self.control)
        if isinstance(manager, compat.DirectEmit):
            # a socket that lets more than this pile up is a slow reader (docs/realtime.md)
            manager.queue_limit = settings.socket_queue_limit
        self.manager = manager
        self.max_event_bytes = settings.max_body_bytes
        self.sio = compat.SocketServer(
            async_mode="aiohttp",
            client_manager=manager,
            # orjson on the wire; an unreadable payload is answered, not dropped (wire.py)
            serializer=WirePacket,
            # Every origin passes engine.io (which answers a refused origin with a bare
            # 400 that clients retry forever); the connect handler refuses the origins
            # that may not connect, with a connect_error clients can show
            # (check_origin). No event flows before a connect is accepted.
            cors_allowed_origins="*",
            max_http_buffer_size=max(MIN_ENGINE_BUFFER, 4 * settings.max_body_bytes),
            logger=False,
            engineio_logger=False,
            async_handlers=True,
        )
        self._websockets: set = set()
        #: refused (origin, host) pairs already logged: one warning each, not one a try
        self._refused_origins: set[tuple[str, str]] = set()
        compat.guard_websockets(self.sio, self._websockets)
        self.sio.on("connect", self.on_connect)
        self.sio.on("disconnect", self.on_disconnect)
        self._ticker: asyncio.Task | None = None
        self._stop = asyncio.Event()
        self._closing = False
        self._last_tick_error = 0.0

    # Lifecycle ----------------------------------------------------------

    def attach(self, app: web.Application) -> None:
        self.sio.attach(app, socketio_path="socket.io")
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)

    async def _on_startup(self, app: web.Application) -> None:
        self._ticker = asyncio.create_task(self._tick_loop(), name="venn-realtime-ticker")

    async def _on_shutdown(self, app: web.Application) -> None:
        """Close every socket as a lost connection (clients reconnect elsewhere by
        themselves), then stop background work."""
        if self._closing:
            return
        self._closing = True
        sockets = compat.engine_sockets(self.sio)
        log.info("closing the sockets; their clients reconnect (to another process)", extra={"sockets": len(sockets)})
        # Each socket's writer sends what is pending, then its transport ends.
        closing = [asyncio.create_task(compat.end_session(self.sio, sock)) for sock in sockets]
        if closing:
            _, pending = await asyncio.wait(closing, timeout=SHUTDOWN_FLUSH_SECONDS)
            for task in pending:
                task.cancel()
        # The server no longer reads from its connections (aiohttp stops that before
        # on_shutdown), so a websocket's closing handshake cannot complete and its
        # handler would linger until the client gives up. Once the queued packets had
        # a moment to go out, close those connections.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_FLUSH_SECONDS
        queued, stalled = compat.queued_packets(self.sio), 0
        while queued and stalled < 5 and loop.time() < deadline:  # stop when no writer makes progress
            await asyncio.sleep(0.02)
            now = compat.queued_packets(self.sio)
            stalled = stalled + 1 if now >= queued else 0
            queued = now
        await asyncio.sleep(0.05)
        for ws in list(self._websockets):
            ws.abort()
        compat.forget_engine_sockets(self.sio)
        self._stop.set()
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.wait({self._ticker}, timeout=SHUTDOWN_FLUSH_SECONDS)
        if compat.engine_started(self.sio):
            await self.sio.shutdown()
        if isinstance(self.manager, RedisManager):
            await self.manager.aclose(SHUTDOWN_FLUSH_SECONDS)

    # Connect and disconnect ---------------------------------------------

    async def on_connect(self, sid: str, environ: Any = None, auth: Any = None, *rest: Any):
        if self.connections.get(sid) is not None:
            # A client emitting an event named "connect" by hand: ignore it.
            return self.sio.not_handled
        if self._closing:
            raise refuse("The server is shutting down; connect again.", "unavailable")
        check_origin(self.settings, environ, self._refused_origins)
        request = compat.http_request(environ)
        client_ip = client_address(request) if request is not None else "unknown"
        token = auth.get("token") if isinstance(auth, dict) else None
        if token is None:
            raise refuse("Missing access token: connect with auth {token: <access token>}.", "missing_token")
        if not isinstance(token, str) or not token.strip():
            raise refuse("The token is missing or malformed.", "invalid_token")
        try:
            credential = await self.services.users.authenticate_any(token.strip())
        except VennError as exc:
            raise refuse(exc.message, exc.code) from None
        except Exception:
            log.exception("socket authentication failed")
            raise refuse("The server could not check the token; try again shortly.", "unavailable") from None
        if compat.engine_socket(self.sio, sid) is None:
            # The client went away while its token was being checked.
            raise refuse("The connection closed.", "unavailable")
        rate = self.options.events_per_second
        user, personal = credential.user, credential.personal_token
        state = SocketState(
            sid=sid,
            user_id=user.id,
            username=user.username,
            token_version=user.token_version,
            bucket=TokenBucket(rate, BURST_FACTOR * rate),
            client_ip=client_ip,
            personal_token_id=personal.id if personal is not None else None,
            session_id=credential.session_id,
            read_only=personal is not None and "write" not in personal.scopes,
        )
        self.connections.add(state)
        await self.sio.save_session(sid, {"user_id": user.id})
        await self.sio.enter_room(sid, user_room(user.id))
        self.services.metrics.sockets.inc()
        try:
            came_online = await self.services.presence.connected(user.id, sid)
            # Counted after this socket was added: two connecting at once at the cap are
            # both refused rather than both let in.
            if await self.services.presence.socket_count(user.id) > self.settings.max_sockets_per_user:
                await self._forget(sid)
                raise refuse(
                    f"You have {self.settings.max_sockets_per_user} connections open already; close one first.",
                    "too_many_connections",
                )
            if came_online:
                # not to this socket: it is not connected yet (and knows it is online)
                await self.announce(user.id, ONLINE, skip_sid=sid)
        except Refused:
            raise
        except Exception:
            log.warning("presence update failed", extra={"user_id": user.id}, exc_info=True)
        log.info("socket connected", extra={"sid": sid, "user_id": user.id, "client_ip": client_ip})
        return True

    async def on_disconnect(self, sid: str, reason: Any = None, *rest: Any):
        if compat.is_connected(self.sio, sid):
            # A client emitting an event named "disconnect" by hand: ignore it.
            return self.sio.not_handled
        # A long-polling client's pending GET is answered now rather than at the
        # ping timeout, which would also hold up a graceful shutdown that long.
        compat.end_long_poll(self.sio, sid)
        await self._forget(sid, reason)
        return None

    async def _forget(self, sid: str, reason: Any = None) -> None:
        state = self.connections.remove(sid)
        if state is None:
            return
        self.services.metrics.sockets.dec()
        log.info(
            "socket disconnected",
            extra={"sid": sid, "user_id": state.user_id, "reason": str(reason), "client_ip": state.client_ip},
        )
        try:
            # a revoked session (logout, deactivation) is not a reload: offline at once
            grace = 0.0 if reason == "session_revoked" else self.options.presence_grace
            await self.services.presence.disconnected(state.user_id, sid, grace)
        except Exception:
            log.warning("presence update failed", extra={"user_id": state.user_id}, exc_info=True)

    async def drop(self, sid: str, reason: str) -> None:
        """Disconnect one of this process's sockets (the client is told the server did it)."""
        log.info("disconnecting socket", extra={"sid": sid, "reason": reason})
        try:
            await self.sio.disconnect(sid, ignore_queue=True)
        finally:
            # In case the disconnect handler did not run (the socket was half gone).
            await self._forget(sid, reason)

    # Broadcasts -----------------------------------------------------------

    async def emit(self, event: str, data: Any, rooms: list[str], skip_sid: str | None = None) -> None:
        """One emit to the union of ``rooms`` (a socket in several gets it once)."""
        rooms = list(dict.fromkeys(rooms))
        if not rooms:
            return
        await self.sio.emit(event, data, to=rooms if len(rooms) > 1 else rooms[0], skip_sid=skip_sid)

    async def announce(self, user_id: int, status: str, skip_sid: str | None = None) -> None:
        """``user_status`` to the user's own sockets and to the rooms of their channels."""
        now = datetime.now(UTC)
        await self.services.users.touch_last_seen(user_id)
        channel_ids = await self.services.channels.channel_ids_of(user_id)
        rooms = [user_room(user_id)] + [channel_room(c) for c in channel_ids]
        data = {"user_id": user_id, "status": status, "last_seen": iso(now)}
        await self.emit("user_status", data, rooms, skip_sid=skip_sid)

    async def emit_typing(self, who: Typist, typing: bool, skip_sid: str | None = None) -> None:
        room = thread_room(who.thread_id) if who.thread_id else channel_room(who.channel_id)
        await self.emit("typing_indicator", who.event(typing), [room], skip_sid=skip_sid)

    # Control messages (acted on by every process) ---------------------------

    async def send_control(self, op: dict[str, Any]) -> None:
        await self.sio.emit(CONTROL_EVENT, op, to=CONTROL_ROOM)

    async def control(self, op: Any) -> None:
        try:
            if not isinstance(op, dict):
                return
            kind, user_id = op.get("op"), op.get("user_id")
            if kind == "channel_changed" and isinstance(op.get("channel_id"), int):
                # renamed, archived, unarchived: posts there are checked again
                for state in self.connections.all():
                    state.may_post.pop(op["channel_id"], None)
                return
            if not isinstance(user_id, int):
                return
            if kind == "sender_changed":
                # a new display name, or a session about to be revoked: checked again
                for state in self.connections.of_user(user_id):
                    state.may_post.clear()
            elif kind == "revoke":
                for state in self.connections.of_user(user_id):
                    state.may_post.clear()
                    await self.drop(state.sid, "session_revoked")
            elif kind == "revoke_tokens" and isinstance(op.get("token_ids"), list):
                ended = set(op["token_ids"])
                for state in self.connections.of_user(user_id):
                    if state.personal_token_id in ended:
                        await self.drop(state.sid, "session_revoked")
            elif kind == "end_sessions" and isinstance(op.get("session_ids"), list):
                ended = set(op["session_ids"])
                for state in self.connections.of_user(user_id):
                    if state.session_id in ended:
                        # this socket only (the user's others stay): told why, then dropped
                        await self.sio.emit("session_revoked", {"user_id": user_id}, to=state.sid)
                        await self.drop(state.sid, "session_revoked")
            elif kind == "left" and isinstance(op.get("channel_id"), int):
                for state in self.connections.of_user(user_id):
                    await self.leave_channel_rooms(state, op["channel_id"])
            elif kind == "joined" and isinstance(op.get("channel_id"), int):
                # made a member by someone else (a new direct conversation): the user's
                # sockets get its messages as if they had joined its room themselves
                for state in self.connections.of_user(user_id):
                    await self.sio.enter_room(state.sid, channel_room(op["channel_id"]))
                    state.channels.add(op["channel_id"])
        except Exception:
            log.exception("control message failed", extra={"op": str(op)[:200]})

    async def leave_channel_rooms(self, state: SocketState, channel_id: int) -> None:
        """Take a socket out of a channel's room and the rooms of its threads (its posts
        there are checked again)."""
        state.may_post.pop(channel_id, None)
        await self.sio.leave_room(state.sid, channel_room(channel_id))
        state.channels.discard(channel_id)
        for thread_id, of_channel in list(state.threads.items()):
            if of_channel == channel_id:
                await self.sio.leave_room(state.sid, thread_room(thread_id))
                del state.threads[thread_id]

    # Ticker -----------------------------------------------------------------

    async def _tick_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.options.heartbeat_interval
        # Stops on the flag too: a library call that swallows a CancelledError must
        # not keep the ticker (and so the shutdown waiting for it) going.
        while not self._closing:
            try:
                await asyncio.wait_for(self._stop.wait(), self.options.tick_interval)
                break
            except TimeoutError:
                pass
            try:
                await self.tick()
                if loop.time() >= next_beat:
                    next_beat = loop.time() + self.options.heartbeat_interval
                    await self.heartbeat()
            except asyncio.CancelledError:
                raise
            except Exception:
                now = time.monotonic()
                if now - self._last_tick_error > 30:
                    self._last_tick_error = now
                    log.warning("real-time ticker failed (retrying)", exc_info=True)

    async def tick(self) -> None:
        """Announce users whose grace period ran out; end expired typing indicators."""
        for user_id in await self.services.presence.sweep():
            await self.announce(user_id, OFFLINE)
        for who in await self.typing.expired():
            await self.emit_typing(who, False)

    async def resync_sockets(self) -> None:
        """Drop the transport of every socket of this process, as a network failure
        would: clients reconnect by themselves and ``sync`` what they missed (used
        when fan-out through Redis was interrupted and emits were lost)."""
        sockets = compat.engine_sockets(self.sio)
        log.warning("asking %d sockets to reconnect and catch up", len(sockets))
        for sock in sockets:
            await compat.end_transport(sock)

    async def heartbeat(self) -> None:
        """Drop sockets that are gone, refresh presence entries, re-check sessions."""
        for state in self.connections.all():
            if compat.engine_socket(self.sio, state.sid) is None:
                await self._forget(state.sid, "gone")
        states = self.connections.all()
        for state in states:
            # posts are checked again now and then, in case a control message was lost
            state.may_post.clear()
        for user_id in await self.services.presence.refresh([(s.user_id, s.sid) for s in states]):
            await self.announce(user_id, ONLINE)
        # A logout normally disconnects at once (a control message); this catches a
        # control message lost while Redis was unreachable.
        user_ids = list({s.user_id for s in states})
        versions: dict[int, int] = {}
        for start in range(0, len(user_ids), 500):
            rows = await User.filter(id__in=user_ids[start : start + 500]).values_list("id", "token_version")
            versions.update({int(uid): int(version) for uid, version in rows})
        tokens = [s.personal_token_id for s in states if s.personal_token_id is not None]
        alive = await self.services.personal_tokens.exists(tokens)
        sessions = await self.services.sessions.exists([s.session_id for s in states if s.session_id is not None])
        for state in states:
            revoked = (state.personal_token_id is not None and state.personal_token_id not in alive) or (
                state.session_id is not None and state.session_id not in sessions
            )
            if versions.get(state.user_id) != state.token_version or revoked:
                await self.drop(state.sid, "session_revoked")


REALTIME: web.AppKey[Realtime] = web.AppKey("realtime", Realtime)
