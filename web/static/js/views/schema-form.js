// A form generated from a plugin's config JSON Schema (pydantic's output): strings,
// numbers, booleans, enums, optional values (anyOf with null) and lists of strings
// (one per line, or separated by commas). Anything else is edited as JSON.
//
// A list of strings whose schema has "x-venn-options": "/api/v1/..." is offered as
// checkboxes: that URL answers {options: [{value, description?, detail?}], truncated?}
// (docs/plugins.md). Until the options arrive, or when they cannot be read (e.g. the
// user may not list them), the field is the plain list.

import { api } from "../api.js";
import { h } from "../dom.js";

const API_PREFIX = "/api/v1/";
/** Options above this many get a filter box. */
const FILTER_FROM = 8;

function resolve(schema, root) {
  if (schema && schema.$ref && root.$defs) {
    const name = schema.$ref.split("/").pop();
    return { ...root.$defs[name], ...schema, $ref: undefined };
  }
  return schema || {};
}

/** The schema of a property without its null alternative, and whether null is allowed. */
function unwrap(schema, root) {
  schema = resolve(schema, root);
  const options = schema.anyOf || schema.oneOf;
  if (Array.isArray(options)) {
    const real = options.filter((o) => o.type !== "null");
    if (real.length === 1) return { ...resolve(real[0], root), title: schema.title, description: schema.description, default: schema.default, nullable: true };
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== "null");
    if (types.length === 1) return { ...schema, type: types[0], nullable: schema.type.includes("null") };
  }
  return schema;
}

function kindOf(s) {
  if (Array.isArray(s.enum)) return "enum";
  if (s.type === "boolean") return "boolean";
  if (s.type === "integer" || s.type === "number") return "number";
  if (s.type === "string") return "string";
  if (s.type === "array" && (s.items?.type === "string" || s.items?.enum)) return "list";
  return "json";
}

