"""Guard: statements checked per second by the SQL agent's guard, against a bare parse.

A small mix of realistic warehouse questions (filters, joins with aggregates, CTEs with
window functions, set operations, subqueries, FLATTEN, and two statements that are
refused) goes through ``check_sql`` in Snowflake dialect. Baseline in the same run:
``sqlglot.parse_one`` alone on the same statements. Rounds of the two alternate until
the time budget is spent, so both see the same machine conditions.

    python bench/bench_guard.py [--seconds 3]      # or: python -m bench --only guard

Prints a table and writes bench/results/guard.json. No timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlglot  # noqa: E402

from bench.common import print_table, write_results  # noqa: E402
from venn_plugins.sql_agent.guard import SQLGuardError, check_sql  # noqa: E402

DIALECT = "snowflake"
MAX_ROWS = 1000
ALLOWED = ["orders", "customers", "order_items", "sales.products"]
DEFAULTS = {"default_database": "ANALYTICS", "default_schema": "PUBLIC"}

STATEMENTS: dict[str, str] = {
    "filter": "SELECT id, customer_id, total FROM orders WHERE status = 'shipped' AND total > 100 ORDER BY total DESC",
    "join_agg": (
        "SELECT c.region, COUNT(*) AS n, SUM(o.total) AS revenue FROM orders o "
        "JOIN customers c ON c.id = o.customer_id WHERE o.created_at >= DATEADD(day, -30, CURRENT_DATE) "
        "GROUP BY c.region ORDER BY revenue DESC LIMIT 20"
    ),
    "cte_window": (
        "WITH monthly AS (SELECT customer_id, DATE_TRUNC('month', created_at) AS month, SUM(total) AS spend "
        "FROM orders GROUP BY 1, 2) SELECT customer_id, month, spend, "
        "LAG(spend) OVER (PARTITION BY customer_id ORDER BY month) AS previous, "
        "RANK() OVER (PARTITION BY month ORDER BY spend DESC) AS rank_in_month FROM monthly "
        "QUALIFY rank_in_month <= 10"
    ),
    "union": (
        "SELECT id, 'order' AS kind, created_at FROM orders WHERE total > 1000 "
        "UNION ALL SELECT id, 'customer' AS kind, created_at FROM customers WHERE created_at > '2024-01-01' "
        "ORDER BY created_at DESC LIMIT 5000"
    ),
    "subqueries": (
        "SELECT p.name, (SELECT COUNT(*) FROM order_items i WHERE i.product_id = p.id) AS sold "
        "FROM sales.products p WHERE p.id IN (SELECT product_id FROM order_items WHERE quantity > 5) "
        "AND EXISTS (SELECT 1 FROM orders o WHERE o.id = p.id)"
    ),
    "flatten": (
        "SELECT o.id, f.value:sku::string AS sku, f.value:qty::int AS qty "
        "FROM orders o, LATERAL FLATTEN(input => o.payload:items) f WHERE o.status = 'open'"
    ),
    "refused_table": "SELECT c.email, p.salary FROM customers c JOIN payroll p ON p.customer_id = c.id",
    "refused_dml": "SELECT 1; DELETE FROM orders",
}


def _guard(sql: str) -> None:
    try:
        check_sql(sql, ALLOWED, dialect=DIALECT, max_rows=MAX_ROWS, **DEFAULTS)
    except SQLGuardError:
        pass


def _parse(sql: str) -> None:
    try:
        sqlglot.parse_one(sql, read=DIALECT)
    except sqlglot.errors.ParseError:  # parse_one refuses several statements
        sqlglot.parse(sql, read=DIALECT)


def _round(fn: Callable[[str], None], totals: dict[str, float]) -> None:
    for name, sql in STATEMENTS.items():
        start = time.perf_counter()
        fn(sql)
        totals[name] += time.perf_counter() - start


def run(seconds: float = 3.0) -> dict[str, Any]:
    """Run for about ``seconds``; print a table, write bench/results/guard.json, return the results."""
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    guard_times = dict.fromkeys(STATEMENTS, 0.0)
    parse_times = dict.fromkeys(STATEMENTS, 0.0)
    _round(_guard, dict.fromkeys(STATEMENTS, 0.0))  # warm-up (imports, caches)
    _round(_parse, dict.fromkeys(STATEMENTS, 0.0))
    rounds = 0
    deadline = time.perf_counter() + seconds
    while rounds == 0 or time.perf_counter() < deadline:
        _round(_guard, guard_times)
        _round(_parse, parse_times)
        rounds += 1

    checked = rounds * len(STATEMENTS)
    guard_total, parse_total = sum(guard_times.values()), sum(parse_times.values())
    guard_rate, parse_rate = checked / guard_total, checked / parse_total
    per_statement = [
        {
            "statement": name,
            "guard_us": round(guard_times[name] / rounds * 1e6, 1),
            "parse_one_us": round(parse_times[name] / rounds * 1e6, 1),
            "ratio": round(guard_times[name] / parse_times[name], 2),
        }
        for name in STATEMENTS
    ]
    results: dict[str, Any] = {
        "benchmark": "guard",
        "dialect": DIALECT,
        "sqlglot": sqlglot.__version__,
        "seconds": seconds,
        "rounds": rounds,
        "statements_in_mix": len(STATEMENTS),
        "guard": {"statements": checked, "per_second": round(guard_rate, 1), "mean_us": round(1e6 / guard_rate, 1)},
        "parse_one": {"statements": checked, "per_second": round(parse_rate, 1), "mean_us": round(1e6 / parse_rate, 1)},
        "ratio_guard_over_parse": round(guard_total / parse_total, 2),
        "per_statement": per_statement,
    }

    print_table(
        f"SQL guard vs sqlglot.parse_one ({DIALECT}, {len(STATEMENTS)} statements, {rounds} rounds)",
        [
            {"what": "check_sql (guard)", **results["guard"]},
            {"what": "sqlglot.parse_one (baseline)", **results["parse_one"]},
        ],
        ["what", "statements", "per_second", "mean_us"],
    )
    print(f"guard/parse time ratio: {results['ratio_guard_over_parse']:.2f}x")
    print_table("per statement (mean microseconds)", per_statement, ["statement", "guard_us", "parse_one_us", "ratio"])
    path = write_results("guard", results)
    print(f"\nwrote {path}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_guard", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="time budget (default 3)")
    args = parser.parse_args(argv)
    run(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
