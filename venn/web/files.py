"""Sending the web client's files: the security headers every response carries, the
types that may be served, and the check that a requested path stays inside its folder.

Shared by the core client's routes (``/static/``) and the plugins' (``/plugins/``), so
both answer with the same allow-list and the same Content-Security-Policy.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

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

#: What may be served from web/static/ and a plugin's web_dir, with its type (anything else is 404).
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
#: the types a module the page imports may have
MODULE_SUFFIXES = (".js", ".mjs")


def secure(response: web.StreamResponse) -> web.StreamResponse:
    """``response`` with the security headers (CSP, nosniff, no referrer, COOP)."""
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def send_file(path: Path, content_type: str) -> web.FileResponse:
    """``path`` with its type, revalidated on every use, with the security headers."""
    # FileResponse answers conditional requests (ETag / Last-Modified) with 304;
    # no-cache makes the browser revalidate, so an update is never served stale.
    response = web.FileResponse(path, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})
    return secure(response)  # type: ignore[return-value]


def inside(base: Path, relative: str) -> Path | None:
    """``base / relative`` if it is a file inside ``base`` (no ``..``, no hidden parts)."""
    parts = relative.split("/")
    if not relative or any(part in ("", ".", "..") or part.startswith(".") or "\\" in part for part in parts):
        return None
    base = base.resolve()
    path = (base / relative).resolve()
    if base not in path.parents or not path.is_file():
        return None
    return path


def serve_from(base: Path, relative: str) -> web.StreamResponse:
    """The file ``relative`` under ``base`` if its type is allowed; 404 otherwise."""
    path = inside(base, relative)
    content_type = CONTENT_TYPES.get(Path(relative).suffix.lower())
    if path is None or content_type is None:
        raise web.HTTPNotFound()
    return send_file(path, content_type)
