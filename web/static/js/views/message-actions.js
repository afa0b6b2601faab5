// A bot message's buttons and selects (its `payload.actions`, docs/api.md "Interactive
// messages"), drawn under the message as a labelled group. A click goes to the bot's
// plugin (chat.sendAction); its control is marked busy until the server has it, a refusal
// shows under the controls, and the plugin's change comes back as `message_updated`,
// which draws the message anew (the focus stays on the same control: data-focus-key).

import * as chat from "../chat.js";
import { store } from "../store.js";
import { h } from "../dom.js";

/** A button's `style` -> the classes of the page's buttons (default: the quiet one). */
const STYLES = { primary: "button small", danger: "button small danger", default: "button small secondary" };

const busy = new Set(); // "messageId key" of the clicks the server has not answered yet
const refusals = new Map(); // message id -> {text, shown: the payload it was refused on}
const chosen = new Map(); // "messageId actionId" -> a select's option chosen, not sent yet
let drawn = 0; // for ids unique in the page (a message may show twice: a thread's root)

/** `payload` without its actions (drawn here, not as data); null when nothing else is left. */
export function withoutActions(payload) {
  if (!payload || typeof payload !== "object" || !("actions" in payload)) return payload;
  const { actions, ...rest } = payload;
  return Object.keys(rest).length ? rest : null;
}

/** What of the controls' state a drawing of `m` shows (a part of the message's signature). */
export function actionState(m) {
  if (!m.id || !Array.isArray(m.payload?.actions)) return "";
  const mine = [...busy].filter((k) => k.startsWith(`${m.id} `));
  const chose = [...chosen].filter(([k]) => k.startsWith(`${m.id} `));
  return JSON.stringify([mine, chose, refusal(m)]);
}

function refusal(m) {
  const refused = refusals.get(m.id);
  // a refusal is about the message as it was: an update of it (the plugin's) clears it
  return refused && refused.shown === JSON.stringify(m.payload) ? refused.text : "";
}

/** Draw `m` again wherever it is shown (a channel's list, a thread's, a thread's root). */
function redraw(id) {
  for (const stream of store.streams.values()) {
    if (stream.messages.has(id) || stream.root?.id === id) store.emit(`stream:${stream.key}`);
  }
}

async function click(m, key, actionId, value) {
  const id = `${m.id} ${key}`;
  if (busy.has(id)) return;
  busy.add(id);
  refusals.delete(m.id);
  redraw(m.id);
  try {
    await chat.sendAction(m, actionId, value);
  } catch (err) {
    refusals.set(m.id, { text: err.message || "The bot did not take it.", shown: JSON.stringify(m.payload) });
  } finally {
    busy.delete(id);
    redraw(m.id);
  }
}

/** Busy controls stay focusable (aria-disabled, not disabled) so the keyboard's place is kept. */
function busyProps(m, key) {
  return busy.has(`${m.id} ${key}`) ? { "aria-disabled": "true", "aria-busy": "true" } : {};
}

function button(m, action) {
  const key = `button:${action.id}:${action.value ?? ""}`;
  return h(
    "button",
    {
      type: "button",
      class: `message-action ${Object.hasOwn(STYLES, action.style) ? STYLES[action.style] : STYLES.default}`,
      dataset: { focusKey: key },
      ...busyProps(m, key),
      onclick: () => click(m, key, action.id, action.value ?? ""),
    },
    action.label,
  );
}

function select(m, action) {
  const key = `select:${action.id}`;
  const held = `${m.id} ${action.id}`;
  const options = Array.isArray(action.options) ? action.options : [];
  const kept = chosen.get(held);
  const current = options.some((o) => o.value === kept) ? kept : undefined; // the update may drop it
  const id = `message-select-${++drawn}`;
  const box = h(
    "select",
    {
      id,
      name: action.id,
      dataset: { focusKey: `${key}:choice` },
      onchange: () => chosen.set(held, box.value),
    },
    h("option", { value: "", disabled: true, selected: current === undefined }, "Choose…"),
    options.map((o) => h("option", { value: o.value, selected: o.value === current }, o.label)),
  );
  const form = h(
    "form.message-select",
    h("label", { for: id }, action.label),
    box,
    h(
      "button",
      { type: "submit", class: STYLES.default, "aria-label": `Send ${action.label}`, dataset: { focusKey: key }, ...busyProps(m, key) },
      "Send",
    ),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!box.value) {
      box.focus();
      return;
    }
    click(m, key, action.id, box.value);
  });
  return form;
}

/** The group of `m`'s buttons and selects, and the last refusal; null when it has none. */
export function actionBar(m) {
  const actions = Array.isArray(m.payload?.actions) ? m.payload.actions.filter((a) => a && typeof a === "object") : [];
  if (!m.id || !actions.length) return null;
  const controls = actions.map((a) => (a.type === "select" ? select(m, a) : button(m, a)));
  const refused = refusal(m);
  return h(
    "div.message-actions",
    h("div.message-action-list", { role: "group", "aria-label": "Message actions" }, controls),
    refused ? h("p.form-error.message-action-error", { role: "alert" }, `Not sent: ${refused}`) : null,
  );
}
