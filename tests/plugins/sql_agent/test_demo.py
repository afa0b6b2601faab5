"""The DuckDB demo warehouse: deterministic, 18 months up to today, safe to build twice at once."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from venn_plugins.sql_agent.demo import DEMO_TABLES, demo_path, ensure_demo, generate
from venn_plugins.sql_agent.guard import check_sql
from venn_plugins.sql_agent.warehouse import DemoWarehouse

ROOT = Path(__file__).resolve().parents[3]
TODAY = dt.datetime.now(dt.UTC).date()

TOP_CUSTOMERS_LAST_MONTH = """
SELECT c.customer_id, c.name, SUM(oi.quantity * oi.unit_price) AS revenue
FROM customers AS c
JOIN orders AS o ON o.customer_id = c.customer_id
JOIN order_items AS oi ON oi.order_id = o.order_id
WHERE o.status IN ('completed', 'shipped')
  AND o.ordered_at >= DATE_TRUNC('month', CURRENT_DATE) - INTERVAL 1 MONTH
  AND o.ordered_at < DATE_TRUNC('month', CURRENT_DATE)
GROUP BY c.customer_id, c.name
ORDER BY revenue DESC
LIMIT 10
"""


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo")
    ensure_demo(data_dir, TODAY)
    return data_dir


def test_generation_is_deterministic_and_realistic():
    a, b = generate(TODAY), generate(TODAY)
    assert a == b
    assert len(a["customers"]) >= 500 and len(a["orders"]) >= 5000 and len(a["order_items"]) >= len(a["orders"])
    # another day: the same shape of data, ending on that day
    later = generate(TODAY + dt.timedelta(days=40))
    assert len(later["customers"]) == len(a["customers"])
    assert max(o[2] for o in later["orders"]).date() == TODAY + dt.timedelta(days=40)
    statuses = {o[3] for o in a["orders"]}
    assert {"completed", "shipped", "pending", "cancelled"} <= statuses
    emails = [c[2] for c in a["customers"]]
    assert len(set(emails)) == len(emails) and all("@example." in e for e in emails)


def test_demo_covers_the_last_18_months_up_to_today(demo_dir):
    conn = duckdb.connect(str(demo_path(demo_dir)), read_only=True)
    try:
        first, last = conn.execute("SELECT MIN(ordered_at), MAX(ordered_at) FROM orders").fetchone()
        months = conn.execute("SELECT COUNT(DISTINCT DATE_TRUNC('month', ordered_at)) FROM orders").fetchone()[0]
        orphans = conn.execute(
            "SELECT COUNT(*) FROM orders o LEFT JOIN customers c USING (customer_id) WHERE c.customer_id IS NULL"
        ).fetchone()[0]
        early = conn.execute(
            "SELECT COUNT(*) FROM orders o JOIN customers c USING (customer_id) WHERE o.ordered_at < c.created_at"
        ).fetchone()[0]
        empty = conn.execute(
            "SELECT COUNT(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.order_id)"
        ).fetchone()[0]
        tables = {r[0] for r in conn.execute("SELECT table_name, comment FROM duckdb_tables() WHERE comment <> ''").fetchall()}
        uncommented = conn.execute(
            "SELECT COUNT(*) FROM duckdb_columns() WHERE NOT internal AND (comment IS NULL OR comment = '')"
        ).fetchone()[0]
    finally:
        conn.close()
    assert last.date() == TODAY
    assert (TODAY - first.date()).days in range(540, 560)  # 18 months
    assert months == 19  # 18 whole months back, plus this one
    assert orphans == 0 and early == 0 and empty == 0
    assert tables == set(DEMO_TABLES) and uncommented == 0


async def test_the_example_question_has_ten_answers(demo_dir):
    warehouse = DemoWarehouse(demo_dir)
    try:
        sql = check_sql(
            TOP_CUSTOMERS_LAST_MONTH, list(DEMO_TABLES), dialect=warehouse.dialect, max_rows=100,
            default_database=warehouse.default_database, default_schema=warehouse.default_schema,
        )
        result = await warehouse.run(sql, max_rows=100, timeout=30)
        info = await warehouse.describe("orders", "SELECT * FROM orders LIMIT 3", timeout=30)
    finally:
        await warehouse.close()
    assert result.row_count == 10 and result.columns == ["customer_id", "name", "revenue"]
    revenues = [r[2] for r in result.rows]
    assert revenues == sorted(revenues, reverse=True) and revenues[-1] > 0
    assert info.comment == "One row per order placed by a customer."
    assert {c.name: c.comment for c in info.columns}["status"].startswith("pending, shipped, completed")
    assert info.sample.row_count == 3


def test_demo_is_rebuilt_only_when_made_on_an_earlier_day(tmp_path):
    path, built = ensure_demo(tmp_path, TODAY)
    assert built and path.exists()
    assert ensure_demo(tmp_path, TODAY) == (path, False)
    yesterday = time.time() - 2 * 86_400
    os.utime(path, (yesterday, yesterday))
    inode = path.stat().st_ino
    assert ensure_demo(tmp_path, TODAY) == (path, True)
    assert path.stat().st_ino != inode  # replaced by a rename, never rewritten in place
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary files left behind


def test_two_processes_building_at_once_leave_one_valid_file(tmp_path):
    code = (
        "import sys, datetime; sys.path.insert(0, sys.argv[1]);"
        "from venn_plugins.sql_agent.demo import build_demo;"
        "build_demo(sys.argv[2], datetime.date.fromisoformat(sys.argv[3]))"
    )
    target = tmp_path / "demo_warehouse.duckdb"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(ROOT), str(target), TODAY.isoformat()])
        for _ in range(2)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    conn = duckdb.connect(str(target), read_only=True)
    try:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == len(generate(TODAY)["orders"])
    finally:
        conn.close()
