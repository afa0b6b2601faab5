"""build_llm: ChatOpenAI from the settings, or None; talks to any OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import logging
import socket

import openai
import pytest
from langchain_openai import ChatOpenAI

from tests.plugins.sql_agent.openai_stub_server import http_error, text
from venn_plugins.sql_agent.llm import HOW_TO_CONFIGURE, PLACEHOLDER_API_KEY, build_llm, llm_configured

KEY = "sk-test-very-secret-0123456789"


def test_no_llm_without_a_key_or_a_base_url(make_settings):
    settings = make_settings(openai_api_key=None, openai_base_url=None)
    assert not llm_configured(settings)
    assert build_llm(settings) is None
    assert build_llm(make_settings(openai_api_key="  ", openai_base_url="")) is None
    assert "OPENAI_API_KEY" in HOW_TO_CONFIGURE and "OPENAI_BASE_URL" in HOW_TO_CONFIGURE


def test_openai_settings(make_settings):
    llm = build_llm(make_settings(openai_api_key=KEY, openai_base_url=None, llm_model="gpt-4o-mini"))
    assert isinstance(llm, ChatOpenAI)
    assert llm.model_name == "gpt-4o-mini"
    assert llm.temperature == 0
    assert llm.request_timeout.read == 60 and llm.request_timeout.connect == 10
    slow = build_llm(make_settings(openai_base_url="http://127.0.0.1:11434/v1", llm_timeout_seconds=600))
    assert slow.request_timeout.read == 600 and slow.request_timeout.connect == 10
    assert llm.max_retries is not None and llm.max_retries <= 2
    assert llm.openai_api_key.get_secret_value() == KEY
    assert KEY not in repr(llm) and KEY not in str(llm)
    # each model has its own HTTP client (a shared, cached one would carry pooled
    # connections from one event loop into another)
    again = build_llm(make_settings(openai_api_key=KEY, openai_base_url=None))
    assert again.root_async_client._client is not llm.root_async_client._client


async def test_a_compatible_server_with_a_key_and_a_model(make_settings, openai_stub):
    openai_stub.script(text("hello from the stub"))
    llm = build_llm(make_settings(openai_api_key=KEY, openai_base_url=openai_stub.base_url, llm_model="llama3.1"))
    reply = await asyncio.wait_for(llm.ainvoke("hi"), 30)
    assert reply.text == "hello from the stub"
    request = openai_stub.last
    assert request.body["model"] == "llama3.1"
    assert request.body["temperature"] == 0
    assert request.headers["Authorization"] == f"Bearer {KEY}"


async def test_a_compatible_server_without_a_key(make_settings, openai_stub, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    openai_stub.script(text("no key needed"), text("streamed answer"))
    llm = build_llm(make_settings(openai_api_key=None, openai_base_url=openai_stub.base_url))
    assert llm is not None
    reply = await asyncio.wait_for(llm.ainvoke("hi"), 30)
    assert reply.text == "no key needed"
    assert openai_stub.last.headers["Authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"
    # streaming works against the same server (the stub speaks server-sent events too)
    pieces = [chunk.text async for chunk in llm.astream("hi again")]
    assert "".join(pieces) == "streamed answer" and len([p for p in pieces if p]) >= 2
    assert openai_stub.last.body["stream"] is True


async def test_a_dead_server_fails_fast_and_never_logs_the_key(make_settings, caplog):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    llm = build_llm(make_settings(openai_api_key=KEY, openai_base_url=f"http://127.0.0.1:{port}/v1"))
    caplog.set_level(logging.DEBUG)
    with pytest.raises(openai.APIConnectionError) as info:
        await asyncio.wait_for(llm.ainvoke("hi"), 30)
    assert KEY not in str(info.value)
    assert all(KEY not in r.getMessage() for r in caplog.records)


async def test_retries_are_bounded(make_settings, openai_stub):
    openai_stub.default = http_error(503, "overloaded")
    llm = build_llm(make_settings(openai_api_key=KEY, openai_base_url=openai_stub.base_url))
    with pytest.raises(openai.InternalServerError):
        await asyncio.wait_for(llm.ainvoke("hi"), 30)
    assert len(openai_stub.requests) == 1 + llm.max_retries


def test_the_stub_refuses_conversations_openai_would_refuse():
    from tests.plugins.sql_agent.openai_stub_server import protocol_problem

    call = {"id": "c1", "type": "function", "function": {"name": "run_query", "arguments": "{}"}}
    asked = [{"role": "user", "content": "q"}, {"role": "assistant", "content": None, "tool_calls": [call]}]
    answered = asked + [{"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    assert protocol_problem({"model": "m", "messages": answered}) is None
    assert "not answered" in protocol_problem({"model": "m", "messages": asked})
    assert "not answered" in protocol_problem({"model": "m", "messages": asked + [{"role": "user", "content": "?"}]})
    stray = answered + [{"role": "tool", "tool_call_id": "c9", "content": "?"}]
    assert "must answer a preceding tool call" in protocol_problem({"model": "m", "messages": stray})
    assert protocol_problem({"model": "m", "messages": []}) == "'messages' must be a non-empty array"
    bad_tool = {"model": "m", "messages": answered, "tools": [{"type": "function", "function": {}}]}
    assert "each tool must be" in protocol_problem(bad_tool)


async def test_the_stub_answers_a_malformed_request_with_400(make_settings, openai_stub):
    from langchain_core.messages import AIMessage, HumanMessage

    llm = build_llm(make_settings(openai_api_key=KEY, openai_base_url=openai_stub.base_url), max_retries=0)
    dangling = AIMessage(content="", tool_calls=[{"name": "list_tables", "args": {}, "id": "c1"}])
    with pytest.raises(openai.BadRequestError):
        await asyncio.wait_for(llm.ainvoke([HumanMessage("q"), dangling, HumanMessage("again")]), 30)
    assert openai_stub.rejected == ["messages[2]: tool calls ['c1'] of the assistant message were not answered"]
