"""Deployed as docs/deploy.md says: three `venn serve` processes on PostgreSQL and Redis
behind nginx, configured by the shipped deploy/ files (rendered by deploy/render.py,
used as they are; only nginx's main context around them is the test's).

Skipped, saying why, without nginx (Debian's package; .ci/run installs it), node, or
the real PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import configparser
import shutil
import signal
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import socketio

from tests.helpers import require_postgres, require_redis
from tests.reliability.deploy_kit import (
    DEPLOY,
    REPO,
    JsClients,
    Nginx,
    PyClient,
    find_nginx,
    render,
    scrape,
    wait_port,
    wait_until,
)
from tests.reliability.kit import PASSWORD, Rest, VennProcess, base_env, fetch_rows, free_port, own_pg_database

NGINX = find_nginx()
needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)"
)
NGINX_DIR = DEPLOY / "nginx"
SITE = [NGINX_DIR / "upstream.conf.template", NGINX_DIR / "proxy.conf.template", NGINX_DIR / "site-http.conf.template"]
#: every client is back on another process and has synced within this long of the SIGTERM
RECOVERY_SECONDS = 5


@dataclass
class Deployment:
    url: str  # the public one: nginx
    port: int
    processes: list[VennProcess]
    database_url: str
    nginx: Nginx


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """Three processes started at once on a new, empty database, and nginx in front.
    Shared by this module's tests (on a loop of its own); the last one stops a process."""
    import redis.asyncio as aioredis

    from tests.web.kit import InThread

    if NGINX is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)")
    pg_url, redis_url = require_postgres(), require_redis()
    tmp = tmp_path_factory.mktemp("deploy")
    prefix = f"venndeploy:{uuid.uuid4().hex[:12]}:"
    side = InThread()
    database = own_pg_database(pg_url)
    database_url = side.run(database.__aenter__())
    # as deploy/systemd/venn.env.example has it: nginx on the same host is the trusted proxy
    env = base_env(tmp, DATABASE_URL=database_url, REDIS_URL=redis_url, VENN_REDIS_PREFIX=prefix,
                   VENN_SHUTDOWN_TIMEOUT="5", VENN_TRUSTED_PROXIES="127.0.0.1",
                   VENN_RATE_LIMIT_LOGINS_PER_MINUTE="5")
    processes = [VennProcess(env, tmp / f"venn{i}.log") for i in range(3)]
    port = free_port()
    conf = tmp / "nginx"
    render(SITE, conf, VENN_UPSTREAM_SERVERS=" ".join(f"127.0.0.1:{p.port}" for p in processes),
           VENN_HTTP_LISTEN=f"127.0.0.1:{port}", VENN_NGINX_DIR=str(conf))
    nginx = Nginx(NGINX, conf, ["upstream.conf", "site-http.conf"])

    async def all_ready() -> None:
        await asyncio.gather(*(process.ready() for process in processes))

    async def forget_redis_keys() -> None:
        redis = aioredis.from_url(redis_url)
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()

    try:
        for process in processes:  # all at once, on an empty database
            process.start()
        side.run(all_ready(), timeout=90)
        nginx.start()
        assert nginx.proc is not None
        wait_port(port, nginx.proc, 20, nginx.log)
        yield Deployment(f"http://127.0.0.1:{port}", port, processes, database_url, nginx)
        for process in processes:
            assert "Traceback" not in process.log(), process.log()
    finally:
        nginx.stop()
        for process in processes:
            process.stop()
        side.run(forget_redis_keys())
        side.run(database.__aexit__(None, None, None))
        side.stop()


@pytest.fixture(scope="session")
def socket_io_client() -> Path:
    """The web client's socket.io-client (web/node_modules, `make web`), run under Node."""
    from tests.web.kit import ensure_web_packages

    if shutil.which("node") is None:
        pytest.skip("node is not installed: the socket.io-client clients cannot run")
    reason = ensure_web_packages()
    if reason:
        pytest.skip(reason)
    return REPO / "web" / "node_modules" / "socket.io-client"


