"""Finding, ordering and configuring the installed plugins (see :mod:`venn.extension`).

:func:`load_extensions` reads the entry-point group ``venn.plugins``, drops the plugins
named in ``VENN_PLUGINS_DISABLED`` (and those that need one of them), orders the rest
so that each comes after what it ``requires``, and reads each plugin's settings. A
plugin that fails to import, is not an :class:`~venn.extension.Extension`, clashes with
another's name or needs a plugin that is missing is reported in
:attr:`ExtensionSet.failures` (and logged), never silently dropped; the others load.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from venn.config import read_settings
from venn.extension import ENTRY_POINT_GROUP, Extension

log = logging.getLogger("venn.extensions")

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")


@dataclass(frozen=True)
class LoadFailure:
    """A plugin that did not load: where it came from and why."""

    source: str
    error: str
    detail: str = ""


@dataclass
class ExtensionSet:
    """The plugins of one application, in load order, with their settings."""

    enabled: list[type[Extension]] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)
    failures: list[LoadFailure] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[type[Extension]]:
        return iter(self.enabled)

    def get(self, name: str) -> type[Extension] | None:
        return next((cls for cls in self.enabled if cls.name == name), None)

    def settings_for(self, name: str) -> Any:
        """The plugin's settings object (``None`` when it declares no ``Settings``)."""
        return self.settings.get(name)


def _failure(source: str, exc: BaseException) -> LoadFailure:
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))
    return LoadFailure(source, f"{type(exc).__name__}: {exc}", detail)


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    seen: set[tuple[str, str]] = set()
    for entry in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if (entry.name, entry.value) in seen:  # the same distribution twice on the path
            continue
        seen.add((entry.name, entry.value))
        yield entry


_scanned: tuple[list[tuple[str, type[Extension], str]], list[LoadFailure]] | None = None


def scan_installed(*, refresh: bool = False) -> tuple[list[tuple[str, type[Extension], str]], list[LoadFailure]]:
    """Every entry point of the group, loaded: ``(entry name, class, source)`` and the
    failures. Cached for the process (entry points do not change while it runs);
    ``refresh`` looks again (tests that install a package)."""
    global _scanned
    if _scanned is not None and not refresh:
        return _scanned
    loaded: list[tuple[str, type[Extension], str]] = []
    failures: list[LoadFailure] = []
    for entry in _entry_points():
        dist = getattr(entry, "dist", None)
        origin = f" ({dist.name} {dist.version})" if dist is not None else ""
        source = f"entry point {entry.name} = {entry.value}{origin}"
        try:
            loaded.append((entry.name, _extension_class(entry.load(), entry.value), source))
        except Exception as exc:
            failures.append(_failure(source, exc))
    for failure in failures:
        log.error("plugin skipped: %s: %s", failure.source, failure.error)
    _scanned = (loaded, failures)
    return _scanned


def discover_extensions(
    disabled: Iterable[str] = (), *, extra: Iterable[type[Extension]] = (), refresh: bool = False
) -> ExtensionSet:
    """The installed plugins minus ``disabled``, ordered by ``requires`` (no settings read).

    ``extra`` adds classes that are not installed (tests, ``venn_bots.testing``).
    """
    off = {name.strip() for name in disabled if name.strip()}
    found = ExtensionSet(disabled=sorted(off))
    loaded, failures = scan_installed(refresh=refresh)
    found.failures.extend(failures)
    candidates = [(cls, source) for entry_name, cls, source in loaded if entry_name not in off]
    for cls in extra:
        candidates.append((cls, f"given {cls.__module__}.{cls.__qualname__}"))

    by_name: dict[str, tuple[type[Extension], str]] = {}
    for cls, source in candidates:
        if cls.name in off:
            continue
        if cls.name in by_name:
            if by_name[cls.name][0] is not cls:
                found.failures.append(
                    LoadFailure(source, f"a plugin named {cls.name!r} is already loaded from {by_name[cls.name][1]}")
                )
            continue
        by_name[cls.name] = (cls, source)

    # Order by `requires`; a plugin whose requirement is missing or disabled stays off.
    placed: set[str] = set()
    pending = dict(by_name)
    while pending:
        progress = False
        for name, (cls, source) in list(pending.items()):
            needs = [r for r in cls.requires if r != name]
            if all(r in placed for r in needs):
                found.enabled.append(cls)
                found.sources[name] = source
                placed.add(name)
                del pending[name]
                progress = True
        if progress:
            continue
        for name, (cls, source) in sorted(pending.items()):
            missing = [r for r in cls.requires if r not in placed]
            why = ", ".join(
                f"{r} (disabled)" if r in off else f"{r} (not installed)" if r not in by_name else r for r in missing
            )
            if name in off:
                continue
            found.failures.append(LoadFailure(source, f"needs the plugin(s) {why}"))
            log.error("plugin skipped: %s: needs the plugin(s) %s", source, why)
        break
    return found


def load_extensions(disabled: Iterable[str] = (), *, extra: Iterable[type[Extension]] = ()) -> ExtensionSet:
    """:func:`discover_extensions`, then each plugin's ``Settings`` read from the
    environment and ``.env``; an invalid value raises :class:`~venn.config.SettingsError`."""
    found = discover_extensions(disabled, extra=extra)
    for cls in found.enabled:
        if cls.Settings is not None:
            found.settings[cls.name] = read_settings(cls.Settings)
    return found


def _extension_class(obj: object, where: str) -> type[Extension]:
    if isinstance(obj, type) and issubclass(obj, Extension):
        cls = obj
    else:
        target = getattr(obj, "plugin", None) or getattr(obj, "PLUGIN", None)
        if isinstance(target, type) and issubclass(target, Extension):
            cls = target
        else:
            raise TypeError(f"{where} is not a venn.extension.Extension subclass (got {obj!r})")
    if not NAME_RE.match(getattr(cls, "name", "") or ""):
        raise ValueError(f"{where}: plugin name {cls.name!r} must match {NAME_RE.pattern}")
    return cls
