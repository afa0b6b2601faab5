"""The seams between the runtime and what it runs: what a handler's context and the
enablement service may ask of the runtime (:class:`venn_bots.runtime.BotRuntime`
implements both, and :class:`venn_bots.plugin.PluginHost`, what a plugin's setup gets).

They are protocols, so that :mod:`venn_bots.context` and :mod:`venn_bots.service`
depend on this small module and never on the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from venn_bots.plugin import Plugin, PluginHost

if TYPE_CHECKING:
    from venn_bots.registry import Failure


class ContextHandle(Protocol):
    """What a handler's :class:`~venn_bots.context.Context` may do beyond its own job."""

    async def post_as_bot(
        self,
        plugin: str,
        channel_id: int,
        thread_id: int | None,
        text: str,
        *,
        payload: dict[str, Any] | None = None,
        client_msg_id: str | None = None,
        system: bool = False,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """Post as the plugin's bot user (``reply_to``: the id of the message it answers);
        the message as REST shows it."""
        ...

    async def emit(
        self, plugin: str, event: str, data: dict[str, Any], *, channel_id: int, thread_id: int | None
    ) -> None:
        """Send a live, unstored event to a thread's (or channel's) clients."""
        ...

    async def update_as_bot(
        self, plugin: str, message_id: int, *, body: str | None = None, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Change a message of the plugin's bot user (``message_updated``); the message as REST shows it."""
        ...

    async def enabled_plugins(self, channel_id: int, thread_id: int | None) -> list[Plugin]:
        """The loaded plugins switched on for a thread (or a channel's stream)."""
        ...


class ServiceHost(ContextHandle, PluginHost, Protocol):
    """What the enablement service (:class:`venn_bots.service.BotService`) reads and calls."""

    @property
    def plugins(self) -> Mapping[str, Plugin]: ...

    @property
    def bot_users(self) -> Mapping[str, Any]: ...

    @property
    def failures(self) -> Sequence[Failure]: ...

    async def bot_settings_changed(self) -> None:
        """A bot setting changed (committed): every process reads the channels with bots again."""
        ...
