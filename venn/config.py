"""Settings, read from the environment and `.env` (names as in `.env.example`).

Every knob has a default, so Venn runs with no configuration at all: SQLite and a
generated secret key under ``VENN_DATA_DIR``, in-process pub/sub, the DuckDB demo
warehouse. An invalid value stops start-up with a message naming the variable
(:func:`load_settings` raises :class:`SettingsError`).
"""

from __future__ import annotations

import logging
import os
import secrets
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal, TypeVar
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger("venn.config")

SECRET_KEY_FILE = "secret_key"
#: the start of every Redis key and pub/sub channel name Venn uses (``VENN_REDIS_PREFIX``)
DEFAULT_REDIS_PREFIX = "venn:"


def _env(name: str, *more: str) -> AliasChoices:
    return AliasChoices(name, *more)


#: how every Venn settings class reads its values: environment, then `.env`
SETTINGS_CONFIG = SettingsConfigDict(
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    populate_by_name=True,
    case_sensitive=False,
)


class SettingsError(Exception):
    """A setting is invalid; the message names the variable and says why."""


class Settings(BaseSettings):
    """All of Venn's settings. Field aliases are the environment variable names."""

    model_config = SETTINGS_CONFIG

    # Storage and scale-out
    data_dir: Path = Field(Path(".venn"), validation_alias=_env("VENN_DATA_DIR"))
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))
    secret_key: SecretStr | None = Field(None, validation_alias=_env("SECRET_KEY"))
    #: every Redis key and channel name starts with it, so deployments can share a Redis
    redis_prefix: str = Field(DEFAULT_REDIS_PREFIX, max_length=64, validation_alias=_env("VENN_REDIS_PREFIX"))

    # HTTP
    host: str = Field("127.0.0.1", validation_alias=_env("VENN_HOST"))
    #: the event loop of ``venn serve``: uvloop where it is installed (auto), or asyncio's own
    event_loop: Literal["auto", "uvloop", "asyncio"] = Field("auto", validation_alias=_env("VENN_EVENT_LOOP"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=_env("VENN_PORT"))
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("VENN_CORS_ORIGINS")
    )
    #: reverse proxies whose X-Forwarded-For / X-Forwarded-Host are believed (venn/proxies.py)
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list, validation_alias=_env("VENN_TRUSTED_PROXIES")
    )
    #: the web client's folder (default: web/ of the source tree), e.g. a copy installed elsewhere
    web_dir: Path | None = Field(None, validation_alias=_env("VENN_WEB_DIR"))
    max_body_bytes: int = Field(256 * 1024, ge=1024, validation_alias=_env("VENN_MAX_BODY_BYTES"))
    log_format: Literal["text", "json"] = Field("text", validation_alias=_env("VENN_LOG_FORMAT"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias=_env("VENN_LOG_LEVEL")
    )
    shutdown_timeout_seconds: float = Field(10.0, gt=0, validation_alias=_env("VENN_SHUTDOWN_TIMEOUT"))

    # Real time (Socket.IO)
    presence_grace_seconds: float = Field(3.0, ge=0, le=3600, validation_alias=_env("VENN_PRESENCE_GRACE_SECONDS"))
    typing_ttl_seconds: float = Field(5.0, ge=0.1, le=600, validation_alias=_env("VENN_TYPING_TTL_SECONDS"))
    max_sockets_per_user: int = Field(20, ge=1, le=1_000_000, validation_alias=_env("VENN_MAX_SOCKETS_PER_USER"))
    socket_queue_limit: int = Field(1000, ge=0, le=10_000_000, validation_alias=_env("VENN_SOCKET_QUEUE_LIMIT"))
    socket_events_per_second: float = Field(
        50.0, ge=1, le=100_000, validation_alias=_env("VENN_SOCKET_EVENTS_PER_SECOND")
    )

    # Accounts and auth
    #: argon2 parameters for new password hashes: "standard" (RFC 9106 low-memory, argon2-cffi's
    #: default) or "cheapest" — for test suites only, never for real accounts
    password_hashing: Literal["standard", "cheapest"] = Field(
        "standard", validation_alias=_env("VENN_PASSWORD_HASHING")
    )
    #: who may register: anyone (open), holders of an invite link (invite), nobody (closed)
    registration: Literal["open", "invite", "closed"] = Field("open", validation_alias=_env("VENN_REGISTRATION"))
    #: deprecated: false meant VENN_REGISTRATION=closed (used when VENN_REGISTRATION is not set)
    registration_open: bool | None = Field(None, validation_alias=_env("VENN_REGISTRATION_OPEN"))
    access_token_ttl_seconds: int = Field(15 * 60, ge=10, validation_alias=_env("VENN_ACCESS_TOKEN_TTL"))
    refresh_token_ttl_seconds: int = Field(
        14 * 24 * 3600, ge=60, validation_alias=_env("VENN_REFRESH_TOKEN_TTL")
    )
    rate_limit_messages_per_minute: int = Field(
        120, ge=1, validation_alias=_env("VENN_RATE_LIMIT_MESSAGES_PER_MINUTE")
    )
    rate_limit_logins_per_minute: int = Field(
        10, ge=1, validation_alias=_env("VENN_RATE_LIMIT_LOGINS_PER_MINUTE")
    )
    failed_logins_per_address_per_minute: int = Field(
        30, ge=1, validation_alias=_env("VENN_FAILED_LOGINS_PER_ADDRESS_PER_MINUTE")
    )
    #: registration attempts from one client address a minute (429 beyond)
    registrations_per_address_per_minute: int = Field(
        10, ge=1, validation_alias=_env("VENN_REGISTRATIONS_PER_ADDRESS_PER_MINUTE")
    )
    #: password changes with a wrong current_password, per user a minute (429 beyond)
    failed_password_changes_per_user_per_minute: int = Field(
        5, ge=1, validation_alias=_env("VENN_FAILED_PASSWORD_CHANGES_PER_USER_PER_MINUTE")
    )
    max_message_length: int = Field(4000, ge=1, le=100_000, validation_alias=_env("VENN_MAX_MESSAGE_LENGTH"))
    # Reactions and pins (docs/api.md, "Reactions and pins")
    rate_limit_reactions_per_minute: int = Field(
        60, ge=1, validation_alias=_env("VENN_RATE_LIMIT_REACTIONS_PER_MINUTE")
    )
    max_reactions_per_message: int = Field(
        50, ge=1, le=1000, validation_alias=_env("VENN_MAX_REACTIONS_PER_MESSAGE")
    )
    max_pins_per_channel: int = Field(100, ge=1, le=10_000, validation_alias=_env("VENN_MAX_PINS_PER_CHANNEL"))
    # Incoming webhooks (docs/api.md, "Incoming webhooks"): posts a minute per webhook
    rate_limit_webhook_per_minute: int = Field(
        60, ge=1, validation_alias=_env("VENN_RATE_LIMIT_WEBHOOK_PER_MINUTE")
    )
    # Outgoing webhooks (docs/api.md, "Event subscriptions"): hosts exempt from the
    # private-address refusal (e.g. an internal receiver), the per-attempt timeout,
    # the attempts before giving up, the first retry delay (doubling, at most an hour)
    # and the days delivered and given-up deliveries are kept (the outbox stays small)
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("VENN_WEBHOOK_ALLOWED_HOSTS")
    )
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=300, validation_alias=_env("VENN_WEBHOOK_TIMEOUT_SECONDS"))
    webhook_max_attempts: int = Field(8, ge=1, le=100, validation_alias=_env("VENN_WEBHOOK_MAX_ATTEMPTS"))
    webhook_retry_seconds: float = Field(
        10.0, ge=0.01, le=3600, validation_alias=_env("VENN_WEBHOOK_RETRY_SECONDS")
    )
    webhook_keep_days: float = Field(7.0, gt=0, le=3650, validation_alias=_env("VENN_WEBHOOK_KEEP_DAYS"))

    # Files (venn/files): uploads attached to messages
    max_file_bytes: int = Field(25 * 1024 * 1024, ge=1024, validation_alias=_env("VENN_MAX_FILE_BYTES"))
    rate_limit_uploads_per_minute: int = Field(
        30, ge=1, validation_alias=_env("VENN_RATE_LIMIT_UPLOADS_PER_MINUTE")
    )
    #: where uploads are kept without S3 (default: VENN_DATA_DIR/files)
    files_dir: Path | None = Field(None, validation_alias=_env("VENN_FILES_DIR"))
    #: S3-compatible object storage, used when a bucket is named
    s3_bucket: str | None = Field(None, validation_alias=_env("VENN_S3_BUCKET"))
    s3_endpoint_url: str | None = Field(None, validation_alias=_env("VENN_S3_ENDPOINT_URL"))
    s3_region: str | None = Field(None, validation_alias=_env("VENN_S3_REGION"))
    s3_access_key_id: str | None = Field(None, validation_alias=_env("VENN_S3_ACCESS_KEY_ID"))
    s3_secret_access_key: SecretStr | None = Field(None, validation_alias=_env("VENN_S3_SECRET_ACCESS_KEY"))
    #: seconds an upload may wait to be attached to a message before it is removed
    file_unattached_ttl_seconds: int = Field(24 * 3600, ge=60, validation_alias=_env("VENN_FILE_UNATTACHED_TTL"))
    #: images with more pixels get no thumbnail (a guard against decompression bombs)
    max_image_pixels: int = Field(50_000_000, ge=1, validation_alias=_env("VENN_MAX_IMAGE_PIXELS"))

    # Operations
    metrics_token: SecretStr | None = Field(None, validation_alias=_env("VENN_METRICS_TOKEN"))

    # Plugins
    plugins_disabled: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("VENN_PLUGINS_DISABLED")
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        networks = []
        for item in (part.strip() for part in value.split(",")):
            if not item:
                continue
            try:
                networks.append(ip_network(item))
            except ValueError as exc:
                raise ValueError(f"{exc} (give IP addresses or networks: 10.0.0.5, 10.0.0.0/8, fd00::/8)") from None
        return networks

    @field_validator("registration", mode="before")
    @classmethod
    def _fold_registration(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("files_dir", "s3_bucket", "s3_endpoint_url", "s3_region", "s3_access_key_id",
                     "s3_secret_access_key", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        # `VENN_S3_BUCKET=` in a file means "not set"
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_prefix", "presence_grace_seconds", "typing_ttl_seconds", "socket_events_per_second",
                     "registration_open",
                     mode="before")
    @classmethod
    def _empty_is_default(cls, value: object, info: ValidationInfo) -> object:
        # `VENN_REDIS_PREFIX=` in a file means "the default", as it always did
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[str(info.field_name)].default
        return value

    @field_validator("redis_prefix")
    @classmethod
    def _check_redis_prefix(cls, value: str) -> str:
        if any(c.isspace() for c in value):
            raise ValueError("no spaces")
        return value

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip().lower().strip("[]") for h in value.split(",") if h.strip()]
        return value

    @field_validator("plugins_disabled", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        if isinstance(value, str):
            return [n.strip() for n in value.split(",") if n.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        scheme = urlparse(value).scheme
        if scheme not in {"sqlite", "postgres", "postgresql"}:
            raise ValueError("must start with sqlite://, postgres:// or postgresql://")
        if scheme == "sqlite" and value not in {"sqlite://:memory:"} and not value.startswith("sqlite:///"):
            raise ValueError("SQLite URLs are sqlite:///absolute/path.db or sqlite://:memory:")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if urlparse(value).scheme not in {"redis", "rediss", "unix"}:
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    # Derived values -------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        """The database URL in use: DATABASE_URL, or SQLite under the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'venn.db').resolve()}"

    @property
    def registration_policy(self) -> str:
        """VENN_REGISTRATION, or what the deprecated VENN_REGISTRATION_OPEN said when it is unset."""
        if "registration" not in self.model_fields_set and self.registration_open is False:
            return "closed"
        return self.registration

    @property
    def effective_files_dir(self) -> Path:
        """Where uploads are kept when no S3 bucket is set."""
        return self.files_dir if self.files_dir is not None else self.data_dir / "files"

    @property
    def is_postgres(self) -> bool:
        return urlparse(self.effective_database_url).scheme in {"postgres", "postgresql"}

    def secret_key_value(self) -> str:
        """SECRET_KEY, or a key generated once and kept in ``VENN_DATA_DIR/secret_key``."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        path = self.data_dir / SECRET_KEY_FILE
        if path.exists():
            key = path.read_text().strip()
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            key = secrets.token_urlsafe(48)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(key)
        log.warning(
            "SECRET_KEY is not set: using the generated key in %s. "
            "Production must set SECRET_KEY (the same value on every server process).",
            path,
        )
        return key


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment (and `.env`), with keyword overrides.

    Raises :class:`SettingsError` naming the offending variable.
    """
    return read_settings(Settings, **overrides)


S = TypeVar("S", bound=BaseSettings)


def read_settings(cls: type[S], **overrides: object) -> S:
    """Build a settings class; a bad value raises :class:`SettingsError` naming its
    environment variable (every Venn settings class reads through this)."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        names = {
            name: (field.validation_alias.choices[0] if isinstance(field.validation_alias, AliasChoices) else name)
            for name, field in cls.model_fields.items()
        }
        problems = []
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{str(names.get(key, key)).upper()}: {err['msg']}")
        raise SettingsError("Invalid setting " + "; ".join(problems)) from None
