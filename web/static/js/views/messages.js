// A scrolling message list for one stream (a channel's or a thread's): day separators,
// messages grouped by author, pending sends, a bot's progress, older history on
// scroll, the per-message actions (thread, edit, delete), a bot's buttons and selects
// (message-actions.js), and on a bot's reply the message it answers ("in reply to
// @user: first words", a button that shows it).

import * as chat from "../chat.js";
import { store } from "../store.js";
import {
  h, reconcile, linkify, parseTime, clock, fullTime, dayKey, dayLabel, colourClass, initials, plural,
} from "../dom.js";
import { renderPayload, renderProgress, payloadBody } from "../renderers.js";
import { renderMarkdown } from "../markdown.js";
import { confirmBox, toast } from "./dialog.js";
import { reactionBar, openPicker } from "./reactions.js";
import { actionBar, actionState, withoutActions } from "./message-actions.js";
import { renderFiles } from "../files.js";
import { authorName } from "./author.js";

const GROUP_MS = 5 * 60 * 1000;
/** Characters of the answered message quoted on a bot's reply. */
const QUOTE_CHARS = 60;
/** Pages of older history read, at most, to find the message a reply answers. */
const FIND_PAGES = 20;

/** The first words of a message body, on one line. */
function firstWords(text) {
  const line = String(text || "").replace(/\s+/g, " ").trim();
  if (line.length <= QUOTE_CHARS) return line;
  const cut = line.slice(0, QUOTE_CHARS);
  const space = cut.lastIndexOf(" ");
  return `${space > QUOTE_CHARS / 2 ? cut.slice(0, space) : cut}…`;
}

export class MessageList {
  /** `stream`: a Stream; `inThread`: the list of a thread panel (shows its root first). */
  constructor(stream, { inThread = false } = {}) {
    this.stream = stream;
    this.inThread = inThread;
    this.editing = null; // id of the message being edited
    this.items = h("div.messages", { role: "log", "aria-live": "polite" });
    this.older = h("div.history-start");
    this.jump = h("button.jump-new", { type: "button", hidden: true, onclick: () => this.toBottom() }, "New messages ↓");
    this.lastId = 0;
    this.el = h("div.message-scroll", this.older, this.items, this.jump);
    this.el.addEventListener("scroll", () => this.onScroll());
    this.unsubscribe = store.on(`stream:${stream.key}`, (detail) => this.render(detail || {}));
  }

  destroy() {
    this.unsubscribe();
  }

  nearBottom() {
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 80;
  }

  toBottom() {
    this.el.scrollTop = this.el.scrollHeight;
    this.jump.hidden = true;
  }

  onScroll() {
    if (!this.jump.hidden && this.nearBottom()) this.jump.hidden = true;
    if (this.el.scrollTop < 120 && this.stream.hasMore && !this.stream.loadingOlder) {
      chat.loadOlder(this.stream).catch((err) => toast(err.message));
    }
  }

  rows() {
    const rows = [];
    const me = store.me;
    let prev = null;
    let day = null;
    const pushDay = (date) => {
      const key = dayKey(date);
      if (key !== day) {
        day = key;
        prev = null;
        rows.push({ type: "day", key: `d:${key}`, sig: dayLabel(date), date });
      }
    };
    if (this.inThread) {
      const root = store.rootOf(this.stream.id) || this.stream.root;
      if (root) {
        rows.push({ type: "msg", key: "root", message: root, grouped: false, root: true });
        rows.push({ type: "sep", key: "sep", sig: plural(root.reply_count || 0, "reply", "replies") });
      }
    }
    for (const message of this.stream.sorted()) {
      const date = parseTime(message.created_at);
      pushDay(date);
      const grouped =
        prev &&
        !prev.deleted &&
        prev.kind !== "system" &&
        message.kind !== "system" &&
        prev.author?.id === message.author?.id &&
        date - parseTime(prev.created_at) < GROUP_MS;
      rows.push({ type: "msg", key: `m:${message.id}`, message, grouped: Boolean(grouped) });
      prev = message;
    }
    const pendingItems = [...this.stream.pending.values()];
    if (pendingItems.length) pushDay(new Date());
    for (const item of pendingItems) {
      const message = {
        id: null,
        author: { id: me.id, username: me.username, display_name: me.display_name, is_bot: false },
        body: item.body,
        files: item.files || [],
        kind: "user",
        created_at: item.at.toISOString(),
      };
      const grouped = prev && prev.author?.id === me.id && !prev.deleted;
      rows.push({ type: "pending", key: `p:${item.client_msg_id}`, message, item, grouped: Boolean(grouped) });
      prev = message;
    }
    for (const [queryId, progress] of this.stream.progress) {
      rows.push({ type: "progress", key: `q:${queryId}`, progress });
    }
    return rows;
  }

