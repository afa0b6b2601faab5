"""A scripted OpenAI-compatible chat-completions server for tests (no network, no model).

It is a real aiohttp HTTP server on 127.0.0.1 (a free port) speaking the part of the
OpenAI API the SQL agent uses: ``POST /v1/chat/completions``, plain JSON or streamed
(server-sent events) when the request says ``"stream": true``, plus ``GET /v1/models``.
The code under test talks to it through the real ``ChatOpenAI`` and ``openai`` client.

Each request takes the next entry of the script::

    stub = await OpenAIStub.start()
    stub.script(
        call("list_tables"),
        call("run_query", sql="SELECT 1"),
        text("The answer is 1."),
    )
    settings = make_settings(openai_base_url=stub.base_url)

An entry is :func:`text` (a final assistant message), :func:`call` / :func:`calls`
(assistant tool calls), :func:`http_error` (an HTTP error reply), or a function of the
request body returning one of those. Each answer reports token ``usage`` (``Reply.usage``,
prompt and completion tokens; 10 and 5 unless scripted). When the script runs out the server answers with
``stub.default`` if set, else HTTP 500 "stub script exhausted" (so a test that expected
fewer model calls fails loudly). Every request is recorded in ``stub.requests``
(:class:`Recorded`: the JSON body and the headers).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = ["OpenAIStub", "Recorded", "Reply", "call", "calls", "http_error", "protocol_problem", "text"]

_ids = itertools.count(1)


@dataclass
class Reply:
    """One scripted answer: an assistant message, or an HTTP error."""

    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    error: str = ""
    delay: float = 0.0  # seconds to wait before answering (timeouts)
    usage: tuple[int, int] = (10, 5)  # the tokens reported: prompt, completion


def text(content: str, *, usage: tuple[int, int] = (10, 5)) -> Reply:
    """A final assistant message (``usage``: the prompt and completion tokens it reports)."""
    return Reply(content=content, usage=usage)


def call(name: str, _args: dict[str, Any] | str | None = None, **args: Any) -> Reply:
    """An assistant message with one tool call; ``_args`` may be raw (even invalid) JSON text."""
    return calls((name, _args if _args is not None else args))


def calls(*items: tuple[str, dict[str, Any] | str]) -> Reply:
    """An assistant message with several tool calls: ``calls(("a", {...}), ("b", {...}))``."""
    tool_calls = []
    for name, args in items:
        arguments = args if isinstance(args, str) else json.dumps(args)
        tool_calls.append(
            {"id": f"call_{next(_ids)}", "type": "function", "function": {"name": name, "arguments": arguments}}
        )
    return Reply(tool_calls=tool_calls)


def http_error(status: int, message: str = "stub error", *, delay: float = 0.0) -> Reply:
    """An HTTP error reply with OpenAI's error body."""
    return Reply(status=status, error=message, delay=delay)


@dataclass
class Recorded:
    """A request the server received."""

    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body.get("messages", [])

    @property
    def system(self) -> str:
        """The system prompt (the first system message's text)."""
        for m in self.messages:
            if m.get("role") in ("system", "developer"):
                return _content_text(m.get("content"))
        return ""

    @property
    def tool_results(self) -> list[str]:
        """The text of every tool message in the request, in order."""
        return [_content_text(m.get("content")) for m in self.messages if m.get("role") == "tool"]

    @property
    def tool_names(self) -> list[str]:
        """The names of the tools offered to the model."""
        return [t["function"]["name"] for t in self.body.get("tools", []) if t.get("type") == "function"]


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


Entry = Reply | Callable[[dict[str, Any]], Reply]


