"""Writing a plugin: the :class:`Plugin` base class and the handler decorators.

A plugin is a class with a ``name``, a ``description``, a ``version`` and a pydantic
``Config`` model (what an admin sets when enabling it on a thread or a channel).
Its handlers are ``async def handler(self, ctx)`` methods marked with one of:

``@command("name", help=..., args=Model)``
    ``/name args`` messages. Arguments are split like a shell line and, with an
    ``args`` model, validated into ``ctx.args``; ``/name --help`` and bad arguments
    are answered in the thread without calling the handler.
``@on_message(pattern=None)``
    Other messages (those matching the regex, if one is given).
``@on_mention``
    Messages that mention the plugin's bot user (``@echo ...``).
``@on_event("thread_created", ...)``
    Events: ``thread_created``, ``bot_enabled``, ``bot_disabled``, ``bot_updated``,
    ``message_edited``, ``message_deleted``, ``member_joined``, ``member_left``.
``@on_action("vote", ...)`` (:mod:`venn_bots.actions`)
    Clicks on the buttons and selects of the plugin's own messages.

A message goes to the most specific kind of handler the plugin has for it: its
command, else its mention handlers, else its message handlers.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict

from venn.extension import Extension
from venn_bots import args as command_args
from venn_bots.args import HelpRequested, Positional, UsageError

if TYPE_CHECKING:
    from venn_bots.settings import BotSettings
    from venn_bots.storage import KVStore

__all__ = [
    "EVENT_ALIASES", "KNOWN_EVENTS", "ConfigRejected", "HandlerSpec", "HelpRequested", "Plugin", "PluginConfig",
    "PluginError", "PluginHost", "Positional", "UsageError", "command", "on_event", "on_mention", "on_message",
    "validate_plugin_class",
]

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
COMMAND_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
EVENT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

#: events a plugin can declare with @on_event (other names are accepted for events
#: that later layers publish)
KNOWN_EVENTS = frozenset(
    {
        "thread_created",
        "bot_enabled",
        "bot_disabled",
        "bot_updated",
        "message_edited",
        "message_deleted",
        "member_joined",
        "member_left",
    }
)
#: bus event names that reach plugins under another name
EVENT_ALIASES = {"message_updated": "message_edited"}

HANDLER_ATTR = "__venn_handler__"
#: seconds :meth:`Plugin.check_config` may take before the change is refused as unavailable
CHECK_CONFIG_TIMEOUT = 30.0


class PluginError(Exception):
    """A plugin class is not valid (raised when it is defined or loaded)."""


class ConfigRejected(Exception):
    """Raised by :meth:`Plugin.check_config`: a config that is well formed but cannot be
    used (a table that does not exist, an unknown project). ``fields`` maps config field
    names (``"allowed_tables"``) to what is wrong with them; the admin gets the same 422
    ``validation_error`` as for a malformed config, with ``fields`` ``config.<name>``."""

    def __init__(self, fields: Mapping[str, str]) -> None:
        self.fields = {str(name): str(message) for name, message in fields.items()}
        if not self.fields:
            raise ValueError("ConfigRejected needs at least one field and its message")
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.fields.items()))


class PluginConfig(BaseModel):
    """Base for plugin config models: unknown fields are refused, so typos fail loudly."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class HandlerSpec:
    kind: str  # "command" | "message" | "mention" | "event" | "schedule" | "action"
    attr: str  # the method's name
    command: str | None = None
    aliases: tuple[str, ...] = ()
    help: str = ""
    args: type[BaseModel] | None = None
    pattern: re.Pattern[str] | None = None
    events: tuple[str, ...] = ()
    #: also see messages written by bots (never the plugin's own)
    bots: bool = False
    timeout: float | None = None
    #: the arguments part of the usage line, for commands without an ``args`` model
    usage_hint: str = ""
    #: ``@schedule`` handlers: a cron expression or seconds between runs
    cron: str | None = None
    every: float | None = None
    #: ``@on_action`` handlers: the action ids they answer
    actions: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return ((self.command,) if self.command else ()) + self.aliases

    def usage(self) -> str:
        """The usage line: ``/peek <table> [--limit LIMIT]``."""
        return command_args.usage_line(self.command, self.args, self.usage_hint)

    def help_text(self) -> str:
        """What ``/name --help`` answers."""
        return command_args.help_text(
            self.command, self.args, summary=self.help, aliases=self.aliases, hint=self.usage_hint
        )

    def parse_args(self, argv: list[str]) -> BaseModel | None:
        """The command's words as its ``args`` model (None without one); raises
        :class:`HelpRequested` or :class:`UsageError`."""
        return command_args.parse_args(self.command, self.args, argv)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.command,
            "aliases": list(self.aliases),
            "help": self.help,
            "usage": self.usage(),
            "args_schema": self.args.model_json_schema() if self.args is not None else None,
        }


