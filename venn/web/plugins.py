"""What the enabled plugins add to the web client: their ES modules, and the list of
payload renderers the page loads after sign-in.

- ``GET /plugins/{name}/{path}``: a file of plugin ``name``'s ``web_dir``, with the
  same type allow-list, security headers and CSP as ``/static/``. A plugin that is
  not enabled (``VENN_PLUGINS_DISABLED``) has no files here.
- ``GET /api/v1/web/renderers`` (REST, signed in): ``{"renderers": [{plugin, type,
  module}]}``, one entry a payload ``type``, ``module`` being the URL to ``import()``.

A renderer whose module is not a ``.js``/``.mjs`` file inside the plugin's ``web_dir``,
or whose ``type`` another plugin already claimed (the first in load order keeps it), is
left out with a warning at start-up. The module contract is in docs/plugins.md,
"Drawing your payloads in the web client".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from venn import keys
from venn.api.routing import ApiRouter, Call
from venn.extension import Extension
from venn.web.files import MODULE_SUFFIXES, inside, serve_from

log = logging.getLogger("venn.web")

#: payload types a renderer may claim: what a plugin would put in ``payload["type"]``
TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,63}$")

_STRING = {"type": "string", "minLength": 1}
SCHEMAS: dict[str, Any] = {
    "WebRendererList": {
        "type": "object",
        "required": ["renderers"],
        "additionalProperties": False,
        "properties": {
            "renderers": {
                "type": "array",
                "description": "The payload renderers of the enabled plugins, in load order.",
                "items": {
                    "type": "object",
                    "required": ["plugin", "type", "module"],
                    "additionalProperties": False,
                    "properties": {
                        "plugin": {**_STRING, "description": "The plugin's name."},
                        "type": {**_STRING, "description": "The payload `type` the module draws."},
                        "module": {
                            **_STRING,
                            "pattern": "^/plugins/",
                            "description": "The ES module to import(): a path on this server.",
                        },
                    },
                },
            }
        },
    }
}

web_api = ApiRouter(prefix="/api/v1", schemas=SCHEMAS)


@dataclass(frozen=True)
class PluginWeb:
    """The web files of the enabled plugins: folders by plugin name, and the renderers."""

    dirs: dict[str, Path]
    renderers: list[dict[str, str]]


PLUGIN_WEB: web.AppKey[PluginWeb] = web.AppKey("plugin_web", PluginWeb)


def collect(extensions: list[type[Extension]]) -> PluginWeb:
    """Each enabled plugin's ``web_dir`` and its valid renderers (the others are logged)."""
    dirs: dict[str, Path] = {}
    renderers: list[dict[str, str]] = []
    claimed: dict[str, str] = {}
    for ext in extensions:
        if ext.web_dir is None:
            if ext.renderers:
                log.warning("plugin %s names renderers but has no web_dir: they are not loaded", ext.name)
            continue
        base = Path(ext.web_dir)
        if not base.is_dir():
            log.warning("plugin %s: its web_dir %s is not a folder: its web files are not served", ext.name, base)
            continue
        dirs[ext.name] = base.resolve()
        for kind, module in ext.renderers.items():
            if not isinstance(kind, str) or not TYPE_RE.match(kind):
                log.warning("plugin %s: renderer type %r is not a valid payload type: left out", ext.name, kind)
                continue
            if not isinstance(module, str) or inside(base, module) is None or not module.endswith(MODULE_SUFFIXES):
                log.warning(
                    "plugin %s: the renderer of %r, %r, is not a .js module in its web_dir: left out",
                    ext.name, kind, module,
                )
                continue
            if kind in claimed:
                log.warning(
                    "plugin %s: payload type %r is already drawn by plugin %s: left out", ext.name, kind, claimed[kind]
                )
                continue
            claimed[kind] = ext.name
            url = f"/plugins/{quote(ext.name)}/{quote(module)}"
            renderers.append({"plugin": ext.name, "type": kind, "module": url})
    return PluginWeb(dirs, renderers)


async def plugin_file(request: web.Request) -> web.StreamResponse:
    base = request.app[PLUGIN_WEB].dirs.get(request.match_info["name"])
    if base is None:
        raise web.HTTPNotFound()
    return serve_from(base, request.match_info["path"])


@web_api.get("/web/renderers", response="WebRendererList", tag="web")
async def list_renderers(call: Call):
    """The web client's payload renderers, from the enabled plugins."""
    return {"renderers": [dict(entry) for entry in call.request.app[PLUGIN_WEB].renderers]}


def setup_plugin_web(app: web.Application, router: ApiRouter | None) -> None:
    """Serve the enabled plugins' web files and, on ``router``, list their renderers."""
    extensions = app.get(keys.EXTENSIONS)
    app[PLUGIN_WEB] = collect(list(extensions) if extensions is not None else [])
    app.router.add_get("/plugins/{name}/{path:.+}", plugin_file, name="web-plugin")
    if router is not None:
        router.include(web_api)
