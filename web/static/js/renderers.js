// Drawing bot output: the registry of payload renderers (by the payload's `type`), of
// progress drawings (by the plugin that sent an `llm_response` event) and of panels (a
// plugin's page, opened from the sidebar's "Tools"). The core draws a plain view of
// anything; plugins add their own drawings in ES modules that the page imports after
// sign-in (the list comes from GET /api/v1/web/renderers). A module's default export is
// `register(venn)`; see docs/plugins.md, "Drawing your payloads in the web client".

import { api, download, currentUser, ApiError } from "./api.js";
import { h, append, clear, linkify, safeUrl, plural, icon, parseTime, clock, fullTime } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

/**
 * An authenticated JSON call to this server's API, `path` relative to /api/v1
 * ("/sql/knowledge?kind=table"); resolves to the answer (null for 204) or rejects with
 * an error carrying `status`, `code`, `message` and `fields`. Other URLs are refused.
 */
function request(method, path, body) {
  const text = String(path);
  if (!text.startsWith("/") || text.startsWith("//") || text.includes("..") || /[\s\\#]/.test(text)) {
    return Promise.reject(new ApiError(0, "bad_url", "This is not a path of this server's API."));
  }
  return api(String(method).toUpperCase(), text, body);
}

/** The signed-in user ({id, username, role}) or null: for what to offer, not what is allowed. */
function user() {
  const me = currentUser();
  return me ? Object.freeze({ id: me.id, username: me.username, role: me.role }) : null;
}

/** What every renderer gets besides its data: element builders, API calls and the user. */
export const helpers = Object.freeze({
  h, append, clear, linkify, safeUrl, plural, icon, parseTime, clock, fullTime, download, request, user, renderMarkdown,
});

const payloads = new Map(); // payload type -> {draw, body, plugin}
const progress = new Map(); // plugin name -> {draw, plugin}
const panels = new Map(); // panel id -> {draw (its open), label, admin, plugin}
const installed = new Map(); // module URL -> its installation (a promise)
let loading = null;

function claim(registry, key, entry, what) {
  if (typeof key !== "string" || !key) throw new TypeError(`venn: a ${what} needs a non-empty string`);
  if (typeof entry.draw !== "function") throw new TypeError(`venn: the ${what} ${key} needs a function`);
  const taken = registry.get(key);
  if (taken) {
    console.warn(`venn: ${what} ${key} of ${entry.plugin} ignored: ${taken.plugin} draws it`);
    return false;
  }
  registry.set(key, entry);
  return true;
}

/**
 * Draw payloads whose `type` is `type` with `draw(payload, helpers)`, which returns a
 * Node (or null: the plain view). `body(text, payload)`, if given, returns the part of
 * the message's text to show above the drawing (e.g. without a copy of what it draws).
 */
export function registerRenderer(type, draw, { body = null } = {}, plugin = "core") {
  return claim(payloads, type, { draw, body, plugin }, "renderer");
}

/**
 * Draw the live progress of `plugin`'s work (its `llm_response` events, which carry
 * its name) with `draw(item, helpers)`: a Node or an array of them, shown in the
 * progress box in place of the default label; null keeps the default.
 */
export function registerProgress(plugin, draw) {
  return claim(progress, plugin, { draw, plugin }, "progress drawing");
}

/**
 * A panel in the sidebar's "Tools": a button labelled `label` opens a dialog of that
 * title whose body (an element) `open(body, helpers)` fills; it may return a function,
 * called when the dialog closes. `admin: true` lists it for admins only (the server
 * still decides what each of its calls may do).
 */
export function registerPanel({ id, label, open, admin = false } = {}, plugin = "core") {
  if (typeof label !== "string" || !label.trim()) throw new TypeError(`venn: the panel ${id} needs a label`);
  return claim(panels, id, { draw: open, label: label.trim(), admin: admin === true, plugin }, "panel");
}

/** The panels `who` (a user) is offered, in the order they were registered. */
export function panelsFor(who) {
  return [...panels.values()].filter((panel) => !panel.admin || who?.role === "admin");
}

/** Fill `body` with a panel; returns what to call when it closes (or null). */
export function openPanel(panel, body) {
  try {
    const done = panel.draw(body, helpers);
    return typeof done === "function" ? done : null;
  } catch (err) {
    console.error(`venn: the panel ${panel.label} of ${panel.plugin} failed:`, err);
    append(body, h("p.form-error", "This panel could not be opened."));
    return null;
  }
}

/** Whether a renderer is registered for payloads of this type. */
export function hasRenderer(type) {
  return payloads.has(type);
}

function attempt(entry, what, ...args) {
  try {
    return entry.draw(...args, helpers) ?? null;
  } catch (err) {
    console.error(`venn: the ${what} of ${entry.plugin} failed:`, err);
    return null;
  }
}

/** A message's payload drawn by its type's renderer, or the plain JSON view; null for none. */
export function renderPayload(payload) {
  if (!payload || typeof payload !== "object") return null;
  const entry = payloads.get(payload.type);
  const drawn = entry ? attempt(entry, `renderer of ${payload.type}`, payload) : null;
  if (drawn instanceof Node) return drawn;
  return h("details.payload-raw", h("summary", "Data"), h("pre", JSON.stringify(payload, null, 2)));
}

/** The text of a message to show with its payload (all of it, unless the renderer trims it). */
export function payloadBody(text, payload) {
  const entry = payload && typeof payload === "object" ? payloads.get(payload.type) : null;
  if (!entry?.body) return text;
  try {
    const shown = entry.body(text, payload);
    return typeof shown === "string" ? shown : text;
  } catch (err) {
    console.error(`venn: the body of ${payload.type} (${entry.plugin}) failed:`, err);
    return text;
  }
}

const STATUS_TEXT = {
  thinking: "Thinking…",
  error: "The agent ran into a problem",
};

/** A bot's progress on one request (an llm_response), shown where its answer will go. */
export function renderProgress(item) {
  const status = String(item.status || "");
  const entry = typeof item.plugin === "string" ? progress.get(item.plugin) : null;
  const drawn = entry ? attempt(entry, "progress drawing", item) : null;
  const label = drawn ?? [
    h("span.llm-status", STATUS_TEXT[status] || status || "Working…"),
    item.message ? h("div.llm-message", String(item.message)) : null,
  ];
  return h(
    `div.llm-progress.status-${status.replace(/[^a-z_]/g, "")}`,
    status === "error" ? null : h("span.spinner", { "aria-hidden": "true" }),
    label,
  );
}

async function install(plugin, url) {
  const module = await import(url);
  if (typeof module.default !== "function") throw new TypeError(`${url} has no default export register(venn)`);
  module.default(
    Object.freeze({
      plugin,
      helpers,
      registerRenderer: (type, draw, options) => registerRenderer(type, draw, options, plugin),
      registerProgress: (draw) => registerProgress(plugin, draw),
      registerPanel: (panel) => registerPanel(panel, plugin),
      addStylesheet: (href) => addStylesheet(href),
    }),
  );
}

/** Import one plugin module (a path on this server) and let it register its drawings (once). */
export function installModule(plugin, url) {
  if (!installed.has(url)) {
    const done = install(plugin, url);
    installed.set(url, done);
    done.catch(() => installed.delete(url)); // a module that failed may be tried again
  }
  return installed.get(url);
}

/** A stylesheet of this server (a plugin's), added to the page once. */
export function addStylesheet(href) {
  const url = new URL(String(href), location.href);
  if (url.origin !== location.origin) throw new TypeError(`venn: stylesheet ${url.href} is not on this server`);
  for (const link of document.querySelectorAll("link[rel=stylesheet]")) if (link.href === url.href) return;
  document.head.append(h("link", { rel: "stylesheet", href: url.href }));
}

async function loadAll() {
  const { renderers } = await api("GET", "/web/renderers");
  const modules = new Map();
  for (const { plugin, module } of renderers) modules.set(module, plugin);
  await Promise.all(
    [...modules].map(([url, plugin]) =>
      installModule(plugin, url).catch((err) => console.error(`venn: the web module ${url} of ${plugin} failed:`, err)),
    ),
  );
  for (const { plugin, type } of renderers) {
    if (!payloads.has(type)) console.warn(`venn: plugin ${plugin} did not register a renderer for ${type}`);
  }
}

/**
 * Load the enabled plugins' renderers (after sign-in; once a page). The page works
 * without them: a failure is logged, the payloads get the plain view, and the next
 * sign-in tries again.
 */
export function loadRenderers() {
  if (!loading) {
    loading = loadAll().catch((err) => {
      loading = null;
      console.warn("venn: the plugins' renderers could not be listed:", err.message || err);
    });
  }
  return loading;
}
