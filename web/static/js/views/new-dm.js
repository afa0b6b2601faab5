// "New message": pick people (searched by name as you type) and open the direct
// conversation with them — the one they already have, or a new one. The search box
// is an ARIA combobox: arrows move through the suggestions, Enter picks one, and each
// person picked is a button that removes them again.

import * as chat from "../chat.js";
import { store } from "../store.js";
import { h, clear } from "../dom.js";
import { modal, errorText } from "./dialog.js";

/** The most people a conversation has besides oneself (as the server allows). */
const MAX_OTHERS = 8;
let dialogs = 0;

export function newMessageDialog() {
  const n = ++dialogs;
  const listId = `dm-suggestions-${n}`;
  const hintId = `dm-hint-${n}`;
  const picked = new Map(); // user id -> user
  let suggestions = [];
  let active = -1;
  let asked = 0; // the latest search: older answers arriving late are dropped
  let timer = null;

  const input = h("input", {
    type: "text", role: "combobox", autocomplete: "off", spellcheck: "false",
    "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": listId, "aria-describedby": hintId,
    placeholder: "Type a name or username",
  });
  const list = h("ul.dm-suggestions", { id: listId, role: "listbox", "aria-label": "People found" });
  list.hidden = true;
  const chips = h("ul.dm-chips", { "aria-label": "People in the conversation" });
  const status = h("div.visually-hidden", { role: "status", "aria-live": "polite" });
  const error = h("div.form-error", { role: "alert" });
  const submit = h("button.button", { type: "submit", disabled: true }, "Open conversation");
  const form = h(
    "form.form.new-dm",
    h("label", "To", input),
    h("p.muted.small", { id: hintId }, `Up to ${MAX_OTHERS} people. Arrow keys choose, Enter adds.`),
    list,
    chips,
    status,
    error,
    h("div.form-actions", submit),
  );
  const box = modal("New message", form);
  input.focus();

  const renderChips = () => {
    clear(chips);
    for (const user of picked.values()) {
      chips.append(
        h(
          "li.dm-chip",
          h("span", user.display_name || user.username),
          h("button.icon-button.small", {
            type: "button", "aria-label": `Remove ${user.display_name || user.username}`, title: "Remove",
            onclick: () => {
              picked.delete(user.id);
              renderChips();
              input.focus();
            },
          }, "×"),
        ),
      );
    }
    submit.disabled = picked.size === 0;
  };

  const setActive = (index) => {
    active = index;
    [...list.children].forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
    const option = list.children[active];
    if (option) {
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  };

  const showSuggestions = (users) => {
    suggestions = users;
    clear(list);
    users.forEach((user, i) =>
      list.append(
        h(
          "li.dm-suggestion",
          { id: `${listId}-${i}`, role: "option", "aria-selected": "false", onmousedown: (e) => e.preventDefault(), onclick: () => pick(user) },
          h("strong", user.display_name || user.username),
          h("span.muted", ` @${user.username}`),
        ),
      ),
    );
    const open = users.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    setActive(open ? 0 : -1);
    status.textContent = input.value.trim() ? (open ? `${users.length} found` : "No one found") : "";
  };

  const pick = (user) => {
    error.textContent = "";
    if (picked.size >= MAX_OTHERS) {
      error.textContent = `A conversation has at most ${MAX_OTHERS} other people.`;
      return;
    }
    picked.set(user.id, user);
    input.value = "";
    showSuggestions([]);
    renderChips();
    input.focus();
  };

  const search = async () => {
    const q = input.value.trim();
    const mine = ++asked;
    if (!q) return showSuggestions([]);
    try {
      const users = await chat.searchPeople(q, 10);
      if (mine !== asked) return;
      showSuggestions(users.filter((u) => !u.is_bot && u.id !== store.me.id && !picked.has(u.id)));
    } catch (err) {
      if (mine === asked) error.textContent = errorText(err);
    }
  };

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, 150);
  });
  input.addEventListener("keydown", (event) => {
    const open = !list.hidden && suggestions.length > 0;
    if (event.key === "ArrowDown" && open) {
      event.preventDefault();
      setActive((active + 1) % suggestions.length);
    } else if (event.key === "ArrowUp" && open) {
      event.preventDefault();
      setActive((active - 1 + suggestions.length) % suggestions.length);
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault(); // picks; Enter with nothing to pick submits
      pick(suggestions[active]);
    } else if (event.key === "Escape" && open) {
      event.preventDefault(); // closes the suggestions, not the dialog
      event.stopPropagation();
      showSuggestions([]);
    } else if (event.key === "Backspace" && !input.value && picked.size) {
      picked.delete([...picked.keys()].pop());
      renderChips();
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!picked.size) {
      error.textContent = "Choose at least one person.";
      return;
    }
    submit.disabled = true;
    try {
      const channel = await chat.openDm([...picked.keys()]);
      box.close();
      location.hash = `#/channel/${channel.id}`;
    } catch (err) {
      error.textContent = errorText(err);
      submit.disabled = false;
    }
  });
  return box;
}
