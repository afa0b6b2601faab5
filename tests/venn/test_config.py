"""Settings: defaults, validation naming the variable, the generated secret key."""

from __future__ import annotations

import pytest

from venn.config import SettingsError, load_settings


def test_defaults_are_embedded(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "VENN_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path / '.venn' / 'venn.db'}"
    assert settings.redis_url is None and not settings.is_postgres
    assert settings.port == 8000 and settings.rate_limit_messages_per_minute == 120


@pytest.mark.parametrize(
    "name, value",
    [
        ("VENN_PORT", "eighty"),
        ("VENN_PORT", "70000"),
        ("DATABASE_URL", "mysql://localhost/db"),
        ("DATABASE_URL", "sqlite://relative.db"),
        ("REDIS_URL", "http://localhost"),
        ("VENN_LOG_FORMAT", "xml"),
        ("VENN_RATE_LIMIT_MESSAGES_PER_MINUTE", "0"),
        ("VENN_REGISTRATION_OPEN", "maybe"),
        ("VENN_REDIS_PREFIX", "my prefix:"),
        ("VENN_REDIS_PREFIX", "p" * 65),
        ("VENN_PRESENCE_GRACE_SECONDS", "soon"),
        ("VENN_TYPING_TTL_SECONDS", "0"),
        ("VENN_SOCKET_EVENTS_PER_SECOND", "-1"),
        ("VENN_TRUSTED_PROXIES", "nginx"),
        ("VENN_TRUSTED_PROXIES", "10.0.0.1/8"),
    ],
)
def test_invalid_setting_names_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as exc:
        load_settings()
    assert name in str(exc.value)


def test_database_urls_accepted(monkeypatch):
    for url in ("sqlite:///tmp/x.db", "sqlite://:memory:", "postgres://u@h/db", "postgresql://u:p@h:5433/db"):
        monkeypatch.setenv("DATABASE_URL", url)
        assert load_settings().effective_database_url == url
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@h:5433/db")
    assert load_settings().is_postgres


def test_generated_secret_key_is_kept_and_warned_about(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = load_settings(data_dir=tmp_path)
    first = settings.secret_key_value()
    assert "SECRET_KEY is not set" in caplog.text
    assert first not in caplog.text
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert load_settings(data_dir=tmp_path).secret_key_value() == first


def test_cors_origins_from_comma_list(monkeypatch):
    monkeypatch.setenv("VENN_CORS_ORIGINS", "https://a.example, https://b.example/")
    assert load_settings().cors_origins == ["https://a.example", "https://b.example"]


def test_real_time_settings_and_the_redis_prefix_come_from_dotenv_too(monkeypatch, tmp_path):
    from venn.realtime.options import RealtimeOptions

    names = ("VENN_REDIS_PREFIX", "VENN_PRESENCE_GRACE_SECONDS", "VENN_TYPING_TTL_SECONDS",
             "VENN_SOCKET_EVENTS_PER_SECOND", "VENN_TRUSTED_PROXIES", "VENN_LOG_FORMAT")
    for name in names:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "VENN_REDIS_PREFIX=vdop:\nVENN_PRESENCE_GRACE_SECONDS=7\nVENN_TYPING_TTL_SECONDS=2\n"
        "VENN_SOCKET_EVENTS_PER_SECOND=20\nVENN_TRUSTED_PROXIES=10.0.0.5, 192.168.0.0/16\nVENN_LOG_FORMAT=json\n"
    )
    settings = load_settings()
    assert settings.log_format == "json"
    assert settings.redis_prefix == "vdop:"
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.5/32", "192.168.0.0/16"]
    options = RealtimeOptions.from_settings(settings)
    assert (options.redis_prefix, options.presence_grace, options.typing_ttl, options.events_per_second) == (
        "vdop:", 7.0, 2.0, 20.0
    )
    # the environment wins over the file
    monkeypatch.setenv("VENN_REDIS_PREFIX", "other:")
    assert load_settings().redis_prefix == "other:"


def test_an_empty_redis_prefix_is_the_default(monkeypatch):
    monkeypatch.setenv("VENN_REDIS_PREFIX", "")
    assert load_settings().redis_prefix == "venn:"
