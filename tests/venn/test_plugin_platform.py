"""The plugin platform, from outside: a sample plugin that lives under tests/ (not in
plugins/), registered with an entry point at test time, run in real `venn` processes.

It adds a REST route, a table with its own migration, a setting and a CLI command
(the web renderer is tested with the web client). Also: VENN_PLUGINS_DISABLED, a
plugin that fails to import, a route clash, and migrations that many processes start
at once, on an old layout and on a newer schema.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import require_postgres
from tests.reliability.kit import Rest, VennProcess, base_env, fetch_rows, own_pg_database

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "sample_plugin"
CORE_MIGRATIONS = len([p for p in (ROOT / "venn/db/migrations").glob("0*.py")])


def _register(site: Path, entry_points: str) -> Path:
    info = site / "venn_notes-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: venn-notes\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[venn.plugins]\n" + entry_points)
    return site


@pytest.fixture(scope="module")
def notes_site(tmp_path_factory) -> Path:
    """A site folder whose metadata registers the sample plugin as ``notes``."""
    return _register(tmp_path_factory.mktemp("notes-site"), "notes = venn_notes:NotesPlugin\n")


def _env(tmp_path: Path, site: Path, **extra: str) -> dict[str, str]:
    env = base_env(tmp_path, **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(SAMPLE), str(ROOT)])
    return env


def venn(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "venn", *args], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT
    )


async def _serve(env: dict[str, str], tmp_path: Path, name: str = "venn") -> VennProcess:
    server = VennProcess(env, tmp_path / f"{name}.log").start()
    try:
        await server.ready()
    except BaseException:
        server.stop()
        raise
    return server


async def test_an_outside_plugin_adds_a_route_a_table_a_setting_and_a_command(tmp_path, notes_site):
    env = _env(tmp_path, notes_site, VENN_NOTES_GREETING="Pinned!", VENN_NOTES_MAX="2")
    migrated = venn("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "applied notes.0001_initial" in migrated.stdout
    assert "applied sql.0001_initial" in migrated.stdout and "applied bots.0001_initial" in migrated.stdout

    command = venn("notes", "greeting", env=env)
    assert (command.returncode, command.stdout.strip()) == (0, "Pinned!")

    server = await _serve(env, tmp_path)
    rest = Rest(server.url)
    try:
        owner = await rest.user("owner")
        outsider = await rest.user("outsider")
        channel = await rest.channel(owner, private=True)
        status, body = await rest.request("POST", "/api/v1/notes", owner["token"],
                                          json={"channel_id": channel["id"], "text": "  buy milk  "})
        assert status == 201, body
        assert body["note"]["text"] == "buy milk" and body["note"]["greeting"] == "Pinned!"
        # the core's access rules hold in a plugin's route: an outsider does not see the channel
        status, body = await rest.request("POST", "/api/v1/notes", outsider["token"],
                                          json={"channel_id": channel["id"], "text": "hi"})
        assert status == 404 and body["error"]["code"] == "not_found"
        # bad input gets the documented error shape, the setting bounds what is kept
        status, body = await rest.request("POST", "/api/v1/notes", owner["token"], json={"channel_id": "x"})
        assert status == 422 and {f["field"] for f in body["error"]["fields"]} >= {"channel_id", "text"}
        await rest.request("POST", "/api/v1/notes", owner["token"], json={"channel_id": channel["id"], "text": "2"})
        status, body = await rest.request("POST", "/api/v1/notes", owner["token"],
                                          json={"channel_id": channel["id"], "text": "3"})
        assert status == 409 and body["error"]["code"] == "too_many_notes"
        # the route and its schemas are in the served OpenAPI document
        status, doc = await rest.request("GET", "/api/v1/openapi.json")
        assert doc["paths"]["/api/v1/notes"]["post"]["tags"] == ["notes"]
        assert "NoteEnvelope" in doc["components"]["schemas"] and "NoteIn" in doc["components"]["schemas"]
        # the renderer: listed for the page, served from the plugin's folder under the CSP
        status, body = await rest.request("GET", "/api/v1/web/renderers", owner["token"])
        assert {"plugin": "notes", "type": "note", "module": "/plugins/notes/note.js"} in body["renderers"]
        async with rest.http.get(server.url + "/plugins/notes/note.js") as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/javascript")
            assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
            module = await resp.text()
        assert module == (SAMPLE / "venn_notes" / "web" / "note.js").read_text()
    finally:
        await rest.close()
        server.stop()
    rows = await fetch_rows(f"sqlite:///{tmp_path / 'data' / 'venn.db'}", "SELECT text FROM sample_notes ORDER BY id")
    assert rows == [("buy milk",), ("2",)]


async def test_disabled_plugins_contribute_nothing_and_keep_their_tables(tmp_path, notes_site):
    env = _env(tmp_path, notes_site)
    assert venn("migrate", env=env).returncode == 0
    url = f"sqlite:///{tmp_path / 'data' / 'venn.db'}"
    off = {**env, "VENN_PLUGINS_DISABLED": "notes, sql"}
    result = venn("migrate", env=off)
    assert result.returncode == 0 and "0 migrations applied" in result.stdout, result.stdout + result.stderr
    assert "notes" not in venn("--help", env=off).stdout
    assert venn("sql", "check", "--help", env=off).returncode != 0

    server = await _serve(off, tmp_path)
    rest = Rest(server.url)
    try:
        admin = await rest.user("admin")
        channel = await rest.channel(admin)
        status, body = await rest.request("GET", "/api/v1/plugins", admin["token"])
        names = {p["name"] for p in body["plugins"]}
        assert status == 200 and "echo" in names and not names & {"notes", "sql"}, names
        for method, path in [("POST", "/api/v1/notes"), ("GET", "/api/v1/admin/queries"),
                             ("GET", "/api/v1/queries/1/result.csv"), ("POST", "/api/v1/threads/1/llm-query")]:
            status, _ = await rest.request(method, path, admin["token"], json={})
            assert status == 404, (method, path)
        status, doc = await rest.request("GET", "/api/v1/openapi.json")
        assert not [p for p in doc["paths"] if "notes" in p or "queries" in p or "llm-query" in p]
        # the chat itself works
        status, body = await rest.request("POST", "/api/v1/messages", admin["token"],
                                          json={"channel_id": channel["id"], "body": "still here"})
        assert status == 201
    finally:
        await rest.close()
        server.stop()
    assert "Traceback" not in server.log()
    tables = {r[0] for r in await fetch_rows(url, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"sample_notes", "sql_queries", "sql_statements"} <= tables


def test_the_sample_renderer_registers_its_payload_type(tmp_path):
    """The module the page imports, run under Node with the registration API the page gives it."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    script = (
        "const m = await import(process.argv[1]); const seen = [];"
        "m.default({registerRenderer: (type, draw) => seen.push([type, draw("
        "{text: 'hi'}, {h: (tag, text) => ({tag, text})})])});"
        "console.log(JSON.stringify(seen));"
    )
    result = subprocess.run(["node", "--input-type=module", "-e", script, str(SAMPLE / "venn_notes/web/note.js")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["note", {"tag": "blockquote.note", "text": "hi"}]]


def test_a_plugin_that_fails_to_import_is_reported(tmp_path):
    site = _register(tmp_path / "site", "notes = venn_notes:NotesPlugin\nghost = venn_notes.not_there:Plugin\n")
    result = venn("--help", env=_env(tmp_path, site))
    assert result.returncode == 0
    assert "plugin skipped: entry point ghost = venn_notes.not_there:Plugin" in result.stderr
    assert "ModuleNotFoundError" in result.stderr
    assert "notes" in result.stdout  # the others still load


def test_an_invalid_plugin_setting_stops_start_up_naming_it(tmp_path, notes_site):
    result = venn("serve", "--port", "1", env=_env(tmp_path, notes_site, VENN_NOTES_MAX="0"))
    assert result.returncode == 2
    assert "VENN_NOTES_MAX" in result.stderr and "Traceback" not in result.stderr


def test_two_plugins_wanting_one_route_stop_venn_serve_naming_both(tmp_path):
    site = _register(tmp_path / "site", "notes = venn_notes:NotesPlugin\nclash = venn_notes.clash:ClashPlugin\n")
    result = venn("serve", "--port", "1", env=_env(tmp_path, site))
    assert result.returncode == 2, result.stderr
    assert "POST /api/v1/notes" in result.stderr
    assert "plugin 'clash'" in result.stderr and "plugin 'notes'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_route_that_clashes_with_the_core_stops_start_up_naming_both(make_settings):
    from venn.api.routing import ApiRouter, RouteClash
    from venn.app import create_app
    from venn.extension import Extension

    router = ApiRouter(prefix="/api/v1")

    @router.post(r"/messages/{message_id:\d+}", tag="x")
    async def mine(call):
        """Another method on a core path: no clash."""

    @router.get(r"/channels/{id:\d+}", tag="x")
    async def theirs(call):
        """Clashes with the core's GET /channels/{channel_id}."""

    class Clash(Extension):
        name = "clash"

    Clash.router = router
    with pytest.raises(RouteClash) as caught:
        create_app(make_settings(database_url="sqlite://:memory:"), plugins=[Clash])
    assert "plugin 'clash'" in str(caught.value) and "the core" in str(caught.value)
    assert "/channels/" in str(caught.value)


# Migrations -----------------------------------------------------------------------------


@pytest.mark.postgres
async def test_three_processes_migrate_and_start_at_once_on_an_empty_database(tmp_path):
    async with own_pg_database(require_postgres()) as url:
        env = base_env(tmp_path, DATABASE_URL=url)
        runs = [subprocess.Popen([sys.executable, "-m", "venn", "migrate"], env=env, cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
        outputs = [run.communicate(timeout=120) for run in runs]
        assert [run.returncode for run in runs] == [0, 0, 0], outputs
        applied = [line for out, _ in outputs for line in out.splitlines() if line.startswith("applied ")]
        assert len(applied) == len(set(applied)) >= CORE_MIGRATIONS + 2  # each applied once, by one of them
        records = await fetch_rows(url, 'SELECT app, name FROM tortoise_migrations')
        assert len(records) == len(set(records)) == len(applied)

    async with own_pg_database(require_postgres()) as url:
        servers = [VennProcess(base_env(tmp_path, DATABASE_URL=url), tmp_path / f"s{i}.log").start() for i in range(3)]
        try:
            await asyncio.gather(*(server.ready() for server in servers))
        finally:
            for server in servers:
                server.stop()
        assert sum(server.log().count("migration applied") for server in servers) == len(applied)


async def test_an_older_layout_is_adopted_and_a_newer_schema_refused(tmp_path):
    env = base_env(tmp_path)
    assert venn("migrate", env=env).returncode == 0
    db_path = tmp_path / "data" / "venn.db"
    import sqlite3

    # Before plugins had their own migration histories, their tables were the core's 0002 and 0003.
    with sqlite3.connect(db_path) as conn:
        # (only the plugins' first migrations: the later ones came after the move)
        conn.execute(
            "UPDATE tortoise_migrations SET app = 'venn', name = '0002_bots' WHERE app = 'bots' AND name = '0001_initial'"
        )
        conn.execute(
            "UPDATE tortoise_migrations SET app = 'venn', name = '0003_sql_agent' "
            "WHERE app = 'sql' AND name = '0001_initial'"
        )
    result = venn("migrate", env={**env, "VENN_PLUGINS_DISABLED": "sql"})
    assert result.returncode == 0 and "0 migrations applied" in result.stdout, result.stdout + result.stderr
    records = set(await fetch_rows(f"sqlite:///{db_path}", "SELECT app, name FROM tortoise_migrations"))
    assert {("bots", "0001_initial"), ("sql", "0001_initial")} <= records
    core = {p.stem for p in (ROOT / "venn/db/migrations").glob("0*.py")}
    assert not {r for r in records if r[0] == "venn" and r[1] not in core}  # the old names are gone

    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO tortoise_migrations (app, name, applied_at) VALUES ('venn', '0099_future', '2030-01-01')"
        )
    result = venn("migrate", env=env)
    assert result.returncode == 1 and "venn.0099_future" in result.stderr and "newer version" in result.stderr
    result = venn("serve", "--port", "1", env=env)
    assert result.returncode == 2 and "venn.0099_future" in result.stderr
    assert "Traceback" not in result.stderr
