// A channel's moderation (its owners and admins): rename, topic, remove a member,
// archive or unarchive, in a dialog opened from the channel header's "Manage" button.
// The server decides who may: for someone not an admin, the button appears once an
// empty PATCH of the channel (which changes nothing) was accepted.

import { api } from "../api.js";
import { store } from "../store.js";
import * as chat from "../chat.js";
import { h } from "../dom.js";
import { modal, confirmBox, errorText, toast } from "./dialog.js";

const mayManage = new Map(); // channel id -> Promise<boolean>

/** A slot in the channel header holding the Manage button when the caller may moderate. */
export function moderationSlot(channel) {
  const slot = h("span.moderation-slot");
  const button = () => h("button.button.secondary.small.manage-button", { type: "button", "aria-haspopup": "dialog", onclick: () => showModeration(channel.id) }, "Manage");
  if (store.me?.role === "admin") {
    slot.append(button());
  } else {
    if (!mayManage.has(channel.id)) mayManage.set(channel.id, api("PATCH", `/channels/${channel.id}`, {}).then(() => true, () => false));
    mayManage.get(channel.id).then((yes) => yes && slot.append(button()));
  }
  return slot;
}

function showModeration(channelId) {
  const channel = store.channels.get(channelId);
  if (!channel) return;
  const name = h("input", { name: "name", value: channel.name, maxlength: 80, required: true, autocomplete: "off" });
  const topic = h("input", { name: "topic", value: channel.topic || "", maxlength: 250, autocomplete: "off" });
  const error = h("div.form-error", { role: "alert" });
  const refresh = () => chat.loadChannels().catch(() => {});
  const form = h(
    "form.form",
    {
      "aria-label": "Name and topic",
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = "";
        try {
          await api("PATCH", `/channels/${channel.id}`, { name: name.value.trim(), topic: topic.value.trim() });
          await refresh();
          toast("Saved.", "info");
        } catch (err) {
          error.textContent = errorText(err);
        }
      },
    },
    h("label", "Name", name),
    h("label", "Topic", topic),
    error,
    h("div.form-actions", h("button.button", { type: "submit" }, "Save")),
  );
  const people = h("ul.admin-list", { "aria-label": `Members of #${channel.name}` });
  for (const person of store.members.get(channel.id) || []) {
    if (person.id === store.me.id) continue;
    const who = person.display_name || person.username;
    const li = h(
      "li.admin-row",
      h("div.admin-who", h("strong", who), h("span.muted", ` @${person.username}`)),
      h("button.button.danger.small", {
        type: "button",
        "aria-label": `Remove ${person.username}`,
        onclick: async () => {
          if (!(await confirmBox(`Remove ${who}?`, `They leave #${channel.name} at once.`, "Remove"))) return;
          try {
            await api("DELETE", `/channels/${channel.id}/members/${person.id}`);
            li.remove();
            chat.loadMembers(channel.id).catch(() => {});
          } catch (err) {
            toast(err.message);
          }
        },
      }, "Remove"),
    );
    people.append(li);
  }
  const archive = h("button.button.secondary", {
    type: "button",
    onclick: async () => {
      const to = channel.archived ? "unarchive" : "archive";
      try {
        await api("POST", `/channels/${channel.id}/${to}`);
        await refresh();
        box.close();
        toast(to === "archive" ? `#${channel.name} is archived (read-only).` : `#${channel.name} is open again.`, "info");
      } catch (err) {
        toast(err.message);
      }
    },
  }, channel.archived ? "Unarchive channel" : "Archive channel");
  const box = modal(`Manage #${channel.name}`, h("div.moderation", form, h("h3.panel-title", "Members"), people, h("div.form-actions", archive)));
  name.focus();
}
