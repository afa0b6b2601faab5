"""Charts of SQL results, built by Venn from the result's columns and values.

No code a model writes is ever run to draw a chart (Vanna's CVE-2024-5565 came from
executing model-written plotting code). Venn reads what kind each column holds,
chooses a chart by the result's shape (:func:`choose_chart`), and writes a Vega-Lite
specification itself, with the data inline and bounded (:func:`vega_lite`). The model
may only *suggest* a chart through a tool with a fixed schema (:class:`ChartSuggestion`:
a type, ``x``, ``y`` and an optional ``color``); :func:`check_suggestion` keeps a
suggestion only if it fits the result, else Venn's own choice stands (:func:`pick_chart`).

Column kinds come from the values as JSON carries them (``warehouse.values``): numbers;
ISO 8601 dates and timestamps (text such as ``2024-05``, ``2024-05-31`` or
``2024-05-31T12:00:00``); anything else is a category. Columns named ``id`` or ``*_id``
are keys, neither measures nor categories: Venn's own choice leaves them out.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from venn_plugins.sql_agent.warehouse.values import cut_text

__all__ = [
    "CHART_BYTES",
    "MAX_BARS",
    "MAX_POINTS",
    "MAX_SERIES",
    "Chart",
    "ChartSuggestion",
    "UnfitSuggestion",
    "check_suggestion",
    "choose_chart",
    "column_kinds",
    "describe",
    "pick_chart",
    "vega_lite",
]

Kind = Literal["temporal", "quantitative", "nominal"]
Mark = Literal["line", "bar", "scatter"]

#: rows of a result a chart reads (the first ones; the chart says when there were more)
MAX_POINTS = 1000
#: categories a bar chart may have (more: a table reads better)
MAX_BARS = 50
#: distinct values of a ``color`` column (one line, or one colour, each)
MAX_SERIES = 10
#: bytes of a specification, at most (a smaller budget keeps fewer points)
CHART_BYTES = 256 * 1024
#: characters of one category label
LABEL_CHARS = 80
#: the drawing's size in pixels, axes and legend included (Vega-Lite's "fit" autosize)
WIDTH, HEIGHT = 640, 320
#: lines get a dot on each point while there are few enough to see them
DOTS_UP_TO = 60
SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"

_TEMPORAL = re.compile(
    r"^\d{4}-\d{2}(?:-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?)?$"
)
_MIDNIGHT = re.compile(r"[T ]00:00(?::00(?:\.0+)?)?$")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


class ChartSuggestion(BaseModel):
    """The model's suggestion (the ``suggest_chart`` tool's arguments): names, never code."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["line", "bar", "scatter", "none"] = Field(
        description="line: x is a date/time or an ordered number, y a number; bar: x a category, y a number; "
        "scatter: x and y numbers; none: no chart helps."
    )
    x: str = Field(description="A column of the result for the horizontal axis (any text for none).")
    y: str = Field(description="A column of the result with numbers, for the vertical axis (any text for none).")
    color: str | None = Field(
        None, description=f"Optional: a column that splits the data into series (at most {MAX_SERIES} values)."
    )


@dataclass(frozen=True)
class Chart:
    """A chart Venn will draw: the mark and the columns it encodes."""

    mark: Mark
    x: str
    y: str
    color: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """What the audit keeps (``SqlQuery.chart``), read back by :meth:`from_dict`."""
        return {"type": self.mark, "x": self.x, "y": self.y, "color": self.color}

    @classmethod
    def from_dict(cls, data: Any) -> Chart | None:
        if not isinstance(data, dict) or data.get("type") not in ("line", "bar", "scatter"):
            return None
        x, y, color = data.get("x"), data.get("y"), data.get("color")
        if not isinstance(x, str) or not isinstance(y, str) or not (color is None or isinstance(color, str)):
            return None
        return cls(data["type"], x, y, color)


class UnfitSuggestion(ValueError):
    """A suggestion that does not fit the result; ``str()`` says why (shown to the model)."""


