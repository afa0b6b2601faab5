"""Schemathesis on the SQL agent's knowledge endpoints as an admin: the fuzzer of
test_fuzz_rest.py signs in as a member, whom these endpoints refuse after validating
the body; here the admin's path (the per-kind checks, the guard on an example's SQL,
the writes) gets the same checks: no 5xx, documented statuses, responses as described."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from tests.reliability.kit import PASSWORD, base_env, serving
from tests.reliability.test_fuzz_rest import OPERATIONS, fuzz_operation

KNOWLEDGE = sorted(
    label for label in OPERATIONS if "/sql/knowledge" in label or label.endswith("/verify")
)


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory):
    """A real server on a SQLite file (the demo warehouse) and an admin's token."""
    tmp = tmp_path_factory.mktemp("fuzz-admin")
    env = base_env(tmp, DATABASE_URL=f"sqlite:///{tmp / 'venn.db'}", VENN_LOG_LEVEL="WARNING")
    made = subprocess.run(
        [sys.executable, "-m", "venn", "create-admin", "fuzzadmin", "--password-stdin"],
        input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=120,
    )
    assert made.returncode == 0, made.stderr
    with serving(env, tmp) as url:
        token = requests.post(
            url + "/api/v1/auth/login", json={"username": "fuzzadmin", "password": PASSWORD}, timeout=30
        ).json()["access_token"]
        # an entry for the PATCH and DELETE cases to find now and then
        requests.post(url + "/api/v1/sql/knowledge", json={"kind": "glossary", "term": "t", "description": "d"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=30)
        yield url, token


def test_every_knowledge_operation_is_here():
    assert len(KNOWLEDGE) == 5, KNOWLEDGE


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("label", KNOWLEDGE)
def test_knowledge_endpoints_conform_for_an_admin(label, mode, admin_server):
    url, token = admin_server
    fuzz_operation(OPERATIONS[label], mode, url, token)
