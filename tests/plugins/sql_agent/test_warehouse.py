"""The warehouse layer: Snowflake through the real connector (fakesnow standing in for the
server), SQLAlchemy URLs (a DuckDB file, PostgreSQL), timeouts, row limits and secrets.

fakesnow does not implement ``ALTER SESSION SET QUERY_TAG`` / ``STATEMENT_TIMEOUT_IN_SECONDS``
(it raises "not implemented"), so the tests declare those exact statements no-ops with
fakesnow's ``nop_regexes`` and check, from fakesnow's statement log, that Venn sends them.
It also ignores the ``session_parameters`` given at connect and column comments.
"""

from __future__ import annotations

import asyncio
import logging

import duckdb
import pytest

from tests.helpers import PG_URL, wait_for
from venn_plugins.sql_agent.warehouse import (
    SnowflakeWarehouse,
    SQLAlchemyWarehouse,
    WarehouseError,
    WarehouseTimeout,
    jsonable,
    open_warehouse,
    query_tag,
)

pytestmark = pytest.mark.filterwarnings("ignore:Arrow output:UserWarning")

SESSION_NOPS = [r"^ALTER SESSION SET (QUERY_TAG|STATEMENT_TIMEOUT_IN_SECONDS) "]
PASSWORD = "pw-Sup3r-SECRET-value"


@pytest.fixture
def snowflake():
    """fakesnow patched in, with ANALYTICS.SALES.ORDERS (3 rows) and a table comment."""
    fakesnow = pytest.importorskip("fakesnow")
    import snowflake.connector

    with fakesnow.patch(nop_regexes=SESSION_NOPS):
        conn = snowflake.connector.connect(database="ANALYTICS", schema="SALES")
        cur = conn.cursor()
        cur.execute("CREATE TABLE orders (order_id INT, amount NUMBER(10,2), ordered_at TIMESTAMP)")
        cur.execute("COMMENT ON TABLE orders IS 'All orders'")
        cur.execute(
            "INSERT INTO orders VALUES (1, 2.5, '2024-01-01 10:00:00'), (2, 3.25, NULL), (3, 1, '2024-02-01 00:00:00')"
        )
        yield
        conn.close()


def snowflake_warehouse(**extra) -> SnowflakeWarehouse:
    return SnowflakeWarehouse(
        account="acme", user="venn", password=PASSWORD, database="ANALYTICS", schema="SALES", **extra
    )


async def test_snowflake_query_through_the_connector(snowflake):
    wh = snowflake_warehouse()
    try:
        result = await wh.run("SELECT * FROM orders ORDER BY order_id LIMIT 3", max_rows=2, timeout=10)
    finally:
        await wh.close()
    assert result.columns == ["ORDER_ID", "AMOUNT", "ORDERED_AT"]
    # JSON-friendly values; max_rows + 1 fetched, so the cut is known
    assert result.rows == [[1, 2.5, "2024-01-01T10:00:00"], [2, 3.25, None]]
    assert result.row_count == 2 and result.truncated is True
    assert wh.dialect == "snowflake" and (wh.default_database, wh.default_schema) == ("ANALYTICS", "SALES")


async def test_snowflake_sessions_carry_the_tag_and_timeout(snowflake, monkeypatch, capfd):
    monkeypatch.setenv("FAKESNOW_DEBUG", "snowflake")  # fakesnow prints each statement it gets
    wh = snowflake_warehouse(pool_size=1)
    try:
        await wh.run("SELECT 1", max_rows=1, timeout=30, tag=query_tag(42, 7))
        await wh.run("SELECT 2", max_rows=1, timeout=30, tag=query_tag(42, 7))
        await wh.run("SELECT 3", max_rows=1, timeout=45, tag=query_tag(43, 8))
    finally:
        await wh.close()
    statements = [line.rstrip(";") for line in capfd.readouterr().err.splitlines() if line.startswith(("ALTER", "SELECT"))]
    assert statements == [
        "ALTER SESSION SET QUERY_TAG = 'venn thread=42 query=7'",
        "ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = 30",
        "SELECT 1",
        "SELECT 2",  # same session, same tag and timeout: nothing to change
        "ALTER SESSION SET QUERY_TAG = 'venn thread=43 query=8'",
        "ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = 45",
        "SELECT 3",
    ]