  render(detail = {}) {
    const el = this.el;
    const fromBottom = el.scrollHeight - el.scrollTop;
    const atBottom = this.nearBottom();
    this.older.textContent = this.stream.hasMore
      ? this.stream.loadingOlder ? "Loading older messages…" : ""
      : this.inThread ? "" : "This is the very beginning of the conversation.";
    reconcile(this.items, this.rows(), {
      key: (row) => row.key,
      sig: (row) => this.signature(row),
      render: (row) => this.renderRow(row),
    });
    const lastId = this.stream.cursor;
    const arrived = lastId > this.lastId && this.lastId > 0;
    this.lastId = lastId;
    if (detail.older) el.scrollTop = el.scrollHeight - fromBottom;
    else if (detail.sent || atBottom || detail.bottom) this.toBottom();
    else if (arrived) this.jump.hidden = false; // scrolled up reading: say so, do not jump
    // Not enough to scroll yet: fetch more history so the user can scroll up.
    if (this.stream.hasMore && el.scrollHeight <= el.clientHeight + 10 && el.clientHeight > 0) this.onScroll();
  }

  signature(row) {
    if (row.type === "day" || row.type === "sep") return row.sig;
    if (row.type === "progress") return JSON.stringify(row.progress);
    const m = row.message;
    const parts = [m.body, m.edited_at, m.deleted, m.reply_count, m.started_thread_id, row.grouped, this.quote(m),
      m.reactions || [], m.pinned_at || null];
    parts.push((m.files || []).map((f) => f.id).join(","));
    parts.push((m.mentions || []).join(","));
    if (row.type === "pending") parts.push(row.item.state, row.item.error);
    else parts.push(this.editing === m.id, m.payload ? JSON.stringify(m.payload) : "", actionState(m));
    return JSON.stringify(parts);
  }

  renderRow(row) {
    if (row.type === "day") return h("div.day-divider", h("span", row.sig));
    if (row.type === "sep") return h("div.thread-sep", h("span", row.sig));
    if (row.type === "progress") return h("div.msg.progress-row", h("div.gutter"), renderProgress(row.progress));
    return this.renderMessage(row);
  }

  renderMessage(row) {
    const m = row.message;
    const pending = row.type === "pending";
    const author = m.author || { id: 0, username: "unknown" };
    const date = parseTime(m.created_at);
    const classes = ["msg"];
    if (row.grouped) classes.push("grouped");
    if (pending) classes.push("pending", row.item.state);
    if (m.deleted) classes.push("deleted");
    if (m.kind === "bot" || author.is_bot) classes.push("bot");
    if (m.kind === "system") classes.push("system");
    if (row.root) classes.push("root");
    const mentionsMe = !pending && !m.deleted && Boolean(store.me) && (m.mentions || []).includes(store.me.id);
    if (mentionsMe) classes.push("mentions-me");
    const el = h("div", { class: classes.join(" "), dataset: m.id ? { id: m.id } : {} });
    const name = author.display_name || author.username;
    const time = h("time", { datetime: m.created_at, title: fullTime(date) }, clock(date));
    el.append(
      h(
        "div.gutter",
        row.grouped
          ? h("span.hover-time", clock(date))
          : h(`div.avatar.${author.is_bot ? "bot-avatar" : colourClass(author.id)}`, { "aria-hidden": "true" }, initials(name)),
      ),
    );
    const content = h("div.content");
    if (!row.grouped) {
      content.append(
        h(
          "div.meta",
          authorName(author),
          author.is_bot ? h("span.badge", "BOT") : null,
          author.deactivated ? h("span.badge.deactivated", { title: "This account was deactivated" }, "deactivated") : null,
          time,
        ),
      );
    }
    if (!pending && !m.deleted && m.reply_to && (m.kind === "bot" || author.is_bot)) content.append(this.replyLine(m));
    if (!pending && m.pinned && !m.deleted) content.append(h("div.pinned-note", h("span", { "aria-hidden": "true" }, "📌 "), "Pinned"));
    if (this.editing === m.id && !pending) {
      content.append(this.editor(m));
    } else if (m.deleted) {
      content.append(h("div.body.muted", "This message was deleted."));
    } else {
      const text = payloadBody(m.body || "", m.payload);
      if (text || m.edited_at) {
        content.append(
          h("div.body", renderMarkdown(text, { self: store.me?.username, all: mentionsMe }), m.edited_at ? h("span.edited", { title: fullTime(parseTime(m.edited_at)) }, " (edited)") : null),
        );
      }
      const payload = m.kind === "system" ? null : renderPayload(withoutActions(m.payload));
      if (payload) content.append(payload);
      const files = renderFiles(m.files);
      if (files) content.append(files);
      const controls = m.kind === "system" ? null : actionBar(m);
      if (controls) content.append(controls);
    }
    const reactions = !pending && !m.deleted ? reactionBar(m) : null;
    if (reactions) content.append(reactions);
    if (pending) content.append(this.pendingNote(row.item));
    if (!pending && !this.inThread && !m.deleted && (m.reply_count || m.started_thread_id)) {
      content.append(
        h(
          "button.thread-link",
          { type: "button", onclick: () => this.openThread(m) },
          m.reply_count ? plural(m.reply_count, "reply", "replies") : "Open thread",
        ),
      );
    }
    el.append(content);
    const actions = !pending && !m.deleted && m.kind !== "system" ? this.actions(m, row) : null;
    if (actions) el.append(actions);
    return el;
  }

