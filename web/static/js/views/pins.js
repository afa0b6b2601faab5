// The channel's pins: a button in the channel header that opens the list of its pinned
// messages (kept current while open), each with who wrote it, when, Show (scrolls to it,
// or opens its thread) and Unpin.

import * as chat from "../chat.js";
import { store, channelTitle } from "../store.js";
import { h, clear, parseTime, fullTime } from "../dom.js";
import { renderMarkdown } from "../markdown.js";
import { modal, toast } from "./dialog.js";
import { authorName } from "./author.js";

/** `onShow(message)`: bring a pinned message into view. */
export function pinsButton(channel, onShow) {
  return h(
    "button.button.secondary.small.pins-button",
    { type: "button", "aria-haspopup": "dialog", onclick: () => showPins(channel, onShow) },
    h("span", { "aria-hidden": "true" }, "📌 "),
    "Pins",
  );
}

export async function showPins(channel, onShow) {
  const list = h("ol.pins-list", { "aria-label": `Pinned messages in ${channelTitle(channel)}` });
  const status = h("p.muted", { role: "status" }, "Loading…");
  const box = modal(`Pinned in ${channelTitle(channel)}`, [status, list], { wide: true });
  const render = async () => {
    let pins;
    try {
      pins = await chat.loadPins(channel.id);
    } catch (err) {
      status.textContent = err.message;
      return;
    }
    clear(list);
    status.textContent = pins.length ? "" : "Nothing is pinned here yet. Pin a message from its actions.";
    const show = (m) => {
      box.close();
      onShow?.(m);
    };
    for (const m of pins) list.append(pinItem(m, show));
  };
  const off = store.on(`pins:${channel.id}`, () => render());
  box.el.addEventListener("close", off);
  await render();
}

function pinItem(m, show) {
  const author = m.author || { username: "unknown" };
  const when = parseTime(m.created_at);
  return h(
    "li.pin-item",
    h(
      "div.meta",
      authorName(author),
      h("time", { datetime: m.created_at }, fullTime(when)),
      m.thread_id ? h("span.muted", "in a thread") : null,
    ),
    h("div.body", renderMarkdown(m.body || "")),
    h(
      "div.pin-actions",
      h(
        "button.button.secondary.small",
        { type: "button", "aria-label": `Show the message of ${author.username} from ${fullTime(when)}`, onclick: () => show(m) },
        "Show",
      ),
      h(
        "button.button.secondary.small",
        {
          type: "button",
          "aria-label": `Unpin the message of ${author.username} from ${fullTime(when)}`,
          onclick: () => chat.setPinned(m, false).catch((err) => toast(err.message)),
        },
        "Unpin",
      ),
    ),
  );
}