async def test_snowflake_connections_are_pooled_and_reused(snowflake):
    wh = snowflake_warehouse(pool_size=2)
    try:
        results = await asyncio.gather(*(wh.run("SELECT COUNT(*) FROM orders", max_rows=5, timeout=10) for _ in range(6)))
        assert all(r.rows == [[3]] for r in results)
        assert wh._open <= 2  # never more connections than the pool
        await wh.run("SELECT 1", max_rows=1, timeout=10)
        assert wh._open <= 2
    finally:
        await wh.close()
    assert wh._open == 0


async def test_snowflake_describe_and_query_errors(snowflake):
    wh = snowflake_warehouse()
    try:
        info = await wh.describe("orders", "SELECT * FROM orders LIMIT 3", timeout=10)
        assert [(c.name, c.type) for c in info.columns] == [
            ("ORDER_ID", "NUMBER(38,0)"), ("AMOUNT", "NUMBER(10,2)"), ("ORDERED_AT", "TIMESTAMP_NTZ(9)"),
        ]
        assert info.comment == "All orders" and info.sample.row_count == 3
        assert (await wh.describe("analytics.sales.orders", "SELECT 1", timeout=10)).comment == "All orders"
        with pytest.raises(WarehouseError, match="does not exist"):
            await wh.describe("nosuch", "SELECT * FROM nosuch LIMIT 3", timeout=10)
        with pytest.raises(WarehouseError, match="NOPE"):  # the warehouse's reason, for the model to fix
            await wh.run("SELECT nope FROM orders", max_rows=5, timeout=10)
        # a query error leaves the connection usable
        assert (await wh.run("SELECT COUNT(*) FROM orders", max_rows=5, timeout=10)).rows == [[3]]
    finally:
        await wh.close()


class ScriptedSnowflake:
    """What Snowflake does with timeouts and cancels, which fakesnow ignores: records
    every statement with the connector's ``timeout``; a statement containing ``SLOW``
    runs until the session's queries are cancelled (then fails as Snowflake's error 604
    says), one containing ``TOO_LONG`` fails as past STATEMENT_TIMEOUT_IN_SECONDS (630)."""

    def __init__(self, monkeypatch):
        import threading

        from fakesnow.conn import FakeSnowflakeConnection
        from fakesnow.cursor import FakeSnowflakeCursor
        from snowflake.connector.errors import ProgrammingError

        self.sent: list[tuple[str, int | None]] = []
        self.cancelled = threading.Event()
        self.running = threading.Event()
        original = FakeSnowflakeCursor.execute
        script = self

        def execute(cursor, command, params=None, *args, **kwargs):
            script.sent.append((command, kwargs.get("timeout")))
            if command.startswith("SELECT SYSTEM$CANCEL_ALL_QUERIES"):
                assert params == (4242,)
                script.cancelled.set()
                return cursor
            if "SLOW" in command:
                script.running.set()
                script.cancelled.wait(30)
                raise ProgrammingError(msg="SQL execution canceled", errno=604, sqlstate="57014")
            if "TOO_LONG" in command:
                raise ProgrammingError(
                    msg="Statement reached its statement or warehouse timeout of 5 second(s) and was canceled.",
                    errno=630, sqlstate="57014",
                )
            return original(cursor, command, params, *args, **kwargs)

        monkeypatch.setattr(FakeSnowflakeCursor, "execute", execute)
        monkeypatch.setattr(FakeSnowflakeConnection, "session_id", 4242, raising=False)


