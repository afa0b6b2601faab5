"""The ``venn`` command: serve, migrate, create-admin, plugins, sql check."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from venn.api.routing import RouteClash
from venn.config import Settings, SettingsError, load_settings
from venn.logs import setup_logging

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("venn.cli")


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "host", None):
        overrides["host"] = args.host
    if getattr(args, "port", None):
        overrides["port"] = args.port
    settings = load_settings(**overrides)
    setup_logging(settings.log_format, settings.log_level)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    from venn.app import create_app
    from venn.db.migrate import SchemaError

    settings = _settings(args)
    try:
        loop_factory, loop_name = _loop_factory(settings.event_loop)
    except ImportError:
        print("error: VENN_EVENT_LOOP=uvloop, but uvloop is not installed (pip install uvloop)", file=sys.stderr)
        return 2
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)  # last: after migrations and plugins
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            log.info("event loop: %s", loop_name)
            runner.run(_serve(app, settings))
    except SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    log.info("stopped: drained and shut down")
    return 0


def _loop_factory(choice: str) -> tuple[Callable[[], asyncio.AbstractEventLoop] | None, str]:
    """The event loop ``venn serve`` runs on: uvloop (libuv; less CPU per socket write
    and per callback, see docs/performance.md) unless ``asyncio`` is asked for or it
    is not installed (auto). ImportError when uvloop is asked for and missing."""
    if choice == "asyncio":
        return None, "asyncio"
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return None, "asyncio"
    return uvloop.new_event_loop, "uvloop"


async def _serve(app: web.Application, settings: Settings) -> None:
    """Serve until SIGTERM or SIGINT, then drain: what ``web.run_app`` does, with the
    server at hand for the shutdown.

    aiohttp stops listening, then closes the idle connections. A connection accepted
    just before it stopped listening but not yet waiting for its request is missed:
    it is marked closing, so the request it then receives is ignored, and it is only
    cut at the shutdown timeout (a client's next long poll, say, hangs that long
    instead of failing at once). Closing idle connections again once the sockets are
    closed (the last shutdown step) catches those.
    """
    from aiohttp import web

    timeout = settings.shutdown_timeout_seconds
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=timeout)

    async def draining(app: web.Application) -> None:
        log.info("draining: no new connections; closing the sockets, then requests in flight may finish",
                 extra={"shutdown_timeout": timeout})

    async def close_idle_connections(app: web.Application) -> None:
        if runner.server is not None:
            runner.server.pre_shutdown()

    app.on_shutdown.insert(0, draining)  # first: before the sockets are closed
    app.on_shutdown.append(close_idle_connections)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):  # a signal during start-up stops right after it
        loop.add_signal_handler(signum, stop.set)
    await runner.setup()  # the app's start-up: migrations, plugins
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        log.info("serving on http://%s:%s", settings.host, settings.port)
        await stop.wait()
    finally:
        await runner.cleanup()


async def _freeze_startup_objects(app) -> None:
    """Leave what start-up made (modules, models, plugins: hundreds of thousands of
    objects) out of the garbage collector's full passes. Each full pass walked all of
    them and stalled the server for 50-100 ms under load; now it walks only what was
    made since."""
    gc.collect()
    gc.freeze()


def cmd_migrate(args: argparse.Namespace) -> int:
    from venn import db
    from venn.db.migrate import SchemaError
    from venn.extensions import discover_extensions

    settings = _settings(args)
    extensions = discover_extensions(settings.plugins_disabled).enabled
    try:
        applied = asyncio.run(db.apply_migrations(settings.effective_database_url, extensions))
    except SchemaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for app_label, name in applied:
        print(f"applied {app_label}.{name}")
    print(f"database is up to date ({len(applied)} migration{'s' if len(applied) != 1 else ''} applied)")
    return 0


def cmd_create_admin(args: argparse.Namespace) -> int:
    from venn.admin import create_admin

    settings = _settings(args)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("error: the passwords differ", file=sys.stderr)
            return 1
    try:
        message = asyncio.run(create_admin(settings, args.username, password))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(message)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="venn", description="Venn chat server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="address to listen on (VENN_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (VENN_PORT, default 8000)")
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(func=cmd_migrate)

    admin = sub.add_parser("create-admin", help="create an admin (or make an existing user one)")
    admin.add_argument("username")
    admin.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    admin.set_defaults(func=cmd_create_admin)

    for ext in _plugins():
        ext.add_commands(sub)
    return parser


def _plugins():
    """The enabled plugins, whose sub-commands the parser gets. One that failed to load is
    reported on standard error (the log's "plugin skipped" line), never silently dropped."""
    from venn.extensions import discover_extensions

    try:
        disabled = load_settings().plugins_disabled
    except SettingsError:
        disabled = []  # reported by the command itself, which reads the settings again
    return discover_extensions(disabled).enabled


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RouteClash as exc:
        print(f"error: two plugins want the same route: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