class OpenAIStub:
    """The server; build it with ``await OpenAIStub.start()``, stop it with ``await stub.close()``."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        #: why requests were refused as malformed (see :func:`protocol_problem`)
        self.rejected: list[str] = []
        self.default: Entry | None = None
        self._script: list[Entry] = []
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self.port = 0

    @classmethod
    async def start(cls) -> OpenAIStub:
        stub = cls()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", stub._completions)
        app.router.add_get("/v1/models", stub._models)
        stub._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await stub._runner.setup()
        site = web.TCPSite(stub._runner, "127.0.0.1", 0)
        await site.start()
        stub.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return stub

    async def close(self) -> None:
        self._closing.set()  # ends scripted delays, so closing never waits for them
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpenAIStub:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """What OPENAI_BASE_URL should be."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *entries: Entry) -> OpenAIStub:
        """Append answers to the script (taken in order, one per request)."""
        self._script.extend(entries)
        return self

    @property
    def remaining(self) -> int:
        """Scripted answers not used yet."""
        return len(self._script)

    @property
    def last(self) -> Recorded:
        return self.requests[-1]

    # HTTP -------------------------------------------------------------------

    async def _models(self, request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(400, "the body is not JSON")
        self.requests.append(Recorded(body=body, headers=dict(request.headers)))
        problem = protocol_problem(body)
        if problem:  # as OpenAI does: a malformed conversation is a 400, not a scripted answer
            self.rejected.append(problem)
            return _error(400, problem)
        entry: Entry | None = self._script.pop(0) if self._script else self.default
        if entry is None:
            return _error(500, "stub script exhausted")
        reply = entry(body) if callable(entry) else entry
        if reply.delay:
            try:
                await asyncio.wait_for(self._closing.wait(), reply.delay)
            except TimeoutError:
                pass
        if reply.status != 200:
            return _error(reply.status, reply.error)
        model = body.get("model", "stub-model")
        if body.get("stream"):
            return await self._stream(request, reply, model, body)
        message: dict[str, Any] = {"role": "assistant", "content": reply.content}
        if reply.tool_calls:
            message["tool_calls"] = reply.tool_calls
        return web.json_response(
            {
                "id": f"chatcmpl-{next(_ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": message,
                        "finish_reason": "tool_calls" if reply.tool_calls else "stop",
                        "logprobs": None,
                    }
                ],
                "usage": _usage(reply),
            }
        )

    async def _stream(
        self, request: web.Request, reply: Reply, model: str, body: dict[str, Any]
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        ident, created = f"chatcmpl-{next(_ids)}", int(time.time())

        async def send(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> None:
            chunk = {
                "id": ident,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())

        await send({"role": "assistant", "content": ""})
        if reply.content:
            half = len(reply.content) // 2  # two pieces, to exercise the client's merging
            for piece in (reply.content[:half], reply.content[half:]):
                if piece:
                    await send({"content": piece})
        for index, tc in enumerate(reply.tool_calls):
            fn = tc["function"]
            await send({"tool_calls": [{"index": index, "id": tc["id"], "type": "function",
                                        "function": {"name": fn["name"], "arguments": ""}}]})
            await send({"tool_calls": [{"index": index, "function": {"arguments": fn["arguments"]}}]})
        await send({}, "tool_calls" if reply.tool_calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            chunk = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                     "choices": [], "usage": _usage(reply)}
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def protocol_problem(body: Any) -> str | None:
    """What OpenAI would refuse in a chat-completions request (a subset), or None.

    Checked: a model and a non-empty message list with known roles; tools declared as
    functions with a name and an object schema; every assistant ``tool_calls`` entry
    answered by a ``tool`` message with its id, right after it, and no tool message
    answering anything else.
    """
    if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body["model"]:
        return "'model' is required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for tool in body.get("tools") or []:
        fn = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(fn, dict) or not fn.get("name"):
            return "each tool must be {'type': 'function', 'function': {'name': ...}}"
        if (fn.get("parameters") or {"type": "object"}).get("type") != "object":
            return f"the parameters of tool {fn['name']!r} must be a JSON schema object"
    waiting: list[str] = []  # tool_call ids not answered yet
    for n, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("system", "developer", "user", "assistant", "tool"):
            return f"messages[{n}]: unknown role {role!r}"
        if role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in waiting:
                return f"messages[{n}]: a tool message must answer a preceding tool call (id {call_id!r})"
            waiting.remove(call_id)
            continue
        if waiting:
            return f"messages[{n}]: tool calls {waiting} of the assistant message were not answered"
        if role == "assistant":
            for call in message.get("tool_calls") or []:
                if not call.get("id") or not isinstance(call.get("function", {}).get("arguments"), str):
                    return f"messages[{n}]: a tool call needs an id and its arguments as a string"
                waiting.append(call["id"])
    if waiting:
        return f"tool calls {waiting} were not answered"
    return None


def _usage(reply: Reply) -> dict[str, int]:
    prompt, completion = reply.usage
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "invalid_request_error" if status < 500 else "server_error",
                   "param": None, "code": None}},
        status=status,
    )
