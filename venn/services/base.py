"""What every service is built with."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from venn.config import Settings
    from venn.events import EventBus
    from venn.ratelimit import RateLimiter
    from venn.security.tokens import TokenSigner
    from venn.services import Services


class Service:
    """A slice of the service layer; all share settings, event bus and limiter."""

    def __init__(self, core: Services) -> None:
        self.core = core

    @property
    def settings(self) -> Settings:
        return self.core.settings

    @property
    def events(self) -> EventBus:
        return self.core.events

    @property
    def limiter(self) -> RateLimiter:
        return self.core.limiter

    @property
    def tokens(self) -> TokenSigner:
        return self.core.tokens
