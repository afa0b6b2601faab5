"""Charts of SQL results (charts.py): Venn's choice by the result's shape, the model's
suggestion checked against the result, and the Vega-Lite specification, over real DuckDB
results of the demo warehouse; the specifications compile and draw with vl-convert."""

from __future__ import annotations

import json

import pytest
import vl_convert

from venn_plugins.sql_agent.charts import (
    MAX_BARS,
    MAX_POINTS,
    Chart,
    ChartSuggestion,
    UnfitSuggestion,
    check_suggestion,
    choose_chart,
    column_kinds,
    pick_chart,
    vega_lite,
)
from venn_plugins.sql_agent.render import result_payload
from venn_plugins.sql_agent.runner import GuardedSQL
from venn_plugins.sql_agent.warehouse import QueryResult, SQLAlchemyWarehouse

ALL_TABLES = ["customers", "products", "orders", "order_items"]
REVENUE = "SUM(i.quantity * i.unit_price)"
SALES = "orders o JOIN order_items i ON i.order_id = o.order_id"

MONTHLY = f"SELECT date_trunc('month', o.ordered_at) AS month, {REVENUE} AS revenue FROM {SALES} GROUP BY 1 ORDER BY 1"
BY_REGION = (
    f"SELECT date_trunc('month', o.ordered_at) AS month, c.region, {REVENUE} AS revenue "
    f"FROM {SALES} JOIN customers c ON c.customer_id = o.customer_id GROUP BY 1, 2 ORDER BY 1, 2"
)
TOP_CUSTOMERS = (
    f"SELECT c.name, {REVENUE} AS revenue FROM {SALES} JOIN customers c ON c.customer_id = o.customer_id "
    "GROUP BY c.name ORDER BY revenue DESC LIMIT 10"
)


@pytest.fixture
async def run(agent_demo_file):
    """``await run(sql)``: the QueryResult of a guarded statement over the demo warehouse."""
    warehouse = SQLAlchemyWarehouse(f"duckdb:///{agent_demo_file}")
    guarded = GuardedSQL(warehouse, ALL_TABLES, max_rows=10_000)
    yield guarded.run
    await warehouse.close()


# Venn's own choice --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        # a time column and a number: a line
        (MONTHLY, Chart("line", "month", "revenue")),
        (
            "SELECT CAST(ordered_at AS DATE) AS day, COUNT(*) AS orders FROM orders "
            "WHERE ordered_at >= current_date - INTERVAL 30 DAY GROUP BY 1 ORDER BY 1",
            Chart("line", "day", "orders"),
        ),
        # ... split by a category of a few values: one line each
        (BY_REGION, Chart("line", "month", "revenue", "region")),
        # an evenly stepped integer first (month numbers) and a number: a line
        (
            "SELECT EXTRACT(month FROM ordered_at) AS month_number, COUNT(*) AS orders FROM orders GROUP BY 1 ORDER BY 1",
            Chart("line", "month_number", "orders"),
        ),
        # a category with one number: bars
        (TOP_CUSTOMERS, Chart("bar", "name", "revenue")),
        ("SELECT status, COUNT(*) AS orders FROM orders GROUP BY status ORDER BY orders DESC", Chart("bar", "status", "orders")),
        # keys are neither measures nor categories: the name and the number make bars
        (
            f"SELECT c.customer_id, c.name, {REVENUE} AS revenue FROM {SALES} JOIN customers c "
            "ON c.customer_id = o.customer_id GROUP BY 1, 2 ORDER BY revenue DESC LIMIT 5",
            Chart("bar", "name", "revenue"),
        ),
        # two numbers: a scatter plot, coloured by the one category of a few values
        (
            f"SELECT c.region, COUNT(DISTINCT o.order_id) AS orders, {REVENUE} AS revenue FROM {SALES} "
            "JOIN customers c ON c.customer_id = o.customer_id GROUP BY 1 ORDER BY 1",
            Chart("scatter", "orders", "revenue", "region"),
        ),
        (
            "SELECT p.name, p.unit_price, SUM(i.quantity) AS units FROM products p "
            "JOIN order_items i ON i.product_id = p.product_id GROUP BY 1, 2 ORDER BY 1",
            Chart("scatter", "unit_price", "units"),  # too many names to colour by
        ),
        # no chart: no number, one value, too many bars, a line that would zigzag
        ("SELECT customer_id, name, email FROM customers ORDER BY customer_id LIMIT 20", None),
        ("SELECT COUNT(*) AS orders FROM orders", None),
        (f"SELECT c.name, {REVENUE} AS revenue FROM {SALES} JOIN customers c ON c.customer_id = o.customer_id "
         "GROUP BY c.name ORDER BY c.name", None),
        (
            f"SELECT date_trunc('month', o.ordered_at) AS month, p.name, {REVENUE} AS revenue FROM {SALES} "
            "JOIN products p ON p.product_id = i.product_id GROUP BY 1, 2 ORDER BY 1",
            None,
        ),
    ],
)
async def test_venns_choice_follows_the_results_shape(run, sql, expected):
    result = await run(sql)
    assert result.row_count >= 1
    assert choose_chart(result.columns, result.rows) == expected