async def test_snowflake_statements_are_stopped_by_snowflake_and_by_venn(snowflake, monkeypatch):
    script = ScriptedSnowflake(monkeypatch)
    wh = snowflake_warehouse(pool_size=1)
    try:
        # the session's timeout and the connector's own (which cancels the statement) are the thread's
        assert (await wh.run("SELECT COUNT(*) FROM orders", max_rows=1, timeout=5)).rows == [[3]]
        assert script.sent == [
            ("ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = 5", None),
            ("SELECT COUNT(*) FROM orders", 5),
        ]
        # Snowflake's answer for a statement past its timeout is a timeout
        with pytest.raises(WarehouseTimeout, match="longer than 5 s and was stopped"):
            await wh.run("SELECT 'TOO_LONG'", max_rows=1, timeout=5)
        # a caller that goes away (the handler was stopped) cancels the session's statement
        task = asyncio.create_task(wh.run("SELECT 'SLOW'", max_rows=1, timeout=30))
        await wait_for(script.running.is_set, timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_for(script.cancelled.is_set, timeout=10)
        assert ("SELECT SYSTEM$CANCEL_ALL_QUERIES(%s)", 10) in script.sent
    finally:
        await wh.close()


async def test_snowflake_password_never_shows_in_errors_or_logs(caplog, unused_tcp_port):
    caplog.set_level(logging.DEBUG)
    # The real connector, against a port where nothing listens: the login fails fast.
    wh = snowflake_warehouse(
        login_timeout=3, connect_args={"host": "127.0.0.1", "port": unused_tcp_port, "protocol": "http"}
    )
    with pytest.raises(WarehouseError) as failure:
        await wh.run("SELECT 1", max_rows=1, timeout=10)
    await wh.close()
    assert "Could not connect to Snowflake account acme" in str(failure.value)
    assert PASSWORD not in str(failure.value) and PASSWORD not in repr(failure.value)
    # raised "from None": a traceback shows no driver exception underneath
    assert failure.value.__cause__ is None and failure.value.__suppress_context__
    assert PASSWORD not in caplog.text


async def test_snowflake_key_pair_errors_are_safe(tmp_path):
    passphrase = "key-Passphrase-SECRET"
    wh = SnowflakeWarehouse(
        account="acme", user="venn", private_key_path=str(tmp_path / "missing.p8"), private_key_passphrase=passphrase
    )
    with pytest.raises(WarehouseError, match="Cannot read SNOWFLAKE_PRIVATE_KEY_PATH") as failure:
        await wh.run("SELECT 1", max_rows=1, timeout=5)
    assert passphrase not in str(failure.value)
    (tmp_path / "bad.p8").write_text("not a key")
    wh2 = SnowflakeWarehouse(
        account="acme", user="venn", private_key_path=str(tmp_path / "bad.p8"), private_key_passphrase=passphrase
    )
    with pytest.raises(WarehouseError, match="not a PEM private key"):
        await wh2.run("SELECT 1", max_rows=1, timeout=5)
    await wh.close()
    await wh2.close()
    with pytest.raises(WarehouseError, match="SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH"):
        SnowflakeWarehouse(account="acme", user="venn")


async def test_snowflake_key_pair_auth_reaches_the_connector(snowflake, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "venn.p8"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"open sesame"),
        )
    )
    wh = SnowflakeWarehouse(
        account="acme", user="venn", private_key_path=str(path), private_key_passphrase="open sesame",
        database="ANALYTICS", schema="SALES",
    )
    try:
        assert (await wh.run("SELECT COUNT(*) FROM orders", max_rows=1, timeout=10)).rows == [[3]]
    finally:
        await wh.close()


# SQLAlchemy URLs ---------------------------------------------------------------------


@pytest.fixture
def duckdb_file(tmp_path):
    path = tmp_path / "shop.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE items (id INTEGER, label VARCHAR, price DECIMAL(8,2), seen DATE)")
    conn.execute("COMMENT ON TABLE items IS 'Things we sell'")
    conn.execute("COMMENT ON COLUMN items.label IS 'What it is called'")
    conn.execute("INSERT INTO items SELECT i, 'item ' || i, i * 1.5, DATE '2024-01-01' + i::INTEGER FROM range(1, 51) t(i)")
    conn.close()
    return path


async def test_duckdb_url(duckdb_file):
    wh = SQLAlchemyWarehouse(f"duckdb:///{duckdb_file}")
    try:
        assert (wh.dialect, wh.default_database, wh.default_schema) == ("duckdb", "shop", "main")
        result = await wh.run("SELECT id, label, price, seen FROM items ORDER BY id", max_rows=10, timeout=10)
        assert result.row_count == 10 and result.truncated is True
        assert result.rows[0] == [1, "item 1", 1.5, "2024-01-02"]
        exact = await wh.run("SELECT id FROM items WHERE id <= 10", max_rows=10, timeout=10)
        assert exact.row_count == 10 and exact.truncated is False
        info = await wh.describe("items", "SELECT * FROM items LIMIT 3", timeout=10)
        assert info.comment == "Things we sell"
        assert [(c.name, c.type, c.comment) for c in info.columns][:2] == [
            ("id", "INTEGER", None), ("label", "VARCHAR", "What it is called"),
        ]
        assert info.sample.row_count == 3
        # opened read-only: a write that slipped past the guard would still fail
        with pytest.raises(WarehouseError, match="read-only"):
            await wh.run("INSERT INTO items VALUES (99, 'x', 1, NULL)", max_rows=1, timeout=10)
    finally:
        await wh.close()


