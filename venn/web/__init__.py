"""The web client: a single-page app served at ``/`` by the same process as the API.

:func:`setup_web` is the extension hook (see ``venn/extensions.py``). It adds plain
aiohttp routes (not REST routes: they are not in the OpenAPI document):

- ``GET /``: ``web/index.html``, or, when the front-end packages have not been
  installed (``cd web && npm ci``, which ``make serve`` runs), a page that says so.
  The API and Socket.IO work either way.
- ``GET /static/{path}``: the client's own files under ``web/static/``.
- ``GET /static/vendor/{name}``: the npm packages the page needs, served straight
  from ``web/node_modules`` (installed at set-up, never committed).
- ``GET /static/vendor/{package}/{path}``: the ES module folder of a package whose
  modules import each other by relative path (markdown-it-emoji: ``index.mjs`` and ``lib/``).
- ``GET /plugins/{name}/{path}``: an enabled plugin's ``web_dir`` (the ES modules that
  draw its message payloads), and the REST route ``GET /api/v1/web/renderers`` that
  lists them (see ``venn/web/plugins.py``).

Every response carries a strict Content-Security-Policy (scripts, styles and
connections from this origin only; no inline scripts or styles), ``nosniff`` and
``Referrer-Policy: no-referrer``. The client is described in docs/web-client.md.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web

from venn import keys
from venn.api.routing import ApiRouter
from venn.config import Settings
from venn.web.files import CONTENT_TYPES, CSP, SECURITY_HEADERS, secure, send_file, serve_from
from venn.web.plugins import setup_plugin_web

__all__ = ["CONTENT_TYPES", "CSP", "SECURITY_HEADERS", "setup_web", "web_dir"]

log = logging.getLogger("venn.web")

#: ``web/`` of the source tree; ``VENN_WEB_DIR`` points elsewhere (e.g. a packaged copy).
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "web"

#: /static/vendor/<name> -> the file inside web/node_modules that npm installed.
VENDOR = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "socket.io.esm.min.js.map": "socket.io-client/dist/socket.io.esm.min.js.map",
    # markdown-it's self-contained ES module build (no bare imports: the page has no import map)
    "markdown-it.esm.min.mjs": "markdown-it/dist/browser/markdown-it.esm.min.mjs",
    "markdown-it.esm.min.mjs.map": "markdown-it/dist/browser/markdown-it.esm.min.mjs.map",
}
#: /static/vendor/<package>/<path> -> a folder of ES modules inside web/node_modules
VENDOR_DIRS = {
    "markdown-it-emoji": "markdown-it-emoji",
}
#: the vendor files the page cannot work without
REQUIRED_VENDOR = ("socket.io.esm.min.js", "markdown-it.esm.min.mjs", "markdown-it-emoji/index.mjs")

WEB_DIR: web.AppKey[Path] = web.AppKey("web_dir", Path)
#: the web folders whose missing assets were reported (once per app, when the page is first asked for)
ASSETS_REPORTED: web.AppKey[set[Path]] = web.AppKey("web_assets_reported", set)

MISSING_ASSETS_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Venn: web client not installed</title>
<link rel="stylesheet" href="/static/css/app.css">
</head>
<body class="notice-page">
<main class="notice-card">
<h1>Venn is running, but its web client is not installed</h1>
<p>The page needs its front-end packages (socket.io-client, markdown-it), which npm installs into
<code>web/node_modules</code>. Install them with either of:</p>
<pre>make serve</pre>
<pre>cd web &amp;&amp; npm ci</pre>
<p>then reload this page. Node.js and npm are needed for that step only.</p>
<p>The REST API (<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>) and the
Socket.IO endpoint (<code>/socket.io/</code>) work without it.</p>
</main>
</body>
</html>
"""


def web_dir(settings: Settings) -> Path:
    """The web client's folder: ``VENN_WEB_DIR``, or ``web/`` of the source tree."""
    return settings.web_dir.resolve() if settings.web_dir else DEFAULT_WEB_DIR


def missing_assets(root: Path) -> list[str]:
    """The vendor files the page needs that are not installed (empty when all are)."""
    return [name for name in REQUIRED_VENDOR if not vendor_path(root, name).is_file()]


def vendor_path(root: Path, name: str) -> Path:
    """Where the vendor file ``name`` (a key of VENDOR, or ``<package>/<path>``) is installed."""
    if name in VENDOR:
        return root / "node_modules" / VENDOR[name]
    package, _, rest = name.partition("/")
    return root / "node_modules" / VENDOR_DIRS[package] / rest


async def index(request: web.Request) -> web.StreamResponse:
    root = request.app[WEB_DIR]
    page = root / "index.html"
    missing = missing_assets(root)
    if missing or not page.is_file():
        reported = request.app[ASSETS_REPORTED]
        if root not in reported:
            # Said when someone opens the page, not at every start: an app built by a
            # plugin's tests, or an API-only deployment, has no use for the page.
            reported.add(root)
            log.warning(
                "web client assets are missing (%s): run `make serve` or `cd web && npm ci`; "
                "the API works without them",
                ", ".join(missing) or "index.html",
                extra={"web_dir": str(root)},
            )
        response = web.Response(
            text=MISSING_ASSETS_PAGE,
            status=503,
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )
        return secure(response)
    return send_file(page, "text/html; charset=utf-8")


async def static(request: web.Request) -> web.StreamResponse:
    return serve_from(request.app[WEB_DIR] / "static", request.match_info["path"])


async def vendor(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    target = VENDOR.get(name)
    if target is None:
        raise web.HTTPNotFound()
    path = request.app[WEB_DIR] / "node_modules" / target
    if not path.is_file():
        raise web.HTTPNotFound()
    return send_file(path, CONTENT_TYPES[Path(name).suffix.lower()])


async def vendor_dir(request: web.Request) -> web.StreamResponse:
    target = VENDOR_DIRS.get(request.match_info["package"])
    if target is None:
        raise web.HTTPNotFound()
    # the same checks as /static/: a known type, nothing outside the folder, no hidden parts
    return serve_from(request.app[WEB_DIR] / "node_modules" / target, request.match_info["path"])


def setup_web(app: web.Application, router: ApiRouter | None = None) -> None:
    """Serve the web client from ``web/`` (``VENN_WEB_DIR``): ``/`` and ``/static/``; the
    enabled plugins' files at ``/plugins/`` and, on ``router``, ``GET /api/v1/web/renderers``."""
    root = web_dir(app[keys.SETTINGS])
    app[WEB_DIR] = root
    # Plain aiohttp routes on purpose: these are not part of the REST API.
    app.router.add_get("/", index, name="web-index")
    app.router.add_get("/static/vendor/{name}", vendor, name="web-vendor")
    app.router.add_get("/static/vendor/{package}/{path:.+}", vendor_dir, name="web-vendor-dir")
    app.router.add_get("/static/{path:.+}", static, name="web-static")
    setup_plugin_web(app, router)
    app[ASSETS_REPORTED] = set()
