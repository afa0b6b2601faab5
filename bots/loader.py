"""Loading plugins: which classes run, one instance and one bot user each, setup and
teardown. A plugin that fails any step is reported in :attr:`PluginLoader.failures`
and left out; the others load."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from venn.config import read_settings
from venn.db.models import User
from venn.services.users import username_key
from venn_bots.context import JobLog
from venn_bots.plugin import Plugin, PluginError, PluginHost, validate_plugin_class
from venn_bots.registry import Discovery, Failure, discover

log = logging.getLogger("venn.bots")

#: seconds a plugin's teardown may take at shutdown
TEARDOWN_TIMEOUT = 10.0


def find_installed_plugins(extensions: Any = None) -> Discovery:
    """The bot plugin classes among the app's plugins (``extensions``, the app's
    :class:`~venn.extensions.ExtensionSet`; None: every installed one), and those that
    failed to load. The one place the runtime asks where plugins come from."""
    return discover(extensions)


def plugin_settings(cls: type[Plugin], extensions: Any = None) -> Any:
    """The plugin's own settings: as the app read them, else read now (a plugin given to
    the test kit), or None when it declares no ``Settings``."""
    if extensions is not None and extensions.get(cls.name) is cls:
        return extensions.settings_for(cls.name)
    if cls.Settings is None:
        return None
    return read_settings(cls.Settings)


class PluginLoader:
    """The loaded plugins, their sources and bot users, and the failures.

    The dictionaries are kept (cleared, not replaced) across starts, so that those
    holding them (the poster) see the current ones.
    """

    def __init__(self, services: Any, extensions: Any = None) -> None:
        self._services = services
        self._extensions = extensions
        self.plugins: dict[str, Plugin] = {}
        self.sources: dict[str, str] = {}
        self.bot_users: dict[str, User] = {}
        self.failures: list[Failure] = []

    async def load(
        self, given: list[type[Plugin]] | None, *, with_installed: bool, host: PluginHost, setup_timeout: float
    ) -> None:
        """Load the installed plugins (when no classes are given, or ``with_installed``),
        then the given ones: instantiate, make the bot user, set up."""
        self.plugins.clear()
        self.sources.clear()
        self.bot_users.clear()
        found = find_installed_plugins(self._extensions) if (given is None or with_installed) else Discovery()
        self.failures[:] = found.failures
        candidates = [(f.cls, f.source) for f in found.plugins.values()]
        candidates += [(cls, f"given {cls.__module__}.{cls.__qualname__}") for cls in given or ()]
        for cls, source in candidates:
            await self._load(cls, source, host, setup_timeout)

    async def _load(self, cls: type[Plugin], source: str, host: PluginHost, setup_timeout: float) -> None:
        name = getattr(cls, "name", "?")
        try:
            validate_plugin_class(cls)
            if name in self.plugins:
                if type(self.plugins[name]) is cls:
                    return
                raise PluginError(f"a plugin named {name!r} is already loaded from {self.sources[name]}")
            plugin = cls()
            plugin.log = JobLog(logging.getLogger(f"venn.plugins.{name}"), {"plugin": name})
            plugin.settings = plugin_settings(cls, self._extensions)
            self.bot_users[name] = await self._ensure_bot_user(cls)
            await asyncio.wait_for(plugin.setup(host), timeout=setup_timeout)
        except Exception as exc:
            if name not in self.plugins:
                self.bot_users.pop(name, None)
            failure = Failure(source, f"{type(exc).__name__}: {exc}")
            self.failures.append(failure)
            log.error("plugin skipped: %s: %s", source, failure.error, exc_info=not isinstance(exc, PluginError))
            return
        self.plugins[name] = plugin
        self.sources[name] = source

    async def _ensure_bot_user(self, cls: type[Plugin]) -> User:
        """The plugin's own bot user: its name, or ``name-bot`` if a person has that name."""
        base = cls.bot_name or cls.name
        taken = {u.id for u in self.bot_users.values()}
        candidates = [base, f"{base[:28]}-bot", *(f"{base[:27]}-bot{i}" for i in range(2, 10))]
        for candidate in candidates:
            existing = await User.get_or_none(username_key=username_key(candidate))
            if existing is not None and (not existing.is_bot or existing.id in taken):
                continue
            user = await self._services.users.ensure_bot_user(candidate, cls.display_name or cls.name)
            if user.is_bot and user.id not in taken:
                if candidate != base:
                    log.warning(
                        "bot user renamed: %s is taken", base, extra={"plugin": cls.name, "username": candidate}
                    )
                return user
        raise PluginError(f"no free username for the bot user of {cls.name}")

    async def teardown_all(self) -> None:
        """Each plugin's teardown; one that fails or hangs is logged, the others run."""
        for name, plugin in self.plugins.items():
            try:
                await asyncio.wait_for(plugin.teardown(), timeout=TEARDOWN_TIMEOUT)
            except Exception:
                log.exception("plugin teardown failed", extra={"plugin": name})
