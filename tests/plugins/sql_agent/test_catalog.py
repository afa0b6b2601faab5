"""The warehouse's tables for admins: ``GET /api/v1/sql/tables`` (SQLite and PostgreSQL),
enabling refuses tables the warehouse does not have, and the catalog of each kind of
warehouse (DuckDB, PostgreSQL, Snowflake through fakesnow)."""

from __future__ import annotations

import pytest

from tests.helpers import PG_URL
from venn_plugins.sql_agent import catalog as catalog_module
from venn_plugins.sql_agent.catalog import missing_tables, read_catalog
from venn_plugins.sql_agent.warehouse import SQLAlchemyWarehouse, open_warehouse

DEMO = {
    "customers": ("One row per customer account.", 900),
    "order_items": ("Order lines: which products an order contains. Line revenue is quantity * unit_price.", None),
    "orders": ("One row per order placed by a customer.", None),
    "products": ("The product catalog.", None),
}


@pytest.fixture
def env(sql_env):
    return sql_env


async def people(chat):
    return await chat.user("boss", admin=True), await chat.user("alice")


async def test_admins_list_the_warehouses_tables(env, client, chat):
    admin, alice = await people(chat)
    resp = await client.get("/api/v1/sql/tables", headers=alice.headers)
    assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    assert (await client.get("/api/v1/sql/tables")).status == 401
    resp = await client.get("/api/v1/sql/tables", headers=admin.headers)
    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    assert answer["truncated"] is False
    assert [o["value"] for o in answer["options"]] == ["customers", "order_items", "orders", "products"]
    for option in answer["options"]:
        description, rows = DEMO[option["value"]]
        assert option["description"] == description
        assert option["row_count"] > 0 and option["detail"] == f"{option['row_count']:,} rows"
        assert rows is None or option["row_count"] == rows
    # the config's schema points the web client's form at this list
    resp = await client.get("/api/v1/plugins", headers=admin.headers)
    [sql] = [p for p in (await resp.json())["plugins"] if p["name"] == "sql"]
    assert sql["config_schema"]["properties"]["allowed_tables"]["x-venn-options"] == "/api/v1/sql/tables"


async def test_enabling_refuses_a_table_the_warehouse_does_not_have(env, client, chat):
    admin, alice = await people(chat)
    channel = await chat.channel(alice, "data")
    root = await chat.post(alice, channel["id"], "numbers")
    thread = await chat.thread(alice, channel["id"], root["id"])
    base = f"/api/v1/threads/{thread['id']}/bots"
    resp = await client.post(
        base, json={"plugin": "sql", "config": {"allowed_tables": ["customers", "custmers", "main.ordrs"]}},
        headers=admin.headers,
    )
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "validation_error"
    assert error["fields"] == [{
        "field": "config.allowed_tables",
        "message": "The warehouse has no table custmers, main.ordrs (GET /api/v1/sql/tables lists its tables).",
    }]
    resp = await client.get(base, headers=admin.headers)
    assert [b["plugin"] for b in (await resp.json())["bots"] if b["plugin"] == "sql"] == []

    resp = await client.post(base, json={"plugin": "sql", "config": {"allowed_tables": ["customers"]}},
                             headers=admin.headers)
    assert resp.status == 201
    resp = await client.patch(f"{base}/sql", json={"config": {"allowed_tables": ["customers", "payments"]}},
                              headers=admin.headers)
    assert resp.status == 422
    assert "no table payments" in (await resp.json())["error"]["fields"][0]["message"]
    resp = await client.get(base, headers=admin.headers)
    [sql] = [b for b in (await resp.json())["bots"] if b["plugin"] == "sql"]
    assert sql["config"]["allowed_tables"] == ["customers"]
    # names are matched as the warehouse resolves them: case, schema and database
    resp = await client.patch(
        f"{base}/sql", json={"config": {"allowed_tables": ["CUSTOMERS", "main.Orders", '"demo_warehouse".main.products']}},
        headers=admin.headers,
    )
    assert resp.status == 200, await resp.text()