# Decorators ---------------------------------------------------------------


def _mark(func: Callable[..., Any], spec_kwargs: dict[str, Any]) -> Callable[..., Any]:
    if not inspect.iscoroutinefunction(func):
        raise PluginError(f"handler {func.__qualname__} must be an async def")
    params = list(inspect.signature(func).parameters)
    if len(params) != 2:
        raise PluginError(f"handler {func.__qualname__} must take (self, ctx)")
    specs = list(getattr(func, HANDLER_ATTR, ()))
    specs.append(spec_kwargs)
    setattr(func, HANDLER_ATTR, tuple(specs))
    return func


def _first_doc_line(func: Callable[..., Any]) -> str:
    doc = inspect.getdoc(func) or ""
    return doc.strip().split("\n\n")[0].replace("\n", " ") if doc else ""


def command(
    name: str | Callable[..., Any] | None = None,
    *,
    help: str | None = None,
    args: type[BaseModel] | None = None,
    aliases: Iterable[str] = (),
    usage: str = "",
    timeout: float | None = None,
    bots: bool = False,
):
    """Handle ``/name ...`` messages. ``name`` defaults to the method's name.

    ``args`` is a pydantic model: its required fields (and those marked
    :class:`Positional`) are positional arguments in order (a ``list`` one takes the
    rest), the others are ``--options`` (``bool`` ones are flags, ``list`` ones repeat).
    The parsed model is ``ctx.args``; the raw text after the command is ``ctx.text``
    and its shell-style words ``ctx.argv``. Without a model,
    ``usage`` describes the arguments in the help (``usage="TEXT"``).
    """

    aliases = tuple(aliases)
    for n in ((name,) if isinstance(name, str) else ()) + aliases:
        if not COMMAND_NAME_RE.match(n.lower()):
            raise PluginError(f"command name {n!r} must match {COMMAND_NAME_RE.pattern}")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        cmd = (name if isinstance(name, str) else func.__name__).lower()
        if not COMMAND_NAME_RE.match(cmd):
            raise PluginError(f"command name {cmd!r} must match {COMMAND_NAME_RE.pattern}")
        if args is not None and not (isinstance(args, type) and issubclass(args, BaseModel)):
            raise PluginError(f"args of /{cmd} must be a pydantic model class")
        if args is not None:
            try:
                command_args.check_args_model(cmd, args)
            except ValueError as exc:
                raise PluginError(str(exc)) from None
        return _mark(
            func,
            {
                "kind": "command",
                "command": cmd,
                "aliases": tuple(a.lower() for a in aliases),
                "help": help if help is not None else _first_doc_line(func),
                "args": args,
                "timeout": timeout,
                "bots": bots,
                "usage_hint": usage,
            },
        )

    if callable(name):
        return decorate(name)
    return decorate


def on_message(
    pattern: str | re.Pattern[str] | Callable[..., Any] | None = None,
    *,
    flags: int = 0,
    timeout: float | None = None,
    bots: bool = False,
):
    """Handle messages in threads and channels where the plugin is enabled.

    With ``pattern`` only messages where the regex matches (``re.search``); the match
    is ``ctx.match``. ``bots=True`` also delivers other bots' messages.
    """

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        compiled = None
        if isinstance(pattern, re.Pattern):
            compiled = pattern
        elif isinstance(pattern, str):
            try:
                compiled = re.compile(pattern, flags)
            except re.error as exc:
                raise PluginError(f"bad pattern for {func.__qualname__}: {exc}") from None
        return _mark(func, {"kind": "message", "pattern": compiled, "timeout": timeout, "bots": bots})

    if callable(pattern) and not isinstance(pattern, re.Pattern):
        func, pattern = pattern, None
        return decorate(func)
    return decorate


