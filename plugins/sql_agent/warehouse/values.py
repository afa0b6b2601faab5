"""Result values as JSON can carry them, and results bounded in bytes.

Used where rows are fetched (in the server's thread pool, and inside the DuckDB worker
processes), so that a result is converted and measured while it is read: a query of
10,000 rows of a million characters each never becomes 10 GB of Python strings.

* :func:`jsonable`: one value as JSON can carry it, keeping lists and objects.
  Integers beyond ±2**53 (HUGEINT, UBIGINT, big NUMBERs), decimals a float cannot
  hold exactly, NaN and infinities, intervals, blobs (base64) and anything unknown
  become text; a browser's JSON.parse would otherwise round or reject them.
* :func:`cell`: one cell of a result: :func:`jsonable`, with nested values (lists,
  structs, maps) rendered as compact JSON text, and text longer than the limit cut
  with a marker (:func:`cut_text`).
* :func:`collect_rows`: reads rows from a ``fetchmany`` until the row limit or the
  byte limit, whichever comes first.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["MAX_SAFE_INTEGER", "cell", "collect_rows", "compact", "cut_text", "json_size", "jsonable", "size_text"]

#: the largest integer a JavaScript number holds exactly
MAX_SAFE_INTEGER = 2**53 - 1
#: rows asked of the driver at a time
FETCH_CHUNK = 200


def jsonable(value: Any) -> Any:
    """One value as JSON can carry it (lists and objects stay lists and objects)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return _decimal(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def _decimal(value: decimal.Decimal) -> float | str:
    """A number when a float holds it exactly (money, counts), else its text."""
    if not value.is_finite():
        return str(value)
    number = float(value)
    if math.isfinite(number) and decimal.Decimal(repr(number)) == value:
        return number
    return str(value)


_MARK = re.compile(r"… \[cut(?:: ([\d,]+) characters)?\]$")


def cut_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, with a marker saying how long it was (text
    cut before keeps the length it had then)."""
    if len(text) <= limit:
        return text
    earlier = _MARK.search(text)
    if earlier is None:
        return f"{text[:limit]}… [cut: {len(text):,} characters]"
    return text[:limit] + earlier.group(0)


class _Full(Exception):
    pass


def compact(value: Any, limit: int) -> str:
    """A nested value (list, struct, map) as compact JSON text of at most ``limit``
    characters; a longer one is cut with a marker (rendering stops there)."""
    parts: list[str] = []
    size = 0

    def emit(text: str) -> None:
        nonlocal size
        parts.append(text)
        size += len(text)
        if size > limit:
            raise _Full

    def walk(item: Any) -> None:
        if isinstance(item, dict):
            emit("{")
            for i, (key, inner) in enumerate(item.items()):
                emit(("," if i else "") + json.dumps(str(key), ensure_ascii=False) + ":")
                walk(inner)
            emit("}")
        elif isinstance(item, (list, tuple)):
            emit("[")
            for i, inner in enumerate(item):
                if i:
                    emit(",")
                walk(inner)
            emit("]")
        else:
            emit(json.dumps(jsonable(item), ensure_ascii=False))

    try:
        walk(value)
    except _Full:
        return "".join(parts)[:limit] + "… [cut]"
    return "".join(parts)


def cell(value: Any, limit: int) -> Any:
    """One result cell: JSON-friendly, nested values as compact text, text at most
    ``limit`` characters (cut with a marker)."""
    if isinstance(value, (list, tuple, dict)):
        return compact(value, limit)
    converted = jsonable(value)
    return cut_text(converted, limit) if isinstance(converted, str) else converted


def size_text(size: int) -> str:
    """``1 GiB``, ``512 MiB``: a size in bytes as people write it."""
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def json_size(row: Sequence[Any]) -> int:
    """Bytes of ``row`` as compact JSON (UTF-8)."""
    return len(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def collect_rows(
    fetchmany: Callable[[int], Sequence[Sequence[Any]]], *, max_rows: int, max_bytes: int, cell_chars: int
) -> tuple[list[list[Any]], bool, bool]:
    """Read up to ``max_rows`` rows, converted with :func:`cell`, while they fit in
    ``max_bytes`` (as JSON). Returns ``(rows, more, cut_by_bytes)``: ``more`` when the
    result has rows that were not kept (one row past ``max_rows`` is read to know)."""
    rows: list[list[Any]] = []
    size = 2  # the enclosing brackets
    while True:
        batch = fetchmany(min(FETCH_CHUNK, max_rows + 1 - len(rows)))
        if not batch:
            return rows, False, False
        for raw in batch:
            if len(rows) >= max_rows:
                return rows, True, False
            row = [cell(v, cell_chars) for v in raw]
            size += json_size(row) + 1
            if size > max_bytes:
                return rows, True, True
            rows.append(row)
