"""DuckDB runs out of the chat server's process, in worker processes that cannot reach
the file system or the network, cannot grow past their memory limit, and are stopped
(interrupted, or ended) when a statement runs past its time or its caller goes away.

The statements here go straight to the warehouse, past the SQL guard: the engine's
configuration is the lock these tests check, for whatever the guard lets through.
"""

from __future__ import annotations

import asyncio
import os

import psutil
import pytest

from tests.helpers import wait_for
from venn_plugins.sql_agent.warehouse import DuckDBWarehouse, SQLAlchemyWarehouse, WarehouseError, WarehouseTimeout

MiB = 1024 * 1024
# Needs 200 million BIGINTs (1.6 GB) in one list: DuckDB's memory_limit alone does not
# stop it (it grew the server to 13.7 GB before the worker processes).
HUGE_LIST = "SELECT len(generate_series(1, 200000000))"
ENDLESS = "SELECT COUNT(*) FROM range(100000000000) a, range(100) b"


@pytest.fixture
async def warehouse(agent_demo_file):
    wh = SQLAlchemyWarehouse(f"duckdb:///{agent_demo_file}", pool_size=1, memory_limit=256 * MiB)
    try:
        yield wh
    finally:
        await wh.close()


def worker(wh: DuckDBWarehouse) -> psutil.Process:
    [pid] = wh.worker_pids()
    return psutil.Process(pid)


async def test_statements_run_in_a_worker_process(warehouse):
    assert isinstance(warehouse, DuckDBWarehouse)
    result = await warehouse.run("SELECT COUNT(*) FROM customers", max_rows=1, timeout=30)
    assert result.rows == [[900]]
    proc = worker(warehouse)
    assert proc.pid != os.getpid() and proc.is_running()
    # reused: the next statement runs in the same worker
    await warehouse.run("SELECT 1", max_rows=1, timeout=30)
    assert warehouse.worker_pids() == [proc.pid]


async def test_the_engine_is_locked_down(warehouse):
    settings = await warehouse.run(
        "SELECT current_setting('memory_limit'), current_setting('threads'), "
        "current_setting('enable_external_access'), current_setting('autoinstall_known_extensions'), "
        "current_setting('autoload_known_extensions'), current_setting('lock_configuration')",
        max_rows=1, timeout=30,
    )
    assert settings.rows == [["256.0 MiB", 2, False, False, False, True]]
    for change in ("SET memory_limit = '100GB'", "SET enable_external_access = true", "RESET lock_configuration",
                   "SET threads = 64", "PRAGMA memory_limit = '100GB'"):
        with pytest.raises(WarehouseError, match="configuration has been locked"):
            await warehouse.run(change, max_rows=1, timeout=30)


async def test_no_statement_reaches_the_file_system_or_the_network(warehouse, tmp_path):
    target = tmp_path / "out.csv"
    refused = [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        f"COPY (SELECT 1) TO '{target}'",
        f"ATTACH '{tmp_path / 'other.duckdb'}' AS other",
        "SELECT * FROM read_csv('http://127.0.0.1:9/data.csv')",
        "SELECT * FROM read_parquet('https://example.com/x.parquet')",
        "INSTALL inet",
        "LOAD inet",
    ]
    for sql in refused:
        with pytest.raises(WarehouseError) as failure:
            await warehouse.run(sql, max_rows=1, timeout=30)
        assert "disabled" in str(failure.value), sql
    assert not target.exists() and not (tmp_path / "other.duckdb").exists()
    # A function of an extension is not downloaded and loaded on the fly (over plain http).
    with pytest.raises(WarehouseError) as failure:
        await warehouse.run("SELECT host('http://a.b/c')", max_rows=1, timeout=30)
    assert "inet extension" in str(failure.value) and "loads no extensions" in str(failure.value)
    assert "SET autoinstall" not in str(failure.value)  # advice that would only be refused


