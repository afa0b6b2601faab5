// A message's reaction chips (press one to add or take back your reaction; aria-pressed
// says whether you reacted) and the reaction picker: a dialog of common emoji, moved
// through with the arrow keys, and a field for any emoji's short name (+1, tada, …).

import * as chat from "../chat.js";
import { store } from "../store.js";
import { h, plural } from "../dom.js";
import { modal, toast } from "./dialog.js";

/** The picker's emoji and their names (for labels). */
export const QUICK = [
  ["👍", "thumbs up"], ["❤️", "red heart"], ["😂", "face with tears of joy"], ["🎉", "party popper"],
  ["😮", "face with open mouth"], ["😢", "crying face"], ["🙏", "folded hands"], ["👀", "eyes"],
  ["✅", "check mark button"], ["🚀", "rocket"], ["🔥", "fire"], ["👏", "clapping hands"],
];
const COLUMNS = 6;

function react(m, emoji, on) {
  chat.toggleReaction(m, emoji, on).catch((err) => toast(err.message));
}

/** The chips of `m`'s reactions, and a button to add one; null when it has none. */
export function reactionBar(m) {
  const reactions = m.reactions || [];
  if (!reactions.length) return null;
  const me = store.me.id;
  const chips = reactions.map((r) => {
    const mine = r.user_ids.includes(me);
    const label = `${r.name || r.emoji}: ${plural(r.count, "reaction")}${mine ? ", including yours" : ""}`;
    return h(
      "button.reaction-chip",
      { type: "button", "aria-pressed": String(mine), "aria-label": label, title: label, onclick: () => react(m, r.emoji, !mine) },
      h("span.reaction-emoji", { "aria-hidden": "true" }, r.emoji),
      h("span.reaction-count", { "aria-hidden": "true" }, String(r.count)),
    );
  });
  const add = h(
    "button.reaction-add",
    { type: "button", "aria-label": "Add reaction", title: "Add reaction", "aria-haspopup": "dialog" },
    h("span", { "aria-hidden": "true" }, "+"),
  );
  add.addEventListener("click", () => openPicker(m, add));
  return h("div.reactions", { role: "group", "aria-label": "Reactions" }, chips, add);
}

/** The reaction picker for `m`; focus goes back to `opener` when it closes. */
export function openPicker(m, opener) {
  let box = null;
  const choose = (emoji) => {
    box.close();
    opener?.focus();
    react(m, emoji, true);
  };
  const buttons = QUICK.map(([emoji, name]) =>
    h("button.picker-emoji", { type: "button", "aria-label": name, title: name, onclick: () => choose(emoji) }, emoji),
  );
  const grid = h("div.picker-grid", { role: "group", "aria-label": "Common reactions" }, buttons);
  grid.addEventListener("keydown", (event) => {
    const at = buttons.indexOf(document.activeElement);
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS }[event.key];
    if (at < 0 || !step) return;
    event.preventDefault();
    buttons[Math.min(buttons.length - 1, Math.max(0, at + step))].focus();
  });
  const input = h("input", { name: "emoji", placeholder: "+1, tada, 🦀 …", autocomplete: "off", maxlength: 64, required: true });
  const form = h(
    "form.picker-form",
    h("label", "Or type an emoji or its name", input),
    h("button.button.small", { type: "submit" }, "Add"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value.trim()) choose(input.value.trim());
  });
  box = modal("Add a reaction", [grid, form]);
  box.el.classList.add("picker");
  box.el.addEventListener("close", () => opener?.isConnected && opener.focus());
  buttons[0].focus();
}