async def test_column_kinds_come_from_the_values(run):
    result = await run(
        "SELECT o.order_id, o.status, o.ordered_at, CAST(o.ordered_at AS DATE) AS day, o.order_id > 5 AS later, "
        "strftime(o.ordered_at, '%Y-%m') AS month_text, CAST(o.order_id AS HUGEINT) * 100000000000000000 AS huge, "
        "CAST(NULL AS INTEGER) AS nothing FROM orders o ORDER BY o.order_id LIMIT 50"
    )
    assert result.rows[0][2].count("T") == 1 and isinstance(result.rows[-1][6], str)  # as JSON carries them
    assert column_kinds(result.columns, result.rows) == [
        "quantitative", "nominal", "temporal", "temporal", "nominal", "temporal", "nominal", None,
    ]
    # one row is no chart, whatever its shape
    assert choose_chart(result.columns, result.rows[:1]) is None


# The model's suggestion ---------------------------------------------------------------


def suggest(kind: str, x: str, y: str, color: str | None = None) -> ChartSuggestion:
    return ChartSuggestion(type=kind, x=x, y=y, color=color)  # type: ignore[arg-type]


async def test_a_suggestion_that_fits_is_drawn_instead_of_venns_choice(run):
    monthly = await run(MONTHLY)
    assert pick_chart(monthly.columns, monthly.rows) == Chart("line", "month", "revenue")
    assert pick_chart(monthly.columns, monthly.rows, suggest("bar", "month", "revenue")) == Chart("bar", "month", "revenue")
    # column names as the model may write them: any case
    assert pick_chart(monthly.columns, monthly.rows, suggest("scatter", "MONTH", "Revenue")) == Chart(
        "scatter", "month", "revenue"
    )
    # "none" is a suggestion too: the result shows as a table only
    assert pick_chart(monthly.columns, monthly.rows, suggest("none", "", "")) is None
    by_region = await run(BY_REGION)
    assert pick_chart(by_region.columns, by_region.rows, suggest("bar", "month", "revenue", "region")) == Chart(
        "bar", "month", "revenue", "region"
    )


@pytest.mark.parametrize(
    ("sql", "suggestion", "reason"),
    [
        (MONTHLY, suggest("line", "month", "profit"), "y='profit' is not a column of the result"),
        (MONTHLY, suggest("line", "month", "revenue", "region"), "color='region' is not a column"),
        (MONTHLY, suggest("line", "revenue", "month"), "y='month' does not hold numbers"),
        (MONTHLY, suggest("line", "month", "month"), "must be different columns"),
        (TOP_CUSTOMERS, suggest("line", "name", "revenue"), "a line chart needs x to hold dates, times or numbers"),
        (TOP_CUSTOMERS, suggest("scatter", "name", "revenue"), "a scatter chart needs x to hold dates"),
        (BY_REGION, suggest("line", "month", "revenue"), "a line needs one y per x; 'month' repeats"),
        (
            "SELECT c.name, c.region, COUNT(*) AS orders FROM orders o JOIN customers c ON c.customer_id = o.customer_id "
            "GROUP BY 1, 2 ORDER BY orders DESC LIMIT 40",
            suggest("bar", "region", "orders", "name"),
            "color='name' has more than 10 values",
        ),
        (
            "SELECT c.name, COUNT(*) AS orders FROM orders o JOIN customers c ON c.customer_id = o.customer_id "
            "GROUP BY 1 ORDER BY 1 LIMIT 60",
            suggest("bar", "name", "orders"),
            f"a bar chart has at most {MAX_BARS} bars; 'name' has 60 values",
        ),
        ("SELECT COUNT(*) AS n, 1 AS one FROM orders", suggest("scatter", "one", "n"), "fewer than two rows"),
    ],
)
async def test_a_suggestion_that_does_not_fit_is_ignored_and_venns_choice_stays(run, sql, suggestion, reason):
    result = await run(sql)
    with pytest.raises(UnfitSuggestion) as refused:
        check_suggestion(suggestion, result.columns, result.rows)
    assert reason in str(refused.value)
    assert pick_chart(result.columns, result.rows, suggestion) == choose_chart(result.columns, result.rows)


def test_a_suggestion_is_names_in_a_fixed_schema():
    with pytest.raises(ValueError):
        ChartSuggestion.model_validate({"type": "pie", "x": "a", "y": "b"})
    with pytest.raises(ValueError):
        ChartSuggestion.model_validate({"type": "line", "x": "a"})
    # anything else the model sends is dropped, never run
    assert ChartSuggestion.model_validate(
        {"type": "bar", "x": "a", "y": "b", "code": "import os; os.system('id')"}
    ).model_dump() == {"type": "bar", "x": "a", "y": "b", "color": None}


