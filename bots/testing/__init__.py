"""The testing kit for plugin authors: run a plugin in a real, in-memory Venn.

:class:`BotHarness` starts the real app (its services, event bus and bot runtime)
on an in-memory SQLite database with the embedded job queue, creates an admin, a
user ``alice``, a channel and a thread, and enables your plugin there. You post as
a user and get the bot's replies once every job the message caused has finished::

    from venn_bots.testing import testbot  # or: pytest_plugins = ["venn_bots.testing"]

    async def test_echo(testbot):
        bot = await testbot(EchoPlugin, config={"prefix": "> "})
        replies = await bot.say("/echo hi")
        assert [r.body for r in replies] == ["> hi"]

By default a handler that raises or times out fails the test (``strict=True``),
with the handler's exception as the cause; pass ``strict=False`` to test how the
thread is answered instead.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from venn.events import Event
from venn_bots.keys import RUNTIME
from venn_bots.models import BotScope
from venn_bots.plugin import Plugin
from venn_bots.runtime import BotRuntime
from venn_bots.settings import BotSettings
from venn_bots.storage import KVStore
from venn_bots.tracking import JobOutcome

__all__ = ["BotHarness", "BotJobFailed", "Reply", "testbot"]

FAILURES = ("error", "timeout", "invalid_config", "gave_up")
_counter = itertools.count(1)


class BotJobFailed(AssertionError):
    """A job of the plugin under test failed (strict mode); ``__cause__`` is the handler's error."""

    def __init__(self, outcome: JobOutcome) -> None:
        detail = f": {type(outcome.error).__name__}: {outcome.error}" if outcome.error is not None else ""
        super().__init__(
            f"{outcome.job.plugin} job {outcome.job.id[:8]} ({outcome.job.event}, handler {outcome.handler}) "
            f"ended with {outcome.outcome}{detail}"
        )
        self.outcome = outcome


class _IsolatedBotSettings(BotSettings):
    """Bot settings from arguments only (the developer's VENN_BOT_* variables are ignored)."""

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, **sources):  # type: ignore[override]
        return (init_settings,)


@dataclass(frozen=True)
class Reply:
    """A message posted by a bot (as REST shows it in ``message``)."""

    id: int
    body: str
    kind: str  # "bot" or "system"
    payload: dict[str, Any] | None
    author: str  # the bot user's username
    plugin: str | None
    channel_id: int
    thread_id: int | None
    message: dict[str, Any] = field(repr=False, compare=False)

    def __str__(self) -> str:
        return self.body


