"""The warehouse layer of the SQL agent: where guarded SQL runs.

Three kinds, chosen from the settings by :func:`open_warehouse`:

* **Snowflake** (``SNOWFLAKE_ACCOUNT`` set): :mod:`.snowflake`.
* **Any SQLAlchemy URL** (``VENN_WAREHOUSE_URL``): PostgreSQL (:mod:`.postgres`) or a
  DuckDB file (:mod:`.duckdb_pool`). The guard then uses that dialect.
* **The DuckDB demo warehouse** (neither set): made under ``VENN_DATA_DIR`` on first
  use (see :mod:`venn_plugins.sql_agent.demo`).

Every kind keeps Venn's process safe from what a statement does: a timeout stops the
statement in the warehouse (:mod:`.base`), DuckDB runs in worker processes with a
memory limit and no file or network access, and results are read only up to the row
limit and ``VENN_SQL_MAX_CSV_BYTES`` (:mod:`.values`). Every failure becomes a
:class:`WarehouseError` (:class:`WarehouseTimeout` for a timeout) whose message is safe
to show: configured secrets are masked and connection errors are summarised.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from venn_plugins.sql_agent.guard import check_sql
from venn_plugins.sql_agent.warehouse.base import (
    DEFAULT_POOL_SIZE,
    SAMPLE_ROWS,
    ColumnInfo,
    QueryResult,
    TableInfo,
    Warehouse,
    WarehouseError,
    WarehouseTimeout,
    query_tag,
)
from venn_plugins.sql_agent.warehouse.demo import DemoWarehouse
from venn_plugins.sql_agent.warehouse.duckdb_pool import DuckDBWarehouse
from venn_plugins.sql_agent.warehouse.postgres import SQLAlchemyWarehouse
from venn_plugins.sql_agent.warehouse.snowflake import SnowflakeWarehouse
from venn_plugins.sql_agent.warehouse.values import jsonable

__all__ = [
    "ColumnInfo",
    "DemoWarehouse",
    "DuckDBWarehouse",
    "QueryResult",
    "SnowflakeWarehouse",
    "SQLAlchemyWarehouse",
    "TableInfo",
    "Warehouse",
    "WarehouseError",
    "WarehouseTimeout",
    "jsonable",
    "open_warehouse",
    "query_tag",
    "sample_sql",
]


def open_warehouse(settings: Any, *, pool_size: int = DEFAULT_POOL_SIZE, statement_timeout: int = 300) -> Warehouse:
    """The warehouse the settings describe: ``VENN_WAREHOUSE_URL``, else Snowflake when
    ``SNOWFLAKE_ACCOUNT`` is set, else the DuckDB demo under ``VENN_DATA_DIR``."""
    max_result_bytes = int(settings.sql_max_csv_bytes)
    memory_limit = int(settings.warehouse_memory_limit)
    url = settings.warehouse_url.get_secret_value() if settings.warehouse_url is not None else ""
    if url:
        return SQLAlchemyWarehouse(
            url, memory_limit=memory_limit, max_result_bytes=max_result_bytes, pool_size=pool_size
        )
    if settings.snowflake_account:
        if not settings.snowflake_user:
            raise WarehouseError("SNOWFLAKE_USER is required with SNOWFLAKE_ACCOUNT.")
        return SnowflakeWarehouse(
            account=settings.snowflake_account,
            user=settings.snowflake_user,
            password=settings.snowflake_password.get_secret_value() if settings.snowflake_password else None,
            private_key_path=settings.snowflake_private_key_path,
            private_key_passphrase=(
                settings.snowflake_private_key_passphrase.get_secret_value()
                if settings.snowflake_private_key_passphrase
                else None
            ),
            role=settings.snowflake_role,
            warehouse=settings.snowflake_warehouse,
            database=settings.snowflake_database,
            schema=settings.snowflake_schema,
            statement_timeout=statement_timeout,
            max_result_bytes=max_result_bytes,
            pool_size=pool_size,
        )
    return DemoWarehouse(
        Path(settings.data_dir), memory_limit=memory_limit, max_result_bytes=max_result_bytes, pool_size=pool_size
    )


def sample_sql(table: str, allowed_tables: Sequence[str], warehouse: Warehouse) -> str:
    """The guarded ``SELECT * FROM table LIMIT 3`` of a describe (raises SQLGuardError)."""
    return check_sql(
        f"SELECT * FROM {table}",
        list(allowed_tables),
        dialect=warehouse.dialect,
        max_rows=SAMPLE_ROWS,
        default_database=warehouse.default_database,
        default_schema=warehouse.default_schema,
    )
