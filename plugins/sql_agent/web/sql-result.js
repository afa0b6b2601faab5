// The SQL agent in the web client: a `sql_result` payload drawn as a table (its SQL
// folded away, the row count, a CSV download), and the agent's "Running SQL…" progress
// with the statement. Loaded by the page after sign-in (served at /plugins/sql/);
// the contract is in docs/plugins.md, "Drawing your payloads in the web client".
// Text only: every value goes into the page through the helpers, never as HTML.
// A result with a chart (`payload.chart`, built by the server) shows the chart first,
// with a button that switches to the table and back (sql-chart.js draws it).

import { drawChart, isDrawable } from "./sql-chart.js";

import registerKnowledge from "./knowledge.js";

const MAX_ROWS_SHOWN = 500;

export default function register(venn) {
  venn.addStylesheet(new URL("sql-result.css", import.meta.url));
  venn.registerRenderer("sql_result", drawResult, { body: withoutResultCopy });
  venn.registerProgress(drawProgress);
  registerKnowledge(venn); // the curated knowledge's panel (knowledge.js)
}

/**
 * The answer's own text. The body ends with a Markdown copy of the result (the fenced
 * SQL, a table, a summary) for clients that do not draw payloads; the table replaces it.
 */
function withoutResultCopy(body) {
  const cut = body.indexOf("```sql");
  return cut >= 0 ? body.slice(0, cut).trim() : body;
}

function cell(h, value) {
  if (value === null || value === undefined) return h("td.null", "NULL");
  if (typeof value === "number") return h("td.num", String(value));
  if (typeof value === "object") return h("td", JSON.stringify(value));
  return h("td", String(value));
}

function csvLink({ h, download }, p) {
  if (typeof p.csv_url !== "string" || !p.csv_url) return null;
  const filename = `query-${p.query_id ?? "result"}.csv`;
  const status = h("span.csv-status");
  const link = h(
    "a.csv-link",
    {
      href: p.csv_url,
      download: filename,
      onclick: (event) => {
        // the CSV needs the bearer token: fetched by download(), which refuses other servers
        event.preventDefault();
        status.textContent = "Downloading…";
        download(p.csv_url, filename).then(
          () => (status.textContent = ""),
          (err) => (status.textContent = err.message),
        );
      },
    },
    "Download CSV",
  );
  return h("span", link, " ", status);
}

function drawResult(p, helpers) {
  const { h, plural } = helpers;
  const columns = Array.isArray(p.columns) ? p.columns : [];
  const rows = Array.isArray(p.rows) ? p.rows : [];
  const count = Number.isFinite(p.row_count) ? p.row_count : rows.length;
  const table = h(
    "table.result-table",
    h("thead", h("tr", columns.map((c) => h("th", { scope: "col" }, String(c))))),
    h(
      "tbody",
      rows.slice(0, MAX_ROWS_SHOWN).map((row) => h("tr", (Array.isArray(row) ? row : [row]).map((v) => cell(h, v)))),
    ),
  );
  const facts = [plural(count, "row")];
  if (p.truncated) facts.push("truncated");
  if (Number.isFinite(p.elapsed_ms)) facts.push(`${p.elapsed_ms} ms`);
  const tableView =
    rows.length || columns.length
      ? h("div.table-wrap", { tabindex: "0", role: "region", "aria-label": "Query result" }, table)
      : h("div.muted", "No rows.");
  return h(
    "div.sql-result",
    p.question ? h("div.sql-question", String(p.question)) : null,
    p.sql ? h("details.sql-block", h("summary", "SQL"), h("pre", h("code", String(p.sql)))) : null,
    isDrawable(p.chart) ? chartAndTable(p.chart, tableView, helpers) : tableView,
    h("div.sql-footer", h("span.row-count", facts.join(" · ")), csvLink(helpers, p), verifyButton(helpers, p)),
  );
}

/**
 * The chart, with a button that shows the table instead (and back). Without the chart
 * libraries (their npm packages not installed) the table stays, without the button.
 */
function chartAndTable(spec, tableView, helpers) {
  const { h } = helpers;
  const chart = h("figure.sql-chart", { "aria-label": String(spec.description || "Chart of the result") },
    h("p.muted", "Drawing the chart…"));
  tableView.hidden = true;
  const toggle = h(
    "button.sql-view-toggle",
    {
      type: "button",
      onclick: () => {
        const showTable = tableView.hidden;
        tableView.hidden = !showTable;
        chart.hidden = showTable;
        toggle.textContent = showTable ? "Show chart" : "Show table";
      },
    },
    "Show table",
  );
  const bar = h("div.sql-views", toggle);
  drawChart(chart, spec, helpers).catch((err) => {
    console.warn("sql: the chart could not be drawn; showing the table", err);
    bar.remove();
    chart.remove();
    tableView.hidden = false;
  });
  return [bar, chart, tableView];
}

/** Admins: save the question and its SQL as a verified example of the curated knowledge. */
function verifyButton({ h, request, user }, p) {
  if (user()?.role !== "admin" || !p.question || !p.sql || !Number.isInteger(p.query_id)) return null;
  const status = h("span.verify-status", { role: "status" });
  const button = h(
    "button.verify-button",
    {
      type: "button",
      onclick: () => {
        button.disabled = true;
        status.textContent = "Saving…";
        request("POST", `/queries/${p.query_id}/verify`).then(
          () => {
            button.hidden = true;
            status.textContent = "Saved as a verified example.";
          },
          (err) => {
            button.disabled = false;
            status.textContent = err.message;
          },
        );
      },
    },
    "Save as verified example",
  );
  return h("span", button, " ", status);
}

/** While the agent runs a statement, say so, with the statement (the rest: the core's labels). */
function drawProgress(item, { h }) {
  if (item.status !== "running_sql") return null;
  return [
    h("span.llm-status", "Running SQL…"),
    item.message ? h("div.llm-message", String(item.message)) : null,
    item.sql ? h("pre.llm-sql", h("code", String(item.sql))) : null,
  ];
}
