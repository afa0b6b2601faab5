// A channel's incoming webhooks: a header button (for the channel's owners and admins)
// that opens a dialog to make one (its URL is shown once, with a Copy button), list them
// and delete them. The server decides who may: for someone not an admin, the button
// appears only once listing the channel's webhooks succeeded.

import { api } from "../api.js";
import { store } from "../store.js";
import { h, clear, parseTime, fullTime } from "../dom.js";
import { modal, confirmBox, errorText, toast } from "./dialog.js";

// channel id -> Promise<boolean>: may the caller manage its webhooks (asked once a page:
// the header is redrawn on every channel change)
const mayManage = new Map();

/** A slot in the channel header that holds the Webhooks button when the caller may manage them. */
export function webhooksSlot(channel) {
  const slot = h("span.webhooks-slot");
  const button = () =>
    h(
      "button.button.secondary.small.webhooks-button",
      { type: "button", "aria-haspopup": "dialog", onclick: () => showWebhooks(channel) },
      "Webhooks",
    );
  if (store.isAdmin()) {
    slot.append(button());
  } else {
    if (!mayManage.has(channel.id)) {
      // 403/404: not an owner here; nothing to show
      mayManage.set(channel.id, api("GET", `/channels/${channel.id}/webhooks`).then(() => true, () => false));
    }
    mayManage.get(channel.id).then((yes) => yes && slot.append(button()));
  }
  return slot;
}

export function showWebhooks(channel) {
  const list = h("ul.webhook-list", { "aria-label": `Webhooks of #${channel.name}` });
  const status = h("p.muted", { role: "status" }, "Loading…");
  const created = h("div.webhook-created", { "aria-live": "polite" });
  const name = h("input", { name: "name", maxlength: "64", required: true, placeholder: "e.g. CI", autocomplete: "off" });
  const error = h("div.form-error", { role: "alert" });
  const form = h(
    "form.form",
    h("label", "New webhook's name (its posts show this name)", name),
    error,
    h("div.form-actions", h("button.button", { type: "submit" }, "Create webhook")),
  );
  const box = modal(`Webhooks of #${channel.name}`, [form, created, status, list], { wide: true });
  name.focus();

  const render = async () => {
    let hooks;
    try {
      hooks = (await api("GET", `/channels/${channel.id}/webhooks`)).webhooks;
    } catch (err) {
      status.textContent = err.message;
      return;
    }
    clear(list);
    status.textContent = hooks.length ? "" : "No webhooks yet.";
    for (const hook of hooks) list.append(hookItem(channel, hook, render));
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      const { webhook } = await api("POST", `/channels/${channel.id}/webhooks`, { name: name.value.trim() });
      name.value = "";
      showUrl(created, webhook);
      await render();
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  render();
  return box;
}

/** The new webhook's full URL, shown once, with a Copy button. */
function showUrl(slot, webhook) {
  const url = new URL(webhook.url, location.origin).href;
  const field = h("input.webhook-url", { readonly: true, value: url, "aria-label": `URL of webhook ${webhook.name}` });
  const copy = h(
    "button.button.small",
    {
      type: "button",
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(url);
          toast("The webhook URL was copied.", "info");
        } catch {
          field.select(); // no clipboard access: select it for the keyboard's copy
          toast("Copy the selected URL with Ctrl+C.", "info");
        }
      },
    },
    "Copy",
  );
  clear(slot).append(
    h("p", h("strong", "Copy this URL now: it will not be shown again. "), "Anyone with it can post here."),
    h("div.webhook-url-row", field, copy),
  );
  field.focus();
  field.select();
}

function hookItem(channel, hook, refresh) {
  const remove = async () => {
    if (!(await confirmBox("Delete webhook", `Delete the webhook “${hook.name}”? Its URL stops working.`, "Delete"))) {
      return;
    }
    try {
      await api("DELETE", `/channels/${channel.id}/webhooks/${hook.id}`);
      await refresh();
    } catch (err) {
      toast(err.message);
    }
  };
  return h(
    "li.webhook-item",
    h("span.webhook-name", hook.name),
    h("time.muted", { datetime: hook.created_at }, fullTime(parseTime(hook.created_at))),
    h(
      "button.button.danger.small",
      { type: "button", "aria-label": `Delete webhook ${hook.name}`, onclick: remove },
      "Delete",
    ),
  );
}
