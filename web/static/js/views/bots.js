// The bots of a channel or of a thread: which plugins are on there, enable one with a
// config form made from its JSON Schema, change its config, or disable it. A thread's
// list includes the settings it inherits from its channel (scope "channel").

import { api } from "../api.js";
import { store } from "../store.js";
import { h, clear } from "../dom.js";
import { schemaFields } from "./schema-form.js";
import { confirmBox, toast } from "./dialog.js";

async function plugins() {
  if (!store.plugins) store.plugins = (await api("GET", "/plugins")).plugins;
  return store.plugins;
}

/** A config as short "key: value" text (values as JSON). */
function configText(config) {
  return Object.entries(config || {})
    .map(([key, value]) => `${key}: ${JSON.stringify(value)}`)
    .join(", ");
}

export class BotsPanel {
  /**
   * `scope` is "channel" or "thread"; `id` the channel's or the thread's id; `channelId`
   * the channel (the thread's, for a thread). `manage`: show the controls (the server
   * still decides: a refusal is shown in the panel and the controls go away).
   */
  constructor({ scope, id, channelId, manage }) {
    this.scope = scope;
    this.id = id;
    this.channelId = channelId ?? id;
    this.manage = manage;
    this.refused = null;
    this.base = `/${scope === "thread" ? "threads" : "channels"}/${id}/bots`;
    this.here = scope === "thread" ? "this thread" : "this channel";
    this.body = h("div.bots-body", h("p.muted", "Loading…"));
    this.el = h("section.bots-panel", { "aria-label": `Bots in ${this.here}`, dataset: { scope } }, this.body);
    this.unsubscribe = store.on("bots", (status) => {
      if (this.concerns(status) && !this.form) this.load();
    });
    this.form = null;
    this.load();
  }

  /** Whether a `bot_status` event changes what this panel shows. */
  concerns(status) {
    if (!status) return false;
    if (status.thread_id == null) return status.channel_id === this.channelId; // a channel setting
    return this.scope === "thread" && status.thread_id === this.id;
  }

  destroy() {
    this.unsubscribe();
  }

  async load() {
    try {
      const [all, { bots }] = await Promise.all([plugins(), api("GET", this.base)]);
      this.render(all, bots);
    } catch (err) {
      clear(this.body).append(h("p.form-error", err.message));
    }
  }

  /** Run a change; a refusal (403) is shown and hides the controls. */
  async change(action) {
    try {
      await action();
      this.form = null;
      await this.load();
      return null;
    } catch (err) {
      if (err.status === 403) {
        this.refused = err.message;
        this.form = null;
        await this.load();
        return null;
      }
      return err;
    }
  }

  get canManage() {
    return this.manage && !this.refused;
  }

  statusText(bot) {
    if (!bot.enabled) return " off in this thread (on for the channel)";
    if (this.scope === "channel") return " on (the channel and its threads)";
    return bot.scope === "channel" ? " on (whole channel)" : " on (this thread)";
  }

