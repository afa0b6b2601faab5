"""The warehouse's catalog: which tables exist, their descriptions and row counts.

What admins pick ``allowed_tables`` from (``GET /api/v1/sql/tables``), what refuses a
table name that does not exist when the plugin is enabled or reconfigured
(:func:`missing_tables`), and what ``/tables`` shows for a thread's tables.

The catalog is read with one fixed statement per dialect (:data:`CATALOG_SQL`), written
here and run as is through :meth:`Warehouse.run`, not through the guard: the guard
refuses system catalogs to the model and to people, and this statement takes no input.
Row counts are what the warehouse's catalog holds: exact in Snowflake, DuckDB's own
estimate, PostgreSQL's planner estimate (none before the table was first analysed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from venn_plugins.sql_agent.guard import SQLGuardError, table_name_parts
from venn_plugins.sql_agent.warehouse import Warehouse, WarehouseError, sample_sql

__all__ = ["CATALOG_SQL", "MAX_CATALOG_TABLES", "Catalog", "CatalogTable", "missing_tables", "read_catalog"]

#: tables read from the catalog at most (a larger warehouse is listed in part: ``truncated``)
MAX_CATALOG_TABLES = 5000
#: seconds the catalog statement may run
CATALOG_TIMEOUT_SECONDS = 30
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")

#: database, schema, table, description, row count; ordered by schema and table
CATALOG_SQL = {
    "duckdb": (
        "SELECT database_name, schema_name, table_name, comment, estimated_size FROM duckdb_tables() "
        "WHERE NOT internal AND NOT temporary "
        "UNION ALL "
        "SELECT database_name, schema_name, view_name, comment, NULL FROM duckdb_views() "
        "WHERE NOT internal AND NOT temporary "
        "ORDER BY 1, 2, 3"
    ),
    "postgres": (
        "SELECT current_database(), n.nspname, c.relname, obj_description(c.oid, 'pg_class'), "
        "CASE WHEN c.relkind IN ('r', 'p', 'm') AND c.reltuples >= 0 THEN c.reltuples::bigint END "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition "
        "AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_' "
        "AND has_table_privilege(c.oid, 'SELECT') "
        "ORDER BY 2, 3"
    ),
    "snowflake": (
        "SELECT TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, COMMENT, ROW_COUNT FROM INFORMATION_SCHEMA.TABLES "
        "WHERE TABLE_SCHEMA <> 'INFORMATION_SCHEMA' ORDER BY 2, 3"
    ),
}


@dataclass(frozen=True)
class CatalogTable:
    """A table (or view) of the warehouse."""

    #: how ``allowed_tables`` names it: the shortest of TABLE, SCHEMA.TABLE, DB.SCHEMA.TABLE
    name: str
    description: str | None
    #: the catalog's count or estimate; None when it has none (views, tables never analysed)
    row_count: int | None
    #: (database, schema, table) as the warehouse resolves names
    key: tuple[str | None, str, str]


@dataclass(frozen=True)
class Catalog:
    """The tables of a warehouse; ``truncated`` when it has more than were read."""

    tables: list[CatalogTable]
    truncated: bool
    dialect: str
    default_database: str | None
    default_schema: str | None

    def find(self, entry: str) -> CatalogTable | None:
        """The table an ``allowed_tables`` entry names, if the catalog has it."""
        key = resolve(entry, self.dialect, self.default_database, self.default_schema)
        if key is None:
            return None
        for table in self.tables:
            if table.key == key or (key[0] is None and table.key[1:] == key[1:]):
                return table
        return None


def _fold_exact(part: str, dialect: str) -> str:
    """A name as stored in the catalog, as the warehouse resolves it (a quoted identifier)."""
    return table_name_parts('"' + part.replace('"', '""') + '"', dialect=dialect)[0]


def _default(value: str | None, dialect: str) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        parts = table_name_parts(str(value), dialect=dialect)
    except ValueError:
        return _fold_exact(str(value), dialect)
    return parts[0] if len(parts) == 1 else _fold_exact(str(value), dialect)


def resolve(
    entry: str, dialect: str, default_database: str | None, default_schema: str | None
) -> tuple[str | None, str, str] | None:
    """``(database, schema, table)`` of an allow-list entry, completed with the defaults
    as the guard completes it; None when it is not a table name."""
    try:
        parts = table_name_parts(entry, dialect=dialect)
    except ValueError:
        return None
    padded: list[str | None] = [None] * (3 - len(parts)) + list(parts)
    database = padded[0] if padded[0] is not None else _default(default_database, dialect)
    schema = padded[1] if padded[1] is not None else _default(default_schema, dialect)
    if schema is None:
        return None
    return database, schema, str(padded[2])


def _display_part(part: str, dialect: str) -> str:
    if _BARE.match(part) and table_name_parts(part, dialect=dialect)[0] == part:
        return part
    return '"' + part.replace('"', '""') + '"'


def _entry_name(key: tuple[str | None, str, str], dialect: str, database: str | None, schema: str | None) -> str:
    db, sch, table = key
    if db is None or db == database:
        parts = [table] if sch == schema else [sch, table]
    else:
        parts = [db, sch, table]
    return ".".join(_display_part(p, dialect) for p in parts)


async def read_catalog(warehouse: Warehouse, *, tag: str = "venn catalog") -> Catalog:
    """The warehouse's tables (at most :data:`MAX_CATALOG_TABLES`). Raises
    :class:`WarehouseError` (its message is safe to show)."""
    dialect = warehouse.dialect
    sql = CATALOG_SQL.get(dialect)
    if sql is None:
        raise WarehouseError(f"Venn cannot list the tables of a {dialect} warehouse.")
    result = await warehouse.run(sql, max_rows=MAX_CATALOG_TABLES, timeout=CATALOG_TIMEOUT_SECONDS, tag=tag)
    database = _default(warehouse.default_database, dialect)
    schema = _default(warehouse.default_schema, dialect)
    tables = []
    for db, sch, name, comment, rows in result.rows:
        if sch is None or name is None:
            continue
        key = (
            _fold_exact(str(db), dialect) if db is not None else None,
            _fold_exact(str(sch), dialect),
            _fold_exact(str(name), dialect),
        )
        count = int(rows) if isinstance(rows, (int, float)) and not isinstance(rows, bool) and rows >= 0 else None
        description = str(comment).strip() if comment is not None and str(comment).strip() else None
        tables.append(CatalogTable(_entry_name(key, dialect, database, schema), description, count, key))
    return Catalog(tables, result.truncated, dialect, warehouse.default_database, warehouse.default_schema)


async def missing_tables(warehouse: Warehouse, entries: Sequence[str]) -> list[str]:
    """The entries of an allow-list that name no table of the warehouse. Raises
    :class:`WarehouseError` when the catalog cannot be read."""
    catalog = await read_catalog(warehouse, tag="venn check-config")
    missing = [entry for entry in entries if catalog.find(entry) is None]
    if not catalog.truncated or not missing:
        return missing
    # A catalog read in part: ask the warehouse about each name it did not list.
    still = []
    for entry in missing:
        try:
            sample = sample_sql(entry, [entry], warehouse)
            await warehouse.describe(entry, sample, timeout=CATALOG_TIMEOUT_SECONDS, tag="venn check-config")
        except (SQLGuardError, WarehouseError, ValueError):
            still.append(entry)
    return still
