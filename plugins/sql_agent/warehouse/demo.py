"""The DuckDB demo warehouse as a warehouse: the file :mod:`venn_plugins.sql_agent.demo`
builds (for today, on first use and again the next day), read in worker processes."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

from venn_plugins.sql_agent.demo import demo_path, ensure_demo
from venn_plugins.sql_agent.warehouse.duckdb_pool import DuckDBWarehouse

__all__ = ["DemoWarehouse"]


class DemoWarehouse(DuckDBWarehouse):
    """The DuckDB demo warehouse under ``VENN_DATA_DIR``, opened read-only in worker
    processes (see :class:`~venn_plugins.sql_agent.warehouse.DuckDBWarehouse`)."""

    def __init__(self, data_dir: str | Path, **options: Any) -> None:
        self.data_dir = Path(data_dir)
        super().__init__(demo_path(self.data_dir).resolve(), label="the DuckDB demo warehouse", **options)
        self._demo_lock = threading.Lock()
        self._checked_on: dt.date | None = None

    def _prepare(self) -> None:
        today = dt.datetime.now(dt.UTC).date()
        if self._checked_on == today:
            return
        with self._demo_lock:
            if self._checked_on == today:
                return
            _, built = ensure_demo(self.data_dir, today)
            if built:
                # Workers started on the previous file would keep reading it.
                self.restart_workers()
            self._checked_on = today
