"""Schemathesis against the live OpenAPI document: every operation, authenticated.

No 5xx, only documented status codes and content types, and every response matches
its schema. Examples per operation are bounded (``VENN_FUZZ_EXAMPLES``, default 15)
so that the whole run stays around a minute on a small machine.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("VENN_FUZZ_EXAMPLES", "15"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _openapi_document() -> dict:
    """The OpenAPI document, built from the app's router (the same code serves it)."""
    from venn import keys
    from venn.api.openapi import build_openapi
    from venn.app import create_app
    from venn.config import Settings

    app = create_app(Settings(_env_file=None, secret_key="x", data_dir=Path("/nonexistent")))  # type: ignore[call-arg]
    return build_openapi(app[keys.API_ROUTES])


#: Invalid input must be refused with a 4xx; 413 (a body over VENN_MAX_BODY_BYTES, or a
#: field far over its length) is a refusal too.
CONFIG = SchemathesisConfig.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": [400, 401, 403, 404, 405, 409, 413, 415, 422, 429]}}}
)
SCHEMA = schemathesis.openapi.from_dict(_openapi_document(), config=CONFIG)
OPERATIONS = {
    op.label: op
    for result in SCHEMA.get_all_operations()
    if (op := result.ok()) is not None
    # Logging out would revoke the token every other case uses (covered in tests/venn/api).
    and op.path != "/api/v1/auth/logout"
}


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_api_conforms_to_its_schema(label, mode, live_server):
    url, token = live_server
    fuzz_operation(OPERATIONS[label], mode, url, token)


#: the core's admin operations, fuzzed again as an admin (the member above only gets 403)
ADMIN_OPERATIONS = sorted(label for label in OPERATIONS if label.split(" ", 1)[1].startswith("/api/v1/admin/")
                          and "/admin/bots/" not in label and "/admin/queries" not in label)


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("label", ADMIN_OPERATIONS)
def test_admin_operations_conform_as_an_admin(label, mode, admin_server):
    url, token = admin_server
    fuzz_operation(OPERATIONS[label], mode, url, token)


def fuzz_operation(operation, mode: str, url: str, token: str) -> None:
    """Schemathesis cases of one operation, called as the token's owner: no 5xx,
    documented statuses, responses as described (skips an operation without input to
    make invalid in the negative mode)."""
    auth = {"Authorization": f"Bearer {token}"}
    # The token is given to the strategy too, so that negative cases never "mutate" it
    # (a missing header that the call below would put back is no negative case).
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode), headers=auth)

    @given(case=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(case):
        case.call_and_validate(base_url=url, headers=auth, checks=CHECKS)

    try:
        fuzz()
    except Unsatisfiable:
        if mode == "negative":
            pytest.skip("the operation takes no input that could be made invalid")
        raise


def test_every_operation_is_fuzzed():
    """The list comes from the router: a new endpoint is fuzzed without touching this file."""
    assert len(OPERATIONS) >= 20
    assert {
        "GET /api/v1/admin/users", "PATCH /api/v1/admin/users/{user_id}", "POST /api/v1/admin/invites",
        "GET /api/v1/admin/invites", "DELETE /api/v1/admin/invites/{invite_id}", "GET /api/v1/admin/audit",
    } <= set(ADMIN_OPERATIONS)
    # routes added outside venn/api (the web client's, a plugin's) are in it too
    assert {"GET /api/v1/web/renderers", "GET /api/v1/plugins"} <= set(OPERATIONS)
    assert {"GET /api/v1/queries/{query_id}/chart.png", "GET /api/v1/queries/{query_id}/chart.svg"} <= set(OPERATIONS)
    # issue #14: direct messages, people search, mentions, search, files, reactions and pins
    assert {
        "POST /api/v1/dms", "GET /api/v1/users", "GET /api/v1/mentions", "GET /api/v1/search", "POST /api/v1/files",
        "GET /api/v1/files/{file_id}", "GET /api/v1/files/{file_id}/thumbnail", "POST /api/v1/files/cookie",
        "POST /api/v1/messages/{message_id}/reactions", "DELETE /api/v1/messages/{message_id}/reactions/{emoji}",
        "POST /api/v1/messages/{message_id}/pin", "DELETE /api/v1/messages/{message_id}/pin",
        "GET /api/v1/channels/{channel_id}/pins",
    } <= set(OPERATIONS)
    # the SQL agent's curated knowledge and its "verified" action
    assert {
        "GET /api/v1/sql/knowledge", "POST /api/v1/sql/knowledge", "PATCH /api/v1/sql/knowledge/{entry_id}",
        "DELETE /api/v1/sql/knowledge/{entry_id}", "POST /api/v1/queries/{query_id}/verify",
    } <= set(OPERATIONS)


def test_login_with_a_name_that_folds_longer_than_any_username(live_server):
    """Found by the fuzzer: "ß" folds to "ss", so 20 of them make a 40-character key,
    longer than the column; that was a 500, it is a plain wrong-credentials 401."""
    url, _ = live_server
    resp = requests.post(url + "/api/v1/auth/login", json={"username": "ß" * 20, "password": "x"}, timeout=30)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_credentials"
