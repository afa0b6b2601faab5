// The sidebar: who I am, my channels with unread counts, the people of the channel
// shown with online dots, and the dialogs to create, browse and join channels.

import * as chat from "../chat.js";
import { store, isDm, channelTitle } from "../store.js";
import { h, clear, reconcile, colourClass, initials, icon, LOCK, plural } from "../dom.js";
import { modal, toast, errorText } from "./dialog.js";
import { panelsFor, openPanel } from "../renderers.js";
import { newMessageDialog } from "./new-dm.js";
import { openAdmin } from "./admin.js";
import { openProfile } from "./profile.js";
import { notificationState, askPermission } from "../notify.js";

export class Sidebar {
  constructor({ onOpen, onLogout }) {
    this.onOpen = onOpen;
    this.list = h("ul.channel-list", { "aria-label": "Channels" });
    this.dms = h("ul.channel-list.dm-list", { "aria-label": "Direct messages" });
    this.people = h("ul.people-list", { "aria-label": "People in this channel" });
    this.peopleTitle = h("h2.section-title", "People");
    // desktop notifications: offered with a button, asked for only when it is clicked
    this.notifyOffer = h("div.notify-offer");
    const me = store.me;
    this.el = h(
      "nav.sidebar",
      h(
        "div.workspace",
        h("h1.brand", h("span.logo", { "aria-hidden": "true" }, "V"), "Venn"),
      ),
      h(
        "div.sidebar-scroll",
        h(
          "div.section-head",
          h("h2.section-title", "Channels"),
          h("button.icon-button.light", { type: "button", title: "Create a channel", "aria-label": "Create a channel", onclick: () => this.createDialog() }, "+"),
        ),
        this.list,
        h("button.sidebar-action", { type: "button", onclick: () => this.browseDialog() }, "Browse channels"),
        h(
          "div.section-head",
          h("h2.section-title", "Direct messages"),
          h("button.icon-button.light", { type: "button", title: "New message", "aria-label": "New message", onclick: () => newMessageDialog() }, "+"),
        ),
        this.dms,
        this.peopleTitle,
        this.people,
        this.notifyOffer,
        this.tools(me),
        me.role === "admin" ? h("button.sidebar-action.admin-link", { type: "button", onclick: () => openAdmin() }, "Administration") : null,
      ),
      h(
        "div.me",
        h(`div.avatar.small.${colourClass(me.id)}`, initials(me.display_name || me.username)),
        h("div.me-name", this.myName = h("strong", me.display_name || me.username), h("span.muted", me.role === "admin" ? "admin" : `@${me.username}`)),
        h("button.button.secondary.small.profile-button", {
          type: "button",
          onclick: () => openProfile({ onRenamed: (user) => { this.myName.textContent = user.display_name || user.username; } }),
        }, "Profile"),
        h("button.button.secondary.small.logout", { type: "button", onclick: onLogout }, "Sign out"),
      ),
    );
    store.on("channels", () => this.renderChannels());
    store.on("current", () => {
      this.renderChannels();
      this.renderPeople();
    });
    store.on("members", (id) => id === store.currentChannel && this.renderPeople());
    store.on("presence", () => this.renderPeople());
    store.on("notifications", () => this.renderNotifyOffer());
    this.renderChannels();
    this.renderNotifyOffer();
  }

  renderNotifyOffer() {
    clear(this.notifyOffer);
    if (notificationState() !== "default") return;
    this.notifyOffer.append(
      h(
        "button.sidebar-action.notify-button",
        {
          type: "button",
          onclick: async () => {
            const answer = await askPermission().catch(() => "denied");
            toast(answer === "granted" ? "Desktop notifications are on." : "Desktop notifications are off (the browser said no).", answer === "granted" ? "info" : "error");
          },
        },
        "Turn on desktop notifications",
      ),
    );
  }

  /** Put the keyboard's focus on the channel shown (else the first control): the narrow layout opening the sidebar. */
  focus() {
    (this.list.querySelector("a[aria-current=page]") || this.el.querySelector("a[href], button"))?.focus();
  }

  /** The plugins' panels offered to `me` (venn.registerPanel), each opening in a dialog. */
  tools(me) {
    const panels = panelsFor(me);
    if (!panels.length) return null;
    const open = (panel) => {
      const body = h("div.panel-body");
      const box = modal(panel.label, body, { wide: true });
      const done = openPanel(panel, body);
      if (done) box.el.addEventListener("close", done, { once: true });
    };
    return [
      h("h3.section-title", { id: "tools-title" }, "Tools"),
      h(
        "ul.tool-list",
        { "aria-labelledby": "tools-title" },
        panels.map((panel) => h("li", h("button.sidebar-action", { type: "button", onclick: () => open(panel) }, panel.label))),
      ),
    ];
  }

  renderChannels() {
    const mine = store.memberChannels({ archived: true });
    const channels = mine.filter((c) => !isDm(c)).sort((a, b) => a.name.localeCompare(b.name));
    const dms = mine.filter(isDm).sort((a, b) => channelTitle(a).localeCompare(channelTitle(b)));
    this.renderList(this.list, channels, "No channels yet: create one or browse.");
    this.renderList(this.dms, dms, "No conversations yet.");
  }

