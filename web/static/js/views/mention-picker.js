// `@` in the message box suggests the channel's members (and @channel, @here): a list
// under the caret's word. Keyboard: ↑/↓ move, Enter or Tab picks, Escape closes; the
// mouse picks too. The textarea keeps its own role (ARIA in HTML allows no role on a
// textarea) and points at the list with aria-controls / aria-activedescendant, the
// list is a listbox of options, and a status line says how many there are.

import { store } from "../store.js";
import { h, clear } from "../dom.js";
import { loadMembers } from "../channels.js";

/** `@` and what follows it up to the caret, when the `@` starts a word (not an e-mail address). */
const AT_WORD = /(?:^|[^A-Za-z0-9_.+-])@([A-Za-z0-9_.-]{0,32})$/;
const EVERYONE = [
  { username: "channel", label: "Everyone in this channel" },
  { username: "here", label: "Everyone online in this channel" },
];
const MAX = 8;

let lists = 0; // ids: a channel's composer and a thread's are on the page together

export class MentionPicker {
  constructor(input, channelId) {
    this.input = input;
    this.channelId = channelId;
    this.options = [];
    this.active = 0;
    this.start = -1; // where the `@` is in the text
    this.id = `mention-list-${++lists}`;
    this.list = h("ul.mention-picker", { id: this.id, role: "listbox", "aria-label": "People to mention", hidden: true });
    this.status = h("div.visually-hidden", { role: "status", "aria-live": "polite" });
    this.el = h("div.mention-anchor", this.list, this.status);
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", this.id);
    input.addEventListener("input", () => this.update());
    input.addEventListener("click", () => this.update());
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
  }

  get open() {
    return !this.list.hidden;
  }

  /** Handle a key of the message box; true when it was the picker's (the box must not act on it). */
  onKey(event) {
    if (!this.open) return false;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.options.length) % this.options.length;
      this.render();
    } else if ((event.key === "Enter" && !event.shiftKey) || event.key === "Tab") {
      this.pick(this.options[this.active]);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return false;
    }
    event.preventDefault();
    event.stopPropagation();
    return true;
  }

  /** Suggest for the word at the caret (or close). */
  update() {
    const caret = this.input.selectionStart;
    if (caret !== this.input.selectionEnd) return this.close();
    const before = this.input.value.slice(0, caret);
    const match = AT_WORD.exec(before);
    if (!match) return this.close();
    this.start = caret - match[1].length - 1;
    const query = match[1].toLowerCase();
    const members = store.members.get(this.channelId);
    if (!members) {
      // the channel's members are loaded with it; a thread opened first may need them
      loadMembers(this.channelId).then(() => this.update()).catch(() => {});
      return this.close();
    }
    const people = members
      .filter((u) => u.id !== store.me?.id)
      .filter((u) => u.username.toLowerCase().startsWith(query) || (u.display_name || "").toLowerCase().includes(query))
      .sort((a, b) => a.username.localeCompare(b.username))
      .map((u) => ({ username: u.username, label: u.display_name || u.username, bot: u.is_bot }));
    const everyone = EVERYONE.filter((e) => e.username.startsWith(query));
    const options = [...people, ...everyone].slice(0, MAX);
    if (!options.length) return this.close();
    const same = options.length === this.options.length && options.every((o, i) => o.username === this.options[i].username);
    if (!same) this.active = 0;
    this.options = options;
    this.render();
  }

  render() {
    clear(this.list);
    this.options.forEach((option, index) => {
      const selected = index === this.active;
      this.list.append(
        h(
          `li.mention-option${selected ? ".active" : ""}`,
          {
            id: `${this.id}-${index}`,
            role: "option",
            "aria-selected": String(selected),
            // mousedown, not click: the box must keep the focus
            onmousedown: (event) => {
              event.preventDefault();
              this.pick(option);
            },
          },
          h("span.mention-username", `@${option.username}`),
          option.label !== option.username ? h("span.mention-label", option.label) : null,
          option.bot ? h("span.badge", "BOT") : null,
        ),
      );
    });
    const wasOpen = this.open;
    this.list.hidden = false;
    this.input.setAttribute("aria-activedescendant", `${this.id}-${this.active}`);
    if (!wasOpen || this.status.dataset.count !== String(this.options.length)) {
      this.status.dataset.count = String(this.options.length);
      this.status.textContent = `${this.options.length} ${this.options.length === 1 ? "person" : "suggestions"} to mention; arrows to choose, Enter to pick`;
    }
  }

  /** Put `@username ` in place of the word being typed. */
  pick(option) {
    if (!option || this.start < 0) return this.close();
    const value = this.input.value;
    const caret = this.input.selectionStart;
    const insert = `@${option.username} `;
    this.input.value = value.slice(0, this.start) + insert + value.slice(caret);
    const at = this.start + insert.length;
    this.input.setSelectionRange(at, at);
    this.close();
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
    this.input.focus();
  }

  close() {
    if (!this.open && !this.options.length) return;
    this.list.hidden = true;
    this.options = [];
    this.start = -1;
    this.input.removeAttribute("aria-activedescendant");
    this.status.textContent = "";
    delete this.status.dataset.count;
  }
}