/** Split a list field's text: one per line or comma-separated, blanks dropped. */
export function splitList(text) {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The "x-venn-options" URL of a list field, when it is one of this server's API paths. */
function optionsUrl(s) {
  const url = s["x-venn-options"];
  return typeof url === "string" && url.startsWith(API_PREFIX) && !url.includes("..") ? url : null;
}

/** The ticked options of a field, then the names typed beside them (a partial list). */
function picked(f) {
  const values = f.checks.filter((c) => c.checked).map((c) => c.value);
  for (const typed of f.input.hidden ? [] : splitList(f.input.value)) if (!values.includes(typed)) values.push(typed);
  return values;
}

/** Read a field's options from its URL and show them as checkboxes (the list stays on failure). */
async function offerOptions(f, box, url, label) {
  const note = h("div.field-help.options-note", { "aria-live": "polite" }, "Loading the choices…");
  box.append(note);
  let answer;
  try {
    answer = await api("GET", url.slice(API_PREFIX.length - 1));
  } catch (err) {
    note.textContent = `The choices could not be loaded (${err.message}); type the names instead.`;
    return;
  }
  const options = (Array.isArray(answer?.options) ? answer.options : []).filter((o) => typeof o?.value === "string");
  const current = splitList(f.input.value);
  const offered = new Set(options.map((o) => o.value));
  const others = current.filter((v) => !offered.has(v));
  const rows = options.map((o) => option(f.name, o.value, current.includes(o.value), o.description, o.detail));
  if (answer.truncated) {
    // not every choice is listed: names typed in the list below are kept too
    note.textContent = "Only part of the choices are listed; type any others in the list below.";
    f.input.value = others.join("\n");
  } else {
    note.remove();
    rows.push(...others.map((v) => option(f.name, v, true, null, "not among the choices")));
    f.input.hidden = true;
  }
  if (!rows.length) box.append(h("div.field-help", "There is nothing to choose from."));
  const list = h("div.options-list", rows);
  if (rows.length > FILTER_FROM) {
    const filter = h("input.options-filter", { type: "search", placeholder: "Filter…", "aria-label": `Filter ${label}` });
    filter.addEventListener("input", () => {
      const needle = filter.value.trim().toLowerCase();
      for (const row of rows) row.hidden = Boolean(needle) && !row.textContent.toLowerCase().includes(needle);
    });
    box.append(filter);
  }
  box.append(list);
  f.checks = rows.map((row) => row.querySelector("input"));
}

function option(name, value, checked, description, detail) {
  const notes = [description, detail].filter(Boolean).map(String).join(" · ");
  return h(
    "label.check.option",
    h("input", { type: "checkbox", name, value, checked }),
    h("span.option-text", h("span.option-value", value), notes ? h("span.option-notes", notes) : null),
  );
}

/**
 * Build the form fields for `schema`, filled from `values`. Returns {el, read, showErrors}:
 * `read()` gives the config object (or throws an Error naming a bad field).
 */
export function schemaFields(schema, values = {}) {
  const root = schema || {};
  const props = root.properties || {};
  const required = new Set(root.required || []);
  const fields = [];
  const el = h("div.schema-fields");
  if (!Object.keys(props).length) el.append(h("p.muted", "This plugin has no settings."));
  for (const [name, raw] of Object.entries(props)) {
    const s = unwrap(raw, root);
    const kind = kindOf(s);
    const current = name in values ? values[name] : s.default;
    const id = `cfg-${name}`;
    let input;
    if (kind === "boolean") {
      input = h("input", { type: "checkbox", id, name, checked: Boolean(current) });
    } else if (kind === "enum") {
      input = h(
        "select",
        { id, name },
        s.nullable ? h("option", { value: "" }, "(none)") : null,
        s.enum.map((v) => h("option", { value: String(v), selected: v === current }, String(v))),
      );
    } else if (kind === "number") {
      input = h("input", { type: "number", id, name, step: s.type === "integer" ? 1 : "any", value: current ?? "" });
      const min = s.minimum ?? s.exclusiveMinimum;
      const max = s.maximum ?? s.exclusiveMaximum;
      if (min !== undefined) input.setAttribute("min", String(min));
      if (max !== undefined) input.setAttribute("max", String(max));
    } else if (kind === "string") {
      const long = (s.maxLength || 0) > 200 || s.format === "textarea";
      input = h(long ? "textarea" : "input", { id, name, value: current ?? "" });
      if (s.maxLength) input.setAttribute("maxlength", String(s.maxLength));
    } else if (kind === "list") {
      input = h("textarea", { id, name, rows: 3, value: Array.isArray(current) ? current.join("\n") : "", placeholder: "One per line, or separated by commas" });
    } else {
      input = h("textarea.mono", { id, name, rows: 3, value: current === undefined ? "" : JSON.stringify(current, null, 2) });
    }
    const error = h("div.field-error", { role: "alert" });
    const label = s.title || name;
    const help = s.description ? h("div.field-help", s.description) : null;
    const field = { name, kind, s, input, error, required: required.has(name), checks: null };
    const source = kind === "list" ? optionsUrl(s) : null;
    const choices = source ? h("div.options-field", { role: "group", "aria-label": label }) : null;
    el.append(
      kind === "boolean"
        ? h("div.field", h("label.check", { for: id }, input, label), help, error)
        : h("div.field", h("label", { for: id }, label, required.has(name) ? " *" : ""), choices, input, help, error),
    );
    fields.push(field);
    if (source) offerOptions(field, choices, source, label);
  }

  function read() {
    const config = {};
    for (const f of fields) {
      const v = f.input.type === "checkbox" ? f.input.checked : f.input.value;
      if (f.kind === "boolean") config[f.name] = v;
      else if (f.kind === "number") {
        if (v === "") {
          if (f.s.nullable) config[f.name] = null;
          continue;
        }
        config[f.name] = Number(v);
      } else if (f.kind === "list") config[f.name] = f.checks ? picked(f) : splitList(v);
      else if (f.kind === "json") {
        if (!v.trim()) continue;
        try {
          config[f.name] = JSON.parse(v);
        } catch {
          throw new Error(`${f.name}: not valid JSON`);
        }
      } else if (v === "" && f.s.nullable) config[f.name] = null;
      else if (v !== "" || f.required || f.kind === "string") config[f.name] = v;
    }
    return config;
  }

  /** Show the server's validation errors ({field: "config.name", message}) by their fields. */
  function showErrors(list = []) {
    for (const f of fields) f.error.textContent = "";
    const rest = [];
    for (const item of list) {
      const name = String(item.field || "").replace(/^config\./, "").split(".")[0];
      const f = fields.find((x) => x.name === name);
      if (f) f.error.textContent = item.message;
      else rest.push(`${item.field}: ${item.message}`);
    }
    return rest;
  }

  return { el, read, showErrors };
}
