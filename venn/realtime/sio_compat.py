"""The one place where Venn relies on python-socketio's and python-engineio's internals.

The real-time layer needs a few things these libraries have no public hook for.
Every use of a private (``_``) or undocumented name of theirs is in this module, so
that an upgrade can only break here: pyproject.toml pins both below their next
major version, and ``tests/venn/realtime/test_sio_compat.py`` checks that each name
listed below (and in :data:`UPSTREAM`) still exists with the signature used.

Private names, overridden or called:

- ``socketio.AsyncServer._handle_eio_message(eio_sid, data)``: overridden by
  :class:`SocketServer`, which drops a packet python-socketio cannot decode with
  one log line (the library would log a traceback).
- ``socketio.AsyncServer._handle_event(eio_sid, namespace, id, data)``: overridden
  by :class:`SocketServer`, which drops an event that is not ``[name, ...]`` with a
  string name before the library indexes into it (a failed task otherwise).
- ``socketio.AsyncRedisManager._redis_listen_with_retries()`` (an async
  generator): overridden by :class:`ResilientRedisManager`, which subscribes again
  with a capped back-off and calls :meth:`~ResilientRedisManager.resubscribed`
  once the subscription is back (emits published meanwhile were lost).
- ``socketio.AsyncRedisManager._redis_connect()``: overridden and called; the
  library makes a new Redis client on each call and leaves the old one open, so
  the override closes it.
- ``socketio.AsyncPubSubManager._handle_emit(message)``: overridden, so that an
  emit taken back from Redis can be handled by the server instead of being sent
  to clients (:meth:`~ResilientRedisManager.intercept`: control messages).
- ``engineio.AsyncServer._async``: the async driver's table; its ``"websocket"``
  entry is replaced by :func:`guard_websockets` with a subclass that closes a
  connection sending an undecodable frame and keeps open websockets in a set
  that shutdown closes.

Undocumented names (no ``_``, but not promised either):

- ``socketio.AsyncManager.rooms``, ``get_participants(namespace, room)`` and
  ``socketio.AsyncServer.packet_class``: :class:`DirectEmit` encodes a packet once
  and puts it in each recipient session's ``queue`` itself, skipping the sessions
  that are ``closed`` as engine.io's ``send`` does. That ``send`` would also check the
  session's ping time-out on every packet; engine.io's service task checks every
  session's once per ping time-out anyway, which is what times out a silent client
  here (tests/venn/realtime/test_engine_writer.py).
- ``socketio.AsyncManager.eio_sid_from_sid(sid, namespace)``,
  ``is_connected(sid, namespace)``: from a Socket.IO socket to its engine.io
  session (:func:`engine_socket`, :func:`is_connected`).
- ``socketio.AsyncPubSubManager.thread``, ``socketio.AsyncRedisManager.redis``
  and ``pubsub``: the listener task and Redis clients that
  :meth:`ResilientRedisManager.aclose` ends (the library never closes them).
- ``engineio.AsyncServer.sockets`` (engine.io sessions by id), ``reason``
  (disconnect reasons) and ``service_task_handle`` (set once the server started):
  shutdown closes every session without waiting for its queue to drain.
- ``engineio.async_socket.AsyncSocket.queue``, ``upgraded`` and
  ``close(wait, abort, reason)``: a ``None`` queued for a session ends its writer
  (:func:`end_transport`, :func:`end_long_poll`); ``queue.qsize()`` tells whether
  its packets went out (:func:`queued_packets`); :func:`end_session` closes a
  session without the CLOSE packet that ``close`` would send.
- ``engineio.async_drivers.aiohttp.WebSocket``: ``__call__(environ)`` and
  ``wait()`` are wrapped, and ``environ["aiohttp.request"]`` (set by the driver's
  ``translate_request``) gives the connection to abort at shutdown, and the
  request a socket connected with (:func:`http_request`: its peer and headers).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import socketio
from aiohttp import web
from engineio import packet as engine_packet
from socketio import packet as sio_packet

log = logging.getLogger("venn.realtime")

NAMESPACE = "/"
#: longest pause between attempts to subscribe to Redis again after it failed
RESUBSCRIBE_MAX_DELAY = 5.0


@dataclass(frozen=True)
class Upstream:
    """One upstream name this module relies on."""

    #: the class it belongs to, by import path
    owner: str
    name: str
    #: ``coroutine``, ``asyncgen`` or ``function`` (a method), or ``attribute`` (set on instances)
    kind: str
    #: what this module passes to a method (besides ``self``), as parameter names
    args: tuple[str, ...] = ()


#: every upstream name used here (tests/venn/realtime/test_sio_compat.py checks them)
UPSTREAM: tuple[Upstream, ...] = (
    Upstream("socketio.AsyncServer", "_handle_eio_message", "coroutine", ("eio_sid", "data")),
    Upstream("socketio.AsyncServer", "_handle_event", "coroutine", ("eio_sid", "namespace", "id", "data")),
    Upstream("socketio.AsyncServer", "packet_class", "attribute"),
    Upstream("socketio.AsyncRedisManager", "_redis_listen_with_retries", "asyncgen"),
    Upstream("socketio.AsyncRedisManager", "_redis_connect", "function"),
    Upstream("socketio.AsyncRedisManager", "_handle_emit", "coroutine", ("message",)),
    Upstream("socketio.AsyncRedisManager", "redis", "attribute"),
    Upstream("socketio.AsyncRedisManager", "pubsub", "attribute"),
    Upstream("socketio.AsyncRedisManager", "thread", "attribute"),
    Upstream("socketio.AsyncManager", "rooms", "attribute"),
    Upstream("socketio.AsyncManager", "get_participants", "function", ("namespace", "room")),
    Upstream("socketio.AsyncManager", "eio_sid_from_sid", "function", ("sid", "namespace")),
    Upstream("socketio.AsyncManager", "is_connected", "function", ("sid", "namespace")),
    Upstream("engineio.AsyncServer", "_async", "attribute"),
    Upstream("engineio.AsyncServer", "sockets", "attribute"),
    Upstream("engineio.AsyncServer", "reason", "attribute"),
    Upstream("engineio.AsyncServer", "service_task_handle", "attribute"),
    Upstream("engineio.async_socket.AsyncSocket", "queue", "attribute"),
    Upstream("engineio.async_socket.AsyncSocket", "upgraded", "attribute"),
    Upstream("engineio.async_socket.AsyncSocket", "close", "coroutine", ("wait", "abort", "reason")),
    Upstream("engineio.async_socket.AsyncSocket", "closed", "attribute"),
    Upstream("engineio.async_drivers.aiohttp.WebSocket", "__call__", "coroutine", ("environ",)),
    Upstream("engineio.async_drivers.aiohttp.WebSocket", "wait", "coroutine"),
)


# Socket.IO server ---------------------------------------------------------------


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


# Client managers ------------------------------------------------------------------


class DirectEmit(socketio.AsyncManager):
    """python-socketio's delivery to this process's sockets, without a task per recipient.

    The stock manager encodes a packet once and then starts one task per recipient
    to queue it; queueing a packet for a socket does not wait (its queue is
    unbounded), so here the packet is put in each recipient session's queue in turn,
    without engine.io's ``send`` (an await, a ping check and a log call per packet and
    recipient). In a 100-socket room that saves 100 tasks per message. Emits with a
    callback (a distinct packet per recipient) keep the stock path.
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
        sessions = self.server.eio.sockets
        limit = self.queue_limit
        for eio_sid in recipients:
            session = sessions.get(eio_sid)
            if session is None or session.closed:
                continue  # gone (engine.io's send skips it as well)
            queue = session.queue
            for pkt in packets:
                queue.put_nowait(pkt)
            if limit and queue.qsize() > limit:
                self._end_slow_reader(eio_sid, session)

    #: packets a socket may have waiting to go out; past it, it is a slow reader and its
    #: session is ended (0: no bound). Set by the real-time layer from the settings.
    queue_limit = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: engine.io sessions of slow readers being ended (each is ended once)
        self._ending: set[str] = set()

    def _end_slow_reader(self, eio_sid: str, session: Any) -> None:
        """End the session of a socket that reads slower than its messages come: its queue
        would grow without bound. The client sees a lost connection, reconnects by itself
        and catches up with ``sync``."""
        if eio_sid in self._ending:
            return
        self._ending.add(eio_sid)
        log.warning("slow reader disconnected", extra={"eio_sid": eio_sid, "queued": session.queue.qsize()})

        async def end() -> None:
            try:
                await end_session(self.server, session)
            finally:
                self._ending.discard(eio_sid)

        self.server.start_background_task(end)


