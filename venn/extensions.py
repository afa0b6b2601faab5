"""The layers that plug into the app factory, in order.

Each entry is ``setup(app, router)``: it may add routes to ``router``, start-up
and clean-up steps to ``app``, and subscribers to the event bus.
"""

from __future__ import annotations

from venn_bots import setup as setup_bots
from venn_plugins.sql_agent.api import setup as setup_sql_agent
from venn.realtime import setup_realtime
from venn.web import setup_web

EXTENSIONS: list = [setup_realtime, setup_bots, setup_sql_agent, setup_web]