  render(all, bots) {
    this.form = null;
    clear(this.body);
    const on = bots.filter((b) => b.enabled);
    this.body.append(h("h3.panel-title", `Bots in ${this.here}`));
    if (this.refused) this.body.append(h("p.form-error.bots-refused", { role: "alert" }, this.refused));
    if (!on.length) this.body.append(h("p.muted", "No bot is on here."));
    const list = h("ul.bot-list");
    for (const bot of bots) {
      const info = all.find((p) => p.name === bot.plugin);
      const inherited = this.scope === "thread" && bot.scope === "channel";
      const own = bot.scope === this.scope;
      const config = bot.enabled && bot.config ? configText(bot.config) : "";
      list.append(
        h(
          `li.bot-item${bot.enabled ? "" : ".off"}`,
          { dataset: { plugin: bot.plugin, scope: bot.scope } },
          h(
            "div.bot-info",
            h("strong", bot.plugin),
            h("span.muted.small", this.statusText(bot)),
            info?.description ? h("div.muted.small", info.description) : null,
            config ? h("div.muted.small.bot-config", inherited ? `Channel settings: ${config}` : `Settings: ${config}`) : null,
          ),
          this.canManage
            ? h(
                "div.bot-actions",
                bot.enabled && info && own
                  ? h("button.button.secondary.small", { type: "button", onclick: () => this.showForm(info, bot) }, "Settings")
                  : null,
                bot.enabled && info && inherited
                  ? h("button.button.secondary.small", { type: "button", title: "Give this thread settings of its own", onclick: () => this.showForm(info, null, bot.config) }, "Own settings…")
                  : null,
                bot.enabled
                  ? h("button.button.danger.small", { type: "button", onclick: () => this.disable(bot) }, inherited ? "Disable here" : "Disable")
                  : null,
              )
            : null,
        ),
      );
    }
    this.body.append(list);
    if (!this.canManage) return;
    const enabledHere = new Set(on.filter((b) => b.scope === this.scope).map((b) => b.plugin));
    const choices = all.filter((p) => !enabledHere.has(p.name));
    if (!choices.length) return;
    const select = h(
      "select",
      { "aria-label": "Plugin to enable", name: "plugin" },
      choices.map((p) => h("option", { value: p.name }, `${p.name} — ${p.description || "no description"}`)),
    );
    this.body.append(
      h(
        "div.enable-row",
        select,
        h(
          "button.button.small",
          { type: "button", onclick: () => this.showForm(choices.find((p) => p.name === select.value), null) },
          "Enable…",
        ),
      ),
    );
  }

  /** The config form: `bot` to change its settings, or null to enable (from `start`, if given). */
  showForm(info, bot, start = null) {
    const fields = schemaFields(info.config_schema, bot?.config || start || {});
    const error = h("div.form-error", { role: "alert" });
    const form = h(
      "form.form.bot-form",
      { dataset: { plugin: info.name } },
      h("h3.panel-title", bot ? `Settings of ${info.name} in ${this.here}` : `Enable ${info.name} in ${this.here}`),
      info.commands?.length
        ? h("div.muted.small", "Commands: ", info.commands.map((c) => c.usage || `/${c.name}`).join(", "))
        : null,
      fields.el,
      error,
      h(
        "div.form-actions",
        h("button.button.secondary", { type: "button", onclick: () => this.load() }, "Cancel"),
        h("button.button", { type: "submit" }, bot ? "Save" : "Enable"),
      ),
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.textContent = "";
      let config;
      try {
        config = fields.read();
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      const err = await this.change(() =>
        bot
          ? api("PATCH", `${this.base}/${encodeURIComponent(info.name)}`, { config })
          : api("POST", this.base, { plugin: info.name, config }),
      );
      if (err) {
        // field errors go next to their fields; the rest (or the message) below the form
        const rest = fields.showErrors(err.fields);
        error.textContent = err.fields?.length ? rest.join("\n") : err.message;
      }
    });
    this.form = form;
    clear(this.body).append(form);
    form.querySelector("input, textarea, select")?.focus();
  }

  async disable(bot) {
    if (!(await confirmBox("Disable bot", `Switch ${bot.plugin} off in ${this.here}?`, "Disable"))) return;
    const err = await this.change(() => api("DELETE", `${this.base}/${encodeURIComponent(bot.plugin)}`));
    if (err) toast(err.message);
  }
}

/**
 * A "Bots" button that folds a BotsPanel (made with `options`) in and out of `slot`;
 * `destroy()` removes the panel's subscription.
 */
export function botsToggle(slot, options) {
  let panel = null;
  const close = () => {
    if (!panel) return;
    panel.destroy();
    panel = null;
    clear(slot);
    button.setAttribute("aria-expanded", "false");
  };
  const button = h(
    "button.button.secondary.small.bots-toggle",
    {
      type: "button",
      "aria-expanded": "false",
      onclick: () => {
        if (panel) return close();
        panel = new BotsPanel(options);
        slot.append(panel.el);
        button.setAttribute("aria-expanded", "true");
      },
    },
    "Bots",
  );
  return { button, destroy: close };
}
