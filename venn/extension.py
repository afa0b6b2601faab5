"""The public extension API: what a plugin package adds to a Venn server.

A plugin is one plain class, a subclass of :class:`Extension`, named by an entry point
in the group ``venn.plugins`` of its distribution::

    [project.entry-points."venn.plugins"]
    weather = "venn_weather:WeatherPlugin"

Each class attribute is one kind of contribution, all optional:

- ``router``: REST routes (an :class:`~venn.api.routing.ApiRouter` with prefix ``/api/v1``),
  with ``schemas`` naming their response shapes for the OpenAPI document;
- ``models`` and ``migrations``: Tortoise models in their own app (labelled ``name``)
  and that app's migration history, applied after the core's, in ``requires`` order;
- ``Settings``: a pydantic-settings class read from the environment and ``.env``;
- :meth:`add_commands`: ``venn`` CLI sub-commands;
- ``web_dir`` and ``renderers``: ES modules the web client loads to draw message
  payloads of a given ``type``;
- :meth:`install`: start-up and clean-up steps on the aiohttp application.

Bot handlers come from the bot runtime's ``venn_bots.Plugin``, itself a subclass, so
one class carries a plugin's handlers and everything above. See docs/plugins.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from aiohttp import web
    from pydantic_settings import BaseSettings

    from venn.api.routing import ApiRouter

__all__ = ["ENTRY_POINT_GROUP", "Extension"]

ENTRY_POINT_GROUP = "venn.plugins"


class Extension:
    """Base of every plugin: set the attributes of what the plugin contributes."""

    #: unique name: the entry point's name, the Tortoise app label, ``VENN_PLUGINS_DISABLED``
    name: ClassVar[str] = ""
    version: ClassVar[str] = "0.0.0"
    description: ClassVar[str] = ""
    #: plugins that must load first (their tables, routes and settings come before)
    requires: ClassVar[Sequence[str]] = ()

    #: REST routes, mounted under /api/v1 (a clash with another route stops start-up)
    router: ClassVar[ApiRouter | None] = None
    #: response schemas the routes name (``response="MyThing"``), for the OpenAPI document
    schemas: ClassVar[Mapping[str, Any]] = {}

    #: modules holding this plugin's Tortoise models (their app label is ``name``)
    models: ClassVar[Sequence[str]] = ()
    #: the module holding this plugin's migrations (``None``: no tables)
    migrations: ClassVar[str | None] = None
    #: migration records of an older layout that this history replaces:
    #: ``{("venn", "0003_sql_agent"): "0001_initial"}`` (an upgraded database keeps its tables)
    adopts_migrations: ClassVar[Mapping[tuple[str, str], str]] = {}

    #: a pydantic-settings class; an invalid value stops start-up naming the variable
    Settings: ClassVar[type[BaseSettings] | None] = None

    #: a folder of ES modules served at ``/plugins/<name>/``
    web_dir: ClassVar[Path | None] = None
    #: message payload ``type`` -> module under ``web_dir`` that registers its renderer
    renderers: ClassVar[Mapping[str, str]] = {}

    @classmethod
    def add_commands(cls, subparsers: argparse._SubParsersAction) -> None:
        """Add ``venn`` sub-commands (``subparsers.add_parser(...)``; set ``func``)."""

    @classmethod
    def install(cls, app: web.Application) -> None:
        """Add start-up and clean-up steps (``app.cleanup_ctx``) to the application."""
