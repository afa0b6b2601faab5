// The bots of a thread (admins): which plugins are on here, enable one with a config
// form made from its JSON Schema, change its config, or disable it.

import { api } from "../api.js";
import { store } from "../store.js";
import { h, clear } from "../dom.js";
import { schemaFields } from "./schema-form.js";
import { confirmBox, toast } from "./dialog.js";

async function plugins() {
  if (!store.plugins) store.plugins = (await api("GET", "/plugins")).plugins;
  return store.plugins;
}

export class BotsPanel {
  constructor(threadId) {
    this.threadId = threadId;
    this.body = h("div.bots-body", h("p.muted", "Loading…"));
    this.el = h("section.bots-panel", { "aria-label": "Bots in this thread" }, this.body);
    this.unsubscribe = store.on("bots", (id) => {
      if (id === threadId && !this.form) this.load();
    });
    this.form = null;
    this.load();
  }

  destroy() {
    this.unsubscribe();
  }

  async load() {
    try {
      const [all, { bots }] = await Promise.all([plugins(), api("GET", `/threads/${this.threadId}/bots`)]);
      this.render(all, bots);
    } catch (err) {
      clear(this.body).append(h("p.form-error", err.message));
    }
  }

  render(all, bots) {
    this.form = null;
    clear(this.body);
    const on = bots.filter((b) => b.enabled);
    this.body.append(h("h3.panel-title", "Bots in this thread"));
    if (!on.length) this.body.append(h("p.muted", "No bot is on here."));
    const list = h("ul.bot-list");
    for (const bot of bots) {
      const info = all.find((p) => p.name === bot.plugin);
      list.append(
        h(
          `li.bot-item${bot.enabled ? "" : ".off"}`,
          { dataset: { plugin: bot.plugin } },
          h(
            "div.bot-info",
            h("strong", bot.plugin),
            h("span.muted.small", bot.enabled ? ` on (${bot.scope === "channel" ? "whole channel" : "this thread"})` : " off in this thread"),
            info?.description ? h("div.muted.small", info.description) : null,
          ),
          store.isAdmin()
            ? h(
                "div.bot-actions",
                bot.enabled && info && bot.scope === "thread"
                  ? h("button.button.secondary.small", { type: "button", onclick: () => this.showForm(info, bot) }, "Settings")
                  : null,
                bot.enabled
                  ? h("button.button.danger.small", { type: "button", onclick: () => this.disable(bot) }, "Disable")
                  : null,
              )
            : null,
        ),
      );
    }
    this.body.append(list);
    if (!store.isAdmin()) return;
    const enabledHere = new Set(on.filter((b) => b.scope === "thread").map((b) => b.plugin));
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

  showForm(info, bot) {
    const fields = schemaFields(info.config_schema, bot?.config || {});
    const error = h("div.form-error", { role: "alert" });
    const form = h(
      "form.form.bot-form",
      { dataset: { plugin: info.name } },
      h("h3.panel-title", bot ? `Settings of ${info.name}` : `Enable ${info.name}`),
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
      try {
        if (bot) await api("PATCH", `/threads/${this.threadId}/bots/${encodeURIComponent(info.name)}`, { config });
        else await api("POST", `/threads/${this.threadId}/bots`, { plugin: info.name, config });
        this.form = null;
        await this.load();
      } catch (err) {
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
    if (!(await confirmBox("Disable bot", `Switch ${bot.plugin} off in this thread?`, "Disable"))) return;
    try {
      await api("DELETE", `/threads/${this.threadId}/bots/${encodeURIComponent(bot.plugin)}`);
      await this.load();
    } catch (err) {
      toast(err.message);
    }
  }
}
