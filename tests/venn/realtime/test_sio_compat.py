"""The python-socketio and python-engineio internals Venn relies on are still there.

``venn/realtime/sio_compat.py`` is the only module that touches them, and lists them
in ``UPSTREAM``. An upgrade that renames, removes or reshapes one fails here, with a
message naming the upstream name, instead of as a server that misbehaves.
"""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import engineio
import pytest
import socketio
from aiohttp.test_utils import make_mocked_request
from engineio.async_socket import AsyncSocket

from venn.realtime import sio_compat
from venn.realtime.sio_compat import UPSTREAM, Upstream

REALTIME_DIR = Path(sio_compat.__file__).parent
DISTRIBUTIONS = {"socketio": "python-socketio", "engineio": "python-engineio"}
#: what an attribute must look like to be used the way sio_compat uses it
SHAPES = {
    ("engineio.AsyncServer", "_async"): lambda v: isinstance(v, dict) and isinstance(v.get("websocket"), type),
    ("engineio.AsyncServer", "sockets"): lambda v: isinstance(v, dict),
    ("engineio.AsyncServer", "reason"): lambda v: isinstance(getattr(v, "SERVER_DISCONNECT", None), str),
    ("engineio.async_socket.AsyncSocket", "queue"): lambda v: all(
        callable(getattr(v, m, None)) for m in ("put", "put_nowait", "qsize")
    ),
    ("engineio.async_socket.AsyncSocket", "upgraded"): lambda v: isinstance(v, bool),
    ("engineio.async_socket.AsyncSocket", "closed"): lambda v: isinstance(v, bool),
    ("socketio.AsyncManager", "rooms"): lambda v: isinstance(v, dict),
    ("socketio.AsyncRedisManager", "thread"): lambda v: isinstance(v, asyncio.Task),
    ("socketio.AsyncServer", "packet_class"): lambda v: callable(getattr(v, "encode", None)),
}


def resolve(path: str) -> Any:
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def where(entry: Upstream) -> str:
    """The upstream name, with the installed version of its distribution."""
    dist = DISTRIBUTIONS[entry.owner.split(".")[0]]
    return f"{dist} {version(dist)}: {entry.owner}.{entry.name}"


def broken(entry: Upstream, problem: str) -> str:
    return (
        f"{where(entry)} {problem}; venn/realtime/sio_compat.py relies on it (see its docstring): "
        "adapt that module to the new version, or keep the pin in pyproject.toml"
    )