# What the columns hold ----------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any) -> float | int | None:
    """A number, from a number or from the text of one (decimals JSON could not hold)."""
    if _is_number(value):
        return cast(float | int, value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


def _kind(values: list[Any]) -> Kind | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if all(_number(v) is not None for v in present) and any(_is_number(v) for v in present):
        return "quantitative"
    if all(isinstance(v, str) and _TEMPORAL.match(v) and _instant(v) is not None for v in present):
        return "temporal"
    return "nominal"


def column_kinds(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[Kind | None]:
    """Each column's kind, read from the first :data:`MAX_POINTS` rows (None: only NULLs)."""
    sample = rows[:MAX_POINTS]
    return [_kind([row[i] if i < len(row) else None for row in sample]) for i in range(len(columns))]


def _is_key(name: str) -> bool:
    lowered = name.strip().lower()
    return lowered == "id" or lowered.endswith("_id")


def _instant(text: str) -> dt.datetime | None:
    """An ISO 8601 date or timestamp as a UTC datetime (a timestamp without an offset is
    taken as it reads, so that the chart shows the warehouse's own times)."""
    try:
        if len(text) == 7:  # YYYY-MM
            return dt.datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=dt.UTC)
        if len(text) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


# Choosing -----------------------------------------------------------------------------


def _column(name: str, columns: Sequence[str]) -> int | None:
    """The index of column ``name``: exactly, else the one column equal to it ignoring case."""
    if name in columns:
        return list(columns).index(name)
    folded = [i for i, c in enumerate(columns) if c.lower() == name.strip().lower()]
    return folded[0] if len(folded) == 1 else None


def _values(rows: Sequence[Sequence[Any]], index: int) -> list[Any]:
    return [row[index] if index < len(row) else None for row in rows[:MAX_POINTS]]


def _distinct(rows: Sequence[Sequence[Any]], index: int) -> int:
    return len({json.dumps(v) for v in _values(rows, index)})


def _evenly_stepped(values: list[Any]) -> bool:
    """Integers that rise by the same step (years, months, hours): an ordered axis."""
    if len(values) < 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return False
    step = values[1] - values[0]
    return step > 0 and all(b - a == step for a, b in itertools.pairwise(values))


def _one_y_per_x(rows: Sequence[Sequence[Any]], x: int, color: int | None) -> bool:
    """No two rows at the same x (of the same colour): a line, not a zigzag."""
    xs = _values(rows, x)
    colors = _values(rows, color) if color is not None else [None] * len(xs)
    keys = [json.dumps(pair) for pair in zip(xs, colors, strict=True)]
    return len(set(keys)) == len(keys)


def _series(rows: Sequence[Sequence[Any]], index: int | None) -> bool:
    return index is None or _distinct(rows, index) <= MAX_SERIES


def choose_chart(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> Chart | None:
    """Venn's own choice, by the result's shape (None: a table only).

    * a date/time column and a number: a **line** (a category column with at most
      :data:`MAX_SERIES` values splits it into coloured lines);
    * the first column an evenly stepped integer (years, months) and another number: a **line**;
    * one category and one number: a **bar** chart (at most :data:`MAX_BARS` categories);
    * two numbers: a **scatter** plot (coloured by a category column, as for lines);
    * anything else, or fewer than two rows: none.
    """
    if len(rows) < 2 or not columns:
        return None
    kinds = column_kinds(columns, rows)
    temporal = [i for i, k in enumerate(kinds) if k == "temporal"]
    numbers = [i for i, k in enumerate(kinds) if k == "quantitative" and not _is_key(columns[i])]
    categories = [i for i, k in enumerate(kinds) if k == "nominal" and not _is_key(columns[i])]
    color = categories[0] if len(categories) == 1 and _series(rows, categories[0]) else None

    def chart(mark: Mark, x: int, y: int, c: int | None = None) -> Chart:
        return Chart(mark, columns[x], columns[y], columns[c] if c is not None else None)

    if temporal and numbers:
        x, y = temporal[0], numbers[0]
        if _one_y_per_x(rows, x, color):
            return chart("line", x, y, color)
        return None
    ordered = len(numbers) >= 2 and numbers[0] == 0 and _evenly_stepped(_values(rows, 0))
    if ordered and _one_y_per_x(rows, 0, color):
        return chart("line", 0, numbers[1], color)
    if len(numbers) == 1 and len(categories) == 1 and _distinct(rows, categories[0]) <= MAX_BARS:
        return chart("bar", categories[0], numbers[0])
    if len(numbers) == 2 and not temporal:
        return chart("scatter", numbers[0], numbers[1], color)
    return None


def check_suggestion(
    suggestion: ChartSuggestion, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Chart | None:
    """The chart the suggestion asks for, if it fits the result; None for type ``none``.

    Raises :class:`UnfitSuggestion` when a named column is not in the result, a column's
    kind does not suit the mark (line: x a date/time or number, y a number; bar: y a
    number, at most :data:`MAX_BARS` values of x; scatter: x a date/time or number, y a number),
    ``color`` has more than :data:`MAX_SERIES` values, a line would have two points at
    one x, or the result has fewer than two rows.
    """
    if suggestion.type == "none":
        return None
    found: dict[str, int] = {}
    for role in ("x", "y", "color"):
        name = getattr(suggestion, role)
        if role == "color" and not name:
            continue
        index = _column(name, columns)
        if index is None:
            raise UnfitSuggestion(f"{role}={name[:80]!r} is not a column of the result ({', '.join(columns)[:300]}).")
        found[role] = index
    x, y, color = found["x"], found["y"], found.get("color")
    if len({x, y, color} - {None}) < (3 if color is not None else 2):
        raise UnfitSuggestion("x, y and color must be different columns.")
    if len(rows) < 2:
        raise UnfitSuggestion("the result has fewer than two rows: nothing to chart.")
    kinds = column_kinds(columns, rows)
    if kinds[y] != "quantitative":
        raise UnfitSuggestion(f"y={columns[y]!r} does not hold numbers.")
    mark: Mark = suggestion.type
    if mark in ("line", "scatter") and kinds[x] not in ("temporal", "quantitative"):
        raise UnfitSuggestion(f"a {mark} chart needs x to hold dates, times or numbers; {columns[x]!r} does not.")
    if mark == "bar" and _distinct(rows, x) > MAX_BARS:
        raise UnfitSuggestion(
            f"a bar chart has at most {MAX_BARS} bars; {columns[x]!r} has {_distinct(rows, x)} values."
        )
    if not _series(rows, color):
        raise UnfitSuggestion(f"color={columns[color]!r} has more than {MAX_SERIES} values.")  # type: ignore[index]
    if mark == "line" and not _one_y_per_x(rows, x, color):
        raise UnfitSuggestion(f"a line needs one y per x; {columns[x]!r} repeats (a color column may split it).")
    return Chart(mark, columns[x], columns[y], columns[color] if color is not None else None)


def pick_chart(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], suggestion: ChartSuggestion | None = None
) -> Chart | None:
    """The model's suggestion when it fits (``none`` included), else Venn's own choice."""
    if suggestion is not None:
        try:
            return check_suggestion(suggestion, columns, rows)
        except UnfitSuggestion:
            pass
    return choose_chart(columns, rows)


def describe(chart: Chart | None) -> str:
    """``a line chart of revenue by month`` (for people and for the model)."""
    if chart is None:
        return "no chart"
    kind = {"line": "a line chart", "bar": "a bar chart", "scatter": "a scatter plot"}[chart.mark]
    text = f"{kind} of {chart.y} by {chart.x}"
    return text + (f", one colour per {chart.color}" if chart.color else "")


# The specification --------------------------------------------------------------------


def _stamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _label(value: Any) -> str:
    if value is None:
        return "NULL"
    return cut_text(value if isinstance(value, str) else json.dumps(value), LABEL_CHARS)


def _x_value(value: Any, kind: Kind | None, mark: Mark) -> Any:
    if mark == "bar":
        if kind == "temporal" and isinstance(value, str):
            # a bar's label, as written: 2024-05-01 rather than 2024-05-01T00:00:00
            return _MIDNIGHT.sub("", value).replace("T", " ")
        return _label(value)
    if kind == "temporal":
        moment = _instant(value) if isinstance(value, str) else None
        return _stamp(moment) if moment is not None else None
    return _number(value)


def _x_encoding(chart: Chart, kind: Kind | None, xs: list[Any]) -> dict[str, Any]:
    encoding: dict[str, Any] = {"field": "x", "title": chart.x}
    if chart.mark == "bar":
        # the result's own order (its ORDER BY), not the alphabet
        encoding.update(type="nominal" if kind == "nominal" else "ordinal", sort=None, axis={"labelLimit": 160})
    elif kind == "temporal":
        # The values are UTC instants, drawn and labelled in UTC: a date stays that date
        # whatever the viewer's time zone (or the server's, for PNG and SVG).
        encoding.update(type="temporal", scale={"type": "utc"})
    else:
        encoding.update(type="quantitative", scale={"zero": False})
        if all(isinstance(v, int) for v in xs):
            encoding["axis"] = {"format": "d", "tickMinStep": 1}  # 2024, not 2,024
    return encoding


def _tooltip(encoding: dict[str, Any], xs: list[Any]) -> dict[str, Any]:
    """A tooltip line for an encoded field (a date and time in UTC, as the axis draws it)."""
    line = {k: encoding[k] for k in ("field", "type", "title")}
    if encoding.get("scale", {}).get("type") == "utc":
        dates_only = all(str(v).endswith("T00:00:00.000Z") for v in xs)
        line.update(format="%Y-%m-%d" if dates_only else "%Y-%m-%d %H:%M:%S", formatType="utc")
    elif "format" in encoding.get("axis", {}):
        line["format"] = encoding["axis"]["format"]
    return line


def vega_lite(
    chart: Chart, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, max_bytes: int = CHART_BYTES
) -> dict[str, Any] | None:
    """The Vega-Lite specification of ``chart`` over ``rows``, with the data inline: the
    first :data:`MAX_POINTS` rows, as many as fit in ``max_bytes`` (rows whose x or y is
    NULL are left out; a note says how many rows are drawn when not all are). None when
    the chart's columns are not in ``columns`` or fewer than two points remain."""
    x, y = _column(chart.x, columns), _column(chart.y, columns)
    color = _column(chart.color, columns) if chart.color else None
    if x is None or y is None or (chart.color and color is None):
        return None
    kinds = column_kinds(columns, rows)
    points: list[dict[str, Any]] = []
    for row in rows[:MAX_POINTS]:
        xv = _x_value(row[x] if x < len(row) else None, kinds[x], chart.mark)
        yv = _number(row[y]) if y < len(row) else None
        if xv is None or yv is None:
            continue
        point = {"x": xv, "y": yv}
        if color is not None:
            point["color"] = _label(row[color] if color < len(row) else None)
        points.append(point)
    x_encoding = _x_encoding(chart, kinds[x], [p["x"] for p in points])
    encoding: dict[str, Any] = {"x": x_encoding, "y": {"field": "y", "type": "quantitative", "title": chart.y}}
    if chart.color:
        encoding["color"] = {"field": "color", "type": "nominal", "title": chart.color}
    xs = [p["x"] for p in points]
    encoding["tooltip"] = [_tooltip(e, xs) for e in encoding.values()]
    mark: dict[str, Any] = {"type": "point" if chart.mark == "scatter" else chart.mark}
    if chart.mark == "line" and len(points) <= DOTS_UP_TO:
        mark["point"] = True
    if chart.mark == "scatter":
        mark["filled"] = True
    spec: dict[str, Any] = {
        "$schema": SCHEMA,
        "description": "A" + describe(chart)[1:] + ".",  # "A line chart of ..."
        "width": WIDTH,
        "height": HEIGHT,
        "autosize": {"type": "fit", "contains": "padding"},
        "background": "white",
        "mark": mark,
        "encoding": encoding,
        "data": {"values": []},
    }
    # The points that fit, leaving room for the note below.
    room = max_bytes - _size(spec) - 200
    kept: list[dict[str, Any]] = []
    for point in points:
        room -= _size(point) + 2
        if room < 0:
            break
        kept.append(point)
    if len(kept) < 2:
        return None
    spec["data"]["values"] = kept
    if len(kept) < len(rows):
        note = f"{len(kept):,} of the {len(rows):,} rows drawn"
        spec["title"] = {"text": note, "fontSize": 11, "fontWeight": "normal", "anchor": "start", "color": "#555"}
    return spec


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
