"""The Socket.IO server: connections, presence and typing broadcasts, control messages.

One :class:`Realtime` per app. It owns python-socketio's ``AsyncServer`` (attached at
``/socket.io/``), the registry of this process's sockets, and a ticker that
announces users going offline, ends expired typing indicators and, every few
seconds, sends the presence heartbeat and re-checks that every socket's session is
still valid.

With ``REDIS_URL`` the server's client manager is python-socketio's
``AsyncRedisManager`` (redis-py's ``redis.asyncio``): every emit reaches the sockets
of every process. Processes also tell each other to act on their own sockets
(disconnect a user who logged out, take a user who left a channel out of its
rooms) with *control messages*: an emit of :data:`CONTROL_EVENT` that the manager
hands to :meth:`Realtime.control` in every process instead of sending it to clients.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone
from typing import Any

import socketio
from aiohttp import web
from engineio import packet as engine_packet
from socketio import packet as sio_packet
from socketio.exceptions import ConnectionRefusedError as Refused

from venn.config import Settings
from venn.db.models import User
from venn.errors import VennError
from venn.presence import OFFLINE, ONLINE
from venn.realtime.connections import Connections, SocketState, TokenBucket
from venn.realtime.options import RealtimeOptions
from venn.realtime.typing_status import MemoryTyping, RedisTyping, Typist, TypingStore
from venn.services import Services
from venn.services.views import iso

log = logging.getLogger("venn.realtime")

NAMESPACE = "/"
CONTROL_EVENT = "venn:control"
CONTROL_ROOM = "venn:control"
#: Socket.IO packets larger than this close the connection (engine level); events
#: over VENN_MAX_BODY_BYTES are refused one by one with an error ack.
MIN_ENGINE_BUFFER = 1024 * 1024
#: on shutdown, how long sockets get to flush what is queued for them
SHUTDOWN_FLUSH_SECONDS = 2.0
#: a socket may send this many times its per-second allowance at once (e.g. joining
#: the rooms of all its channels after connecting)
BURST_FACTOR = 4
#: longest pause between attempts to subscribe to Redis again after it failed
RESUBSCRIBE_MAX_DELAY = 5.0
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


class DirectEmit(socketio.AsyncManager):
    """python-socketio's delivery to this process's sockets, without a task per recipient.

    The stock manager encodes a packet once and then starts one task per recipient
    to queue it; queueing a packet for a socket does not wait (its queue is
    unbounded), so here the packet is queued for each recipient in turn. In a
    100-socket room that saves 100 tasks per message. Emits with a callback (a
    distinct packet per recipient) keep the stock path.
    """

    async def emit(self, event, data, namespace, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if callback is not None or namespace not in self.rooms:
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback,
                                      to=to, **kwargs)
        if isinstance(data, tuple):
            data = list(data)
        elif data is not None:
            data = [data]
        else:
            data = []
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(sio_packet.EVENT, namespace=namespace, data=[event] + data).encode()
        packets = [engine_packet.Packet(engine_packet.MESSAGE, p)
                   for p in (encoded if isinstance(encoded, list) else [encoded])]
        # The recipients first: a socket closing on the way changes the rooms.
        recipients = [eio_sid for sid, eio_sid in self.get_participants(namespace, to or room) if sid not in skip]
        send = self.server.eio.send_packet
        for eio_sid in recipients:
            for pkt in packets:
                await send(eio_sid, pkt)


class LocalManager(DirectEmit):
    """python-socketio's in-process manager, plus control messages."""

    def __init__(self, on_control) -> None:
        super().__init__()
        self._on_control = on_control

    async def emit(self, event, data, namespace=None, room=None, skip_sid=None, callback=None, to=None, **kwargs):
        if event == CONTROL_EVENT:
            await self._on_control(data)
            return None
        return await super().emit(
            event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs
        )


