"""Warehouses given by a SQLAlchemy URL (``VENN_WAREHOUSE_URL``).

PostgreSQL runs through SQLAlchemy's engine and psycopg 3: read-only transactions,
``statement_timeout`` and ``application_name`` (the query's tag) per statement, rows
streamed one by one (so a huge result is never read whole), and a
statement Venn stops waiting for is cancelled on the server. A ``duckdb://`` URL makes
a :class:`~venn_plugins.sql_agent.warehouse.duckdb_pool.DuckDBWarehouse`, which runs
DuckDB in worker processes instead.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from venn_plugins.sql_agent.guard import table_name_parts
from venn_plugins.sql_agent.warehouse.base import (
    CELL_CHARS,
    DEFAULT_MAX_RESULT_BYTES,
    DEFAULT_POOL_SIZE,
    TAG_CHARS,
    ColumnInfo,
    Fetched,
    Stopper,
    Warehouse,
    WarehouseError,
    WarehouseTimeout,
    quote,
)
from venn_plugins.sql_agent.warehouse.values import collect_rows

__all__ = ["SQLAlchemyWarehouse", "normalise_url"]

#: PostgreSQL's SQLSTATE for a statement cancelled (statement_timeout, or a cancel request)
QUERY_CANCELED = "57014"


def normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` use psycopg (3), the driver Venn installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _backend(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    try:
        return make_url(normalise_url(url)).get_backend_name()
    except Exception:
        return None


class SQLAlchemyWarehouse(Warehouse):
    """Any SQLAlchemy URL whose dialect the guard knows: PostgreSQL, or DuckDB (for
    which the constructor returns a :class:`DuckDBWarehouse`)."""

    def __new__(cls, url: str, **options: Any) -> Any:
        if cls is SQLAlchemyWarehouse and _backend(url) == "duckdb":
            from venn_plugins.sql_agent.warehouse.duckdb_pool import DuckDBWarehouse

            return DuckDBWarehouse.from_url(url, **options)
        return super().__new__(cls)

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        label: str | None = None,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        memory_limit: int | None = None,  # DuckDB's; PostgreSQL's memory is the server's own
    ) -> None:
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        try:
            parsed = make_url(normalise_url(url))
        except Exception:
            raise WarehouseError("VENN_WAREHOUSE_URL is not a valid SQLAlchemy URL.") from None
        secrets = (parsed.password,) if parsed.password else ()
        super().__init__(pool_size=pool_size, secrets=secrets, max_result_bytes=max_result_bytes)
        backend = parsed.get_backend_name()
        if backend != "postgresql":
            raise WarehouseError(
                f"VENN_WAREHOUSE_URL: the SQL guard supports PostgreSQL and DuckDB warehouses, not {backend!r}."
            )
        self.dialect = "postgres"
        self.url = parsed
        self.default_database = parsed.database
        self.default_schema = "public"
        self.label = label or f"PostgreSQL {parsed.host or 'localhost'}/{parsed.database or ''}"
        try:
            self.engine = sa.create_engine(
                parsed,
                pool_size=self.pool_size,
                max_overflow=0,
                pool_pre_ping=True,
                # Read-only transactions: a third lock beside the role and the guard.
                connect_args={"options": "-c default_transaction_read_only=on"},
            )
        except Exception as exc:  # e.g. the driver is not installed
            raise WarehouseError(f"VENN_WAREHOUSE_URL cannot be used: {self.safe(str(exc))}") from None

    def _connection(self) -> Any:
        try:
            return self.engine.connect()
        except Exception as exc:
            raise WarehouseError(f"Could not connect to {self.label}: {self.safe(_message(exc))}") from None

    def _limits(self, conn: Any, timeout: float, tag: str, stop: Stopper) -> None:
        """This statement's timeout and tag; a stop cancels it on the server."""
        conn.exec_driver_sql(f"SET statement_timeout = {max(1, int(timeout * 1000))}")
        name = TAG_CHARS.sub("_", tag)[:63].replace("'", "")
        conn.exec_driver_sql(f"SET application_name = '{name}'")
        stop.on_stop(conn.connection.driver_connection.cancel_safe)

    def _query(self, sql: str, max_rows: int, timeout: float, tag: str, stop: Stopper) -> Fetched:
        with self._connection() as conn:
            try:
                self._limits(conn, timeout, tag, stop)
                # psycopg's stream (single-row mode): rows arrive one by one and reading
                # stops at the limits; leaving early cancels the rest on the server.
                with conn.connection.driver_connection.cursor() as cursor:
                    stream = cursor.stream(sql)
                    try:
                        rows, more, cut = collect_rows(
                            lambda n: list(itertools.islice(stream, n)),
                            max_rows=max_rows, max_bytes=self.max_result_bytes, cell_chars=CELL_CHARS,
                        )
                    finally:
                        stream.close()
                    columns = [d.name for d in cursor.description or ()]
            finally:
                stop.clear()
            conn.rollback()
        return Fetched(columns, rows, more, cut)

    def _columns(self, table: str, timeout: float, tag: str, stop: Stopper) -> tuple[list[ColumnInfo], str | None]:
        from sqlalchemy import text

        parts = table_name_parts(table, dialect=self.dialect)
        name = parts[-1]
        schema = parts[-2] if len(parts) > 1 else self.default_schema
        with self._connection() as conn:
            try:
                self._limits(conn, timeout, tag, stop)
                regclass = ".".join(quote(p) for p in (schema, name) if p)
                oid = conn.execute(text("SELECT to_regclass(:n)::oid"), {"n": regclass}).scalar()
                if oid is None:
                    conn.rollback()
                    return [], None
                rows = conn.execute(
                    text(
                        "SELECT attname, format_type(atttypid, atttypmod), col_description(attrelid, attnum) "
                        "FROM pg_attribute WHERE attrelid = :oid AND attnum > 0 AND NOT attisdropped "
                        "ORDER BY attnum"
                    ),
                    {"oid": oid},
                ).fetchall()
                found = conn.execute(text("SELECT obj_description(:oid, 'pg_class')"), {"oid": oid}).fetchall()
            finally:
                stop.clear()
            conn.rollback()
        columns = [ColumnInfo(str(r[0]), str(r[1]), r[2] or None) for r in rows]
        return columns, (found[0][0] or None) if found else None

    def _close_connections(self) -> None:
        self.engine.dispose()

    def _error(self, exc: BaseException, timeout: float) -> WarehouseError:
        orig = getattr(exc, "orig", exc)  # SQLAlchemy wraps the driver's error; a stream does not
        if getattr(orig, "sqlstate", None) == QUERY_CANCELED:
            return WarehouseTimeout.after(timeout, _message(exc))
        return WarehouseError(_message(exc))


def _message(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    return text.split("\n[SQL:")[0].split("\n(Background on this error")[0]


def duckdb_path(url: str) -> Path | str:
    """The database of a ``duckdb://`` URL: a file path, or ``:memory:``."""
    from sqlalchemy.engine import make_url

    try:
        database = make_url(url).database or ":memory:"
    except Exception:
        raise WarehouseError("VENN_WAREHOUSE_URL is not a valid SQLAlchemy URL.") from None
    return database if database == ":memory:" else Path(database)
