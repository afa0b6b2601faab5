"""Finding plugins: bundled ones under ``plugins/`` and installed ones by entry point.

- Bundled: every package ``plugins/<name>/`` whose ``__init__`` sets ``plugin = MyPlugin``
  (or ``PLUGIN``). A package without one is a helper and is skipped quietly.
- Installed: the entry-point group ``venn.plugins``; each entry names a Plugin
  subclass (``echo2 = my_pkg.plugin:EchoPlugin``) or a module that sets ``plugin``.

A plugin that fails to import (or is invalid, or clashes with a name already
loaded) is reported in :attr:`Discovery.failures` and skipped; the others load.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import pkgutil
import traceback
import types
from dataclasses import dataclass, field

from venn_bots.plugin import Plugin, PluginError, validate_plugin_class

log = logging.getLogger("venn.bots.registry")

ENTRY_POINT_GROUP = "venn.plugins"
BUNDLED_PACKAGE = "venn_plugins"


@dataclass(frozen=True)
class Found:
    cls: type[Plugin]
    source: str  # "bundled venn_plugins.echo" / "entry point echo2 = pkg:Echo"


@dataclass(frozen=True)
class Failure:
    source: str
    error: str
    detail: str = ""


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


def plugin_from(obj: object, where: str) -> type[Plugin]:
    """The Plugin class an entry point or a bundled module stands for."""
    if isinstance(obj, types.ModuleType):
        target = getattr(obj, "plugin", None) or getattr(obj, "PLUGIN", None)
        if target is None:
            raise PluginError(f"{where} sets no `plugin` attribute")
        obj = target
    if isinstance(obj, type) and issubclass(obj, Plugin):
        return obj
    raise PluginError(f"{where} is not a bots.Plugin subclass (got {obj!r})")


def _failure(source: str, exc: BaseException) -> Failure:
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
    return Failure(source, f"{type(exc).__name__}: {exc}", detail)


def _bundled(found: Discovery) -> None:
    try:
        package = importlib.import_module(BUNDLED_PACKAGE)
    except Exception as exc:  # pragma: no cover - the package ships with Venn
        found.failures.append(_failure(BUNDLED_PACKAGE, exc))
        return
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        module_name = f"{BUNDLED_PACKAGE}.{info.name}"
        source = f"bundled {module_name}"
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:
            found.failures.append(_failure(source, exc))
            continue
        target = getattr(module, "plugin", None) or getattr(module, "PLUGIN", None)
        if target is None:
            log.debug("bundled package without a plugin", extra={"module": module_name})
            continue
        try:
            found.add(plugin_from(target, module_name), source)
        except PluginError as exc:
            found.failures.append(Failure(source, str(exc)))


def _installed(found: Discovery) -> None:
    try:
        entries = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    except Exception as exc:  # pragma: no cover - broken metadata on the path
        found.failures.append(_failure(f"entry points {ENTRY_POINT_GROUP}", exc))
        return
    seen: set[tuple[str, str]] = set()
    for entry in sorted(entries, key=lambda e: e.name):
        if (entry.name, entry.value) in seen:  # the same distribution on the path twice
            continue
        seen.add((entry.name, entry.value))
        dist = getattr(entry, "dist", None)
        origin = f" ({dist.name} {dist.version})" if dist is not None else ""
        source = f"entry point {entry.name} = {entry.value}{origin}"
        try:
            found.add(plugin_from(entry.load(), entry.value), source)
        except Exception as exc:
            found.failures.append(_failure(source, exc))


_cache: Discovery | None = None


def discover(*, refresh: bool = False) -> Discovery:
    """Bundled and installed plugins (cached for the process; ``refresh`` looks again)."""
    global _cache
    if _cache is not None and not refresh:
        return _cache
    found = Discovery()
    _bundled(found)
    _installed(found)
    for failure in found.failures:
        log.error("plugin skipped: %s: %s", failure.source, failure.error)
    _cache = found
    return found