class RedisManager(socketio.AsyncRedisManager, DirectEmit):
    """python-socketio's Redis manager, plus control messages (handled in every process)."""

    def __init__(self, url: str, channel: str, on_control, on_resubscribed=None) -> None:
        super().__init__(url, channel=channel)
        self._on_control = on_control
        self._on_resubscribed = on_resubscribed

    async def _redis_listen_with_retries(self):
        """What the Socket.IO channel carries, subscribing again after Redis fails.

        Emits published while this process was not subscribed (or could not publish)
        never reach its sockets, so once the subscription is back ``on_resubscribed``
        runs: it makes the sockets reconnect, and clients catch up with ``sync``.
        """
        delay = 1.0
        interrupted = False
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                if interrupted:
                    interrupted = False
                    log.warning("Socket.IO fan-out through Redis restored")
                    if self._on_resubscribed is not None:
                        await self._on_resubscribed()
                delay = 1.0
                async for message in self.pubsub.listen():
                    yield message
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("Socket.IO fan-out through Redis interrupted; retrying in %.0f s", delay,
                          extra={"error": str(exc)[:200]})
                interrupted = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, RESUBSCRIBE_MAX_DELAY)

    def _redis_connect(self):
        # The base class makes a new client each time (e.g. once to publish, once more
        # when its listener starts) and drops the old one open; close it if unused.
        old_redis, old_pubsub = self.redis, self.pubsub
        super()._redis_connect()
        if old_redis is not None and old_pubsub is not None and not old_pubsub.subscribed:
            spawn(self._close_quietly(old_pubsub, old_redis))

    @staticmethod
    async def _close_quietly(*clients) -> None:
        for client in clients:
            try:
                await client.aclose()
            except Exception:  # pragma: no cover - best effort
                pass

    async def _handle_emit(self, message):
        if message.get("event") == CONTROL_EVENT:
            data = message.get("data")
            await self._on_control(data[0] if isinstance(data, list) and data else data)
            return None
        return await super()._handle_emit(message)

    async def close(self) -> None:
        task = getattr(self, "thread", None)
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=SHUTDOWN_FLUSH_SECONDS)
        try:
            if self.pubsub is not None:
                await self.pubsub.aclose()
            if self.redis is not None:
                await self.redis.aclose()
        except Exception:  # pragma: no cover - best effort on shutdown
            log.debug("closing the Socket.IO Redis connection failed", exc_info=True)


class SocketServer(socketio.AsyncServer):
    """python-socketio's server, dropping malformed packets with one log line.

    The library would log a traceback (or leave a failed task behind) for frames
    no real client sends: bad JSON, an event that is not ``[name, ...]``, a name
    that is not a string.
    """

    _last_warning = 0.0
    _dropped = 0

    def _malformed(self, what: str, detail: str) -> None:
        SocketServer._dropped += 1
        now = time.monotonic()
        if now - SocketServer._last_warning >= 1.0:
            SocketServer._last_warning = now
            log.warning(
                "malformed Socket.IO %s dropped", what, extra={"detail": detail[:200], "dropped": SocketServer._dropped}
            )

    async def _handle_eio_message(self, eio_sid, data):
        try:
            return await super()._handle_eio_message(eio_sid, data)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
            self._malformed("packet", f"{type(exc).__name__}: {exc}")
            return None

    async def _handle_event(self, eio_sid, namespace, id, data):
        if not isinstance(data, list) or not data or not isinstance(data[0], str):
            self._malformed("event", repr(data)[:100])
            return None
        return await super()._handle_event(eio_sid, namespace, id, data)


def _guard_websockets(sio: socketio.AsyncServer, live: set) -> None:
    """Wrap engine.io's aiohttp websocket.

    - A frame engine.io cannot decode closes that connection with a log line
      (python-engineio would raise out of its reader loop instead: a traceback, and
      a socket left half open until its ping timeout).
    - Open websockets are kept in ``live``, so that shutdown can close them.
    """
    base = sio.eio._async.get("websocket") if isinstance(getattr(sio.eio, "_async", None), dict) else None
    if base is None:  # pragma: no cover - engine internals changed
        return

    class GuardedWebSocket(base):  # type: ignore[misc, valid-type]
        async def __call__(self, environ):
            live.add(self)
            try:
                return await super().__call__(environ)
            finally:
                live.discard(self)

        def abort(self) -> None:
            request = getattr(self, "environ", {}).get("aiohttp.request")
            transport = request.transport if request is not None else None
            if transport is not None:
                transport.close()

        async def wait(self):
            frame = await super().wait()
            try:
                engine_packet.Packet(encoded_packet=frame)
            except Exception as exc:
                log.warning("malformed engine.io frame; closing the connection", extra={"detail": str(exc)[:200]})
                raise OSError("malformed frame") from None
            return frame

    sio.eio._async = {**sio.eio._async, "websocket": GuardedWebSocket}


