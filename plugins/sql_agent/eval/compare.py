"""Execution accuracy: does the agent's result hold the same data as the reference's?

:func:`compare_results` decides, ignoring column names:

* the row counts must be equal;
* each compared reference column must be found among the agent's columns (in any
  position; the agent may return extra columns, such as an id beside a name);
* the rows, restricted to those columns, must be equal as a multiset, or in the same
  order when the question asks for an order;
* numbers are equal within :data:`REL_TOLERANCE` (sums computed in floating point) or
  :data:`ABS_TOLERANCE` (a value rounded to cents); an integer equals the same float;
  a timestamp at midnight equals its date (``date_trunc`` gives one, ``CAST`` the other).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = ["ABS_TOLERANCE", "REL_TOLERANCE", "Verdict", "compare_results", "normalize", "same_value"]

#: relative difference under which two numbers are equal
REL_TOLERANCE = 1e-6
#: absolute difference under which two numbers are equal (rounding to cents)
ABS_TOLERANCE = 0.005 + 1e-9
#: column assignments tried before giving up (wide results with many look-alike columns)
MAX_ASSIGNMENTS = 10_000

_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00(?::?00)?)?$")


@dataclass(frozen=True)
class Verdict:
    """The comparison's outcome: ``ok``, or why not (``reason``, one line)."""

    ok: bool
    reason: str = ""


def normalize(value: Any) -> Any:
    """A value in the form compared: numbers as floats, midnight timestamps as dates."""
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, Decimal)):
        return float(value)
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    elif isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        match = _MIDNIGHT.match(value.strip())
        return match.group(1) if match else value
    return json.dumps(value, sort_keys=True, default=str)


def same_value(a: Any, b: Any) -> bool:
    """Whether two normalized values are equal (numbers within the tolerances)."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=REL_TOLERANCE, abs_tol=ABS_TOLERANCE)
    return a == b


def _same_row(a: Sequence[Any], b: Sequence[Any]) -> bool:
    return all(same_value(x, y) for x, y in zip(a, b, strict=True))


def _same_multiset(expected: list[Any], actual: list[Any], same: Any) -> bool:
    """Each expected item matched by a distinct actual item (both lists of one length)."""
    unused = list(actual)
    for item in expected:
        for i, candidate in enumerate(unused):
            if same(item, candidate):
                del unused[i]
                break
        else:
            return False
    return True


def _same_rows(expected: list[Any], actual: list[Any], ordered: bool, same: Any) -> bool:
    if ordered:
        return all(same(e, a) for e, a in zip(expected, actual, strict=True))
    return _same_multiset(expected, actual, same)


def compare_results(
    reference_rows: Sequence[Sequence[Any]],
    actual_columns: Sequence[str],
    actual_rows: Sequence[Sequence[Any]],
    *,
    ordered: bool = False,
    columns: Sequence[int] | None = None,
) -> Verdict:
    """Compare the agent's result with the reference's rows (see the module's rules).

    ``columns`` lists the reference columns compared (default: all of them).
    """
    ref = [[normalize(v) for v in row] for row in reference_rows]
    act = [[normalize(v) for v in row] for row in actual_rows]
    if len(ref) != len(act):
        return Verdict(False, f"expected {len(ref)} row(s), got {len(act)}")
    if not ref:
        return Verdict(True)  # both empty: the column lists say nothing more
    width = len(ref[0])
    wanted = list(columns) if columns is not None else list(range(width))
    if any(c >= width for c in wanted):
        return Verdict(False, "the golden question names a column the reference result does not have")
    act = [row[: len(actual_columns)] for row in act]
    missing = _unmatched_column(ref, act, wanted)
    if missing is not None:
        return Verdict(False, f"no column holds the values of the reference's column {missing + 1}")
    if _match(ref, act, wanted, ordered=ordered):
        return Verdict(True)
    if ordered and _match(ref, act, wanted, ordered=False):
        return Verdict(False, "the rows are right but not in the order asked for")
    return Verdict(False, "the values differ")


def _candidates(ref: list[list[Any]], act: list[list[Any]], c: int, ordered: bool) -> list[int]:
    """The agent's columns that could stand for reference column ``c``: the same values."""
    ref_col = [row[c] for row in ref]
    width = len(act[0]) if act else 0
    return [j for j in range(width) if _same_rows(ref_col, [row[j] for row in act], ordered, same_value)]


def _unmatched_column(ref: list[list[Any]], act: list[list[Any]], wanted: list[int]) -> int | None:
    for c in wanted:
        if not _candidates(ref, act, c, ordered=False):
            return c
    return None


def _match(ref: list[list[Any]], act: list[list[Any]], wanted: list[int], *, ordered: bool) -> bool:
    """Whether some choice of distinct agent columns gives the reference's rows."""
    candidates = [_candidates(ref, act, c, ordered) for c in wanted]
    if not all(candidates):
        return False
    ref_rows = [[row[c] for c in wanted] for row in ref]
    for tried, assignment in enumerate(_assignments(candidates)):
        if tried >= MAX_ASSIGNMENTS:
            break
        projected = [[row[j] for j in assignment] for row in act]
        if _same_rows(ref_rows, projected, ordered, _same_row):
            return True
    return False


def _assignments(candidates: list[list[int]], taken: tuple[int, ...] = ()) -> Iterator[tuple[int, ...]]:
    """Every way to pick a distinct agent column for each reference column."""
    if len(taken) == len(candidates):
        yield taken
        return
    for j in candidates[len(taken)]:
        if j not in taken:
            yield from _assignments(candidates, (*taken, j))
