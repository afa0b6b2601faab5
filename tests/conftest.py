"""Shared fixtures: a fresh Venn app per test, on SQLite and (when configured) PostgreSQL.

``VENN_TEST_DATABASE_URL`` and ``VENN_TEST_REDIS_URL`` point at real servers; tests
that need them skip with a reason when they are not set.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

from tests.helpers import (
    SUITE_ENV,
    Chat,
    copy_postgres_template,
    postgres_template,
    require_postgres,
    sqlite_template,
)
from venn.app import create_app
from venn.config import Settings

# The suite's own settings (cheap password hashing, no per-address sign-up cap), here and in
# the servers the tests start (tests/helpers.py, SUITE_ENV).
for _name, _value in SUITE_ENV.items():
    os.environ.setdefault(_name, _value)

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
async def database_url(backend, tmp_path) -> str:
    """A database of this test's own, its schema already migrated (every installed
    plugin's too): a copy of one migrated once per run (tests/helpers.py)."""
    if backend == "postgres":
        url = require_postgres()
        await copy_postgres_template(url, await postgres_template(url))
        return url
    path = tmp_path / "venn.db"
    shutil.copyfile(sqlite_template(), path)
    return f"sqlite:///{path}"


@pytest.fixture
def settings_class() -> type[Settings]:
    """The settings class ``make_settings`` builds (a plugin's tests add their settings)."""
    return Settings


@pytest.fixture
def make_settings(tmp_path, settings_class):
    def factory(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "secret_key": "test-secret-key",
            "rate_limit_messages_per_minute": 10_000,
            "rate_limit_logins_per_minute": 10_000,
            "failed_logins_per_address_per_minute": 10_000,
            "registrations_per_address_per_minute": 10_000,
            "failed_password_changes_per_user_per_minute": 10_000,
        }
        values.update(overrides)
        return settings_class(_env_file=None, **values)  # type: ignore[call-arg]

    return factory


@pytest.fixture
def settings(make_settings, database_url) -> Settings:
    return make_settings(database_url=database_url)


@pytest.fixture
async def client(aiohttp_client, settings):
    """An aiohttp test client on a fresh app and database."""
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def chat(client) -> Chat:
    return Chat(client)