# The specification --------------------------------------------------------------------


async def test_the_specification_has_the_data_inline_and_draws_with_each_mark(run):
    cases = [
        (await run(MONTHLY), "mark-line"),
        (await run(TOP_CUSTOMERS), "mark-rect"),
        (await run(BY_REGION), "mark-line"),
        (await run(
            f"SELECT c.region, COUNT(DISTINCT o.order_id) AS orders, {REVENUE} AS revenue FROM {SALES} "
            "JOIN customers c ON c.customer_id = o.customer_id GROUP BY 1 ORDER BY 1"
        ), "mark-symbol"),
    ]
    for result, mark in cases:
        chart = choose_chart(result.columns, result.rows)
        spec = vega_lite(chart, result.columns, result.rows)
        values = spec["data"]["values"]
        assert set(spec["data"]) == {"values"} and len(values) == result.row_count
        assert spec["encoding"]["x"]["title"] == chart.x and spec["encoding"]["y"]["title"] == chart.y
        assert "title" not in spec  # every row is drawn
        svg = vl_convert.vegalite_to_svg(spec, allowed_base_urls=[])
        assert svg.startswith("<svg") and f'class="{mark} role-mark' in svg, mark

    monthly = cases[0][0]
    spec = vega_lite(choose_chart(monthly.columns, monthly.rows), monthly.columns, monthly.rows)
    # times are UTC instants on a UTC scale: the same dates in every time zone
    assert spec["encoding"]["x"]["scale"] == {"type": "utc"}
    first = spec["data"]["values"][0]
    assert first["x"] == monthly.rows[0][0] + ".000Z" and first["y"] == monthly.rows[0][1]
    assert spec["encoding"]["tooltip"][0]["format"] == "%Y-%m-%d"  # midnight everywhere: dates
    # bars keep the result's order (its ORDER BY), not the alphabet's
    top = cases[1][0]
    bars = vega_lite(Chart("bar", "name", "revenue"), top.columns, top.rows)
    assert bars["encoding"]["x"]["sort"] is None
    assert [v["x"] for v in bars["data"]["values"]] == [row[0] for row in top.rows]


async def test_the_data_is_bounded_in_rows_and_bytes(run):
    result = await run("SELECT quantity, unit_price FROM order_items ORDER BY order_id LIMIT 5000")
    assert result.row_count == 5000
    chart = choose_chart(result.columns, result.rows)
    assert chart == Chart("scatter", "quantity", "unit_price")
    spec = vega_lite(chart, result.columns, result.rows)
    assert len(spec["data"]["values"]) == MAX_POINTS
    assert spec["title"]["text"] == f"{MAX_POINTS:,} of the 5,000 rows drawn"
    small = vega_lite(chart, result.columns, result.rows, max_bytes=4096)
    assert len(json.dumps(small).encode()) <= 4096
    assert 2 <= len(small["data"]["values"]) < 200
    assert small["data"]["values"] == spec["data"]["values"][: len(small["data"]["values"])]
    assert vega_lite(chart, result.columns, result.rows, max_bytes=600) is None  # not even two points fit


def test_rows_without_an_x_or_a_y_are_left_out_and_labels_are_cut():
    result = QueryResult(
        columns=["label", "n"],
        rows=[["a" * 500, 1], [None, 2], ["b", None], ["c", "12345678901234567890.5"]],
        row_count=4, truncated=False, elapsed_ms=1,
    )
    spec = vega_lite(Chart("bar", "label", "n"), result.columns, result.rows)
    assert [v["y"] for v in spec["data"]["values"]] == [1, 2, 1.2345678901234567e19]
    assert [v["x"][:3] for v in spec["data"]["values"]] == ["aaa", "NUL", "c"]
    assert len(spec["data"]["values"][0]["x"]) < 120
    assert spec["title"]["text"] == "3 of the 4 rows drawn"


async def test_the_payload_carries_the_chart_within_its_byte_limit(run):
    result = await run("SELECT quantity, unit_price FROM order_items ORDER BY order_id LIMIT 2000")
    chart = choose_chart(result.columns, result.rows)
    payload = result_payload(7, "prices", "SELECT ...", result, allow_csv=True, chart=chart)
    assert payload["chart"] == vega_lite(chart, result.columns, result.rows)
    small = result_payload(7, "prices", "SELECT ...", result, allow_csv=True, max_bytes=16 * 1024, chart=chart)
    assert len(json.dumps(small).encode()) <= 16 * 1024
    assert 2 <= len(small["chart"]["data"]["values"]) < MAX_POINTS and small["rows"]
    assert result_payload(7, None, "SELECT ...", result, allow_csv=True)["chart"] is None
