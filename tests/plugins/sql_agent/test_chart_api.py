"""A result's chart from payload to image: the ``sql_result`` payload carries the chart's
Vega-Lite specification, and ``GET /api/v1/queries/{id}/chart.png`` / ``.svg`` draw it on
the server (vl-convert) for members of the query's channel (SQLite and PostgreSQL)."""

from __future__ import annotations

import struct
import zlib

import pytest

from tests.plugins.sql_agent.kit import ALL_TABLES
from tests.plugins.sql_agent.openai_stub_server import call, text
from tests.plugins.sql_agent.test_api import arrange, bot_replies, run_sql
from venn_plugins.sql_agent.api import PNG_SCALE
from venn_plugins.sql_agent.charts import HEIGHT, WIDTH
from venn_plugins.sql_agent.models import SqlQuery

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"])

MONTHLY = (
    "SELECT date_trunc('month', o.ordered_at) AS month, SUM(i.quantity * i.unit_price) AS revenue "
    "FROM orders o JOIN order_items i ON i.order_id = o.order_id GROUP BY 1 ORDER BY 1"
)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking it is one: the signature, every chunk's
    CRC, and image data that inflates to exactly the rows the header announces."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, [], b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks.append(kind)
        if kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND" and b"IDAT" in chunks
    width, height, depth, color = struct.unpack(">IIBB", data[16:26])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    assert len(zlib.decompress(idat)) == height * (1 + width * channels * depth // 8)
    return width, height


@pytest.fixture
def env(sql_env):
    return sql_env


async def test_a_chart_from_payload_to_png_and_svg_for_members_only(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat, private=True)
    reply = await run_sql(client, chat, alice, channel, thread, MONTHLY)
    payload = reply["payload"]
    query_id = payload["query_id"]
    spec = payload["chart"]
    assert spec["mark"]["type"] == "line" and spec["encoding"]["x"]["title"] == "month"
    assert len(spec["data"]["values"]) == payload["row_count"] >= 12
    assert (await SqlQuery.get(id=query_id)).chart == {"type": "line", "x": "month", "y": "revenue", "color": None}

    resp = await client.get(f"/api/v1/queries/{query_id}/chart.png", headers=alice.headers)
    assert resp.status == 200 and resp.content_type == "image/png"
    assert resp.headers["Content-Disposition"] == f'inline; filename="venn-query-{query_id}-chart.png"'
    assert png_size(await resp.read()) == (WIDTH * PNG_SCALE, HEIGHT * PNG_SCALE)

    resp = await client.get(f"/api/v1/queries/{query_id}/chart.svg", headers=alice.headers)
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
    svg = await resp.text()
    assert svg.startswith("<svg") and f'width="{WIDTH}" height="{HEIGHT}"' in svg
    assert 'class="mark-line role-mark' in svg and 'class="mark-symbol role-mark' in svg  # the line and its points
    assert ">revenue</text>" in svg and ">month</text>" in svg

    # outsiders learn nothing, not even that the query exists; no token: 401
    eve = await chat.user("eve")
    for kind in ("png", "svg"):
        url = f"/api/v1/queries/{query_id}/chart.{kind}"
        resp = await client.get(url, headers=eve.headers)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
        assert (await client.get(url)).status == 401
        assert (await client.get(f"/api/v1/queries/424242/chart.{kind}", headers=alice.headers)).status == 404


async def test_a_result_without_a_chart_has_no_chart_images(env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat)
    reply = await run_sql(client, chat, alice, channel, thread, "SELECT COUNT(*) AS orders FROM orders")
    assert reply["payload"]["chart"] is None
    query_id = reply["payload"]["query_id"]
    assert (await SqlQuery.get(id=query_id)).chart is None
    for kind in ("png", "svg"):
        resp = await client.get(f"/api/v1/queries/{query_id}/chart.{kind}", headers=alice.headers)
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "no_chart"
    # a refused statement has no result, so no chart either
    refused = await run_sql(client, chat, alice, channel, thread, "DELETE FROM orders", count=2)
    assert refused["payload"] is None
    [query] = await SqlQuery.filter(status="refused")
    resp = await client.get(f"/api/v1/queries/{query.id}/chart.png", headers=alice.headers)
    assert resp.status == 404


@sqlite_only
async def test_charts_are_not_csv_downloads(env, client, chat):
    """allow_csv governs the CSV of every kept row; the chart shows what the thread already sees."""
    admin, alice, channel, thread = await arrange(client, chat, config={"allowed_tables": ALL_TABLES, "allow_csv": False})
    reply = await run_sql(client, chat, alice, channel, thread, MONTHLY)
    assert reply["payload"]["csv_url"] is None and reply["payload"]["chart"] is not None
    resp = await client.get(f"/api/v1/queries/{reply['payload']['query_id']}/chart.png", headers=alice.headers)
    assert resp.status == 200


@pytest.fixture
def stub_env(sql_env, openai_stub):
    sql_env.setenv("OPENAI_BASE_URL", openai_stub.base_url)
    return openai_stub


@sqlite_only
async def test_the_models_suggestion_is_drawn_when_it_fits_and_ignored_when_not(stub_env, client, chat):
    admin, alice, channel, thread = await arrange(client, chat)
    stub_env.script(
        call("suggest_chart", type="bar", x="month", y="revenue"),  # before any query: kept for later
        call("run_query", sql=MONTHLY),
        text("Monthly revenue, in bars."),
    )
    await chat.post(alice, channel["id"], "/ask revenue by month as bars", thread_id=thread["id"])
    [reply] = await bot_replies(client, alice, thread["id"])
    assert stub_env.requests[1].tool_results == ["Noted. It will be checked against the result of your last run_query."]
    assert reply["payload"]["chart"]["mark"] == {"type": "bar"}
    query_id = reply["payload"]["query_id"]
    resp = await client.get(f"/api/v1/queries/{query_id}/chart.svg", headers=alice.headers)
    assert 'class="mark-rect role-mark' in await resp.text()  # the images draw the same chart as the payload

    # A suggestion that does not fit: the model is told, and Venn's own line is drawn.
    stub_env.script(
        call("run_query", sql=MONTHLY),
        call("suggest_chart", type="scatter", x="month", y="profit", color="region"),
        call("suggest_chart", type="pie", x="month", y="revenue"),
        text("Monthly revenue."),
    )
    await chat.post(alice, channel["id"], "/ask revenue by month", thread_id=thread["id"])
    replies = await bot_replies(client, alice, thread["id"], count=2)
    ignored, invalid = stub_env.requests[-2].tool_results[-1], stub_env.requests[-1].tool_results[-1]
    assert ignored.startswith("Not used: y='profit' is not a column of the result (month, revenue).")
    assert ignored.endswith("The thread gets a line chart of revenue by month instead.")
    assert invalid.startswith("suggest_chart needs type (line, bar, scatter or none)")
    assert replies[-1]["payload"]["chart"]["mark"]["type"] == "line"
    query = await SqlQuery.get(id=replies[-1]["payload"]["query_id"])
    assert query.chart == {"type": "line", "x": "month", "y": "revenue", "color": None}
