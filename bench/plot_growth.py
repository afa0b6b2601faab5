"""`python -m bench.plot_growth [--results DIR] [--out DIR] [--tables]`: draw bench_growth's JSON as PNGs.

Reads growth-rooms.json, growth-sockets.json and growth-data.json (those present) from
bench/results/ and writes docs/growth-rooms.png, docs/growth-sockets.png and
docs/growth-history-search.png: Vega-Lite specifications rendered by vl-convert (a
project dependency), medians as lines and the range over the rounds as bars.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.common import RESULTS

DOCS = Path(__file__).parent.parent / "docs"
WIDTH, HEIGHT = 300, 220


def _panel(title: str, values: list[dict[str, Any]], x: dict[str, Any], y: dict[str, Any],
           colour: str, dash: str | None = None) -> dict[str, Any]:
    """Lines and points of the medians, a bar from the lowest to the highest round."""
    encoding: dict[str, Any] = {"x": x, "color": {"field": colour, "type": "nominal", "title": None}}
    line: dict[str, Any] = {"y": y}
    if dash:  # a second series field: dashed lines and its own point shapes (a lone point has no dash)
        line["strokeDash"] = {"field": dash, "type": "nominal", "title": None, "legend": None}
        line["shape"] = {"field": dash, "type": "nominal", "title": None}
    field = y["field"]
    return {
        "title": title, "width": WIDTH, "height": HEIGHT, "data": {"values": values}, "encoding": encoding,
        "layer": [
            {"mark": {"type": "line", "point": True}, "encoding": line},
            {"mark": {"type": "rule"}, "encoding": {"y": {"field": f"{field}_min", "type": "quantitative"},
                                                    "y2": {"field": f"{field}_max"}}},
        ],
    }


def _log(field: str, title: str, ticks: list[int] | None = None) -> dict[str, Any]:
    """A log axis; ``ticks``: the sizes measured, labelled 100k, 1M... (the default labels collide)."""
    axis = {"values": ticks, "format": "~s"} if ticks else {}
    return {"field": field, "type": "quantitative", "title": title, "scale": {"type": "log"}, "axis": axis}


def _linear(field: str, title: str) -> dict[str, Any]:
    return {"field": field, "type": "quantitative", "title": title, "scale": {"zero": True}}


def _figure(title: str, panels: list[dict[str, Any]], colours: str = "independent") -> dict[str, Any]:
    """``colours``: "shared" when the panels show the same series (one colour each throughout)."""
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": {"text": title, "fontSize": 14}, "background": "white", "padding": 12,
        "hconcat": panels,
        "resolve": {"scale": {"color": colours, "strokeDash": "independent", "shape": "independent"}},
        "config": {"legend": {"orient": "bottom", "columns": 1, "labelLimit": 320, "symbolType": "stroke",
                              "symbolStrokeWidth": 2, "symbolSize": 200}},
    }


def _with_range(row: dict[str, Any], field: str, name: str) -> dict[str, Any]:
    spread = row.get(field) or {}
    return {name: spread.get("median"), f"{name}_min": spread.get("min"), f"{name}_max": spread.get("max")}


def rooms_spec(result: dict[str, Any], others: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``others``: fixed-rate runs at other rates (growth-rooms-RATE.json), drawn in the p99 panel."""
    rate = [{"system": r["system"], "rate": f"{run['rate']:g} msg/s", "members": r["members"],
             **_with_range(r, "p99", "p99")}
            for run in [result, *(others or [])] for r in run["rows"] if r["mode"] == "rate"]
    full = [{"system": r["system"], "members": r["members"], **_with_range(r, "per_s", "per_s")}
            for r in result["rows"] if r["mode"] == "full"]
    members = _log("members", "room members (log)", sorted({r["members"] for r in result["rows"]}))
    return _figure(
        f"One room, one process: cost by room size (median of {result['runs']} rounds, bars: range)",
        [_panel("Broadcast p99 at a fixed send rate", rate, members,
                _log("p99", "send → receive p99, ms (log)"), "system", dash="rate"),
         _panel("Deliveries/s at full speed (4 senders, acked)", full, members,
                _log("per_s", "messages delivered per second (log)"), "system")], colours="shared")


def sockets_spec(result: dict[str, Any]) -> dict[str, Any]:
    rows = result["rows"]
    x = _linear("idle_sockets", "idle sockets on the process")
    kib = [{"series": "RSS delta / sockets", "idle_sockets": r["idle_sockets"], **_with_range(r, "kib", "kib")}
           for r in rows if r.get("kib")]
    rss = [{"series": "server RSS", "idle_sockets": r["idle_sockets"], "rss": r["rss_mib"], "rss_min": r["rss_mib"],
            "rss_max": r["rss_mib"]} for r in rows]
    p99 = [{"series": f"{result['listeners']} listeners, {result['rate']} msg/s", "idle_sockets": r["idle_sockets"],
            **_with_range(r, "p99", "p99")} for r in rows]
    return _figure(
        f"Idle sockets on one process (embedded defaults; median of {result['runs']} rounds, bars: range)",
        [_panel("Memory per socket", kib, x, _linear("kib", "KiB per socket"), "series"),
         _panel("Server memory", rss, x, _linear("rss", "resident memory, MiB"), "series"),
         _panel("A small room's broadcast p99", p99, x, _linear("p99", "send → receive p99, ms"), "series")])


