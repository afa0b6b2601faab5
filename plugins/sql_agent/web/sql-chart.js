// The chart of a `sql_result`: the Vega-Lite specification the server built
// (`payload.chart`, data inline), drawn by vega-embed. Nothing here writes chart code:
// the page only draws what Venn's server made from the result's columns.
//
// The libraries are npm packages installed in this folder at set-up (`make web`:
// node_modules next to this file) and served with it. Their UMD builds are loaded, in
// order, with import(): each sets a global (vega, vegaLite, vegaEmbed). The ES module
// builds import bare names ("vega-util"), which only an import map resolves, and an
// import map is an inline script, which the page's Content-Security-Policy forbids.
//
// That CSP has no 'unsafe-eval' either: with `ast: true` Vega parses expressions into
// syntax trees and vega-embed evaluates them with vega-interpreter (part of its build)
// instead of compiling them into JavaScript functions at run time.

const BUILDS = [
  "node_modules/vega/build/vega.min.js",
  "node_modules/vega-lite/build/vega-lite.min.js",
  "node_modules/vega-embed/build/vega-embed.min.js",
];

let loading = null;

/** vega-embed's `embed` function, once its three builds are loaded (a rejected promise without them). */
export function loadVegaEmbed() {
  loading ??= (async () => {
    for (const path of BUILDS) await import(new URL(path, import.meta.url).href);
    if (typeof globalThis.vegaEmbed !== "function") throw new Error("vega-embed did not load");
    return globalThis.vegaEmbed;
  })();
  return loading;
}

/**
 * Whether `spec` is a chart this renderer draws: a Vega-Lite object with its data inline.
 * Anything else (data from a URL, embed options carried in the spec) is left undrawn.
 */
export function isDrawable(spec) {
  return (
    spec !== null &&
    typeof spec === "object" &&
    !Array.isArray(spec) &&
    !("usermeta" in spec) &&
    spec.data !== null &&
    typeof spec.data === "object" &&
    Array.isArray(spec.data.values) &&
    Object.keys(spec.data).length === 1
  );
}

/** Draw `spec` into `box` (as SVG); resolves to the Vega view, rejects when the libraries are missing. */
export async function drawChart(box, spec, { h, clear }) {
  const embed = await loadVegaEmbed();
  const view = h("div.sql-chart-view");
  const tip = h("div.sql-chart-tip", { hidden: true });
  clear(box);
  box.append(view, tip);
  const result = await embed(view, spec, {
    mode: "vega-lite",
    renderer: "svg",
    actions: false, // no export menu (its styles and icons are inline)
    defaultStyle: false, // vega-embed's stylesheet is an inline <style>: ours is sql-result.css
    ast: true, // CSP-safe expressions: interpreted by vega-interpreter, never compiled
    tooltip: tooltips(tip, box, h),
  });
  return result.view;
}

/** A Vega tooltip handler that writes the tooltip as text (vega-tooltip's builds HTML). */
function tooltips(tip, box, h) {
  return (_handler, event, _item, value) => {
    if (value === null || value === undefined || value === "") {
      tip.hidden = true;
      return;
    }
    const lines =
      typeof value === "object"
        ? Object.entries(value).map(([key, v]) => h("div", h("span.sql-chart-key", `${key}: `), String(v)))
        : [h("div", String(value))];
    tip.replaceChildren(...lines);
    tip.hidden = false;
    const area = box.getBoundingClientRect();
    // CSSOM properties, not a style attribute: allowed by the CSP
    tip.style.left = `${Math.max(0, Math.min(event.clientX - area.left + 12, area.width - tip.offsetWidth))}px`;
    tip.style.top = `${Math.max(0, event.clientY - area.top + 12)}px`;
  };
}