async def test_duckdb_query_past_its_timeout_is_stopped(duckdb_file):
    wh = SQLAlchemyWarehouse(f"duckdb:///{duckdb_file}")
    try:
        with pytest.raises(WarehouseError, match="longer than 1 s"):
            await wh.run("SELECT COUNT(*) FROM range(100000000000) a, range(100) b", max_rows=1, timeout=1)
        # the pool's connection still works afterwards
        assert (await wh.run("SELECT COUNT(*) FROM items", max_rows=1, timeout=10)).rows == [[50]]
    finally:
        await wh.close()


async def test_slow_queries_do_not_block_the_event_loop(duckdb_file):
    wh = SQLAlchemyWarehouse(f"duckdb:///{duckdb_file}")
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    try:
        with pytest.raises(WarehouseError):
            await wh.run("SELECT COUNT(*) FROM range(100000000000) a, range(100) b", max_rows=1, timeout=1)
    finally:
        task.cancel()
        await wh.close()
    assert ticks > 10  # the loop kept running while the query ran in the pool


async def test_bad_urls_are_refused_clearly():
    with pytest.raises(WarehouseError, match="supports PostgreSQL and DuckDB"):
        SQLAlchemyWarehouse("sqlite:///x.db")
    with pytest.raises(WarehouseError, match="not a valid SQLAlchemy URL"):
        SQLAlchemyWarehouse("::nonsense::")


async def test_postgres_url_password_is_masked(caplog, unused_tcp_port):
    caplog.set_level(logging.DEBUG)
    wh = SQLAlchemyWarehouse(f"postgresql://reader:{PASSWORD}@127.0.0.1:{unused_tcp_port}/analytics")
    with pytest.raises(WarehouseError, match="Could not connect to PostgreSQL 127.0.0.1/analytics") as failure:
        await wh.run("SELECT 1", max_rows=1, timeout=5)
    await wh.close()
    assert PASSWORD not in str(failure.value) and PASSWORD not in caplog.text
    assert PASSWORD not in wh.safe(f"postgresql://reader:{PASSWORD}@db/x failed")