  renderList(list, channels, emptyText) {
    reconcile(list, channels, {
      key: (c) => c.id,
      sig: (c) => [channelTitle(c), c.is_private, c.unread_count, c.mention_count, c.archived, c.id === store.currentChannel].join("|"),
      render: (c) => {
        const unread = c.id !== store.currentChannel && c.unread_count > 0;
        const mentioned = c.id !== store.currentChannel && c.mention_count > 0;
        const dm = isDm(c);
        return h(
          `li.channel-item${dm ? ".dm-item" : ""}${c.archived ? ".archived" : ""}${c.id === store.currentChannel ? ".active" : ""}${unread ? ".unread" : ""}`,
          h(
            "a",
            { href: `#/channel/${c.id}`, "aria-current": c.id === store.currentChannel ? "page" : null, onclick: () => this.onOpen?.() },
            dm
              ? h("span.hash", { "aria-hidden": "true" }, c.kind === "group_dm" ? String(c.member_count) : "@")
              : h("span.hash", c.is_private ? icon(LOCK, "private") : "#"),
            h("span.channel-name", channelTitle(c, { hash: false })),
            c.archived ? h("span.archived-mark", "archived") : null,
            // the badges show the numbers; screen readers hear "2 mentions" and "3 unread"
            mentioned ? h("span.mention-badge", { title: plural(c.mention_count, "mention"), "aria-hidden": "true" }, `@${c.mention_count}`) : null,
            mentioned ? h("span.visually-hidden", plural(c.mention_count, "mention")) : null,
            unread ? h("span.unread-badge", { title: `${c.unread_count} unread`, "aria-hidden": "true" }, String(c.unread_count)) : null,
            unread ? h("span.visually-hidden", `${c.unread_count} unread`) : null,
          ),
        );
      },
    });
    if (!channels.length) {
      clear(list).append(h("li.empty", emptyText));
    }
  }

  renderPeople() {
    const id = store.currentChannel;
    const channel = store.channels.get(id);
    const members = (store.members.get(id) || []).slice();
    this.peopleTitle.textContent = !channel ? "People" : isDm(channel) ? "People in this conversation" : `People in #${channel.name}`;
    const online = (u) => (store.status.get(u.id) || u.status) === "online";
    members.sort((a, b) => Number(online(b)) - Number(online(a)) || a.username.localeCompare(b.username));
    reconcile(this.people, members, {
      key: (u) => u.id,
      sig: (u) => [u.display_name, online(u)].join("|"),
      render: (u) =>
        h(
          "li.person",
          { title: online(u) ? "online" : "offline" },
          // a picture that says the status (a bare span may not carry a label)
          h(`span.dot.${online(u) ? "online" : "offline"}`, { role: "img", "aria-label": online(u) ? "online" : "offline" }),
          h("span.person-name", u.display_name || u.username),
          u.is_bot ? h("span.badge", "BOT") : null,
        ),
    });
  }

  createDialog() {
    const name = h("input", { name: "name", required: true, maxlength: 80, pattern: "[A-Za-z0-9][A-Za-z0-9_\\-]*", placeholder: "e.g. plan-budget", autocomplete: "off" });
    const topic = h("input", { name: "topic", maxlength: 250, placeholder: "What is it about? (optional)" });
    const priv = h("input", { type: "checkbox", name: "is_private" });
    const error = h("div.form-error", { role: "alert" });
    const form = h(
      "form.form",
      h("label", "Name", name),
      h("label", "Topic", topic),
      h("label.check", priv, "Private: only people you add can see it"),
      error,
      h("div.form-actions", h("button.button", { type: "submit" }, "Create")),
    );
    const box = modal("Create a channel", form);
    name.focus();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        const channel = await chat.createChannel({ name: name.value.trim().toLowerCase(), topic: topic.value.trim(), is_private: priv.checked });
        box.close();
        location.hash = `#/channel/${channel.id}`;
      } catch (err) {
        error.textContent = errorText(err);
      }
    });
  }

  async browseDialog() {
    const list = h("ul.browse-list", h("li.muted", "Loading…"));
    const box = modal("Browse channels", list);
    try {
      const channels = await chat.browseChannels();
      clear(list);
      if (!channels.length) list.append(h("li.muted", "You are in every public channel."));
      for (const c of channels) {
        list.append(
          h(
            "li.browse-item",
            h("div", h("strong", `#${c.name}`), h("div.muted", c.topic || "No topic"), h("div.muted.small", plural(c.member_count, "member"))),
            h(
              "button.button.small",
              {
                type: "button",
                onclick: async () => {
                  try {
                    await chat.joinChannel(c.id);
                    box.close();
                    location.hash = `#/channel/${c.id}`;
                  } catch (err) {
                    toast(err.message);
                  }
                },
              },
              "Join",
            ),
          ),
        );
      }
    } catch (err) {
      clear(list).append(h("li.form-error", err.message));
    }
  }
}
