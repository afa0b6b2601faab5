"""Real-time transport: Socket.IO (protocol v4) at ``/socket.io/``.

:func:`setup_realtime` is the extension hook (see ``venn/extensions.py``). The
protocol is described in ``docs/realtime.md``.
"""

from __future__ import annotations

from aiohttp import web

from venn import keys
from venn.realtime.fanout import Fanout
from venn.realtime.handlers import register_handlers
from venn.realtime.options import RealtimeOptions
from venn.realtime.server import REALTIME, Realtime

__all__ = ["REALTIME", "Realtime", "RealtimeOptions", "setup_realtime"]


def setup_realtime(app: web.Application, router) -> None:
    settings = app[keys.SETTINGS]
    services = app[keys.SERVICES]
    redis = app[keys.REDIS]
    options = RealtimeOptions.from_settings(settings)
    rt = Realtime(settings, services, options, redis)
    register_handlers(rt)
    services.events.subscribe(Fanout(rt))
    rt.attach(app)
    app[REALTIME] = rt