@pytest.mark.postgres
async def test_postgres_url(make_settings):
    if not PG_URL:
        pytest.skip("VENN_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    import psycopg

    dsn = PG_URL.replace("postgres://", "postgresql://", 1)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS venn_wh_test_sales")
        conn.execute("CREATE TABLE venn_wh_test_sales (id int, region text, amount numeric(10,2), at timestamptz)")
        conn.execute("COMMENT ON TABLE venn_wh_test_sales IS 'Sales lines'")
        conn.execute("COMMENT ON COLUMN venn_wh_test_sales.region IS 'Sales region'")
        conn.execute(
            "INSERT INTO venn_wh_test_sales SELECT i, 'r' || (i % 3), i * 2.5, '2024-01-01T00:00:00Z'::timestamptz "
            "FROM generate_series(1, 20) i"
        )
    wh = open_warehouse(make_settings(warehouse_url=PG_URL))
    try:
        assert wh.dialect == "postgres" and wh.default_schema == "public"
        result = await wh.run("SELECT id, amount, at FROM venn_wh_test_sales ORDER BY id", max_rows=5, timeout=10)
        assert result.rows[0] == [1, 2.5, "2024-01-01T00:00:00+00:00"] and result.truncated is True
        info = await wh.describe("venn_wh_test_sales", "SELECT * FROM venn_wh_test_sales LIMIT 3", timeout=10)
        assert info.comment == "Sales lines"
        assert ("region", "text", "Sales region") in [(c.name, c.type, c.comment) for c in info.columns]
        with pytest.raises(WarehouseError, match="read-only transaction"):
            await wh.run("DELETE FROM venn_wh_test_sales", max_rows=1, timeout=10)
        with pytest.raises(WarehouseError, match="statement timeout"):
            await wh.run("SELECT pg_sleep(3)", max_rows=1, timeout=1)
    finally:
        await wh.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS venn_wh_test_sales")


@pytest.mark.postgres
async def test_postgres_statements_are_stopped_on_the_server(make_settings):
    if not PG_URL:
        pytest.skip("VENN_TEST_DATABASE_URL is not set: no PostgreSQL to test against")
    import psycopg

    dsn = PG_URL.replace("postgres://", "postgresql://", 1)

    def running(tag: str) -> int:
        """Venn's statements with this tag that the server is running now."""
        with psycopg.connect(dsn, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND application_name = %s "
                "AND datname = current_database()", (tag,),
            ).fetchone()[0]

    wh = open_warehouse(make_settings(warehouse_url=PG_URL))
    try:
        with pytest.raises(WarehouseTimeout, match="longer than 1 s and was stopped"):
            await wh.run("SELECT pg_sleep(30)", max_rows=1, timeout=1, tag=query_tag(42, 7))
        assert running(query_tag(42, 7)) == 0
        # a caller that goes away (the handler was stopped) cancels its statement on the server
        task = asyncio.create_task(wh.run("SELECT pg_sleep(60)", max_rows=1, timeout=120, tag=query_tag(42, 8)))
        await wait_for(lambda: running(query_tag(42, 8)) == 1, timeout=10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wait_for(lambda: running(query_tag(42, 8)) == 0, timeout=10)
        # the pool's connections serve on
        assert (await wh.run("SELECT 1 AS one", max_rows=1, timeout=10)).rows == [[1]]
    finally:
        await wh.close()


def test_open_warehouse_chooses_from_settings(make_settings, tmp_path):
    assert open_warehouse(make_settings()).label == "the DuckDB demo warehouse"
    assert open_warehouse(make_settings(warehouse_url=f"duckdb:///{tmp_path / 'w.duckdb'}")).dialect == "duckdb"
    sf = open_warehouse(make_settings(snowflake_account="acme", snowflake_user="venn", snowflake_password="x",
                                      snowflake_database="ANALYTICS", snowflake_schema="PUBLIC"))
    assert isinstance(sf, SnowflakeWarehouse) and sf.label == "Snowflake account acme, ANALYTICS.PUBLIC"
    with pytest.raises(WarehouseError, match="SNOWFLAKE_USER"):
        open_warehouse(make_settings(snowflake_account="acme"))


def test_values_become_json_friendly():
    import datetime as dt
    import decimal
    import uuid

    assert jsonable(decimal.Decimal("12.50")) == 12.5
    assert jsonable(decimal.Decimal("NaN")) == "NaN"
    assert jsonable(dt.datetime(2024, 5, 1, 12, 30)) == "2024-05-01T12:30:00"
    assert jsonable(dt.date(2024, 5, 1)) == "2024-05-01"
    assert jsonable(b"\x00\x01") == "AAE="
    assert jsonable(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert jsonable(float("inf")) == "inf"
    assert jsonable({"a": [decimal.Decimal("1")]}) == {"a": [1.0]}


def test_values_json_cannot_carry_exactly_become_text():
    import datetime as dt
    import decimal

    from venn_plugins.sql_agent.warehouse.values import cell, compact

    assert jsonable(2**53 - 1) == 2**53 - 1 and jsonable(-(2**53) + 1) == -(2**53) + 1
    assert jsonable(2**53) == "9007199254740992" and jsonable(-(2**127)) == str(-(2**127))
    assert jsonable(decimal.Decimal("51180.30")) == 51180.3 and jsonable(decimal.Decimal("0.1")) == 0.1
    assert jsonable(decimal.Decimal("12345678901234567890.12")) == "12345678901234567890.12"
    assert jsonable(decimal.Decimal("1E+400")) == "1E+400"  # a float would be infinite
    assert jsonable(float("-inf")) == "-inf" and jsonable(dt.timedelta(days=30)) == "30 days, 0:00:00"
    assert cell({"a": [1, None, "x"], 2: {"b": 2**60}}, 100) == '{"a":[1,null,"x"],"2":{"b":"1152921504606846976"}}'
    assert cell("é" * 10, 4) == "éééé… [cut: 10 characters]"
    assert compact(list(range(1000)), 10) == "[0,1,2,3,4… [cut]"


def test_table_names_are_read_as_the_warehouse_resolves_them():
    from venn_plugins.sql_agent.guard import table_name_parts

    assert table_name_parts("analytics.sales.orders") == ["ANALYTICS", "SALES", "ORDERS"]
    assert table_name_parts('sales."Order Lines"') == ["SALES", "Order Lines"]
    assert table_name_parts("Sales.Orders", dialect="postgres") == ["sales", "orders"]
    for bad in ("orders; DROP TABLE x", "a.b.c.d", "", "two words", "orders--"):
        with pytest.raises(ValueError):
            table_name_parts(bad)
