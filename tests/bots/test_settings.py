"""Bot settings from the environment."""

from __future__ import annotations

import pytest

from venn.config import SettingsError
from venn_bots.settings import load_bot_settings


def test_defaults(monkeypatch):
    for name in ("HANDLER_TIMEOUT", "WORKERS", "QUEUE_SIZE", "PLUGIN_CONCURRENCY", "RECLAIM_SECONDS"):
        monkeypatch.delenv(f"VENN_BOT_{name}", raising=False)
    settings = load_bot_settings(_env_file=None)
    assert settings.handler_timeout == 60 and settings.workers == 8 and settings.queue_size == 1000
    assert settings.plugin_concurrency == 4 and settings.channel_owners_can_enable is False


def test_environment(monkeypatch):
    monkeypatch.setenv("VENN_BOT_HANDLER_TIMEOUT", "2.5")
    monkeypatch.setenv("VENN_BOT_WORKERS", "2")
    monkeypatch.setenv("VENN_BOT_PLUGIN_CONCURRENCY", "5")
    monkeypatch.setenv("VENN_BOT_CHANNEL_OWNERS_CAN_ENABLE", "true")
    settings = load_bot_settings(_env_file=None)
    assert settings.handler_timeout == 2.5 and settings.workers == 2
    assert settings.plugin_concurrency == 2  # never more than the workers
    assert settings.channel_owners_can_enable is True


def test_a_bad_value_names_the_variable(monkeypatch):
    monkeypatch.setenv("VENN_BOT_QUEUE_SIZE", "-1")
    with pytest.raises(SettingsError, match="VENN_BOT_QUEUE_SIZE"):
        load_bot_settings(_env_file=None)


def test_the_job_stream_follows_the_redis_prefix_unless_named(monkeypatch):
    monkeypatch.delenv("VENN_BOT_STREAM", raising=False)
    assert load_bot_settings(_env_file=None).stream_name("vdop:") == "vdop:bots:jobs"
    monkeypatch.setenv("VENN_BOT_STREAM", "")  # empty: not set
    assert load_bot_settings(_env_file=None).stream_name("vdop:") == "vdop:bots:jobs"
    monkeypatch.setenv("VENN_BOT_STREAM", "shared:jobs")
    assert load_bot_settings(_env_file=None).stream_name("vdop:") == "shared:jobs"
