"""How Socket.IO packets are written and read: orjson, and a packet that cannot be read
still gets an answer.

python-socketio takes a ``Packet`` subclass as its ``serializer`` (a public hook). This one
encodes with orjson (several times faster than the standard library on the message views
every broadcast carries) and decodes with it too. A payload that is not JSON, or is nested
deeper than orjson follows (1,024 levels), would make the standard decoder raise
(``RecursionError`` for deep nesting) and the packet vanish with a traceback; here it
becomes the event :data:`UNREADABLE_EVENT`, which the handlers answer, through the
packet's ack, with a ``validation_error``.
"""

from __future__ import annotations

from typing import Any

import orjson
from socketio import packet

#: the event name an unreadable payload is delivered as (no client can send it: the
#: leading NUL is not a name a client uses, and a sent one is answered the same way)
UNREADABLE_EVENT = "\x00unreadable"


class WireJSON:
    """The ``json`` module shape python-socketio calls (``dumps``/``loads``)."""

    @staticmethod
    def dumps(obj: Any, **_options: Any) -> str:
        # python-socketio passes separators=(",", ":"): orjson writes compact JSON anyway.
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    @staticmethod
    def loads(text: str | bytes, **_options: Any) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            return [UNREADABLE_EVENT]


class WirePacket(packet.Packet):
    """A Socket.IO packet encoded and decoded with :class:`WireJSON`."""

    json = WireJSON
