"""The web client: a single-page app served at ``/`` by the same process as the API.

:func:`setup_web` is the extension hook (see ``venn/extensions.py``). It adds plain
aiohttp routes (not REST routes: they are not in the OpenAPI document):

- ``GET /``: ``web/index.html``, or, when the front-end packages have not been
  installed (``cd web && npm ci``, which ``make serve`` runs), a page that says so.
  The API and Socket.IO work either way.
- ``GET /static/{path}``: the client's own files under ``web/static/``.
- ``GET /static/vendor/{name}``: the npm packages the page needs, served straight
  from ``web/node_modules`` (installed at set-up, never committed).

Every response carries a strict Content-Security-Policy (scripts, styles and
connections from this origin only; no inline scripts or styles), ``nosniff`` and
``Referrer-Policy: no-referrer``. The client is described in docs/web-client.md.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from aiohttp import web

log = logging.getLogger("venn.web")

#: ``web/`` of the source tree; ``VENN_WEB_DIR`` points elsewhere (e.g. a packaged copy).
DEFAULT_WEB_DIR = Path(__file__).resolve().parents[2] / "web"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

#: What may be served from web/static/, with its type (anything else is 404).
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".map": "application/json; charset=utf-8",
    ".json": "application/json; charset=utf-8",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}

#: /static/vendor/<name> -> the file inside web/node_modules that npm installed.
VENDOR = {
    "socket.io.esm.min.js": "socket.io-client/dist/socket.io.esm.min.js",
    "socket.io.esm.min.js.map": "socket.io-client/dist/socket.io.esm.min.js.map",
}
#: the vendor files the page cannot work without
REQUIRED_VENDOR = ("socket.io.esm.min.js",)

WEB_DIR: web.AppKey[Path] = web.AppKey("web_dir", Path)

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
<p>The page needs its front-end packages (socket.io-client), which npm installs into
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


def web_dir() -> Path:
    override = os.environ.get("VENN_WEB_DIR", "").strip()
    return Path(override).resolve() if override else DEFAULT_WEB_DIR


def missing_assets(root: Path) -> list[str]:
    """The vendor files the page needs that are not installed (empty when all are)."""
    return [name for name in REQUIRED_VENDOR if not (root / "node_modules" / VENDOR[name]).is_file()]


def _secure(response: web.StreamResponse) -> web.StreamResponse:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def _file(path: Path, content_type: str) -> web.FileResponse:
    # FileResponse answers conditional requests (ETag / Last-Modified) with 304;
    # no-cache makes the browser revalidate, so an update is never served stale.
    response = web.FileResponse(path, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})
    return _secure(response)  # type: ignore[return-value]


def _not_found() -> web.HTTPNotFound:
    return web.HTTPNotFound()


async def index(request: web.Request) -> web.StreamResponse:
    root = request.app[WEB_DIR]
    page = root / "index.html"
    missing = missing_assets(root)
    if missing or not page.is_file():
        response = web.Response(
            text=MISSING_ASSETS_PAGE,
            status=503,
            content_type="text/html",
            headers={"Cache-Control": "no-store"},
        )
        return _secure(response)
    return _file(page, "text/html; charset=utf-8")


def _inside(base: Path, relative: str) -> Path | None:
    """``base / relative`` if it is a file inside ``base`` (no ``..``, no hidden parts)."""
    parts = relative.split("/")
    if not relative or any(part in ("", ".", "..") or part.startswith(".") or "\\" in part for part in parts):
        return None
    base = base.resolve()
    path = (base / relative).resolve()
    if base not in path.parents or not path.is_file():
        return None
    return path


async def static(request: web.Request) -> web.StreamResponse:
    relative = request.match_info["path"]
    path = _inside(request.app[WEB_DIR] / "static", relative)
    content_type = CONTENT_TYPES.get(Path(relative).suffix.lower())
    if path is None or content_type is None:
        raise _not_found()
    return _file(path, content_type)


async def vendor(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    target = VENDOR.get(name)
    if target is None:
        raise _not_found()
    path = request.app[WEB_DIR] / "node_modules" / target
    if not path.is_file():
        raise _not_found()
    return _file(path, CONTENT_TYPES[Path(name).suffix.lower()])


def setup_web(app: web.Application, router=None) -> None:
    """Serve the web client from ``web/`` (``VENN_WEB_DIR``): ``/`` and ``/static/``."""
    root = web_dir()
    app[WEB_DIR] = root
    # Plain aiohttp routes on purpose: these are not part of the REST API.
    app.router.add_get("/", index, name="web-index")
    app.router.add_get("/static/vendor/{name}", vendor, name="web-vendor")
    app.router.add_get("/static/{path:.+}", static, name="web-static")

    async def report(app: web.Application) -> None:
        missing = missing_assets(root)
        if missing:
            log.warning(
                "web client assets are missing (%s): run `make serve` or `cd web && npm ci`; "
                "the API works without them",
                ", ".join(missing),
                extra={"web_dir": str(root)},
            )

    app.on_startup.append(report)
