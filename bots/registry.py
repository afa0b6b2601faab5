"""The bot plugins among the app's plugins (see :mod:`venn.extensions`).

Every plugin, bundled or not, is found through the entry-point group ``venn.plugins``
of its distribution; each entry names an :class:`~venn.extension.Extension` subclass
(``echo2 = my_pkg.plugin:EchoPlugin``) or a module that sets ``plugin``. The bot
plugins are those that subclass :class:`~venn_bots.plugin.Plugin`.

A plugin that fails to import (or is invalid, or clashes with a name already loaded)
is reported in :attr:`Discovery.failures` and skipped; the others load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from venn.extension import ENTRY_POINT_GROUP
from venn.extensions import LoadFailure as Failure
from venn.extensions import discover_extensions
from venn_bots.plugin import Plugin, PluginError, validate_plugin_class

log = logging.getLogger("venn.bots.registry")

__all__ = ["ENTRY_POINT_GROUP", "Discovery", "Failure", "Found", "discover"]


@dataclass(frozen=True)
class Found:
    cls: type[Plugin]
    source: str  # "entry point echo = venn_plugins.echo:EchoPlugin (venn-chat 0.2.0)"


@dataclass
class Discovery:
    plugins: dict[str, Found] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def add(self, cls: type[Plugin], source: str) -> None:
        try:
            validate_plugin_class(cls)
        except PluginError as exc:
            self.failures.append(Failure(source, str(exc)))
            return
        existing = self.plugins.get(cls.name)
        if existing is not None:
            if existing.cls is not cls:
                self.failures.append(
                    Failure(source, f"a plugin named {cls.name!r} is already loaded from {existing.source}")
                )
            return
        self.plugins[cls.name] = Found(cls, source)


def discover(extensions: Any = None, *, refresh: bool = False) -> Discovery:
    """The bot plugins of ``extensions`` (an app's :class:`~venn.extensions.ExtensionSet`),
    or of every installed plugin; ``refresh`` looks at the installed packages again."""
    if extensions is None:
        extensions = discover_extensions(refresh=refresh)
    found = Discovery(failures=list(extensions.failures))
    for cls in extensions.enabled:
        if isinstance(cls, type) and issubclass(cls, Plugin):
            found.add(cls, extensions.sources.get(cls.name, cls.__module__))
    return found