def get(url: str, **kw) -> tuple[int, dict[str, str]]:
    """Status and headers of a GET, following no redirect."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect, urllib.request.HTTPSHandler(context=kw.get("context")))
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


# The processes and the proxy ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.redis
async def test_three_processes_started_together_on_an_empty_database_serve_behind_nginx(deployment):
    # (the fixture started all three at once and waited until each was ready)
    rows = await fetch_rows(
        deployment.database_url, "SELECT app, name, count(*) FROM tortoise_migrations GROUP BY app, name"
    )
    assert rows and all(count == 1 for _, _, count in rows), rows  # each migration applied once
    assert (await asyncio.to_thread(get, deployment.url + "/readyz"))[0] == 200
    # per-process metrics are scraped from each process, never served by the proxy
    assert (await asyncio.to_thread(get, deployment.url + "/metrics"))[0] == 404
    for process in deployment.processes:
        assert (await asyncio.to_thread(get, process.url + "/metrics"))[0] == 200


@pytest.mark.postgres
@pytest.mark.redis
async def test_wrong_passwords_from_one_client_lock_out_that_client_only(deployment):
    """Through the proxy, each client counts as itself (X-Forwarded-For from the trusted
    proxy), not as the proxy's address: someone guessing cannot lock the user out."""
    rest = Rest(deployment.url)
    try:
        victim = await rest.user()
        guesser = {"X-Forwarded-For": "198.51.100.7"}
        wrong = {"username": victim["username"], "password": "not-the-password"}
        statuses = [(await rest.request("POST", "/api/v1/auth/login", json=wrong, headers=guesser))[0]
                    for _ in range(6)]
        assert statuses == [401] * 5 + [429], statuses
        right = {"username": victim["username"], "password": PASSWORD}
        status, body = await rest.request("POST", "/api/v1/auth/login", json=right,
                                          headers={"X-Forwarded-For": "198.51.100.8"})
        assert status == 200, body
    finally:
        await rest.close()


async def test_a_file_over_the_proxys_body_limit_uploads_and_any_process_serves_it(deployment):
    """Uploads have a location of their own in the proxy (a larger body limit, unbuffered);
    the three processes share the files folder, so whichever takes the download serves it."""
    rest = Rest(deployment.url)
    try:
        user = await rest.user()
        status, body = await rest.request("POST", "/api/v1/channels", user["token"], json={"name": "uploads"})
        assert status == 201, body
        channel_id = body["channel"]["id"]
        data = bytes(range(256)) * (12 * 1024)  # 3 MiB: over the 2m of every other route
        form = aiohttp.FormData()
        form.add_field("channel_id", str(channel_id))
        form.add_field("file", data, filename="big.bin")
        status, body = await rest.request("POST", "/api/v1/files", user["token"], data=form)
        assert status == 201, body
        file = body["file"]
        status, body = await rest.request(
            "POST", "/api/v1/messages", user["token"], json={"channel_id": channel_id, "body": "", "file_ids": [file["id"]]}
        )
        assert status == 201, body
        for _ in range(3):  # round robin: each process answers one
            async with rest.http.get(deployment.url + file["url"], headers={"Authorization": f"Bearer {user['token']}"}) as resp:
                assert resp.status == 200 and await resp.read() == data
    finally:
        await rest.close()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.parametrize("transports", [None, ["websocket"]], ids=["default", "websocket"])
async def test_the_page_origin_through_the_proxy_is_accepted(deployment, transports):
    rest = Rest(deployment.url)
    try:
        user = await rest.user()
    finally:
        await rest.close()
    sio = socketio.AsyncClient(reconnection=False)
    try:
        # what a browser on the page sends: the proxy's own origin, port included
        await sio.connect(deployment.url, auth={"token": user["token"]}, transports=transports, wait_timeout=10,
                          headers={"Origin": f"http://127.0.0.1:{deployment.port}"})
        assert (await sio.call("ping", {}, timeout=5)).get("ok") is True
    finally:
        await sio.disconnect()
    foreign = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await foreign.connect(deployment.url, auth={"token": user["token"]}, transports=transports,
                              wait_timeout=10, headers={"Origin": "http://elsewhere.example"})
    await foreign.disconnect()


