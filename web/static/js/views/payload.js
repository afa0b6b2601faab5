// Structured bot output (a message's `payload`): the SQL agent's result table, the
// agent's progress, and a plain JSON view for anything else. Text only, never HTML.

import { download } from "../api.js";
import { h, plural } from "../dom.js";

const MAX_ROWS_SHOWN = 500;

export function renderPayload(payload) {
  if (!payload || typeof payload !== "object") return null;
  if (payload.type === "sql_result") return sqlResult(payload);
  return h(
    "details.payload-raw",
    h("summary", "Data"),
    h("pre", JSON.stringify(payload, null, 2)),
  );
}

function cell(value) {
  if (value === null || value === undefined) return h("td.null", "NULL");
  if (typeof value === "number") return h("td.num", String(value));
  if (typeof value === "object") return h("td", JSON.stringify(value));
  return h("td", String(value));
}

function sqlResult(p) {
  const columns = Array.isArray(p.columns) ? p.columns : [];
  const rows = Array.isArray(p.rows) ? p.rows : [];
  const count = Number.isFinite(p.row_count) ? p.row_count : rows.length;
  const shown = rows.slice(0, MAX_ROWS_SHOWN);
  const table = h(
    "table.result-table",
    h("thead", h("tr", columns.map((c) => h("th", { scope: "col" }, String(c))))),
    h(
      "tbody",
      shown.map((row) => h("tr", (Array.isArray(row) ? row : [row]).map(cell))),
    ),
  );
  const facts = [plural(count, "row")];
  if (p.truncated) facts.push("truncated");
  if (Number.isFinite(p.elapsed_ms)) facts.push(`${p.elapsed_ms} ms`);
  let csv = null;
  if (typeof p.csv_url === "string" && p.csv_url) {
    const status = h("span.csv-status");
    csv = h(
      "a.csv-link",
      {
        href: p.csv_url,
        download: `query-${p.query_id ?? "result"}.csv`,
        onclick: (event) => {
          event.preventDefault();
          status.textContent = "Downloading…";
          download(p.csv_url, `query-${p.query_id ?? "result"}.csv`).then(
            () => (status.textContent = ""),
            (err) => (status.textContent = err.message),
          );
        },
      },
      "Download CSV",
    );
    csv = h("span", csv, " ", status);
  }
  return h(
    "div.sql-result",
    p.question ? h("div.sql-question", String(p.question)) : null,
    p.sql ? h("details.sql-block", h("summary", "SQL"), h("pre", h("code", String(p.sql)))) : null,
    rows.length || columns.length ? h("div.table-wrap", table) : h("div.muted", "No rows."),
    h("div.sql-footer", h("span.row-count", facts.join(" · ")), csv),
  );
}

const STATUS_TEXT = {
  thinking: "Thinking…",
  running_sql: "Running SQL…",
  error: "The agent ran into a problem",
};

/** The agent's progress on one question (an llm_response), shown where its answer will go. */
export function renderProgress(item) {
  const text = STATUS_TEXT[item.status] || String(item.status || "Working…");
  return h(
    `div.llm-progress.status-${String(item.status).replace(/[^a-z_]/g, "")}`,
    item.status === "error" ? null : h("span.spinner", { "aria-hidden": "true" }),
    h("span.llm-status", text),
    item.message ? h("div.llm-message", String(item.message)) : null,
    item.sql ? h("pre.llm-sql", h("code", String(item.sql))) : null,
  );
}