async def test_a_catalog_read_in_part_asks_about_the_rest(demo_warehouse_url, monkeypatch):  # noqa: F811
    monkeypatch.setattr(catalog_module, "MAX_CATALOG_TABLES", 1)
    wh = SQLAlchemyWarehouse(demo_warehouse_url)
    try:
        catalog = await read_catalog(wh)
        assert catalog.truncated is True and [t.name for t in catalog.tables] == ["customers"]
        assert await missing_tables(wh, ["customers", "products", "nope", "main.orders"]) == ["nope"]
    finally:
        await wh.close()


@pytest.mark.postgres
async def test_postgres_catalog(make_settings):
    if not PG_URL:
        pytest.skip("VENN_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    import psycopg

    dsn = PG_URL.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS venn_cat_test CASCADE")
        conn.execute("CREATE SCHEMA venn_cat_test")
        conn.execute("CREATE TABLE venn_cat_test.sales AS SELECT i AS id FROM generate_series(1, 40) i")
        conn.execute("COMMENT ON TABLE venn_cat_test.sales IS 'Sales lines'")
        conn.execute('CREATE TABLE venn_cat_test."Mixed Case" (id int)')
        conn.execute("CREATE VIEW venn_cat_test.big_sales AS SELECT * FROM venn_cat_test.sales WHERE id > 20")
        conn.execute("ANALYZE venn_cat_test.sales")
    wh = open_warehouse(make_settings(warehouse_url=PG_URL))
    try:
        catalog = await read_catalog(wh)
        ours = {t.name: t for t in catalog.tables if t.key[1] == "venn_cat_test"}
        assert set(ours) == {"venn_cat_test.sales", 'venn_cat_test."Mixed Case"', "venn_cat_test.big_sales"}
        assert (ours["venn_cat_test.sales"].description, ours["venn_cat_test.sales"].row_count) == ("Sales lines", 40)
        assert ours["venn_cat_test.big_sales"].row_count is None  # a view has no count
        assert not any(t.key[1] in ("pg_catalog", "information_schema") for t in catalog.tables)
        assert await missing_tables(
            wh, ["venn_cat_test.sales", "VENN_CAT_TEST.Sales", 'venn_cat_test."Mixed Case"', "venn_cat_test.mixed case",
                 "venn_cat_test.mixed_case", "venn_cat_test.big_sales", "sales"]
        ) == ["venn_cat_test.mixed case", "venn_cat_test.mixed_case", "sales"]
    finally:
        await wh.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS venn_cat_test CASCADE")


async def test_snowflake_catalog():
    fakesnow = pytest.importorskip("fakesnow")
    import snowflake.connector

    from venn_plugins.sql_agent.warehouse import SnowflakeWarehouse

    with fakesnow.patch(nop_regexes=[r"^ALTER SESSION SET (QUERY_TAG|STATEMENT_TIMEOUT_IN_SECONDS) "]):
        conn = snowflake.connector.connect(database="ANALYTICS", schema="SALES")
        cur = conn.cursor()
        cur.execute("CREATE TABLE orders (order_id INT)")
        cur.execute("COMMENT ON TABLE orders IS 'All orders'")
        cur.execute("INSERT INTO orders VALUES (1), (2), (3)")
        cur.execute("CREATE SCHEMA ANALYTICS.FINANCE")
        cur.execute("CREATE TABLE ANALYTICS.FINANCE.LEDGER (id INT)")
        wh = SnowflakeWarehouse(account="acme", user="venn", password="pw", database="ANALYTICS", schema="SALES")
        try:
            catalog = await read_catalog(wh)
            tables = {t.name: (t.description, t.row_count) for t in catalog.tables}
            assert tables["ORDERS"] == ("All orders", 3)
            assert "FINANCE.LEDGER" in tables
            assert await missing_tables(wh, ["orders", "analytics.sales.ORDERS", "finance.ledger", "ledger"]) == [
                "ledger"
            ]
        finally:
            await wh.close()
            conn.close()