class ResilientRedisManager(socketio.AsyncRedisManager, DirectEmit):
    """python-socketio's Redis manager: subscribes again after Redis fails, closes
    the clients it replaces, and lets a subclass take emits out of the stream.

    Subclasses override :meth:`intercept` and :meth:`resubscribed`.
    """

    def __init__(self, url: str, channel: str) -> None:
        super().__init__(url, channel=channel)
        self._venn_closing: set[asyncio.Task] = set()

    async def intercept(self, event: Any, data: Any) -> bool:
        """An emit taken back from Redis; True if handled here (not sent to clients)."""
        return False

    async def resubscribed(self) -> None:
        """The subscription is back after an interruption (emits meanwhile were lost)."""

    async def _redis_listen_with_retries(self) -> AsyncIterator[Any]:
        """What the Socket.IO channel carries, subscribing again after Redis fails."""
        delay = 1.0
        interrupted = False
        while True:
            try:
                self._redis_connect()
                await self.pubsub.subscribe(self.channel)
                if interrupted:
                    interrupted = False
                    log.warning("Socket.IO fan-out through Redis restored")
                    await self.resubscribed()
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
            task = asyncio.ensure_future(self._close_quietly(old_pubsub, old_redis))
            self._venn_closing.add(task)
            task.add_done_callback(self._venn_closing.discard)

    @staticmethod
    async def _close_quietly(*clients) -> None:
        for client in clients:
            try:
                await client.aclose()
            except Exception:  # pragma: no cover - best effort
                pass

    async def _handle_emit(self, message):
        if await self.intercept(message.get("event"), message.get("data")):
            return None
        return await super()._handle_emit(message)

    async def aclose(self, timeout: float) -> None:
        """Stop listening (waiting at most ``timeout`` seconds) and close the Redis clients."""
        task = getattr(self, "thread", None)
        if task is not None:
            task.cancel()
            await asyncio.wait({task}, timeout=timeout)
        try:
            if self.pubsub is not None:
                await self.pubsub.aclose()
            if self.redis is not None:
                await self.redis.aclose()
        except Exception:  # pragma: no cover - best effort on shutdown
            log.debug("closing the Socket.IO Redis connection failed", exc_info=True)


