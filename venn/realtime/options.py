"""Tuning knobs of the real-time layer, taken from the settings (``venn.config``).

They have safe defaults and rarely need changing; tests shorten the timings.

| variable | default | meaning |
| --- | --- | --- |
| ``VENN_REDIS_PREFIX`` | ``venn:`` | start of every Redis key and channel (Socket.IO's too), one per deployment |
| ``VENN_PRESENCE_GRACE_SECONDS`` | 3 | how long after a user's last socket leaves ``offline`` is announced |
| ``VENN_TYPING_TTL_SECONDS`` | 5 | a typing indicator ends this long after the last ``typing`` event |
| ``VENN_SOCKET_EVENTS_PER_SECOND`` | 50 | per-socket flood guard (bursts of four times as many are allowed) |
"""

from __future__ import annotations

from dataclasses import dataclass

from venn.config import DEFAULT_REDIS_PREFIX, Settings


@dataclass
class RealtimeOptions:
    redis_prefix: str = DEFAULT_REDIS_PREFIX
    presence_grace: float = 3.0
    typing_ttl: float = 5.0
    #: a user's repeated ``typing`` events are re-broadcast at most this often
    typing_throttle: float = 2.0
    events_per_second: float = 50.0
    #: presence heartbeat: each socket's Redis entry lives this long unless refreshed
    socket_ttl: float = 30.0
    heartbeat_interval: float = 10.0

    @property
    def tick_interval(self) -> float:
        """How often this process looks for due offline and typing expiries."""
        return max(0.02, min(0.5, self.presence_grace / 4, self.typing_ttl / 4))

    @classmethod
    def from_settings(cls, settings: Settings) -> RealtimeOptions:
        """The options of ``settings`` (read, like every setting, from the environment and `.env`)."""
        options = cls(
            redis_prefix=settings.redis_prefix,
            presence_grace=settings.presence_grace_seconds,
            typing_ttl=settings.typing_ttl_seconds,
            events_per_second=settings.socket_events_per_second,
        )
        options.typing_throttle = min(options.typing_throttle, options.typing_ttl / 2)
        return options