def data_spec(result: dict[str, Any]) -> dict[str, Any]:
    values = []
    for r in result["rows"]:
        bare = not r["system"].startswith("Venn")
        values.append({"series": f"{r['what']}: {'bare SQL' if bare else 'Venn (HTTP)'}", "what": r["what"],
                       "kind": "bare SQL query" if bare else "Venn over HTTP", "messages": r["messages"],
                       **_with_range(r, "p99", "p99")})
    return _figure(
        f"PostgreSQL: history and search by stored messages (median of {result['runs']} rounds, bars: range)",
        [_panel("p99 of a history page and of a search", values,
                _log("messages", "messages stored (log)", sorted({v["messages"] for v in values})),
                _log("p99", "p99, ms (log)"), "what", dash="kind")])


FIGURES = {
    "growth-rooms.json": ("growth-rooms.png", rooms_spec),
    "growth-sockets.json": ("growth-sockets.png", sockets_spec),
    "growth-data.json": ("growth-history-search.png", data_spec),
}


def draw(results: Path = RESULTS, out: Path = DOCS) -> list[Path]:
    """Write a PNG for each growth JSON in ``results``; returns the files written."""
    import vl_convert

    written = []
    out.mkdir(parents=True, exist_ok=True)
    for source, (target, spec) in FIGURES.items():
        path = results / source
        if not path.exists():
            continue
        result = json.loads(path.read_text())
        if spec is rooms_spec:
            others = sorted(results.glob("growth-rooms-*.json"))
            figure = rooms_spec(result, [json.loads(p.read_text()) for p in others])
        else:
            figure = spec(result)
        png = vl_convert.vegalite_to_png(figure, scale=2, allowed_base_urls=[])
        (out / target).write_bytes(bytes(png))
        written.append(out / target)
    return written


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and abs(value) < 100:
        return f"{value:,.{digits}f}"
    return f"{value:,.0f}" if isinstance(value, (int, float)) else str(value)


def _span(spread: dict[str, Any] | None, digits: int = 1) -> str:
    """``median (min-max)`` of one figure over the rounds."""
    if not spread:
        return ""
    return f"{_num(spread['median'], digits)} ({_num(spread['min'], digits)}–{_num(spread['max'], digits)})"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def tables(results: Path = RESULTS) -> str:
    """The growth results as Markdown tables (medians, the range over the rounds in brackets)."""
    out = []
    path = results / "growth-rooms.json"
    if path.exists():
        r = json.loads(path.read_text())
        out.append(_table(
            ["system", "members", "mode", "sent/s", "delivered/s (range)", "delivered", "p50 ms", "p99 ms (range)"],
            [[x["system"], f"{x['members']:,}", x["mode"], _num(x["sent_per_s"]), _span(x["per_s"], 0),
              f"{x['delivered_pct']:g} %", _num(x["p50_ms"]), _span(x["p99"])] for x in r["rows"]]))
    for path in sorted(results.glob("growth-rooms-*.json")):
        r = json.loads(path.read_text())
        out.append(_table(
            ["system", "members", "rate msg/s", "delivered/s (range)", "delivered", "p50 ms", "p99 ms (range)"],
            [[x["system"], f"{x['members']:,}", f"{r['rate']:g}", _span(x["per_s"], 0), f"{x['delivered_pct']:g} %",
              _num(x["p50_ms"]), _span(x["p99"])] for x in r["rows"]]))
    path = results / "growth-sockets.json"
    if path.exists():
        r = json.loads(path.read_text())
        out.append(_table(
            ["idle sockets", "failed", "server RSS MiB", "KiB per socket (range)", "delivered", "p50 ms",
             "p99 ms (range)"],
            [[f"{x['idle_sockets']:,}", str(x.get("failed", "")), _num(x["rss_mib"], 0), _span(x.get("kib")),
              f"{x['delivered_pct']:g} %", _num(x["p50_ms"]), _span(x["p99"])] for x in r["rows"]]))
    path = results / "growth-data.json"
    if path.exists():
        r = json.loads(path.read_text())
        out.append(_table(
            ["messages", "what", "system", "hits", "p50 ms", "p99 ms (range)"],
            [[f"{x['messages']:,}", x["what"], x["system"], _num(x.get("hits")), _num(x["p50_ms"], 2),
              _span(x["p99"], 2)] for x in r["rows"]]))
        out.append(_table(["messages", "rows added", "load + index + VACUUM ANALYZE, s"],
                          [[f"{x['messages']:,}", f"{x['added']:,}", _num(x["load_s"])] for x in r["loads"]]))
    path = results / "growth-ceilings.json"
    if path.exists():
        r = json.loads(path.read_text())
        if r.get("redis"):
            out.append(_table(["subscribers", "PUBLISH/s (range)", "messages out of Redis/s"],
                              [[str(x["subscribers"]), f"{_num(x['publish_per_s'])} ({x['publish_range']})",
                                _num(x["delivered_per_s"])] for x in r["redis"]]))
        if r.get("postgres"):
            out.append(_table(["system", "rows/s", "p50 ms", "p99 ms"],
                              [[x["system"], _num(x["rows_per_s"]), _num(x["p50_ms"]), _num(x["p99_ms"])]
                               for x in r["postgres"]]))
    return "\n\n".join(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.plot_growth")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where growth-*.json are")
    parser.add_argument("--out", type=Path, default=DOCS, help="where the PNGs go")
    parser.add_argument("--tables", action="store_true", help="print the results as Markdown tables too")
    args = parser.parse_args()
    if args.tables:
        print(tables(args.results) + "\n")
    files = draw(args.results, args.out)
    print("\n".join(str(f) for f in files) if files else f"no growth-*.json in {args.results}")
