// The SQL agent's curated knowledge in the web client: a panel in the sidebar's "Tools"
// (for admins) to list, filter, add, edit and delete what the agent is told about the
// warehouse: table and column descriptions, glossary terms, verified examples. It talks
// to /api/v1/sql/knowledge through helpers.request (docs/sql-agent.md, "Knowledge").
// Text only: every value goes into the page through the helpers, never as HTML.

const KINDS = [
  ["table", "Table"],
  ["column", "Column"],
  ["glossary", "Glossary term"],
  ["example", "Verified example"],
];
const KIND_LABEL = Object.fromEntries(KINDS);
// the fields each kind uses; an example's description is an optional note
const FIELDS = {
  table: ["table", "description"],
  column: ["table", "column", "description"],
  glossary: ["term", "description"],
  example: ["question", "sql", "description"],
};
const PAGE = 50;
let opened = 0; // ids of the labelled controls, unique per opening

export default function register(venn) {
  venn.addStylesheet(new URL("knowledge.css", import.meta.url));
  venn.registerPanel({ id: "sql-knowledge", label: "SQL knowledge", admin: true, open: openPanel });
}

function title(entry) {
  if (entry.kind === "column") return `${entry.table}.${entry.column}`;
  if (entry.kind === "glossary") return entry.term;
  if (entry.kind === "example") return entry.question;
  return entry.table;
}

function errorText(err) {
  return [err.message, ...(err.fields || []).map((f) => `${f.field}: ${f.message}`)].join("\n");
}