@pytest.mark.postgres
@pytest.mark.redis
async def test_sigterm_under_load_every_client_reconnects_elsewhere_and_catches_up(deployment, socket_io_client):
    rest = Rest(deployment.url)
    try:
        people = [await rest.user() for _ in range(4)]
        channel = await rest.channel(people[0], members=people[1:])
    finally:
        await rest.close()
    cid = channel["id"]
    # default transports (long-polling, upgraded to websocket), websocket only, and
    # long-polling only (a client whose upgrade is blocked somewhere on the way)
    kinds = {"default": None, "websocket": ["websocket"], "polling": ["polling"]}
    py = [
        PyClient(f"py-{kind}", deployment.url, people[i % 4]["token"], cid, transports, pause=0.03)
        for i, (kind, transports) in enumerate(kinds.items())
    ]
    js = JsClients(socket_io_client, deployment.url, cid, [
        {"name": f"js-{kind}", "token": people[(i + 1) % 4]["token"], "transports": kind}
        for i, kind in enumerate(kinds)
    ], pause_ms=30)
    clients = len(py) + len(js.names)
    try:
        await asyncio.gather(*(c.start() for c in py))
        await js.start()

        def acked_each(at_least: dict[str, int]) -> bool:
            return all(len(c.acked) >= at_least[c.name] for c in py) and all(
                js.acked_by(name) >= at_least[name] for name in js.names
            )

        await wait_until(lambda: acked_each(dict.fromkeys([c.name for c in py] + js.names, 3)), 30,
                         "every client sending")

        # SIGTERM to the process holding the clients (nginx pins them by address: one process)
        counts = [scrape(p.url, "venn_socket_connections") for p in deployment.processes]
        assert sum(counts) == clients, counts
        holder = deployment.processes[counts.index(max(counts))]
        survivors = [p for p in deployment.processes if p is not holder]
        connects = {c.name: c.connects for c in py} | dict(js.synced)
        holder.proc.send_signal(signal.SIGTERM)

        await wait_until(
            lambda: all(c.synced > connects[c.name] for c in py)
            and all(js.synced.get(name, 0) > connects[name] for name in js.names),
            RECOVERY_SECONDS, "every client reconnected (by itself, through nginx) and synced",
            lambda: {c.name: (c.synced, c.disconnects, c.errors[-3:]) for c in py}
            | {name: js.synced.get(name) for name in js.names},
        )
        assert await asyncio.to_thread(holder.proc.wait, 30) == 0
        log = holder.log()
        assert "draining" in log and "stopped" in log, log[-3000:]
        for c in py:  # a lost connection to python-socketio, not a final goodbye
            assert "server disconnect" not in c.disconnects, (c.name, c.disconnects)
        reasons = [line["reason"] for line in js.lines if line["step"] == "disconnected"]
        assert reasons and "io server disconnect" not in reasons, reasons

        # the load goes on, on the other processes
        acked = {c.name: len(c.acked) + 3 for c in py} | {name: js.acked_by(name) + 3 for name in js.names}
        await wait_until(lambda: acked_each(acked), 30, "every client sending again")
        assert sum(scrape(p.url, "venn_socket_connections") for p in survivors) == clients

        await asyncio.gather(*(c.finish() for c in py))
        await js.finish()
    finally:
        await asyncio.gather(*(c.close() for c in py))
        await js.close()

    # No acked message lost or doubled: each stored once, as acked; everyone holds them all.
    rows = await fetch_rows(
        deployment.database_url,
        f"SELECT id, client_msg_id FROM messages WHERE channel_id = {cid} AND thread_id IS NULL",
    )
    stored = {cmid: mid for mid, cmid in rows}
    assert len(stored) == len(rows), "a message stored twice"
    everything = {cmid: mid for c in py for cmid, mid in c.acked.items()} | js.acked
    assert stored == everything
    for c in py:
        assert set(c.view) == set(stored.values()), c.name
    for name in js.names:
        assert set(js.done[name]["view"]) == set(stored.values()), name


# The shipped files on their own -------------------------------------------------------


