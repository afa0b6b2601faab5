"""Before and after a change, in the same run: one fan-out scenario against two Venn
checkouts, taking turns.

``python -m bench.ab --before /path/to/other/checkout/.venv/bin/python [--rooms 1x100] [--mode full] [--runs 5]``

Each round runs the scenario once on the server of ``--before`` (another checkout's
interpreter, e.g. one of the commit before a lever) and once on this checkout's; the
ratio is taken within the round, and the median over the rounds is reported with its
range, so that a noisy minute on a shared machine hits both alike. ``--env NAME=VALUE``
(repeatable) sets a server setting on the "after" side only, for a lever that is a
setting. Results go to bench/results/ab-*.json.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from typing import Any

from bench.bench_fanout import VennProtocol, _scenario
from bench.common import progress, venn_server, write_results


def run(before: str, rooms: str, mode: str, runs: int, seconds: float, env_after: dict[str, str],
        env_both: dict[str, str]) -> dict[str, Any]:
    count, per_room = (int(x) for x in rooms.split("x"))
    sides = {"before": (before, env_both), "after": (sys.executable, {**env_both, **env_after})}
    rounds: list[dict[str, dict[str, float]]] = []
    for round_no in range(1, runs + 1):
        row: dict[str, dict[str, float]] = {}
        # alternate who goes first, so that neither side always gets the warmer minute
        order = list(sides) if round_no % 2 else list(reversed(sides))
        for side in order:
            python, env = sides[side]
            with venn_server(env, python=python) as base:
                row[side] = asyncio.run(_scenario(VennProtocol(), [base], count, per_room, mode, seconds))
            progress(f"ab: round {round_no}/{runs} {side}: {row[side]['delivered_per_s']:,.0f} delivered/s, "
                     f"p99 {row[side]['p99_ms']:,.1f} ms, {row[side].get('cpu_ms_per_msg') or 0:.2f} ms CPU a message")
        rounds.append(row)
    ratios = [r["after"]["delivered_per_s"] / r["before"]["delivered_per_s"] for r in rounds]
    p99s = [r["after"]["p99_ms"] / r["before"]["p99_ms"] for r in rounds if r["before"]["p99_ms"]]
    cpus = [r["after"]["cpu_ms_per_msg"] / r["before"]["cpu_ms_per_msg"] for r in rounds
            if r["before"].get("cpu_ms_per_msg") and r["after"].get("cpu_ms_per_msg")]
    result = {
        "rooms": rooms, "mode": mode, "runs": runs, "seconds": seconds, "env_after": env_after,
        "before_delivered_per_s": statistics.median(r["before"]["delivered_per_s"] for r in rounds),
        "after_delivered_per_s": statistics.median(r["after"]["delivered_per_s"] for r in rounds),
        "x_delivered": statistics.median(ratios), "x_delivered_range": [min(ratios), max(ratios)],
        "x_p99": statistics.median(p99s) if p99s else None, "rounds": rounds,
        # the server's CPU per acked message: less at the mercy of a busy machine than rates
        "x_cpu_per_msg": statistics.median(cpus) if cpus else None,
        "before_cpu_ms_per_msg": statistics.median(r["before"]["cpu_ms_per_msg"] or 0 for r in rounds),
        "after_cpu_ms_per_msg": statistics.median(r["after"]["cpu_ms_per_msg"] or 0 for r in rounds),
    }
    print(f"\nab: {rooms} {mode}, median of {runs} rounds: after/before delivered/s "
          f"{result['x_delivered']:.2f}x (range {min(ratios):.2f}-{max(ratios):.2f}); "
          f"{result['before_delivered_per_s']:,.0f} -> {result['after_delivered_per_s']:,.0f} delivered/s"
          + (f"; p99 {result['x_p99']:.2f}x" if p99s else "")
          + (f"; server CPU per message {result['before_cpu_ms_per_msg']:.2f} -> "
             f"{result['after_cpu_ms_per_msg']:.2f} ms "
             f"({result['x_cpu_per_msg']:.2f}x, range {min(cpus):.2f}-{max(cpus):.2f})" if cpus else ""))
    write_results(f"ab-{rooms}-{mode}", result)
    return result


def _pairs(values: list[str]) -> dict[str, str]:
    out = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--env takes NAME=VALUE, not {item!r}")
        out[name] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", default=sys.executable, help="the Python of the checkout to compare with")
    parser.add_argument("--rooms", default="1x100", help="RxC: rooms x clients per room")
    parser.add_argument("--mode", choices=("full", "rate"), default="full")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for the 'after' server only")
    parser.add_argument("--env-both", action="append", default=[], help="NAME=VALUE for both servers")
    args = parser.parse_args(argv)
    run(args.before, args.rooms, args.mode, args.runs, args.seconds, _pairs(args.env), _pairs(args.env_both))
    return 0


if __name__ == "__main__":
    sys.exit(main())