def refuse(message: str, code: str) -> Refused:
    """A refused connection: the client's ``connect_error`` has ``message`` and ``data.code``."""
    return Refused(message, {"code": code})


class Realtime:
    def __init__(self, settings: Settings, services: Services, options: RealtimeOptions, redis=None) -> None:
        self.settings = settings
        self.services = services
        self.options = options
        self.connections = Connections()
        self.typing: TypingStore = (
            RedisTyping(redis, prefix=options.redis_prefix) if redis is not None else MemoryTyping()
        )
        if settings.redis_url:
            manager: socketio.AsyncManager = RedisManager(
                settings.redis_url, channel=f"{options.redis_prefix}socketio", on_control=self.control,
                on_resubscribed=self.resync_sockets,
            )
        else:
            manager = LocalManager(self.control)
        self.max_event_bytes = settings.max_body_bytes
        self.sio = SocketServer(
            async_mode="aiohttp",
            client_manager=manager,
            # Browsers on other origins need VENN_CORS_ORIGINS; by default only the
            # server's own origin may open a socket (non-browser clients send no Origin).
            cors_allowed_origins=list(settings.cors_origins) or None,
            max_http_buffer_size=max(MIN_ENGINE_BUFFER, 4 * settings.max_body_bytes),
            logger=False,
            engineio_logger=False,
            async_handlers=True,
        )
        self._websockets: set = set()
        _guard_websockets(self.sio, self._websockets)
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
        """Close every socket (clients reconnect elsewhere), then stop background work."""
        if self._closing:
            return
        self._closing = True
        # Not eio.disconnect(): it waits for every socket's queue to drain, which never
        # happens for a socket whose transport is already going away. The CLOSE packet
        # is queued behind whatever is pending, and each socket's writer sends it all.
        closing = [
            asyncio.create_task(sock.close(wait=False, reason=self.sio.eio.reason.SERVER_DISCONNECT))
            for sock in list(self.sio.eio.sockets.values())
        ]
        if closing:
            _, pending = await asyncio.wait(closing, timeout=SHUTDOWN_FLUSH_SECONDS)
            for task in pending:
                task.cancel()
        # The server no longer reads from its connections (aiohttp stops that before
        # on_shutdown), so a websocket's closing handshake cannot complete and its
        # handler would linger until the client gives up. Once the CLOSE packets had
        # a moment to go out, close those connections.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_FLUSH_SECONDS
        queued, stalled = self._queued(), 0
        while queued and stalled < 5 and loop.time() < deadline:  # stop when no writer makes progress
            await asyncio.sleep(0.02)
            now = self._queued()
            stalled = stalled + 1 if now >= queued else 0
            queued = now
        await asyncio.sleep(0.05)
        for ws in list(self._websockets):
            ws.abort()
        self.sio.eio.sockets.clear()
        self._stop.set()
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.wait({self._ticker}, timeout=SHUTDOWN_FLUSH_SECONDS)
        if self.sio.eio.service_task_handle is not None:
            await self.sio.shutdown()
        manager = self.sio.manager
        if isinstance(manager, RedisManager):
            await manager.close()

    def _queued(self) -> int:
        return sum(sock.queue.qsize() for sock in list(self.sio.eio.sockets.values()))

    # Connect and disconnect ---------------------------------------------

    async def on_connect(self, sid: str, environ: Any = None, auth: Any = None, *rest: Any):
        if self.connections.get(sid) is not None:
            # A client emitting an event named "connect" by hand: ignore it.
            return self.sio.not_handled
        if self._closing:
            raise refuse("The server is shutting down; connect again.", "unavailable")
        token = auth.get("token") if isinstance(auth, dict) else None
        if token is None:
            raise refuse("Missing access token: connect with auth {token: <access token>}.", "missing_token")
        if not isinstance(token, str) or not token.strip():
            raise refuse("The token is missing or malformed.", "invalid_token")
        try:
            user = await self.services.users.authenticate(token.strip())
        except VennError as exc:
            raise refuse(exc.message, exc.code) from None
        except Exception:
            log.exception("socket authentication failed")
            raise refuse("The server could not check the token; try again shortly.", "unavailable") from None
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
        if eio_sid not in self.sio.eio.sockets:
            # The client went away while its token was being checked.
            raise refuse("The connection closed.", "unavailable")
        rate = self.options.events_per_second
        state = SocketState(
            sid=sid,
            user_id=user.id,
            username=user.username,
            token_version=user.token_version,
            bucket=TokenBucket(rate, BURST_FACTOR * rate),
        )
        self.connections.add(state)
        await self.sio.save_session(sid, {"user_id": user.id})
        await self.sio.enter_room(sid, user_room(user.id))
        self.services.metrics.sockets.inc()
        try:
            if await self.services.presence.connected(user.id, sid):
                # not to this socket: it is not connected yet (and knows it is online)
                await self.announce(user.id, ONLINE, skip_sid=sid)
        except Exception:
            log.warning("presence update failed", extra={"user_id": user.id}, exc_info=True)
        log.info("socket connected", extra={"sid": sid, "user_id": user.id})
        return True

    async def on_disconnect(self, sid: str, reason: Any = None, *rest: Any):
        if self.sio.manager.is_connected(sid, NAMESPACE):
            # A client emitting an event named "disconnect" by hand: ignore it.
            return self.sio.not_handled
        self._end_long_poll(sid)
        await self._forget(sid, reason)
        return None

    def _end_long_poll(self, sid: str) -> None:
        """Answer a long-polling client's pending GET now.

        python-engineio otherwise holds it until the ping timeout (45 s) after the
        client left, which also holds up a graceful shutdown that long.
        """
        try:
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, NAMESPACE)
            sock = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
            if sock is not None and not sock.upgraded:
                sock.queue.put_nowait(None)
        except Exception:  # pragma: no cover - engine internals changed
            log.debug("could not end a long poll", exc_info=True)

    async def _forget(self, sid: str, reason: Any = None) -> None:
        state = self.connections.remove(sid)
        if state is None:
            return
        self.services.metrics.sockets.dec()
        log.info("socket disconnected", extra={"sid": sid, "user_id": state.user_id, "reason": str(reason)})
        try:
            await self.services.presence.disconnected(state.user_id, sid, self.options.presence_grace)
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
        now = datetime.now(timezone.utc)
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
            if not isinstance(user_id, int):
                return
            if kind == "revoke":
                for state in self.connections.of_user(user_id):
                    await self.drop(state.sid, "session_revoked")
            elif kind == "left" and isinstance(op.get("channel_id"), int):
                for state in self.connections.of_user(user_id):
                    await self.leave_channel_rooms(state, op["channel_id"])
        except Exception:
            log.exception("control message failed", extra={"op": str(op)[:200]})

    async def leave_channel_rooms(self, state: SocketState, channel_id: int) -> None:
        """Take a socket out of a channel's room and the rooms of its threads."""
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
            except asyncio.TimeoutError:
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
        sockets = list(self.sio.eio.sockets.values())
        log.warning("asking %d sockets to reconnect and catch up", len(sockets))
        for sock in sockets:
            # what engine.io does to end a socket's writer: it closes the websocket
            # (or ends the long-poll) without a goodbye, so clients reconnect
            await sock.queue.put(None)

    async def heartbeat(self) -> None:
        """Drop sockets that are gone, refresh presence entries, re-check sessions."""
        for state in self.connections.all():
            eio_sid = self.sio.manager.eio_sid_from_sid(state.sid, NAMESPACE)
            if eio_sid is None or eio_sid not in self.sio.eio.sockets:
                await self._forget(state.sid, "gone")
        states = self.connections.all()
        for user_id in await self.services.presence.refresh([(s.user_id, s.sid) for s in states]):
            await self.announce(user_id, ONLINE)
        # A logout normally disconnects at once (a control message); this catches a
        # control message lost while Redis was unreachable.
        user_ids = list({s.user_id for s in states})
        versions: dict[int, int] = {}
        for start in range(0, len(user_ids), 500):
            rows = await User.filter(id__in=user_ids[start : start + 500]).values_list("id", "token_version")
            versions.update({int(uid): int(version) for uid, version in rows})
        for state in states:
            if versions.get(state.user_id) != state.token_version:
                await self.drop(state.sid, "session_revoked")


REALTIME: web.AppKey[Realtime] = web.AppKey("realtime", Realtime)
