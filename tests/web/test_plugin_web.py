"""What plugins add to the web client, on the server side (no browser needed): their
files at ``/plugins/{name}/`` with the same types and headers as ``/static/``, and
``GET /api/v1/web/renderers``, the list of renderer modules the page imports."""

from __future__ import annotations

import logging
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from tests.helpers import Chat
from tests.web.kit import REPO, WEB
from tests.web.test_serving import assert_secure
from venn.app import create_app
from venn.extension import Extension

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])
SQL_WEB = REPO / "plugins" / "sql_agent" / "web"
SQL_RENDERER = {"plugin": "sql", "type": "sql_result", "module": "/plugins/sql/sql-result.js"}


@pytest.fixture
async def web_client(aiohttp_client, make_settings, database_url, monkeypatch):
    async def make(*, disabled: tuple[str, ...] = (), plugins: tuple[type[Extension], ...] = ()):
        monkeypatch.setenv("VENN_WEB_DIR", str(WEB))
        settings = make_settings(database_url=database_url, plugins_disabled=list(disabled))
        return await aiohttp_client(create_app(settings, plugins=plugins))

    return make


@sqlite_only
async def test_an_enabled_plugins_files_are_served_like_the_clients_own(web_client):
    client = await web_client()
    for name, kind in [("sql-result.js", "text/javascript"), ("sql-result.css", "text/css")]:
        resp = await client.get(f"/plugins/sql/{name}")
        assert resp.status == 200, name
        assert resp.content_type == kind, name
        assert resp.headers["Cache-Control"] == "no-cache"
        assert_secure(resp)
        assert await resp.text() == (SQL_WEB / name).read_text()


@sqlite_only
@pytest.mark.parametrize(
    "path",
    [
        "/plugins/sql/../__init__.py",
        "/plugins/sql/%2e%2e/__init__.py",
        "/plugins/sql/..%2f__init__.py",
        "/plugins/sql/%2e%2e/%2e%2e/%2e%2e/pyproject.toml",
        "/plugins/sql/.hidden.js",
        "/plugins/sql/nope.js",
        "/plugins/sql/sql-result.js.py",
        "/plugins/sql/",
        "/plugins/nope/sql-result.js",
        "/plugins/echo/sql-result.js",  # enabled, but no web_dir
        "/plugins/sql%2f..%2f..%2fstatic/js/main.js",
    ],
)
async def test_nothing_outside_a_plugins_web_dir_is_served(web_client, path):
    client = await web_client()
    resp = await client.get(path)
    assert resp.status == 404, (path, await resp.text())


@sqlite_only
async def test_the_renderers_of_the_enabled_plugins_are_listed_to_signed_in_users(web_client):
    client = await web_client()
    resp = await client.get("/api/v1/web/renderers")
    assert resp.status == 401
    assert (await resp.json())["error"]["code"] == "missing_token"

    user = await Chat(client).user("reader")
    resp = await client.get("/api/v1/web/renderers/", headers=user.headers)
    assert resp.status == 200
    assert await resp.json() == {"renderers": [SQL_RENDERER]}
    module = await client.get(SQL_RENDERER["module"])
    assert module.status == 200 and module.content_type == "text/javascript"

    # described in the OpenAPI document, with its named response schema
    doc = await (await client.get("/api/v1/openapi.json")).json()
    ok = doc["paths"]["/api/v1/web/renderers"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/WebRendererList"}
    schema = doc["components"]["schemas"]["WebRendererList"]
    assert schema["properties"]["renderers"]["items"]["required"] == ["plugin", "type", "module"]


@sqlite_only
async def test_a_disabled_plugin_has_no_renderers_and_no_files(web_client):
    client = await web_client(disabled=("sql",))
    user = await Chat(client).user("reader")
    resp = await client.get("/api/v1/web/renderers", headers=user.headers)
    assert await resp.json() == {"renderers": []}
    assert (await client.get("/plugins/sql/sql-result.js")).status == 404
    assert (await client.get("/static/js/main.js")).status == 200  # the client itself is there


def _plugin(name: str, web_dir: Path | None, renderers: dict[str, str]) -> type[Extension]:
    return type(f"{name.title()}Plugin", (Extension,), {"name": name, "web_dir": web_dir, "renderers": renderers})


@sqlite_only
async def test_renderers_that_cannot_load_are_left_out_and_logged(web_client, tmp_path, caplog):
    web = tmp_path / "web"
    (web / "sub").mkdir(parents=True)
    (web / "good.js").write_text("export default function register() {}\n")
    (web / "sub" / "deep.mjs").write_text("export default function register() {}\n")
    (web / "look.css").write_text(".x {}\n")
    (tmp_path / "escape.js").write_text("export default 1;\n")
    charts = _plugin(
        "charts",
        web,
        {
            "chart": "good.js",
            "deep_chart": "sub/deep.mjs",
            "missing": "nope.js",
            "outside": "../escape.js",
            "styles": "look.css",
            "sql_result": "good.js",  # the sql plugin (loaded first) draws it
            "bad type!": "good.js",
        },
    )
    nowhere = _plugin("nowhere", None, {"thing": "thing.js"})
    gone = _plugin("gone", tmp_path / "no-such-folder", {"thing": "thing.js"})
    with caplog.at_level(logging.WARNING, logger="venn.web"):
        client = await web_client(plugins=(charts, nowhere, gone))
    user = await Chat(client).user("reader")
    listed = (await (await client.get("/api/v1/web/renderers", headers=user.headers)).json())["renderers"]
    assert listed == [
        SQL_RENDERER,
        {"plugin": "charts", "type": "chart", "module": "/plugins/charts/good.js"},
        {"plugin": "charts", "type": "deep_chart", "module": "/plugins/charts/sub/deep.mjs"},
    ]
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "venn.web")
    for words in ("'missing'", "'outside'", "'styles'", "'sql_result' is already drawn by plugin sql", "'bad type!'",
                  "nowhere names renderers but has no web_dir", "gone: its web_dir"):
        assert words in logged, (words, logged)

    deep = await client.get("/plugins/charts/sub/deep.mjs")
    assert deep.status == 200 and deep.content_type == "text/javascript"
    assert (await client.get("/plugins/charts/look.css")).status == 200  # a file, though not a renderer
    assert (await client.get("/plugins/charts/%2e%2e/escape.js")).status == 404
    assert (await client.get("/plugins/gone/thing.js")).status == 404


def test_the_sql_agents_web_files_ship_in_the_distribution():
    """pyproject.toml lists the web folder as a (data) package whose files package-data takes."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "venn_plugins.sql_agent.web" in config["packages"]
    assert config["package-dir"]["venn_plugins"] == "plugins"
    patterns = config["package-data"].get("venn_plugins.sql_agent.web", []) + config["package-data"].get("*", [])
    files = sorted(path.name for path in SQL_WEB.iterdir() if path.is_file())
    assert "sql-result.js" in files
    for name in files:
        assert any(fnmatch(name, pattern) for pattern in patterns), f"{name} would not be in the wheel"