  /** The message `id` if this list holds it (its stream, or a thread's root). */
  lookup(id) {
    const found = this.stream.messages.get(id);
    if (found) return found;
    const root = this.inThread ? store.rootOf(this.stream.id) || this.stream.root : null;
    return root && root.id === id ? root : null;
  }

  /** What a bot's reply quotes of the message it answers: {who, words}, or null. */
  quote(m) {
    if (!m.reply_to) return null;
    const target = this.lookup(m.reply_to);
    if (!target) return { who: null, words: "an earlier message" };
    return { who: target.author?.username || null, words: target.deleted ? "a deleted message" : firstWords(target.body) };
  }

  replyLine(m) {
    const { who, words } = this.quote(m);
    const said = who ? `@${who}: ${words}` : words;
    return h(
      "button.reply-to",
      {
        type: "button",
        title: "Show the message this answers",
        "aria-label": `In reply to ${said}. Show that message.`,
        onclick: () => this.showMessage(m.reply_to).catch((err) => toast(err.message)),
      },
      h("span.reply-arrow", { "aria-hidden": "true" }, "↪ "),
      "in reply to ",
      who ? h("span.reply-who", `@${who}`) : null,
      who ? `: ${words}` : words,
    );
  }

  /** Scroll to message `id` (reading older history until it is there) and focus it. */
  async showMessage(id) {
    const row = () => this.items.querySelector(`.msg[data-id="${id}"]`);
    for (let page = 0; !row() && this.stream.hasMore && page < FIND_PAGES; page++) {
      if (!(await chat.loadOlder(this.stream))) break;
    }
    const el = row();
    if (!el) {
      toast("That message is no longer in this conversation.");
      return;
    }
    el.scrollIntoView({ block: "center" });
    el.classList.remove("flash");
    void el.offsetWidth; // restart the highlight
    el.classList.add("flash");
    el.setAttribute("tabindex", "-1");
    el.focus({ preventScroll: true });
  }

  pendingNote(item) {
    if (item.state === "failed") {
      return h(
        "div.pending-note.failed",
        `Not sent: ${item.error || "refused"} `,
        h("button.link", { type: "button", onclick: () => chat.retry(this.stream, item.client_msg_id) }, "Retry"),
        " · ",
        h("button.link", { type: "button", onclick: () => chat.discard(this.stream, item.client_msg_id) }, "Discard"),
      );
    }
    return h("div.pending-note", item.state === "waiting" ? "Waiting for the connection…" : "Sending…");
  }

  actions(m, row) {
    const mine = m.author?.id === store.me.id;
    const buttons = [];
    const reactButton = h("button", { type: "button", title: "Add reaction", "aria-label": "React to message", "aria-haspopup": "dialog", class: "act-react" }, "React");
    reactButton.addEventListener("click", () => openPicker(m, reactButton));
    buttons.push(reactButton);
    if (!this.inThread && !row.root) {
      buttons.push(h("button", { type: "button", title: "Reply in thread", "aria-label": "Reply in thread", class: "act-thread", onclick: () => this.openThread(m) }, "Reply"));
    }
    if (mine && !m.payload) {
      buttons.push(h("button", { type: "button", title: "Edit", "aria-label": "Edit message", class: "act-edit", onclick: () => this.startEdit(m) }, "Edit"));
    }
    const pinLabel = m.pinned ? "Unpin" : "Pin";
    buttons.push(h("button", { type: "button", title: pinLabel, "aria-label": `${pinLabel} message`, class: "act-pin", onclick: () => this.pin(m) }, pinLabel));
    if (mine || store.isAdmin()) {
      buttons.push(h("button", { type: "button", title: "Delete", "aria-label": "Delete message", class: "act-delete", onclick: () => this.delete(m) }, "Delete"));
    }
    return buttons.length ? h("div.actions", buttons) : null;
  }

  pin(m) {
    chat.setPinned(m, !m.pinned).catch((err) => toast(err.message));
  }

  openThread(m) {
    chat.openThreadOf(m).catch((err) => toast(err.message));
  }

  startEdit(m) {
    this.editing = m.id;
    this.render();
    const input = this.items.querySelector(".edit-box textarea");
    if (input) {
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
    }
  }

  editor(m) {
    const input = h("textarea", { rows: 2, "aria-label": "Edit message", value: m.body });
    const done = () => {
      this.editing = null;
      this.render();
    };
    const save = () => {
      chat.edit(m, input.value).then(done, (err) => toast(err.message));
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        event.preventDefault();
        done();
      }
    });
    return h(
      "div.edit-box",
      input,
      h(
        "div.edit-actions",
        h("span.muted", "Enter to save · Esc to cancel"),
        h("button.button.secondary.small", { type: "button", onclick: done }, "Cancel"),
        h("button.button.small", { type: "button", onclick: save }, "Save"),
      ),
    );
  }

  async delete(m) {
    if (!(await confirmBox("Delete message", "Delete this message for everyone? This cannot be undone.", "Delete"))) return;
    chat.remove(m).catch((err) => toast(err.message));
  }
}
