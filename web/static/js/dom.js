// DOM helpers. Every piece of text that came from the server or a person goes into
// the page as a text node (textContent), never as HTML: this client never parses
// markup from a string. Links are built as <a> elements from http(s) URLs only.

/**
 * Create an element: h("div.msg.pending", {dataset: {id: 3}, onclick: f}, child, ...).
 * Children may be strings (text nodes), nodes, arrays, or null/false (skipped).
 */
export function h(spec, props, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.classList.add(...classes);
  if (props && (typeof props !== "object" || props instanceof Node || Array.isArray(props))) {
    children.unshift(props);
    props = null;
  }
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "dataset") Object.assign(el.dataset, value);
    else if (key === "class") el.classList.add(...String(value).split(/\s+/).filter(Boolean));
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = String(value);
    else if (key === "value" || key === "checked") el[key] = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// http(s) URLs, and www. addresses; trailing punctuation is left out of the link.
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?)\]}'"]+$/;

/** A safe http(s) URL for an href, or null. */
export function safeUrl(text) {
  const candidate = /^www\./i.test(text) ? `https://${text}` : text;
  try {
    const url = new URL(candidate);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return url.href;
  } catch {
    return null;
  }
}

/** Text with its URLs as links: an array of text nodes and <a> elements. */
export function linkify(text) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let raw = match[0];
    // keep a closing bracket that has its opening one inside the URL
    const trail = raw.match(TRAILING);
    if (trail) {
      let cut = trail[0];
      if (cut.startsWith(")") && raw.includes("(")) cut = cut.slice(1);
      raw = raw.slice(0, raw.length - cut.length);
    }
    const href = raw && safeUrl(raw);
    if (!href) continue;
    if (match.index > last) out.push(document.createTextNode(text.slice(last, match.index)));
    out.push(h("a", { href, target: "_blank", rel: "noopener noreferrer nofollow", text: raw }));
    last = match.index + raw.length;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

/**
 * Keyed list rendering: make `container`'s children the rendering of `items`, in
 * order, re-using the element of an item whose key and signature did not change.
 */
export function reconcile(container, items, { key, sig, render }) {
  const old = new Map();
  for (const child of container.children) {
    if (child.dataset.key) old.set(child.dataset.key, child);
  }
  let cursor = container.firstElementChild;
  const keep = new Set();
  for (const item of items) {
    const k = String(key(item));
    const s = String(sig(item));
    let el = old.get(k);
    if (!el || el.dataset.sig !== s) {
      const fresh = render(item);
      fresh.dataset.key = k;
      fresh.dataset.sig = s;
      if (el) {
        if (el === cursor) cursor = fresh;
        const focused = el.contains(document.activeElement) ? document.activeElement : null;
        el.replaceWith(fresh);
        if (focused) refocus(focused, el, fresh);
      }
      el = fresh;
    }
    keep.add(el);
    if (el !== cursor) container.insertBefore(el, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const child of [...container.children]) {
    if (!keep.has(child)) child.remove();
  }
}

/**
 * An item drawn anew while the keyboard's focus was in it (a reply count changed under
 * a focused button): the focus moves to the same control in the new drawing, found by
 * its data-focus-key (one of several alike, a bot message's buttons) or else its tag
 * and classes, instead of falling back to the top of the page.
 */
function refocus(focused, old, fresh) {
  if (focused === old) return fresh.focus();
  const named = focused.dataset.focusKey;
  if (named) return fresh.querySelector(`[data-focus-key="${CSS.escape(named)}"]`)?.focus();
  const classes = [...focused.classList].map((c) => `.${CSS.escape(c)}`).join("");
  fresh.querySelector(`${focused.localName}${classes}`)?.focus();
}

// Times ------------------------------------------------------------------------

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
const yearDayFmt = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "long", day: "numeric" });

export function parseTime(iso) {
  return iso ? new Date(iso) : new Date();
}

export function clock(date) {
  return timeFmt.format(date);
}

export function fullTime(date) {
  return fullFmt.format(date);
}

/** A local calendar-day key, e.g. "2026-11-24". */
export function dayKey(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

export function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(date) === dayKey(today)) return "Today";
  if (dayKey(date) === dayKey(yesterday)) return "Yesterday";
  return date.getFullYear() === today.getFullYear() ? dayFmt.format(date) : yearDayFmt.format(date);
}

export function relative(date) {
  const seconds = Math.round((Date.now() - date.getTime()) / 1000);
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return dayLabel(date);
}

// Misc -------------------------------------------------------------------------

/** A random id for client_msg_id (crypto.randomUUID needs a secure context). */
export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "web-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A stable colour class (c0..c7) for a user id. */
export function colourClass(id) {
  return `c${Math.abs(Number(id) || 0) % 8}`;
}

export function initials(name) {
  const words = String(name || "?").trim().split(/[\s._-]+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[1][0] : String(name || "?").slice(0, 2);
  return letters.toUpperCase();
}

export function plural(n, one, many = one + "s") {
  return `${n} ${n === 1 ? one : many}`;
}

/** A small SVG icon from one path (no markup strings involved). */
export function icon(pathData, label = null) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 16 16");
  svg.setAttribute("class", "icon");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", pathData);
  svg.append(path);
  return svg;
}

export const LOCK = "M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7h1zm2 0h4V5a2 2 0 0 0-4 0v2z";
export const MENU = "M2 3h12v2H2zm0 4h12v2H2zm0 4h12v2H2z";
