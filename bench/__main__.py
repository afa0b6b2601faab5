"""`python -m bench [--only NAME ...] [--quick] [--runs N]`: run the benchmarks, print tables, write bench/results/."""

from __future__ import annotations

import argparse
import importlib
import inspect
import sys

BENCHMARKS = {
    # name: (module, full-size kwargs, quick kwargs)
    "guard": ("bench.bench_guard", {}, {"seconds": 1.0}),
    "json": ("bench.bench_json", {}, {"quick": True}),
    "persistence": ("bench.bench_persistence", {}, {"seconds": 3.0}),
    "history": ("bench.bench_history", {}, {"rows": 100_000}),
    "search": ("bench.bench_search", {}, {"rows": 100_000, "runs": 3}),
    "fanout": ("bench.bench_fanout", {}, {"quick": True}),
    "connections": ("bench.bench_connections", {}, {"quick": True}),
    "growth": ("bench.bench_growth", {}, {"quick": True, "runs": 1}),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("--runs", type=int, default=None,
                        help="rounds per scenario, reported as medians (fanout, growth, connections, history)")
    args = parser.parse_args(argv)
    failed = 0
    targets: list[dict[str, str]] = []
    for name in args.only or list(BENCHMARKS):
        module_name, full, quick = BENCHMARKS[name]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            print(f"{name}: not available ({exc})")
            continue
        kwargs = dict(quick if args.quick else full)
        if args.runs is not None and "runs" in inspect.signature(module.run).parameters:
            kwargs["runs"] = args.runs
        try:
            result = module.run(**kwargs)
        except Exception as exc:  # one benchmark's failure does not hide the others
            failed += 1
            print(f"{name}: FAILED: {exc!r}", file=sys.stderr)
            continue
        if isinstance(result, dict):
            targets += result.get("targets", [])
    if targets:
        report_targets(targets)
    return 1 if failed else 0


def report_targets(targets: list[dict[str, str]]) -> None:
    """Every target the benchmarks that ran judge, with what they measured, in one table."""
    from bench.common import print_table, write_results

    print_table("Targets (each the median of the rounds of this run)", targets, ["target", "measured", "verdict"])
    met = sum(1 for t in targets if t["verdict"] == "met")
    print(f"bench: {met} of {len(targets)} targets met; the soak and crash targets are tests "
          "(make soak, tests/reliability), not benchmarks")
    write_results("targets", {"targets": targets})


if __name__ == "__main__":
    sys.exit(main())