@needs_nginx
def test_the_tls_site_redirects_to_https_and_sends_hsts(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: no certificate for the TLS site")
    conf = tmp_path / "nginx"
    conf.mkdir()
    cert, key = conf / "cert.pem", conf / "key.pem"
    made = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=chat.test",
         "-keyout", str(key), "-out", str(cert)], capture_output=True, text=True, timeout=60,
    )
    assert made.returncode == 0, made.stderr
    http_port, https_port = free_port(), free_port()
    render([NGINX_DIR / "upstream.conf.template", NGINX_DIR / "proxy.conf.template",
            NGINX_DIR / "site-tls.conf.template"], conf,
           VENN_UPSTREAM_SERVERS=f"127.0.0.1:{free_port()}", VENN_SERVER_NAME="chat.test",
           VENN_HTTP_LISTEN=f"127.0.0.1:{http_port}", VENN_HTTPS_LISTEN=f"127.0.0.1:{https_port}",
           VENN_TLS_CERTIFICATE=str(cert), VENN_TLS_CERTIFICATE_KEY=str(key), VENN_NGINX_DIR=str(conf),
           VENN_ACME_ROOT=str(tmp_path))
    nginx = Nginx(NGINX, conf, ["upstream.conf", "site-tls.conf"])
    try:
        nginx.start()
        assert nginx.proc is not None
        wait_port(https_port, nginx.proc, 20, nginx.log)
        status, headers = get(f"http://127.0.0.1:{http_port}/channels?x=1")
        assert status == 301 and headers["Location"] == "https://127.0.0.1/channels?x=1"
        insecure = ssl.create_default_context()
        insecure.check_hostname, insecure.verify_mode = False, ssl.CERT_NONE
        status, headers = get(f"https://127.0.0.1:{https_port}/metrics", context=insecure)
        assert status == 404
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        status, headers = get(f"https://127.0.0.1:{https_port}/healthz", context=insecure)  # no process up
        assert status == 502 and "Strict-Transport-Security" in headers
    finally:
        nginx.stop()


def test_render_fills_lists_defaults_and_refuses_what_is_missing(tmp_path):
    template = tmp_path / "x.conf.template"
    template.write_text("a ${VENN_A};\nserver ${VENN_LIST[*]} max=${VENN_B:-2};\nkeep $host ${host};\n")
    render([template], tmp_path / "out", VENN_A="1", VENN_LIST="h:1 h:2")
    rendered = (tmp_path / "out" / "x.conf").read_text()
    assert rendered == "a 1;\nserver h:1 max=2;\nserver h:2 max=2;\nkeep $host ${host};\n"
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "render.py"), "--out", str(tmp_path / "out"), str(template)],
        env={"PATH": "/usr/bin:/bin", "VENN_LIST": "h:1"}, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 2 and "set VENN_A in the environment" in result.stderr


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read(path)
    return parser


def test_the_systemd_units_migrate_first_and_outwait_the_drain(tmp_path):
    from venn.config import Settings
    from venn.realtime.server import SHUTDOWN_FLUSH_SECONDS

    out = tmp_path / "units"
    render(sorted((DEPLOY / "systemd").glob("*.template")), out, VENN_HOME=str(REPO),
           VENN_USER="root", VENN_GROUP="root", VENN_DATA_DIR=str(tmp_path), VENN_ENV_FILE=str(tmp_path / "venn.env"))
    server, migrate = unit(out / "venn@.service"), unit(out / "venn-migrate.service")
    assert "venn-migrate.service" in server["Unit"]["Requires"].split()
    assert "venn-migrate.service" in server["Unit"]["After"].split()
    assert migrate["Service"]["Type"] == "oneshot" and migrate["Service"]["ExecStart"].endswith("venn migrate")
    assert server["Service"]["Restart"] == "on-failure"
    for service in (server, migrate):
        assert service["Service"]["User"] and service["Service"]["EnvironmentFile"]
    stop = server["Service"]["TimeoutStopSec"]
    assert stop.endswith("s") and float(stop[:-1]) > Settings.model_fields["shutdown_timeout_seconds"].default + (
        2 * SHUTDOWN_FLUSH_SECONDS
    )
    if shutil.which("systemd-analyze"):
        (tmp_path / "venn.env").write_text("SECRET_KEY=x\n")
        instance = out / "venn@8001.service"
        instance.symlink_to(out / "venn@.service")
        result = subprocess.run(["systemd-analyze", "verify", "--man=no", str(out / "venn-migrate.service"),
                                 str(instance)], capture_output=True, text=True, timeout=60)
        # (a directive it cannot parse is only a warning naming the file)
        assert result.returncode == 0 and str(out) not in result.stderr, result.stderr
