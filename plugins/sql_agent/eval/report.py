"""What an eval run prints and writes: progress lines, totals, the JSON file, a chart.

The JSON file (``sql-eval_<date>_<model>[_knowledge].json``) holds the run's settings,
the totals and every question's score; the chart beside it (same name, ``.svg``) is a
bar per category with its share of right answers. SVG is written by hand: a picture
costs no dependency.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from xml.sax.saxutils import escape

if TYPE_CHECKING:
    from venn_plugins.sql_agent.eval.harness import QuestionScore

__all__ = ["FORMAT", "progress_line", "results_path", "summarize", "svg_chart", "totals_lines", "write_results"]

#: the version of the JSON file's layout
FORMAT = 1
#: how a reason is clipped in a progress line
MAX_REASON_CHARS = 160


def progress_line(n: int, total: int, score: QuestionScore) -> str:
    """``[ 3/60] right  orders-per-status (aggregate): 2 steps, 30 tokens, 0.4 s``, and for
    a question not answered right ``; <why>`` after it."""
    width = len(str(total))
    label = "right" if score.right else score.outcome.upper()
    line = (
        f"[{n:>{width}}/{total}] {label:<5}  {score.id} ({score.category}): "
        f"{_count(score.steps, 'step')}, {score.tokens:,} tokens, {score.seconds:.1f} s"
    )
    if score.reason:
        reason = " ".join(score.reason.split())
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[: MAX_REASON_CHARS - 1] + "…"
        line += f"; {reason}"
    return line


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def _share(right: int, of: int) -> dict[str, Any]:
    return {"right": right, "of": of, "pct": round(100.0 * right / of, 1) if of else None}


def summarize(scores: Sequence[QuestionScore]) -> dict[str, Any]:
    """The totals: execution accuracy, refusals, per category, steps, tokens, seconds."""
    answers = [s for s in scores if s.expect == "result"]
    refusals = [s for s in scores if s.expect == "refusal"]
    categories: dict[str, list[QuestionScore]] = {}
    for s in scores:
        categories.setdefault(s.category, []).append(s)
    steps = sum(s.steps for s in scores)
    return {
        "questions": len(scores),
        "right": sum(s.right for s in scores),
        "all": _share(sum(s.right for s in scores), len(scores)),
        "execution_accuracy": _share(sum(s.right for s in answers), len(answers)),
        "refusals": _share(sum(s.right for s in refusals), len(refusals)),
        "errors": sum(s.outcome == "error" for s in scores),
        "steps": steps,
        "steps_per_question": round(steps / len(scores), 2) if scores else None,
        "tokens": {
            "input": sum(s.input_tokens for s in scores),
            "output": sum(s.output_tokens for s in scores),
            "total": sum(s.tokens for s in scores),
        },
        "seconds": round(sum(s.seconds for s in scores), 2),
        "categories": {name: _share(sum(s.right for s in group), len(group)) for name, group in categories.items()},
    }


def _fraction(share: dict[str, Any]) -> str:
    pct = "-" if share["pct"] is None else f"{share['pct']:.1f}%"
    return f"{share['right']}/{share['of']} ({pct})"


def totals_lines(totals: dict[str, Any]) -> list[str]:
    """The totals as the command prints them."""
    categories = ", ".join(f"{name} {c['right']}/{c['of']}" for name, c in totals["categories"].items())
    per_question = totals["steps_per_question"]
    return [
        f"execution accuracy: {_fraction(totals['execution_accuracy'])}",
        f"refusals right:     {_fraction(totals['refusals'])}",
        f"by category:        {categories}",
        f"total:              {_fraction(totals['all'])} right, {totals['errors']} without an answer; "
        f"{_count(totals['steps'], 'step')} ({per_question if per_question is not None else 0:g} per question); "
        f"{totals['tokens']['total']:,} tokens; {totals['seconds']:.1f} s",
    ]


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return slug[:80] or "model"


def results_path(directory: Path, date: str, model: str, *, knowledge: bool) -> Path:
    """A new file name under ``directory`` with the date and the model (``_2``, ``_3``...
    when a run of the same day and model is there already)."""
    stem = f"sql-eval_{date}_{_slug(model)}" + ("_knowledge" if knowledge else "")
    path = directory / f"{stem}.json"
    n = 1
    while path.exists() or path.with_suffix(".svg").exists():
        n += 1
        path = directory / f"{stem}_{n}.json"
    return path


def write_results(path: Path, document: dict[str, Any], *, chart: bool = True) -> Path | None:
    """Write the JSON document (and the chart beside it); returns the chart's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if not chart:
        return None
    title = f"{document['model']}{' + knowledge' if document['knowledge'] else ''}, {document['today']}"
    svg = path.with_suffix(".svg")
    svg.write_text(svg_chart(document["totals"], title), encoding="utf-8")
    return svg


def svg_chart(totals: dict[str, Any], title: str) -> str:
    """A bar chart: per category (and in total) the share of questions answered right."""
    rows = [(name, c) for name, c in totals["categories"].items()] + [("all", totals["all"])]
    label_w, bar_w, row_h, top = 130, 300, 26, 40
    width, height = label_w + bar_w + 90, top + row_h * len(rows) + 16
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="10" y="22" font-weight="bold">{escape("Answered right: " + title)}</text>',
    ]
    for i, (name, share) in enumerate(rows):
        y = top + i * row_h
        pct = share["pct"] or 0.0
        fill = "#444" if name == "all" else "#3b7dd8"
        parts += [
            f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(name)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="{row_h - 8}" fill="#eee"/>',
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w * pct / 100:.1f}" height="{row_h - 8}" fill="{fill}"/>',
            f'<text x="{label_w + bar_w + 8}" y="{y + 16}">{share["right"]}/{share["of"]}</text>',
        ]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def print_line(out: TextIO, line: str) -> None:
    """Print and flush (progress must show while the run goes on)."""
    print(line, file=out, flush=True)
