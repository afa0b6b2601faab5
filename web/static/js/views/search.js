// Search: the box at the top of the main column, and the results panel it opens. Each
// result shows its author, channel and time, and its text with the words found marked
// (<mark> elements built from the server's ranges: nothing is parsed as HTML). Choosing
// one opens its channel (and thread) and brings the message into view.

import { api } from "../api.js";
import { store } from "../store.js";
import { h, clear, parseTime, fullTime } from "../dom.js";
import { modal, errorText } from "./dialog.js";
import { authorName } from "./author.js";

const PAGE = 20;
// how much of a long message a result shows around the first word found (code points)
const SNIPPET = 240;

/** The search form; `onShow(message)` brings a found message into view. */
export function searchBox(onShow) {
  const input = h("input.search-input", {
    type: "search",
    name: "q",
    placeholder: "Search messages",
    "aria-label": "Search messages",
    autocomplete: "off",
    maxlength: "256",
    required: true,
  });
  const form = h(
    "form.search-form",
    { role: "search", "aria-label": "Messages" },
    input,
    h("button.button.secondary.small", { type: "submit" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const q = input.value.trim();
    if (q) showResults(q, onShow, () => input.focus());
  });
  // "/" from anywhere outside a text field goes to the search box
  document.addEventListener("keydown", (event) => {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest?.("input, textarea, select, [contenteditable], dialog")) return;
    if (!form.isConnected) return;
    event.preventDefault();
    input.focus();
    input.select();
  });
  return form;
}

async function showResults(q, onShow, refocus) {
  const status = h("p.muted.search-status", { role: "status" }, "Searching…");
  const list = h("ol.search-results", { "aria-label": `Results for ${q}` });
  const more = h("button.button.secondary.small", { type: "button", hidden: true }, "More results");
  const box = modal(`Search: ${q}`, [status, list, h("div.form-actions", more)], { wide: true });
  let chosen = false;
  box.el.addEventListener("close", () => chosen || refocus());
  let cursor = null;
  let count = 0;
  const choose = (m) => {
    chosen = true;
    box.close();
    onShow(m);
  };
  const load = async () => {
    more.hidden = true;
    const params = new URLSearchParams({ q, limit: String(PAGE) });
    if (cursor) params.set("cursor", cursor);
    let page;
    try {
      page = await api("GET", `/search?${params}`);
    } catch (err) {
      status.textContent = errorText(err);
      return;
    }
    const first = count === 0;
    for (const hit of page.results) list.append(resultItem(hit, choose));
    count += page.results.length;
    cursor = page.next_cursor;
    more.hidden = !cursor;
    status.textContent = count
      ? `${count} ${count === 1 ? "message" : "messages"}${cursor ? " so far" : ""}, best matches first.`
      : "No messages match. Every word must be in the message; try fewer words.";
    if (first) list.querySelector("button")?.focus();
  };
  more.addEventListener("click", () => load());
  await load();
}

function resultItem({ message: m, highlight }, choose) {
  const author = m.author || { username: "unknown" };
  const channel = store.channels.get(m.channel_id);
  const when = parseTime(m.created_at);
  const where = channel ? `#${channel.name}` : "a channel";
  return h(
    "li.search-result",
    h(
      "button.search-hit",
      {
        type: "button",
        dataset: { id: m.id },
        onclick: () => choose(m),
      },
      h(
        "span.meta",
        authorName(author),
        h("span.muted", ` in ${where}${m.thread_id ? ", in a thread" : ""} · `),
        h("time", { datetime: m.created_at }, fullTime(when)),
      ),
      h("span.search-text", marked(highlight.text, highlight.ranges)),
    ),
  );
}

/** The text as nodes, the ranges (code-point offsets) as <mark>; a long text is cut around the first one. */
export function marked(text, ranges) {
  const chars = Array.from(text);
  let start = 0;
  let end = chars.length;
  if (chars.length > SNIPPET) {
    const first = ranges.length ? ranges[0][0] : 0;
    start = Math.max(0, first - 60);
    end = Math.min(chars.length, start + SNIPPET);
  }
  const nodes = [];
  if (start > 0) nodes.push("…");
  let at = start;
  for (const [from, to] of ranges) {
    if (to <= at || from >= end) continue;
    const a = Math.max(from, at);
    const b = Math.min(to, end);
    if (a > at) nodes.push(chars.slice(at, a).join(""));
    nodes.push(h("mark", chars.slice(a, b).join("")));
    at = b;
  }
  if (at < end) nodes.push(chars.slice(at, end).join(""));
  if (end < chars.length) nodes.push("…");
  return nodes;
}
