"""Tuning knobs of the real-time layer, read from the environment.

They have safe defaults and rarely need changing; tests shorten the timings.

| variable | default | meaning |
| --- | --- | --- |
| ``VENN_REDIS_PREFIX`` | ``venn:`` | real-time Redis key and pub/sub prefix (lets deployments share one Redis) |
| ``VENN_PRESENCE_GRACE_SECONDS`` | 3 | how long after a user's last socket leaves ``offline`` is announced |
| ``VENN_TYPING_TTL_SECONDS`` | 5 | a typing indicator ends this long after the last ``typing`` event |
| ``VENN_SOCKET_EVENTS_PER_SECOND`` | 50 | per-socket flood guard (bursts of four times as many are allowed) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from venn.config import SettingsError
from venn.presence import DEFAULT_REDIS_PREFIX, redis_prefix


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
    def from_env(cls, env: Mapping[str, str] | None = None) -> RealtimeOptions:
        env = os.environ if env is None else env
        options = cls()
        options.redis_prefix = redis_prefix(env)
        options.presence_grace = _number(env, "VENN_PRESENCE_GRACE_SECONDS", options.presence_grace, 0, 3600)
        options.typing_ttl = _number(env, "VENN_TYPING_TTL_SECONDS", options.typing_ttl, 0.1, 600)
        options.typing_throttle = min(options.typing_throttle, options.typing_ttl / 2)
        options.events_per_second = _number(
            env, "VENN_SOCKET_EVENTS_PER_SECOND", options.events_per_second, 1, 100_000
        )
        return options


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"Invalid setting {name}: not a number") from None
    if not low <= value <= high:
        raise SettingsError(f"Invalid setting {name}: must be between {low:g} and {high:g}")
    return value
