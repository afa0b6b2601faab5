// The main column: the channel's header (topic, people, pins, add people, leave), its
// message list and its composer.

import * as chat from "../chat.js";
import { store, isDm, channelTitle } from "../store.js";
import { h, clear, icon, LOCK, MENU } from "../dom.js";
import { MessageList } from "./messages.js";
import { Composer } from "./composer.js";
import { modal, confirmBox, errorText, toast } from "./dialog.js";
import { botsToggle } from "./bots.js";
import { pinsButton } from "./pins.js";
import { webhooksSlot } from "./webhooks.js";
import { moderationSlot } from "./moderation.js";

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class ChannelView {
  constructor({ onMenu, onCreate, onBrowse }) {
    this.onMenu = onMenu;
    this.onCreate = onCreate;
    this.onBrowse = onBrowse;
    this.el = h("main.channel-view");
    this.parts = [];
    this.channelId = null;
    store.on("members", (id) => id === this.channelId && this.renderHeader());
    store.on("channels", () => {
      if (!this.channelId) return;
      // archived or unarchived meanwhile: swap the composer and the read-only note
      if (Boolean(store.channels.get(this.channelId)?.archived) !== this.archived) this.show(this.channelId);
      else this.renderHeader();
    });
  }

  show(channelId) {
    for (const part of this.parts) part.destroy();
    this.parts = [];
    clear(this.el);
    this.channelId = channelId;
    this.header = h("header.channel-head");
    this.botsSlot = h("div.bots-slot");
    this.bots = null;
    this.el.append(this.header, this.botsSlot);
    const channel = store.channels.get(channelId);
    if (!channel) {
      this.renderEmpty();
      return;
    }
    const stream = store.stream("channel", channel.id, channel.id);
    // anyone may see a channel's bots; admins (and owners, where the server allows) change them
    this.bots = botsToggle(this.botsSlot, { scope: "channel", id: channel.id, manage: true });
    this.parts.push(this.bots);
    const list = new MessageList(stream);
    this.list = list;
    this.parts.push(list);
    this.archived = Boolean(channel.archived);
    this.renderHeader();
    this.el.append(list.el);
    if (channel.archived) {
      // read-only: the server refuses posts, so there is nothing to type into
      this.el.append(h("p.archived-note", { role: "note" }, `${channelTitle(channel)} is archived: it is read-only.`));
      list.render({ bottom: true });
      return;
    }
    const composer = new Composer(stream, { placeholder: `Message ${channelTitle(channel)}` });
    this.parts.push(composer);
    this.el.append(composer.el);
    list.render({ bottom: true });
    composer.input.focus();
  }

  menuButton() {
    const open = document.body.classList.contains("nav-open");
    return h(
      "button.icon-button.menu-button",
      { type: "button", "aria-label": "Channels", title: "Channels", "aria-expanded": String(open), onclick: this.onMenu },
      icon(MENU),
    );
  }

  renderEmpty() {
    clear(this.header).append(this.menuButton(), h("h2", "Welcome to Venn"));
    this.el.append(
      h(
        "div.empty-state",
        h("h2", "No channel open"),
        h("p", "Create a channel, or browse the public ones to join."),
        h(
          "div.form-actions.center",
          h("button.button", { type: "button", onclick: this.onCreate }, "Create a channel"),
          h("button.button.secondary", { type: "button", onclick: this.onBrowse }, "Browse channels"),
        ),
      ),
    );
  }

  renderHeader() {
    const channel = store.channels.get(this.channelId);
    if (!channel || !this.header) return;
    const members = store.members.get(channel.id);
    const count = members ? members.length : channel.member_count;
    const dm = isDm(channel);
    const mark = dm ? h("span.hash", { "aria-hidden": "true" }, "@") : channel.is_private ? icon(LOCK, "private") : h("span.hash", "#");
    // Live updates (members, topic) redraw the header: a keyboard user's focus stays on
    // the same control instead of falling back to the page.
    const focused = this.header.contains(document.activeElement) ? controlKey(document.activeElement) : null;
    clear(this.header).append(
      this.menuButton(),
      h(
        "div.channel-title",
        h("h2", mark, channelTitle(channel, { hash: false })),
        dm ? h("div.topic", channel.kind === "dm" ? "Direct message" : "Group conversation") : null,
        channel.topic ? h("div.topic", channel.topic) : null,
      ),
      h(
        "div.head-tools",
        h("span.member-count", { title: "Members" }, `${count} ${count === 1 ? "member" : "members"}`),
        this.bots?.button,
        pinsButton(channel, (m) => this.showPinned(m)),
        dm ? null : webhooksSlot(channel), // a webhook's bot would join it
        dm ? null : moderationSlot(channel),
        channel.archived ? h("span.badge.archived", "archived") : null,
        // a conversation's people are fixed: no adding, no leaving
        channel.is_private && !dm
          ? h("button.button.secondary.small", { type: "button", onclick: () => this.addPeople(channel) }, "Add people")
          : null,
        dm ? null : h("button.button.secondary.small", { type: "button", onclick: () => this.leave(channel) }, "Leave"),
      ),
    );
    if (focused) {
      const again = [...this.header.querySelectorAll("button, a, input, select")].find((el) => controlKey(el) === focused);
      again?.focus();
    }
  }

  async addPeople(channel) {
    const input = h("input", { name: "person", list: "people-choices", placeholder: "username, or user id", autocomplete: "off", required: true });
    const options = h("datalist", { id: "people-choices" });
    const error = h("div.form-error", { role: "alert" });
    const form = h(
      "form.form",
      h("p.muted", "People you share a channel with are suggested; anyone else by their user id."),
      h("label", "Person", input),
      options,
      error,
      h("div.form-actions", h("button.button", { type: "submit" }, "Add")),
    );
    const box = modal(`Add people to #${channel.name}`, form);
    input.focus();
    const inChannel = new Set((store.members.get(channel.id) || []).map((m) => m.id));
    let people = [];
    chat.knownPeople().then((list) => {
      people = list.filter((p) => !inChannel.has(p.id));
      for (const p of people) options.append(h("option", { value: p.username }, p.display_name || p.username));
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      const text = input.value.trim().replace(/^[@#]/, "");
      let person = people.find((p) => p.username.toLowerCase() === text.toLowerCase());
      try {
        if (!person && /^\d+$/.test(text)) person = await chat.lookupUser(Number(text));
        if (!person) {
          error.textContent = "No one by that name among the people you know; use their user id.";
          return;
        }
        await chat.addMember(channel.id, person.id);
        box.close();
        toast(`${person.username} was added to #${channel.name}.`, "info");
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
  }

  /** A pinned message: scrolled to in the channel's stream, or its thread opened. */
  showPinned(m) {
    const shown = m.thread_id ? chat.openThread(m.thread_id) : this.list?.showMessage(m.id);
    Promise.resolve(shown).catch((err) => toast(err.message));
  }

  /** A search result: its channel opened (through the route), then the message brought
   * into view and highlighted, in the channel's stream or in its thread. */
  async showFound(m) {
    try {
      if (m.channel_id !== this.channelId || !this.list) {
        location.hash = `#/channel/${m.channel_id}`;
        for (let i = 0; i < 200 && (this.channelId !== m.channel_id || !this.list); i++) await pause(25);
      }
      if (!m.thread_id) {
        await this.list.showMessage(m.id);
        return;
      }
      await chat.openThread(m.thread_id);
      const row = () => document.querySelector(`.thread-panel .msg[data-id="${m.id}"]`);
      for (let i = 0; i < 200 && !row(); i++) await pause(25);
      const el = row();
      if (!el) {
        toast("That message is no longer in its thread.");
        return;
      }
      el.scrollIntoView({ block: "center" });
      el.classList.add("flash");
      el.setAttribute("tabindex", "-1");
      el.focus({ preventScroll: true });
    } catch (err) {
      toast(err.message);
    }
  }

  async leave(channel) {
    if (!(await confirmBox("Leave channel", `Leave #${channel.name}?`, "Leave"))) return;
    try {
      await chat.leaveChannel(channel.id);
      location.hash = "#/";
    } catch (err) {
      toast(err.message);
    }
  }
}

/** What tells one header control from the others across a redraw. */
function controlKey(el) {
  return `${el.tagName}|${el.className}|${el.getAttribute("aria-label") || el.textContent.trim()}`;
}
