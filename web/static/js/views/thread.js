// The thread side panel: the root message, its replies, a composer, and (for
// admins) the bots of the thread.

import * as chat from "../chat.js";
import { store, channelTitle } from "../store.js";
import { h, clear } from "../dom.js";
import { MessageList } from "./messages.js";
import { Composer } from "./composer.js";
import { botsToggle } from "./bots.js";

export class ThreadPanel {
  constructor() {
    this.el = h("aside.thread-panel", { "aria-label": "Thread", hidden: true });
    this.parts = [];
    this.opener = null; // what had the keyboard's focus when the thread opened
    // Escape in the panel (outside a dialog or an edit box) closes the thread
    this.el.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.defaultPrevented && !event.target.closest(".edit-box")) closeThreadRoute();
    });
    store.on("thread", (id) => this.show(id));
  }

  teardown() {
    for (const part of this.parts) part.destroy();
    this.parts = [];
  }

  show(threadId) {
    const focused = this.el.contains(document.activeElement);
    if (threadId && !focused) this.opener = document.activeElement;
    this.teardown();
    clear(this.el);
    document.body.classList.toggle("thread-open", Boolean(threadId));
    if (!threadId) {
      this.el.hidden = true;
      if (focused) this.returnFocus();
      return;
    }
    this.el.hidden = false;
    const thread = store.threads.get(threadId);
    const channel = store.channels.get(thread.channel_id);
    const stream = store.stream("thread", thread.id, thread.channel_id);
    const list = new MessageList(stream, { inThread: true });
    const composer = new Composer(stream, { placeholder: "Reply in thread…" });
    this.parts.push(list, composer);
    const botsSlot = h("div.bots-slot");
    let botsButton = null;
    if (store.isAdmin()) {
      const bots = botsToggle(botsSlot, { scope: "thread", id: thread.id, channelId: thread.channel_id, manage: true });
      this.parts.push(bots);
      botsButton = bots.button;
    }
    this.el.append(
      h(
        "header.panel-head",
        h("div", h("h2", thread.title || "Thread"), h("div.muted.small", channel ? channelTitle(channel) : "")),
        h("div.panel-tools", botsButton, h("button.icon-button", { type: "button", title: "Close thread", "aria-label": "Close thread", onclick: () => closeThreadRoute() }, "×")),
      ),
      botsSlot,
      list.el,
      composer.el,
    );
    list.render({ bottom: true });
    composer.input.focus();
  }

  /**
   * After closing, the keyboard goes back where the thread was opened from, not to the
   * top of the page. The message that opened it is usually drawn anew meanwhile (its
   * reply count changed): then its thread button takes the focus; else the composer.
   */
  returnFocus() {
    const opener = this.opener;
    this.opener = null;
    let back = opener?.isConnected && opener !== document.body ? opener : null;
    const id = opener?.closest?.(".msg")?.dataset.id;
    if (!back && id) {
      const msg = document.querySelector(`.channel-view .msg[data-id="${CSS.escape(id)}"]`);
      back = msg?.querySelector(".thread-link") || msg?.querySelector(".act-thread");
    }
    (back || document.querySelector(".channel-view .composer-input"))?.focus();
  }
}

function closeThreadRoute() {
  const id = store.currentChannel;
  if (id) location.hash = `#/channel/${id}`;
  else chat.closeThread();
}