function openPanel(body, helpers) {
  const { h, clear, request, plural } = helpers;
  let editing = null; // the entry being edited, or null: the form adds one
  let oldest = null; // the id to page from
  const prefix = `sql-knowledge-${++opened}`;
  // a label tied to its control by id (a wrapping label would name a <select> by its options too)
  const field = (name, text, control) => {
    control.id = `${prefix}-${name}`;
    return h("div.knowledge-field", h("label", { for: control.id }, text), control);
  };

  // What the list shows ---------------------------------------------------------------
  const about = h("p.muted.knowledge-about", "Loading…");
  const kindFilter = h("select", { name: "kind" }, h("option", { value: "" }, "All kinds"),
    KINDS.map(([value, label]) => h("option", { value }, label)));
  const search = h("input", { type: "search", name: "q", maxlength: 200, placeholder: "Words in any field" });
  const filter = h("form.knowledge-filter", { role: "search", "aria-label": "Filter the knowledge" },
    field("filter-kind", "Kind", kindFilter), field("filter-q", "Search", search),
    h("button.button.secondary.small", { type: "submit" }, "Filter"));
  const list = h("ul.knowledge-list", { "aria-label": "Knowledge entries" });
  const more = h("button.button.secondary.small", { type: "button", hidden: true, onclick: () => load(true) }, "Show more");
  const status = h("div.knowledge-status", { role: "status", "aria-live": "polite" });

  // The form ---------------------------------------------------------------------------
  const kind = h("select", { name: "kind" }, KINDS.map(([value, label]) => h("option", { value }, label)));
  const inputs = {
    table: h("input", { name: "table", maxlength: 400, autocomplete: "off", placeholder: "orders, SCHEMA.TABLE or DB.SCHEMA.TABLE" }),
    column: h("input", { name: "column", maxlength: 200, autocomplete: "off" }),
    term: h("input", { name: "term", maxlength: 200, autocomplete: "off", placeholder: "e.g. active customer" }),
    question: h("textarea", { name: "question", rows: 2, maxlength: 4000 }),
    sql: h("textarea.knowledge-sql", { name: "sql", rows: 5, maxlength: 20000, spellcheck: "false" }),
    description: h("textarea", { name: "description", rows: 3, maxlength: 4000 }),
  };
  const descriptionLabel = h("span", "Description");
  const labels = {
    table: field("table", "Table", inputs.table),
    column: field("column", "Column", inputs.column),
    term: field("term", "Term", inputs.term),
    question: field("question", "Question", inputs.question),
    sql: field("sql", "SQL", inputs.sql),
    description: field("description", descriptionLabel, inputs.description),
  };
  const formTitle = h("h3.knowledge-form-title", "Add an entry");
  const error = h("div.form-error", { role: "alert" });
  const save = h("button.button", { type: "submit" }, "Save");
  const cancel = h("button.button.secondary", { type: "button", hidden: true, onclick: () => reset() }, "Cancel edit");
  formTitle.id = `${prefix}-form-title`;
  const form = h("form.form.knowledge-form", { "aria-labelledby": formTitle.id },
    field("kind", "Kind", kind), Object.values(labels), error, h("div.form-actions", cancel, save));

  function showFields() {
    const used = FIELDS[kind.value];
    for (const [name, label] of Object.entries(labels)) label.hidden = !used.includes(name);
    descriptionLabel.textContent = kind.value === "example" ? "Note (optional)" : "Description";
  }

  function reset() {
    editing = null;
    form.reset();
    kind.disabled = false;
    formTitle.textContent = "Add an entry";
    cancel.hidden = true;
    error.textContent = "";
    showFields();
  }

  function edit(entry) {
    editing = entry;
    kind.value = entry.kind;
    kind.disabled = true; // an entry keeps its kind
    for (const [name, input] of Object.entries(inputs)) input.value = entry[name] ?? "";
    formTitle.textContent = `Edit: ${title(entry)}`;
    cancel.hidden = false;
    error.textContent = "";
    showFields();
    FIELDS[entry.kind].map((name) => inputs[name])[0].focus();
  }

  function values() {
    const out = {};
    for (const name of FIELDS[kind.value]) {
      const text = inputs[name].value.trim();
      if (text || editing || name !== "description") out[name] = text;
    }
    return out;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    save.disabled = true;
    try {
      if (editing) await request("PATCH", `/sql/knowledge/${editing.id}`, values());
      else await request("POST", "/sql/knowledge", { kind: kind.value, ...values() });
      status.textContent = editing ? "Entry saved." : "Entry added.";
      reset();
      await load(false);
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      save.disabled = false;
    }
  });
  kind.addEventListener("change", showFields);

  // Entries ----------------------------------------------------------------------------
  function actions(entry, name) {
    const box = h("div.knowledge-actions");
    const normal = () => {
      clear(box).append(
        h("button.button.secondary.small", { type: "button", "aria-label": `Edit ${name}`, onclick: () => edit(entry) }, "Edit"),
        h("button.button.secondary.small", { type: "button", "aria-label": `Delete ${name}`, onclick: confirm }, "Delete"),
      );
    };
    const confirm = () => {
      const keep = h("button.button.secondary.small", { type: "button", onclick: () => { normal(); box.querySelector("button").focus(); } }, "Keep");
      clear(box).append(
        h("span", "Delete this entry?"),
        h("button.button.danger.small", { type: "button", "aria-label": `Really delete ${name}`, onclick: () => remove(entry) }, "Delete"),
        keep,
      );
      keep.focus();
    };
    normal();
    return box;
  }

  async function remove(entry) {
    try {
      await request("DELETE", `/sql/knowledge/${entry.id}`);
      status.textContent = "Entry deleted.";
      if (editing?.id === entry.id) reset();
      await load(false);
    } catch (err) {
      status.textContent = errorText(err);
    }
  }

  function item(entry) {
    const name = title(entry) || `entry ${entry.id}`;
    return h("li.knowledge-entry", { dataset: { id: entry.id, kind: entry.kind } },
      h("div.knowledge-head", h("span.knowledge-kind", KIND_LABEL[entry.kind] || entry.kind), h("strong", name)),
      entry.description ? h("p.knowledge-description", entry.description) : null,
      entry.sql ? h("pre.knowledge-sql", h("code", entry.sql)) : null,
      actions(entry, name));
  }

  async function load(next) {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (kindFilter.value) params.set("kind", kindFilter.value);
    if (search.value.trim()) params.set("q", search.value.trim());
    if (next && oldest) params.set("before", String(oldest));
    try {
      const page = await request("GET", `/sql/knowledge?${params}`);
      if (!next) clear(list);
      for (const entry of page.entries) list.append(item(entry));
      oldest = page.entries.length ? page.entries[page.entries.length - 1].id : oldest;
      more.hidden = !page.has_more;
      const shown = list.children.length;
      about.textContent = page.warehouse
        ? `Warehouse: ${page.warehouse}. ${plural(shown, "entry", "entries")} shown. The agent gets the entries that fit a question, over the tables its thread may read.`
        : `${plural(shown, "entry", "entries")} shown.`;
      if (!shown) list.append(h("li.muted", "No entries yet."));
    } catch (err) {
      about.textContent = errorText(err);
    }
  }

  filter.addEventListener("submit", (event) => {
    event.preventDefault();
    load(false);
  });
  kindFilter.addEventListener("change", () => load(false));

  body.append(h("div.knowledge", about, filter, list, more, status, formTitle, form));
  reset();
  load(false);
}