# Engine.io sessions -----------------------------------------------------------------


def guard_websockets(sio: socketio.AsyncServer, live: set) -> None:
    """Wrap engine.io's aiohttp websocket.

    - A frame engine.io cannot decode closes that connection with a log line
      (python-engineio would raise out of its reader loop instead: a traceback, and
      a socket left half open until its ping timeout).
    - Open websockets are kept in ``live``, so that shutdown can :meth:`abort` them.
    """
    base = sio.eio._async.get("websocket") if isinstance(getattr(sio.eio, "_async", None), dict) else None
    if base is None:  # pragma: no cover - engine internals changed
        log.warning("engine.io's websocket class not found; malformed frames are not guarded")
        return

    class GuardedWebSocket(base):  # type: ignore[misc, valid-type]
        async def __call__(self, environ):
            self.venn_request = environ.get("aiohttp.request")
            live.add(self)
            try:
                return await super().__call__(environ)
            finally:
                live.discard(self)

        def abort(self) -> None:
            """Close the connection under the websocket, without a closing handshake."""
            request = getattr(self, "venn_request", None)
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


def engine_socket(sio: socketio.AsyncServer, sid: str) -> Any | None:
    """The engine.io session under Socket.IO socket ``sid``, while it is open."""
    eio_sid = sio.manager.eio_sid_from_sid(sid, NAMESPACE)
    return sio.eio.sockets.get(eio_sid) if eio_sid is not None else None


def is_connected(sio: socketio.AsyncServer, sid: str) -> bool:
    """Whether Socket.IO socket ``sid`` is (still) connected to the namespace."""
    return sio.manager.is_connected(sid, NAMESPACE)


def http_request(environ: Any) -> web.Request | None:
    """The aiohttp request behind an engine.io ``environ`` (the connect handler's)."""
    request = environ.get("aiohttp.request") if isinstance(environ, dict) else None
    return request if isinstance(request, web.Request) else None


def engine_sockets(sio: socketio.AsyncServer) -> list[Any]:
    """This process's engine.io sessions."""
    return list(sio.eio.sockets.values())


def engine_started(sio: socketio.AsyncServer) -> bool:
    """Whether engine.io started its background service (on the first connection)."""
    return sio.eio.service_task_handle is not None


def forget_engine_sockets(sio: socketio.AsyncServer) -> None:
    """Drop every engine.io session (at shutdown, once they were closed)."""
    sio.eio.sockets.clear()


async def end_session(sio: socketio.AsyncServer, sock: Any) -> None:
    """End an engine.io session the way a lost connection ends, so that every client
    reconnects by itself; what is already queued for it still goes out first.

    No CLOSE packet (nor a Socket.IO DISCONNECT): python-socketio's client takes
    either as the server's final word and never reconnects. Instead the session is
    closed without a goodbye (``abort``: the disconnect handlers run, nothing is
    sent), then its writer is ended: a websocket gets a close frame; a long poll is
    answered with a NOOP, and the client's next poll fails (the session is gone, or
    the process no longer listens). Both clients take that as a transport failure.
    Not ``eio.disconnect()`` either: it waits for every queue to drain, which never
    happens for a socket whose transport is already going away.
    """
    if not sock.upgraded:
        await sock.queue.put(engine_packet.Packet(engine_packet.NOOP))
    await sock.close(wait=False, abort=True, reason=sio.eio.reason.SERVER_DISCONNECT)
    await end_transport(sock)


def queued_packets(sio: socketio.AsyncServer) -> int:
    """Packets waiting in this process's engine.io sessions' queues."""
    return sum(sock.queue.qsize() for sock in engine_sockets(sio))


async def end_transport(sock: Any) -> None:
    """End a session's writer as engine.io does: the websocket closes (or the long
    poll ends) without a goodbye, so the client reconnects."""
    await sock.queue.put(None)


def end_long_poll(sio: socketio.AsyncServer, sid: str) -> None:
    """Answer a long-polling client's pending GET now.

    python-engineio otherwise holds it until the ping timeout (45 s) after the
    client left, which also holds up a graceful shutdown that long.
    """
    try:
        sock = engine_socket(sio, sid)
        if sock is not None and not sock.upgraded:
            sock.queue.put_nowait(None)
    except Exception:  # pragma: no cover - engine internals changed
        log.debug("could not end a long poll", exc_info=True)
