"""How the server serves the web client: the page, its files, the headers, and what
happens when the npm packages are not installed (no browser needed here)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.web.kit import REPO, WEB, ensure_web_packages
from venn.app import create_app
from venn.extensions import scan_installed

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
async def web_client(aiohttp_client, settings, monkeypatch):
    async def make(web_dir=WEB):
        return await aiohttp_client(create_app(settings.model_copy(update={"web_dir": web_dir})))

    return make


def assert_secure(resp) -> None:
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"


@sqlite_only
async def test_the_page_and_its_files_are_served_with_a_strict_csp(web_client):
    reason = ensure_web_packages()
    if reason:
        pytest.skip(reason)
    client = await web_client()
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert_secure(resp)
    html = await resp.text()
    assert '<script type="module" src="/static/js/main.js"></script>' in html
    assert "style=" not in html and "<style" not in html  # nothing inline

    for path, kind in [
        ("/static/js/main.js", "text/javascript"),
        ("/static/js/views/messages.js", "text/javascript"),
        ("/static/css/app.css", "text/css"),
        ("/static/vendor/socket.io.esm.min.js", "text/javascript"),
        ("/static/vendor/markdown-it.esm.min.mjs", "text/javascript"),
        ("/static/vendor/markdown-it-emoji/index.mjs", "text/javascript"),
        ("/static/vendor/markdown-it-emoji/lib/data/full.mjs", "text/javascript"),
    ]:
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.content_type == kind, path
        assert_secure(resp)


@sqlite_only
@pytest.mark.parametrize(
    "path",
    [
        "/static/../pyproject.toml",
        "/static/%2e%2e/%2e%2e/pyproject.toml",
        "/static/js/../../index.html",
        "/static/js/%2e%2e/%2e%2e/package.json",
        "/static/.hidden.js",
        "/static/js/nope.js",
        "/static/vendor/engine.io.js",
        "/static/vendor/..%2fpackage.json",
        "/static/vendor/markdown-it-emoji/../markdown-it/package.json",
        "/static/vendor/markdown-it-emoji/%2e%2e/markdown-it/package.json",
        "/static/vendor/markdown-it-emoji/README.md",
        "/static/vendor/linkify-it/build/index.mjs",
        "/static/favicon.svg.py",
    ],
)
async def test_nothing_outside_the_client_files_is_served(web_client, path):
    client = await web_client()
    resp = await client.get(path)
    assert resp.status == 404, (path, await resp.text())


@sqlite_only
async def test_without_the_npm_packages_the_page_says_how_to_install_them(web_client, tmp_path, caplog):
    bare = tmp_path / "web"
    shutil.copytree(WEB / "static", bare / "static")
    shutil.copy(WEB / "index.html", bare / "index.html")
    client = await web_client(bare)
    # an app that nobody asks for the page (a plugin's tests, an API-only server) says nothing
    assert "assets are missing" not in caplog.text
    resp = await client.get("/")
    await client.get("/")
    # the first visit puts it in the log, once
    assert caplog.text.count("web client assets are missing (socket.io.esm.min.js, markdown-it.esm.min.mjs") == 1
    assert resp.status == 503
    assert_secure(resp)
    text = await resp.text()
    assert "web client is not installed" in text
    assert "make serve" in text and "npm ci" in text
    # the API works all the same
    resp = await client.post("/api/v1/auth/register", json={"username": "alice", "password": "correct-horse"})
    assert resp.status == 201
    assert (await client.get("/static/vendor/socket.io.esm.min.js")).status == 404


def plugin_web_dirs() -> list[Path]:
    """The ``web_dir`` of every installed plugin, and every ``plugins/*/web`` of the tree."""
    dirs = {Path(cls.web_dir).resolve() for _, cls, _ in scan_installed()[0] if cls.web_dir is not None}
    dirs |= {path.resolve() for path in (REPO / "plugins").glob("*/web") if path.is_dir()}
    return sorted(dirs)


def test_the_client_never_builds_html_from_strings():
    """Text reaches the page through DOM APIs only: no HTML parsing of data anywhere,
    in the client or in the modules the plugins add to it."""
    forbidden = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "srcdoc")
    files = sorted((WEB / "static" / "js").rglob("*.js"))
    assert len(files) >= 10
    plugin_dirs = plugin_web_dirs()
    assert (REPO / "plugins" / "sql_agent" / "web").resolve() in plugin_dirs
    # A plugin's own modules; not the npm packages it installs into its web_dir (the SQL
    # agent's Vega builds), which the CSP holds: no eval, nothing inline.
    plugin_files = sorted(
        path
        for base in plugin_dirs
        for suffix in ("*.js", "*.mjs")
        for path in base.rglob(suffix)
        if "node_modules" not in path.relative_to(base).parts
    )
    assert plugin_files
    for path in files + plugin_files:
        source = path.read_text()
        for word in forbidden:
            assert word not in source, f"{path} uses {word}"
    assert "<script" not in (WEB / "index.html").read_text().replace('<script type="module" src="/static/js/main.js"></script>', "")