@pytest.fixture
async def instances():
    """Real, unconnected instances of the upstream classes whose instance attributes are used."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    redis_manager = socketio.AsyncRedisManager("redis://127.0.0.1:6379/0", channel="venn-compat-probe")
    socketio.AsyncServer(async_mode="aiohttp", client_manager=redis_manager)
    redis_manager.initialize()  # starts its listener task ...
    listener = redis_manager.thread
    listener.cancel()  # ... which is cancelled before it runs: no connection is made
    found = {
        "socketio.AsyncServer": sio,
        "socketio.AsyncManager": sio.manager,
        "socketio.AsyncRedisManager": redis_manager,
        "engineio.AsyncServer": sio.eio,
        "engineio.async_socket.AsyncSocket": AsyncSocket(sio.eio, "probe"),
    }
    found["engineio.async_drivers.aiohttp.WebSocket"] = sio.eio._async["websocket"](
        found["engineio.async_socket.AsyncSocket"]._websocket_handler, sio.eio
    )
    for owner, instance in found.items():
        assert isinstance(instance, resolve(owner)), f"{owner}: probe built from the wrong class"
    yield found
    await asyncio.gather(listener, return_exceptions=True)


@pytest.mark.parametrize("entry", [e for e in UPSTREAM if e.kind != "attribute"], ids=lambda e: f"{e.owner}.{e.name}")
def test_every_upstream_method_still_exists_with_the_signature_used(entry: Upstream):
    try:
        owner = resolve(entry.owner)
    except (ImportError, AttributeError):
        pytest.fail(broken(entry, f"cannot be looked up: {entry.owner} is gone"))
    method = getattr(owner, entry.name, None)
    if method is None:
        pytest.fail(broken(entry, "is gone"))
    kinds = {
        "coroutine": inspect.iscoroutinefunction,
        "asyncgen": inspect.isasyncgenfunction,
        "function": lambda f: callable(f) and not inspect.iscoroutinefunction(f) and not inspect.isasyncgenfunction(f),
    }
    assert kinds[entry.kind](method), broken(entry, f"is no longer a {entry.kind} function")
    try:
        inspect.signature(method).bind(None, *entry.args)
    except TypeError as exc:
        pytest.fail(broken(entry, f"no longer takes ({', '.join(entry.args)}): {exc}; now {inspect.signature(method)}"))


@pytest.mark.parametrize("entry", [e for e in UPSTREAM if e.kind == "attribute"], ids=lambda e: f"{e.owner}.{e.name}")
async def test_every_upstream_attribute_is_still_set_and_usable(entry: Upstream, instances):
    instance = instances[entry.owner]
    if not hasattr(instance, entry.name):
        pytest.fail(broken(entry, "is no longer set on a new instance"))
    shape = SHAPES.get((entry.owner, entry.name))
    if shape is not None:
        value = getattr(instance, entry.name)
        assert shape(value), broken(entry, f"changed shape (now {value!r})")


def test_the_aiohttp_driver_still_hands_the_request_to_the_websocket():
    # GuardedWebSocket finds the connection to abort at shutdown under this key
    translate = socketio.AsyncServer(async_mode="aiohttp").eio._async["translate_request"]
    request = make_mocked_request("GET", "/socket.io/?EIO=4&transport=websocket")
    assert translate(request).get("aiohttp.request") is request, (
        f"python-engineio {version('python-engineio')}: the aiohttp driver's environ has no 'aiohttp.request'; "
        "venn/realtime/sio_compat.py (guard_websockets) relies on it"
    )


def test_the_compat_docstring_lists_every_upstream_name():
    literals = re.findall(r"``([^`]+)``", sio_compat.__doc__ or "")
    missing = [f"{e.owner}.{e.name}" for e in UPSTREAM
               if not any(re.search(rf"(?<![\w]){re.escape(e.name)}(?![\w])", lit) for lit in literals)]
    assert not missing, f"sio_compat's docstring does not say why it uses: {', '.join(missing)}"


def _upstream_private_names(instances: dict[str, Any]) -> set[str]:
    owners = [resolve(e.owner) for e in UPSTREAM] + list(instances.values())
    return {n for owner in owners for n in dir(owner) if n.startswith("_") and not n.startswith("__")}


async def test_no_other_realtime_module_touches_upstream_private_names(instances):
    private = _upstream_private_names(instances)
    upstream_bases = (socketio.AsyncServer, socketio.AsyncManager, engineio.AsyncServer)
    found: list[str] = []
    for path in sorted(REALTIME_DIR.glob("*.py")):
        if path.name == "sio_compat.py":
            continue
        module = importlib.import_module(f"venn.realtime.{path.stem}")
        # overrides: a subclass of an upstream class defining one of its private names
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, upstream_bases) and cls.__module__ == module.__name__:
                found += [f"{path.name}: {cls.__name__}.{name} overrides it" for name in vars(cls) if name in private]
        # calls and reads: a private name reached through the server, engine or manager
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                receiver = ast.unparse(node.value)
                if re.search(r"\b(sio|eio|manager|sock)\b", receiver):
                    found.append(f"{path.name}:{node.lineno}: {receiver}.{node.attr}")
    assert not found, (
        "python-socketio/engineio internals used outside venn/realtime/sio_compat.py (move them there and list "
        "them in UPSTREAM): " + "; ".join(found)
    )


async def test_every_upstream_private_name_sio_compat_uses_is_listed(instances):
    private = _upstream_private_names(instances)
    tree = ast.parse(Path(sio_compat.__file__).read_text())
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    used |= {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    unlisted = sorted((used & private) - {e.name for e in UPSTREAM})
    assert not unlisted, f"sio_compat uses upstream private names missing from UPSTREAM: {', '.join(unlisted)}"
