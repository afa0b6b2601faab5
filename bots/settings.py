"""The bot runtime's settings (environment variables ``VENN_BOT_*``, also read from `.env`).

They live here rather than in :mod:`venn.config` so that the chat core does not know
about bots. Every one has a default; an invalid value stops start-up with a message
naming the variable, like the core settings.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings

from venn.config import SETTINGS_CONFIG, read_settings
from venn_bots.zones import check_zone


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class BotSettings(BaseSettings):
    model_config = SETTINGS_CONFIG

    #: seconds one handler may run before it is cancelled and answered with an error
    handler_timeout: float = Field(60.0, gt=0, le=3600, validation_alias=_env("VENN_BOT_HANDLER_TIMEOUT"))
    #: jobs run at once by one server process
    workers: int = Field(8, ge=1, le=256, validation_alias=_env("VENN_BOT_WORKERS"))
    #: jobs waiting to run (per process in embedded mode, per Redis stream with REDIS_URL);
    #: past it a job is refused and the thread is told
    queue_size: int = Field(1000, ge=1, le=1_000_000, validation_alias=_env("VENN_BOT_QUEUE_SIZE"))
    #: handlers of one plugin running at once in one process
    plugin_concurrency: int = Field(4, ge=1, le=256, validation_alias=_env("VENN_BOT_PLUGIN_CONCURRENCY"))
    #: (Redis) seconds without a heartbeat after which a job held by a dead worker is
    #: taken over by another process
    reclaim_seconds: float = Field(30.0, ge=0.2, le=3600, validation_alias=_env("VENN_BOT_RECLAIM_SECONDS"))
    #: (Redis) deliveries of one job before it is given up (a job that keeps killing workers)
    max_attempts: int = Field(3, ge=1, le=100, validation_alias=_env("VENN_BOT_MAX_ATTEMPTS"))
    #: let channel owners (not only admins) enable, configure and disable bots in their channels
    channel_owners_can_enable: bool = Field(False, validation_alias=_env("VENN_BOT_CHANNEL_OWNERS_CAN_ENABLE"))
    #: (Redis) the stream that carries jobs; processes of one deployment must share it.
    #: Unset: ``<VENN_REDIS_PREFIX>bots:jobs`` (see :meth:`stream_name`)
    stream_key: str | None = Field(None, min_length=1, max_length=200, validation_alias=_env("VENN_BOT_STREAM"))

    #: the time zone of ``@schedule(cron=...)`` handlers (a plugin config's ``timezone`` wins)
    timezone: str = Field("UTC", min_length=1, max_length=64, validation_alias=_env("VENN_TIMEZONE"))
    #: seconds between two looks for due scheduled jobs
    schedule_tick: float = Field(1.0, ge=0.05, le=60, validation_alias=_env("VENN_BOT_SCHEDULE_TICK"))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("stream_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    def stream_name(self, redis_prefix: str) -> str:
        """The job stream's key: ``VENN_BOT_STREAM`` if set, else ``<redis_prefix>bots:jobs``.
        Its settings-changed channel and job keys start with it too."""
        return self.stream_key or f"{redis_prefix}bots:jobs"

    @model_validator(mode="after")
    def _check(self) -> BotSettings:
        if self.plugin_concurrency > self.workers:
            self.plugin_concurrency = self.workers
        return self


def load_bot_settings(**overrides: object) -> BotSettings:
    """Read the bot settings; raises :class:`venn.config.SettingsError` naming the variable."""
    return read_settings(BotSettings, **overrides)
