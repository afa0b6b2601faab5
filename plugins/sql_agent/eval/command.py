"""``venn sql eval``: the golden set through the real agent, against any OpenAI-compatible server.

The language model is the one ``/ask`` uses (``OPENAI_BASE_URL``, ``VENN_LLM_MODEL``,
``OPENAI_API_KEY``, ``VENN_LLM_TIMEOUT``); the warehouse is the DuckDB demo built for
today (UTC) under ``VENN_DATA_DIR`` (or ``--data-dir``), whatever ``VENN_WAREHOUSE_URL``
says, since the golden set's answers are over the demo's tables.

Exit status: 0 when the run finished (and reached ``--fail-under``), 1 when it fell
below ``--fail-under`` or a reference SQL failed, 2 for a usage or configuration error
(no language model configured, an unknown ``--only`` name, ``--with-knowledge``
without the knowledge layer).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from venn_plugins.sql_agent.eval.golden import GoldenError, GoldenQuestion, GoldenSet, load_golden, select
from venn_plugins.sql_agent.eval.harness import EvalError, reference_results, run_database, run_questions
from venn_plugins.sql_agent.eval.report import (
    FORMAT,
    print_line,
    progress_line,
    results_path,
    summarize,
    totals_lines,
    write_results,
)

__all__ = ["DEMO_LABEL", "NO_LLM", "run_command"]

NO_LLM = (
    "no language model is configured: set OPENAI_BASE_URL to an OpenAI-compatible server "
    "(Ollama, vLLM, llama.cpp, ...) and VENN_LLM_MODEL, or OPENAI_API_KEY to use OpenAI."
)
#: the demo warehouse's label (the server's DemoWarehouse has the same one)
DEMO_LABEL = "the DuckDB demo warehouse"


def run_command(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run ``venn sql eval`` for parsed arguments; returns the exit status."""
    from venn.config import SettingsError, read_settings
    from venn_plugins.sql_agent.llm import build_llm
    from venn_plugins.sql_agent.settings import SQLSettings

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        settings = read_settings(SQLSettings)
    except SettingsError as exc:
        print(f"error: {exc}", file=err)
        return 2
    try:
        golden = load_golden(args.golden) if args.golden else load_golden()
        questions = select(golden, args.only, args.limit)
    except GoldenError as exc:
        print(f"error: {exc}", file=err)
        return 2
    llm_settings: Any = settings  # build_llm reads the LLM fields, which SQLSettings has
    llm = build_llm(llm_settings)
    if llm is None:
        print(f"error: {NO_LLM}", file=err)
        return 2
    today = dt.datetime.now(dt.UTC).date()
    run: dict[str, Any] = {
        "format": FORMAT,
        "tool": "venn sql eval",
        "started_at": _now(),
        "today": today.isoformat(),
        "model": settings.llm_model,
        "llm_server": _server(settings.openai_base_url),
        "knowledge": bool(args.with_knowledge),
        "golden": {
            "file": str(golden.path),
            "questions": len(golden.questions),
            "selected": len(questions),
            "only": args.only or [],
            "limit": args.limit,
        },
        "settings": {
            "max_steps": args.max_steps,
            "max_rows": args.max_rows,
            "statement_timeout": args.statement_timeout,
            "question_timeout": args.question_timeout,
        },
    }
    data_dir = Path(args.data_dir) if args.data_dir else Path(settings.data_dir)
    return asyncio.run(_run(args, run, golden, questions, llm, settings, data_dir, today, out, err))


async def _run(
    args: argparse.Namespace,
    run: dict[str, Any],
    golden: GoldenSet,
    questions: list[GoldenQuestion],
    llm: Any,
    settings: Any,
    data_dir: Path,
    today: dt.date,
    out: TextIO,
    err: TextIO,
) -> int:
    from venn_plugins.sql_agent.demo import ensure_demo
    from venn_plugins.sql_agent.warehouse import DuckDBWarehouse

    knowledge = "with" if args.with_knowledge else "without"
    print_line(
        out,
        f"venn sql eval: {len(questions)} of {len(golden.questions)} questions, model {run['model']} "
        f"at {run['llm_server']}, {knowledge} knowledge, demo warehouse of {today.isoformat()}",
    )
    path, _ = await asyncio.to_thread(ensure_demo, data_dir, today)
    warehouse = DuckDBWarehouse(
        path,
        label=DEMO_LABEL,
        memory_limit=int(settings.warehouse_memory_limit),
        max_result_bytes=int(settings.sql_max_csv_bytes),
    )
    try:
        try:
            references = await reference_results(
                questions, warehouse, today, max_rows=args.max_rows, timeout=args.statement_timeout
            )
        except EvalError as exc:
            print(f"error: {exc}", file=err)
            return 1
        entries = golden.knowledge if args.with_knowledge else ()
        async with run_database(entries, warehouse_label=warehouse.label):
            scores = await run_questions(
                questions,
                references,
                llm=llm,
                warehouse=warehouse,
                today=today,
                use_knowledge=bool(args.with_knowledge),
                max_steps=args.max_steps,
                max_rows=args.max_rows,
                statement_timeout=args.statement_timeout,
                question_timeout=args.question_timeout,
                on_score=lambda n, score: print_line(out, progress_line(n, len(questions), score)),
            )
    finally:
        await warehouse.close()
    totals = summarize(scores)
    for line in totals_lines(totals):
        print_line(out, line)
    document = {**run, "finished_at": _now(), "totals": totals, "questions": [s.to_json() for s in scores]}
    target = results_path(Path(args.out), today.isoformat(), run["model"], knowledge=bool(args.with_knowledge))
    chart = write_results(target, document, chart=not args.no_chart)
    print_line(out, f"results:            {target}")
    if chart is not None:
        print_line(out, f"chart:              {chart}")
    pct = totals["all"]["pct"] or 0.0
    if args.fail_under is not None and pct < args.fail_under:
        print(f"error: {pct:.1f}% of the questions were answered right, under --fail-under {args.fail_under:g}",
              file=err)
        return 1
    return 0


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _server(base_url: str | None) -> str:
    """Where the model runs, without credentials or query strings: OpenAI, or the base URL."""
    if not (base_url or "").strip():
        return "OpenAI"
    parts = urlsplit(str(base_url).strip())
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # not a number: the client will say so; it is only a label here
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}".rstrip("/")
