"""Helpers for tests: reach real services, arrange data through the real API."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: settings the whole suite runs with (tests/conftest.py sets them unless set already): argon2's
#: standard parameters cost a quarter of a second a hash and the suite registers thousands of
#: people from 127.0.0.1. Hashing and the per-address limit have their own tests, which set them.
SUITE_ENV = {"VENN_PASSWORD_HASHING": "cheapest", "VENN_REGISTRATIONS_PER_ADDRESS_PER_MINUTE": "1000000"}


def server_env(strip: tuple[str, ...] = ("VENN_",)) -> dict[str, str]:
    """The environment of a process a test starts: the caller's, minus the names starting
    with ``strip`` (so no settings of the person running the tests leak in), plus the suite's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(strip)}
    env.update({k: os.environ.get(k, v) for k, v in SUITE_ENV.items()})
    return env


PG_URL = os.environ.get("VENN_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("VENN_TEST_REDIS_URL")


def require_postgres() -> str:
    if not PG_URL:
        pytest.skip("VENN_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    return PG_URL


def require_redis() -> str:
    if not REDIS_URL:
        pytest.skip("VENN_TEST_REDIS_URL is not set: no Redis to test against")
    return REDIS_URL


async def reset_postgres(url: str) -> None:
    """Drop every table Venn made, so that the next app migrates a fresh schema."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def _admin_url(url: str) -> tuple[str, str]:
    """The maintenance database's URL on the same server, and the database name of ``url``."""
    base, _, name = url.replace("postgres://", "postgresql://", 1).rpartition("/")
    return f"{base}/postgres", name.split("?", 1)[0]


_sqlite_template: Path | None = None
_postgres_templates: dict[str, str] = {}


def sqlite_template() -> Path:
    """A SQLite database migrated once per test process (``venn migrate``: every installed
    plugin's tables too), for tests and the servers they start to copy: migrating a fresh
    schema costs seconds, a copy milliseconds."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="venn-template-"))
        path = folder / "venn.db"
        env = server_env(("VENN_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"))
        env.update(DATABASE_URL=f"sqlite:///{path}", VENN_DATA_DIR=str(folder / "data"), SECRET_KEY="template")
        done = subprocess.run(
            [sys.executable, "-m", "venn", "migrate"], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        _sqlite_template = path
    return _sqlite_template


def seed_sqlite(path: Path) -> None:
    """Put a migrated database at ``path`` unless there is one already."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sqlite_template(), path)


async def postgres_template(url: str) -> str:
    """The migrated template database beside ``url``'s (made once per test process)."""
    if url not in _postgres_templates:
        _postgres_templates[url] = await make_postgres_template(url)
    return _postgres_templates[url]


async def make_postgres_template(url: str) -> str:
    """A migrated copy-source beside the database of ``url`` (``<name>_template``, made
    again on every call); returns its name."""
    import asyncpg

    from venn import db

    admin_url, name = _admin_url(url)
    template = f"{name}_template"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{template}"')
    finally:
        await admin.close()
    await db.apply_migrations(url.rsplit("/", 1)[0] + "/" + template)
    return template


async def copy_postgres_template(url: str, template: str) -> None:
    """Make the database of ``url`` again as a copy of ``template``: a migrated schema
    in a fraction of a second, where migrating costs seconds."""
    import asyncpg

    admin_url, name = _admin_url(url)
    admin = await asyncpg.connect(admin_url)
    try:
        # FORCE: a previous test's pool may still be closing
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()


@dataclass
class Person:
    id: int
    username: str
    token: str
    refresh_token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


_names = itertools.count(1)


class Chat:
    """Short-hands over the REST API for arranging a test (acting through the real API)."""

    def __init__(self, client) -> None:
        self.client = client

    async def user(
        self, username: str | None = None, *, password: str = "correct-horse", admin: bool = False
    ) -> Person:
        username = username or f"user{next(_names)}"
        resp = await self.client.post("/api/v1/auth/register", json={"username": username, "password": password})
        assert resp.status == 201, await resp.text()
        if admin:
            from venn.db.models import Role, User

            await User.filter(username=username).update(role=Role.ADMIN)
        resp = await self.client.post("/api/v1/auth/login", json={"username": username, "password": password})
        assert resp.status == 200, await resp.text()
        data = await resp.json()
        return Person(data["user"]["id"], username, data["access_token"], data["refresh_token"], password)

    async def channel(self, owner: Person, name: str | None = None, *, private: bool = False, members=()) -> dict:
        name = name or f"chan{next(_names)}"
        resp = await self.client.post(
            "/api/v1/channels", json={"name": name, "is_private": private}, headers=owner.headers
        )
        assert resp.status == 201, await resp.text()
        channel = (await resp.json())["channel"]
        for person in members:
            resp = await self.client.post(
                f"/api/v1/channels/{channel['id']}/members", json={"user_id": person.id}, headers=owner.headers
            )
            assert resp.status == 201, await resp.text()
        return channel

    async def post(self, author: Person, channel_id: int, body: str = "hello", **extra: Any) -> dict:
        resp = await self.client.post(
            "/api/v1/messages", json={"channel_id": channel_id, "body": body, **extra}, headers=author.headers
        )
        assert resp.status in (200, 201), await resp.text()
        return (await resp.json())["message"]

    async def thread(self, person: Person, channel_id: int, root_message_id: int, title: str = "") -> dict:
        resp = await self.client.post(
            "/api/v1/threads",
            json={"channel_id": channel_id, "root_message_id": root_message_id, "title": title},
            headers=person.headers,
        )
        assert resp.status in (200, 201), await resp.text()
        return (await resp.json())["thread"]


async def wait_for(predicate, timeout: float = 5.0, interval: float = 0.02):
    """Poll ``predicate`` (sync or async) until truthy; return its value or fail."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