async def test_a_statement_over_the_memory_limit_fails_and_the_worker_serves_on(warehouse):
    await warehouse.run("SELECT 1", max_rows=1, timeout=30)
    proc = worker(warehouse)
    with pytest.raises(WarehouseError, match=r"over the warehouse's memory limit \(256 MiB\)"):
        await warehouse.run(HUGE_LIST, max_rows=1, timeout=30)
    assert proc.memory_info().rss < 512 * MiB
    assert (await warehouse.run("SELECT COUNT(*) FROM orders", max_rows=1, timeout=30)).row_count == 1
    assert warehouse.worker_pids() == [proc.pid]


async def test_a_statement_past_its_timeout_is_interrupted_in_the_worker(warehouse):
    await warehouse.run("SELECT 1", max_rows=1, timeout=30)
    pid = worker(warehouse).pid
    with pytest.raises(WarehouseTimeout, match="longer than 1 s"):
        await warehouse.run(ENDLESS, max_rows=1, timeout=1)
    # The one worker answers the next statement: the endless one no longer runs there.
    assert (await warehouse.run("SELECT 42", max_rows=1, timeout=30)).rows == [[42]]
    assert warehouse.worker_pids() == [pid]


async def test_a_worker_that_does_not_answer_is_ended(warehouse):
    await warehouse.run("SELECT 1", max_rows=1, timeout=30)
    stuck = worker(warehouse)
    stuck.suspend()  # as a statement that ignores the interrupt
    try:
        with pytest.raises(WarehouseTimeout, match="longer than 1 s"):
            await warehouse.run("SELECT 2", max_rows=1, timeout=1)
    finally:
        if stuck.is_running():
            stuck.resume()
    await wait_for(lambda: not stuck.is_running() or stuck.status() == psutil.STATUS_ZOMBIE)
    assert (await warehouse.run("SELECT 3", max_rows=1, timeout=30)).rows == [[3]]
    assert warehouse.worker_pids() != [stuck.pid]


async def test_a_statement_whose_caller_went_away_is_stopped(warehouse):
    await warehouse.run("SELECT 1", max_rows=1, timeout=30)
    busy = worker(warehouse)
    task = asyncio.create_task(warehouse.run(ENDLESS, max_rows=1, timeout=300))
    await wait_for(lambda: busy.cpu_percent(interval=0.1) > 10, timeout=30)
    task.cancel()  # the handler was stopped
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_for(lambda: not busy.is_running() or busy.status() == psutil.STATUS_ZOMBIE)
    assert (await warehouse.run("SELECT 4", max_rows=1, timeout=30)).rows == [[4]]


async def test_a_worker_that_dies_fails_only_its_statement(warehouse):
    await warehouse.run("SELECT 1", max_rows=1, timeout=30)
    doomed = worker(warehouse)
    task = asyncio.create_task(warehouse.run(ENDLESS, max_rows=1, timeout=300))
    await wait_for(lambda: doomed.cpu_percent(interval=0.1) > 10, timeout=30)
    doomed.kill()  # as the kernel's OOM killer would
    with pytest.raises(WarehouseError, match="DuckDB worker running the query stopped .ended by SIGKILL."):
        await task
    assert (await warehouse.run("SELECT 5", max_rows=1, timeout=30)).rows == [[5]]


async def test_closing_the_warehouse_ends_its_workers(agent_demo_file):
    wh = SQLAlchemyWarehouse(f"duckdb:///{agent_demo_file}", pool_size=2)
    await asyncio.gather(*(wh.run("SELECT COUNT(*) FROM orders", max_rows=1, timeout=30) for _ in range(2)))
    procs = [psutil.Process(pid) for pid in wh.worker_pids()]
    assert 1 <= len(procs) <= 2
    await wh.close()
    for proc in procs:
        await wait_for(lambda p=proc: not p.is_running() or p.status() == psutil.STATUS_ZOMBIE)
    with pytest.raises(WarehouseError, match="closed"):
        await wh.run("SELECT 1", max_rows=1, timeout=30)


async def test_a_missing_file_is_a_clear_error(tmp_path):
    wh = SQLAlchemyWarehouse(f"duckdb:///{tmp_path / 'nope.duckdb'}")
    try:
        with pytest.raises(WarehouseError, match="DuckDB could not open the warehouse"):
            await wh.run("SELECT 1", max_rows=1, timeout=30)
    finally:
        await wh.close()