def on_mention(func: Callable[..., Any] | None = None, *, timeout: float | None = None, bots: bool = False):
    """Handle messages that mention the plugin's bot user; ``ctx.text`` is the rest."""

    def decorate(f: Callable[..., Any]) -> Callable[..., Any]:
        return _mark(f, {"kind": "mention", "timeout": timeout, "bots": bots})

    if func is not None:
        return decorate(func)
    return decorate


def on_event(*names: str, timeout: float | None = None, bots: bool = False):
    """Handle events by name (see :data:`KNOWN_EVENTS`); the event's data is ``ctx.data``."""
    if not names or any(callable(n) for n in names):
        raise PluginError("on_event needs one or more event names: @on_event(\"thread_created\")")
    normalised = []
    for n in names:
        if not isinstance(n, str) or not EVENT_NAME_RE.match(n):
            raise PluginError(f"bad event name {n!r}")
        if n == "new_message":
            raise PluginError("use @on_message for new messages, not @on_event(\"new_message\")")
        normalised.append(EVENT_ALIASES.get(n, n))

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        return _mark(func, {"kind": "event", "events": tuple(normalised), "timeout": timeout, "bots": bots})

    return decorate


# The base class -------------------------------------------------------------


class PluginHost(Protocol):
    """What :meth:`Plugin.setup` gets (the bot runtime): the server's ``services``
    (``services.settings`` are the server's settings) and the bot ``settings``."""

    @property
    def services(self) -> Any: ...

    @property
    def settings(self) -> BotSettings: ...


