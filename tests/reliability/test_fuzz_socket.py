"""A hypothesis-driven fuzzer for every client → server Socket.IO event.

Random JSON (and objects built from the event's own field names) goes to each event
of ``venn.realtime.handlers.EVENTS``: every answer must be an ack in the documented
shape, ``ok: true`` for data that happens to be valid and otherwise a documented
error code, never ``internal_error`` and never silence; afterwards the server still
answers ``ping``.
"""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from venn.realtime.handlers import EVENTS

EXAMPLES = int(os.environ.get("VENN_FUZZ_EXAMPLES", "15")) * 3
DOCUMENTED = {
    "validation_error", "payload_too_large", "rate_limited", "not_found", "not_a_member", "not_joined",
    "forbidden", "channel_archived", "duplicate_client_msg_id", "message_deleted", "too_many_reactions",
}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30), st.sampled_from([0, 1, 2, 3, "1", ""]),
)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def payloads(event: str):
    fields = list(EVENTS[event].model.model_fields) + ["extra"]
    shaped = st.dictionaries(st.sampled_from(fields), json_values, max_size=len(fields))
    return st.one_of(json_values, shaped, shaped)


@pytest.fixture(scope="module")
def socket_call(live_server):
    """``socket_call(event, data)`` → the ack, over one socket (its loop runs in a thread)."""
    url, token = live_server
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, loop).result(timeout)

    sio = socketio.AsyncClient(reconnection=False)
    run(sio.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10))

    def call(event: str, data):
        return run(sio.call(event, data, timeout=15))

    call.sio = sio  # type: ignore[attr-defined]
    yield call
    run(sio.disconnect())
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_random_payloads_get_only_documented_acks(event, socket_call):
    @given(data=payloads(event))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def fuzz(data):
        answer = socket_call(event, data)
        assert isinstance(answer, dict) and isinstance(answer.get("ok"), bool), answer
        if not answer["ok"]:
            error = answer["error"]
            assert error["code"] in DOCUMENTED, answer
            assert isinstance(error["message"], str) and error["message"], answer

    fuzz()
    assert socket_call.sio.connected, "a refused event must never close the socket"
    assert socket_call("ping", {})["ok"] is True


def test_the_team_chat_events_are_fuzzed():
    """The list comes from the handlers: issue #14's client events are among them."""
    assert {"send_message", "edit_message", "mark_read", "sync", "add_reaction", "remove_reaction"} <= set(EVENTS)
