"""Fixtures of the reliability suite: a database of the test's own for server subprocesses."""

from __future__ import annotations

import os
import uuid

import pytest
import requests

from tests.helpers import seed_sqlite
from tests.reliability.kit import PASSWORD, base_env, own_pg_database, serving


@pytest.fixture
async def server_database(tmp_path):
    """PostgreSQL (a fresh database on VENN_TEST_DATABASE_URL's server) when configured,
    else a SQLite file: the URL to give a `venn serve` subprocess."""
    url = os.environ.get("VENN_TEST_DATABASE_URL")
    if url:
        async with own_pg_database(url) as own:
            yield own
    else:
        yield f"sqlite:///{tmp_path / 'venn.db'}"


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A real server on a SQLite file, with a user and a little data; yields (url, token)."""
    tmp = tmp_path_factory.mktemp("fuzz")
    seed_sqlite(tmp / "venn.db")  # migrated already: seconds saved
    env = base_env(tmp, DATABASE_URL=f"sqlite:///{tmp / 'venn.db'}", VENN_LOG_LEVEL="WARNING")
    with serving(env, tmp) as url:
        name = f"fz{uuid.uuid4().hex[:8]}"
        assert requests.post(url + "/api/v1/auth/register", json={"username": name, "password": PASSWORD}).ok
        token = requests.post(url + "/api/v1/auth/login", json={"username": name, "password": PASSWORD}).json()[
            "access_token"
        ]
        auth = {"Authorization": f"Bearer {token}"}
        channel = requests.post(url + "/api/v1/channels", json={"name": "fuzz"}, headers=auth).json()["channel"]
        message = requests.post(url + "/api/v1/messages", json={"channel_id": channel["id"], "body": "hi"},
                                headers=auth).json()["message"]
        requests.post(url + "/api/v1/threads", json={"channel_id": channel["id"], "root_message_id": message["id"]},
                      headers=auth)
        # a file attached to a message, so that the files routes have one to answer with
        file = requests.post(url + "/api/v1/files", data={"channel_id": str(channel["id"])},
                             files={"file": ("notes.txt", b"some notes")}, headers=auth).json()["file"]
        requests.post(url + "/api/v1/messages", json={"channel_id": channel["id"], "body": "", "file_ids": [file["id"]]},
                      headers=auth)
        # an incoming webhook, so that the webhook routes (and /hooks) have one to find
        requests.post(url + f"/api/v1/channels/{channel['id']}/webhooks", json={"name": "fuzz hook"}, headers=auth)
        yield url, token


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory):
    """A real server whose only person is an admin (made with ``venn create-admin``),
    for fuzzing the admin endpoints as someone they answer; yields (url, token)."""
    import subprocess
    import sys

    tmp = tmp_path_factory.mktemp("fuzz-admin")
    seed_sqlite(tmp / "venn.db")  # migrated already: seconds saved
    env = base_env(tmp, DATABASE_URL=f"sqlite:///{tmp / 'venn.db'}", VENN_LOG_LEVEL="WARNING")
    with serving(env, tmp) as url:
        name = f"ad{uuid.uuid4().hex[:8]}"
        made = subprocess.run([sys.executable, "-m", "venn", "create-admin", name, "--password-stdin"],
                              input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        token = requests.post(url + "/api/v1/auth/login", json={"username": name, "password": PASSWORD}).json()[
            "access_token"
        ]
        yield url, token