class Plugin(Extension):
    """Subclass this, set ``name`` (and ideally ``description``, ``version``, ``Config``)
    and decorate ``async def handler(self, ctx)`` methods.

    A plugin is also a :class:`venn.extension.Extension`: the same class may add REST
    routes, tables, settings, CLI commands and web renderers (docs/plugins.md).

    Class attributes:

    - ``name``: ``[a-z][a-z0-9_-]{1,31}``; also the bot user's username unless ``bot_name`` is set.
    - ``description``, ``version``: shown in ``GET /api/v1/plugins`` and ``venn plugins list``.
    - ``Config``: a pydantic model (default: no settings), validated when an admin
      enables or reconfigures the plugin; the handler sees it as ``ctx.config``.
    - ``display_name``: the bot user's display name (default: ``name``).
    - ``timeout``: seconds per handler (default: ``VENN_BOT_HANDLER_TIMEOUT``).
    - ``concurrency``: handlers of this plugin running at once per process (default:
      ``VENN_BOT_PLUGIN_CONCURRENCY``).
    - ``max_replies``: replies one job may post (a runaway loop stops there).
    - ``see_bots``: deliver other bots' messages to every handler (default False).
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    version: ClassVar[str] = "0.1.0"
    Config: ClassVar[type[BaseModel]] = PluginConfig
    bot_name: ClassVar[str | None] = None
    display_name: ClassVar[str | None] = None
    timeout: ClassVar[float | None] = None
    concurrency: ClassVar[int | None] = None
    max_replies: ClassVar[int] = 20
    see_bots: ClassVar[bool] = False
    handlers: ClassVar[tuple[HandlerSpec, ...]] = ()
    #: bot plugins run on the bot runtime
    requires: ClassVar[tuple[str, ...]] = ("bots",)

    #: the plugin's logger, set by the runtime before setup()
    log: Any
    #: the plugin's own settings (its ``Settings`` class, read from the environment and
    #: `.env`), or None without one
    settings: Any = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.handlers = _collect_handlers(cls)
        if cls.name:
            validate_plugin_class(cls)

    async def setup(self, runtime: PluginHost) -> None:
        """Called once when the server starts (after the database is ready); ``runtime``
        gives the server's ``services`` and the bot ``settings``."""

    async def teardown(self) -> None:
        """Called once when the server stops."""

    async def check_config(self, config: Any) -> None:
        """Check a config against the world before it is saved (enabling, or changing it).

        Called with the validated ``Config`` model, after ``setup()``, in the process that
        handles the admin's request; raise :class:`ConfigRejected` to refuse it. Only for
        what the model cannot know by itself (does the table exist?); it has
        :data:`CHECK_CONFIG_TIMEOUT` seconds. The default accepts every valid config.
        """

    @property
    def storage(self) -> KVStore:
        """The plugin's own key-value storage (not tied to a thread or channel)."""
        from venn_bots.storage import KVStore

        return KVStore(self.name, "plugin", 0)

    # Introspection ------------------------------------------------------

    @classmethod
    def command_specs(cls) -> list[HandlerSpec]:
        return [h for h in cls.handlers if h.kind == "command"]

    @classmethod
    def command_for(cls, name: str) -> HandlerSpec | None:
        name = name.lower()
        for spec in cls.command_specs():
            if name in spec.names:
                return spec
        return None

    @classmethod
    def event_names(cls) -> set[str]:
        return {e for h in cls.handlers if h.kind == "event" for e in h.events}

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The public description: what ``GET /api/v1/plugins`` lists."""
        return {
            "name": cls.name,
            "description": cls.description,
            "version": cls.version,
            "commands": [c.describe() for c in cls.command_specs()],
            "events": sorted(cls.event_names()),
            "handles_messages": any(h.kind == "message" for h in cls.handlers),
            "handles_mentions": any(h.kind == "mention" for h in cls.handlers),
            "actions": sorted({a for h in cls.handlers for a in h.actions}),
            "config_schema": cls.Config.model_json_schema(),
        }


_RESERVED = frozenset({*(n for n in vars(Plugin) if not n.startswith("__")), "runtime", "log"})


def _collect_handlers(cls: type) -> tuple[HandlerSpec, ...]:
    """Handler specs of ``cls`` and its bases, in definition order (a subclass's
    method of the same name replaces the base's)."""
    seen: dict[str, list[HandlerSpec]] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            marks = getattr(value, HANDLER_ATTR, None)
            if marks is None:
                if attr in seen:
                    seen.pop(attr)  # overridden without a decorator: no longer a handler
                continue
            seen.pop(attr, None)
            seen[attr] = [HandlerSpec(attr=attr, **m) for m in marks]
    return tuple(spec for specs in seen.values() for spec in specs)


def validate_plugin_class(cls: type) -> None:
    """Raise :class:`PluginError` if ``cls`` is not a usable plugin."""
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise PluginError(f"{cls!r} is not a subclass of bots.Plugin")
    if not isinstance(cls.name, str) or not NAME_RE.match(cls.name):
        raise PluginError(f"{cls.__qualname__}.name must match {NAME_RE.pattern} (got {cls.name!r})")
    if not (isinstance(cls.Config, type) and issubclass(cls.Config, BaseModel)):
        raise PluginError(f"{cls.__qualname__}.Config must be a pydantic model class")
    if not isinstance(cls.version, str) or not isinstance(cls.description, str):
        raise PluginError(f"{cls.__qualname__}: version and description must be strings")
    if cls.bot_name is not None and not re.match(r"^[A-Za-z0-9_.-]{2,32}$", cls.bot_name):
        raise PluginError(f"{cls.__qualname__}.bot_name must be 2-32 of A-Z a-z 0-9 _ . -")
    for spec in cls.handlers:
        if spec.attr in _RESERVED:
            raise PluginError(f"{cls.__qualname__}.{spec.attr}: that name belongs to bots.Plugin; rename the handler")
    names: dict[str, str] = {}
    for spec in cls.handlers:
        for n in spec.names:
            if n in names and names[n] != spec.attr:
                raise PluginError(f"{cls.__qualname__}: /{n} is declared by both {names[n]} and {spec.attr}")
            names[n] = spec.attr
    clicks: dict[str, str] = {}
    for spec in cls.handlers:
        for a in spec.actions:
            if a in clicks and clicks[a] != spec.attr:
                raise PluginError(f"{cls.__qualname__}: action {a!r} is handled by both {clicks[a]} and {spec.attr}")
            clicks[a] = spec.attr
    try:
        cls.Config.model_json_schema()
    except Exception as exc:  # a config model must describe itself for the API
        raise PluginError(f"{cls.__qualname__}.Config has no JSON schema: {exc}") from None