class BotHarness:
    """A running Venn with the plugins under test. Build it with :meth:`start`."""

    def __init__(self, app: Any, runner: Any, strict: bool) -> None:
        from venn import keys

        self.app = app
        self._runner = runner
        self.strict = strict
        self.services = app[keys.SERVICES]
        self.runtime: BotRuntime = app[RUNTIME]
        #: every bot message posted (replies, notices, system messages), in order
        self.messages: list[Reply] = []
        #: every event plugins emitted with ``ctx.emit`` and every ``bot_status``
        self.events: list[Event] = []
        #: the outcome of every job, in order
        self.jobs: list[JobOutcome] = []
        self.admin: Any = None
        self.alice: Any = None
        self.channel: dict[str, Any] = {}
        self.thread: dict[str, Any] = {}
        self.root: dict[str, Any] = {}

    # Building --------------------------------------------------------------

    @classmethod
    async def start(
        cls,
        *plugins: type[Plugin],
        data_dir: str | Path,
        config: dict[str, Any] | None = None,
        configs: dict[str, dict[str, Any]] | None = None,
        scope: str = "thread",
        enable: bool = True,
        strict: bool = True,
        database_url: str | None = None,
        discover: bool = False,
        **bot_settings: Any,
    ) -> BotHarness:
        """Start Venn with ``plugins`` and enable each on the thread (or ``scope="channel"``).

        ``config`` is the config of the (first) plugin; ``configs`` gives one per
        plugin name. ``database_url`` defaults to an in-memory SQLite database.
        ``bot_settings`` override :class:`venn_bots.settings.BotSettings`
        (``handler_timeout=0.5``, ``queue_size=2``, ...). ``discover=True`` also
        loads the installed plugins.
        """
        from aiohttp import web

        from venn.app import create_app
        from venn.config import Settings

        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            _env_file=None,
            data_dir=data_dir,
            database_url=database_url or "sqlite://:memory:",
            redis_url=None,
            secret_key="bots-testing-secret-key",
            rate_limit_messages_per_minute=100_000,
            rate_limit_logins_per_minute=100_000,
        )
        app = create_app(settings)
        runtime: BotRuntime = app[RUNTIME]
        runtime.settings = _IsolatedBotSettings(
            **{"handler_timeout": 5.0, "workers": 4, "queue_size": 100, "plugin_concurrency": 4, **bot_settings}
        )
        runtime.redis_url = None
        runtime.use_plugins(*plugins, discover=discover)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        harness = cls(app, runner, strict)
        try:
            await harness._arrange()
            configs = dict(configs or {})
            if config is not None and plugins:
                configs.setdefault(plugins[0].name, config)
            if enable:
                for plugin in plugins:
                    await harness.enable(plugin.name, configs.get(plugin.name), scope=scope)
            await harness.settle()
        except BaseException:
            await harness.close()
            raise
        return harness

    async def _arrange(self) -> None:
        services = self.services
        services.events.subscribe(self._on_event)
        self.runtime.listeners.append(self.jobs.append)
        self.admin = await self.user("admin", admin=True, join=False)
        self.alice = await self.user("alice", join=False)
        from venn.schemas import ChannelCreateIn, MessageCreateIn, ThreadCreateIn

        self.channel = await services.channels.create(self.admin, ChannelCreateIn(name="general"))
        await services.channels.add_member(self.admin, self.channel["id"], self.alice.id)
        root = await services.messages.post(
            self.alice, MessageCreateIn(channel_id=self.channel["id"], body="Let's test the bot here.")
        )
        self.root = root.message
        self.thread, _ = await services.threads.create(
            self.alice, ThreadCreateIn(channel_id=self.channel["id"], root_message_id=self.root["id"], title="bot test")
        )

    async def close(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> BotHarness:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    # People and places ----------------------------------------------------

    async def user(self, username: str | None = None, *, admin: bool = False, join: bool = True) -> Any:
        """A new account (a member of the test channel unless ``join=False``).

        It has no password (nobody logs in here), which keeps the kit fast.
        """
        from venn.db.models import Role, User
        from venn.services.users import username_key

        username = username or f"user{next(_counter)}"
        user = await User.create(
            username=username,
            username_key=username_key(username),
            display_name=username,
            role=Role.ADMIN if admin else Role.MEMBER,
        )
        if join and self.channel:
            await self.services.channels.add_member(self.admin, self.channel["id"], user.id)
        return user

    async def new_thread(self, title: str = "", *, user: Any = None, body: str = "A new topic") -> dict[str, Any]:
        """Post a message in the channel and open its thread (plugins see ``thread_created``)."""
        from venn.schemas import MessageCreateIn, ThreadCreateIn

        user = user or self.alice
        root = await self.services.messages.post(user, MessageCreateIn(channel_id=self.channel["id"], body=body))
        thread, _ = await self.services.threads.create(
            user, ThreadCreateIn(channel_id=self.channel["id"], root_message_id=root.message["id"], title=title)
        )
        await self.settle()
        return thread

    # Admin side ------------------------------------------------------------

    def _target(self, scope: str, thread_id: int | None) -> tuple[BotScope, int]:
        if scope == "channel":
            return BotScope.CHANNEL, self.channel["id"]
        return BotScope.THREAD, thread_id or self.thread["id"]

    async def enable(
        self, plugin: str, config: dict[str, Any] | None = None, *, scope: str = "thread", thread_id: int | None = None
    ) -> dict[str, Any]:
        """Enable a plugin as the admin would (the same rules and validation as REST)."""
        kind, target = self._target(scope, thread_id)
        result = await self.runtime.service.enable(self.admin, kind, target, plugin, config or {})
        await self.settle()
        return result

    async def configure(
        self, plugin: str, config: dict[str, Any], *, scope: str = "thread", thread_id: int | None = None
    ) -> dict[str, Any]:
        kind, target = self._target(scope, thread_id)
        result = await self.runtime.service.update(self.admin, kind, target, plugin, config)
        await self.settle()
        return result

    async def disable(self, plugin: str, *, scope: str = "thread", thread_id: int | None = None) -> None:
        kind, target = self._target(scope, thread_id)
        await self.runtime.service.disable(self.admin, kind, target, plugin)
        await self.settle()

    # Talking ----------------------------------------------------------------

    async def say(
        self,
        text: str,
        *,
        user: Any = None,
        thread_id: int | None = None,
        in_channel: bool = False,
        timeout: float = 10.0,
    ) -> list[Reply]:
        """Post ``text`` (as alice, in the test thread) and return the bot messages it led
        to once every job has finished. ``in_channel=True`` posts in the channel's stream."""
        from venn.schemas import MessageCreateIn

        mark_messages, mark_jobs = len(self.messages), len(self.jobs)
        target = None if in_channel else (thread_id or self.thread["id"])
        await self.services.messages.post(
            user or self.alice, MessageCreateIn(channel_id=self.channel["id"], body=text, thread_id=target)
        )
        await self.settle(timeout)
        self._check(mark_jobs)
        return [m for m in self.messages[mark_messages:] if m.kind == "bot"]

    async def edit(self, message_id: int, text: str, *, user: Any = None) -> list[Reply]:
        """Edit a message (plugins see ``message_edited``); returns the bot messages it led to."""
        mark_messages, mark_jobs = len(self.messages), len(self.jobs)
        await self.services.messages.edit(user or self.alice, message_id, text)
        await self.settle()
        self._check(mark_jobs)
        return [m for m in self.messages[mark_messages:] if m.kind == "bot"]

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until every event has been routed and every job has finished."""
        await self.runtime.idle(timeout)

    def _check(self, mark: int) -> None:
        if not self.strict:
            return
        for outcome in self.jobs[mark:]:
            if outcome.outcome in FAILURES:
                raise BotJobFailed(outcome) from outcome.error

    # Looking -----------------------------------------------------------------

    @property
    def replies(self) -> list[Reply]:
        """Every bot reply so far (not system messages)."""
        return [m for m in self.messages if m.kind == "bot"]

    def emitted(self, name: str | None = None) -> list[dict[str, Any]]:
        """Data of the events emitted so far (``ctx.emit``, ``bot_status``), by name."""
        return [e.data for e in self.events if name is None or e.name == name]

    async def history(self, thread_id: int | None = None) -> list[dict[str, Any]]:
        """The thread's messages, oldest first (as REST shows them)."""
        from venn.schemas import PageQuery

        page = await self.services.messages.thread_history(
            self.admin, thread_id or self.thread["id"], PageQuery(limit=200)
        )
        return page["messages"]

    def storage(self, plugin: str, scope: str = "thread", scope_id: int | None = None) -> KVStore:
        """A plugin's key-value storage, to arrange or inspect it."""
        if scope_id is None:
            scope_id = {"thread": self.thread["id"], "channel": self.channel["id"], "plugin": 0}[scope]
        return KVStore(plugin, scope, scope_id)

    async def _on_event(self, event: Event) -> None:
        if event.name == "new_message":
            author = event.context.get("author")
            message = event.data.get("message") or {}
            if author is None or not author.is_bot:
                return
            plugin = next((n for n, u in self.runtime.bot_users.items() if u.id == author.id), None)
            self.messages.append(
                Reply(
                    id=message["id"],
                    body=message["body"],
                    kind=message["kind"],
                    payload=message.get("payload"),
                    author=author.username,
                    plugin=plugin,
                    channel_id=message["channel_id"],
                    thread_id=message["thread_id"],
                    message=message,
                )
            )
        elif event.channel_id is not None and event.name not in (
            "message_updated", "message_deleted", "thread_created", "member_joined", "member_left",
        ):
            self.events.append(event)


def _fixture(func):
    try:  # pytest-asyncio in strict mode needs its own decorator; it works in auto mode too
        import pytest_asyncio

        return pytest_asyncio.fixture(func)
    except ImportError:  # pragma: no cover
        return pytest.fixture(func)


@_fixture
async def testbot(tmp_path):
    """``bot = await testbot(MyPlugin, config={...}, **options)``: a started :class:`BotHarness`
    (closed after the test). Options are those of :meth:`BotHarness.start`."""
    harnesses: list[BotHarness] = []

    async def start(*plugins: type[Plugin], **options: Any) -> BotHarness:
        harness = await BotHarness.start(*plugins, data_dir=tmp_path / f"venn-bots-{len(harnesses)}", **options)
        harnesses.append(harness)
        return harness

    yield start
    for harness in reversed(harnesses):
        try:
            await asyncio.wait_for(harness.close(), 30)
        except Exception:  # pragma: no cover - clean-up must not hide the test's result
            pass
