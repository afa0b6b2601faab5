"""The warehouse layer of the SQL agent: where guarded SQL runs.

Three kinds, chosen from the settings by :func:`open_warehouse`:

* **Snowflake** (``SNOWFLAKE_ACCOUNT`` set) through snowflake-connector-python, with a
  password or key-pair auth. Each session starts with ``STATEMENT_TIMEOUT_IN_SECONDS``
  and a ``QUERY_TAG`` naming Venn; before a query the session is switched to the
  caller's tag (``venn thread=42 query=7``) and timeout with ``ALTER SESSION`` when they
  differ from what the session has.
* **Any SQLAlchemy URL** (``VENN_WAREHOUSE_URL``): PostgreSQL (read-only transactions,
  ``statement_timeout``, ``application_name`` as the tag) or a DuckDB file (opened
  read-only). The guard then uses that dialect.
* **The DuckDB demo warehouse** (neither set): made under ``VENN_DATA_DIR`` on first use
  (see :mod:`venn_plugins.sql_agent.demo`) and opened read-only.

Queries run in a small thread pool (``pool_size`` threads, as many connections), never
on the event loop, so a slow warehouse never blocks chat. Each query has a timeout on
the warehouse side and on ours. At most ``max_rows + 1`` rows are fetched, which is how
``truncated`` is known. Every failure becomes a :class:`WarehouseError` whose message is
safe to show: configured secrets are masked and connection errors are summarised.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import decimal
import logging
import math
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from venn_plugins.sql_agent.guard import check_sql, table_name_parts

log = logging.getLogger("venn.plugins.sql.warehouse")

__all__ = [
    "ColumnInfo",
    "QueryResult",
    "SnowflakeWarehouse",
    "SQLAlchemyWarehouse",
    "TableInfo",
    "Warehouse",
    "WarehouseError",
    "open_warehouse",
]

#: connections (and threads) per warehouse
DEFAULT_POOL_SIZE = 4
#: seconds our side waits beyond the warehouse's own statement timeout
TIMEOUT_GRACE = 5.0
SAMPLE_ROWS = 3
_MAX_ERROR = 500
_TAG_CHARS = re.compile(r"[^A-Za-z0-9 =:_.,/-]")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.I)


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryResult:
    """Rows of one query, JSON-friendly (dates as ISO strings, decimals as floats)."""

    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    elapsed_ms: int


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type: str
    comment: str | None = None


@dataclass(frozen=True)
class TableInfo:
    """What the agent's "describe" tool shows: columns, types, comments, a few rows."""

    name: str
    columns: list[ColumnInfo]
    comment: str | None
    sample: QueryResult


class WarehouseError(Exception):
    """The warehouse could not answer; ``str()`` is safe to show (never credentials)."""


def jsonable(value: Any) -> Any:
    """One value as JSON can carry it."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def query_tag(thread_id: int | None = None, query_id: int | None = None) -> str:
    """The tag a query carries in the warehouse's history: ``venn thread=42 query=7``."""
    tag = "venn"
    if thread_id is not None:
        tag += f" thread={int(thread_id)}"
    if query_id is not None:
        tag += f" query={int(query_id)}"
    return tag


# ---------------------------------------------------------------------------------------
# The common part
# ---------------------------------------------------------------------------------------


class Warehouse:
    """A warehouse: ``await run(sql, ...)`` and ``await describe(table, ...)``.

    ``run`` executes SQL that has already passed the guard; callers go through
    :class:`venn_plugins.sql_agent.runner.GuardedSQL`, never here directly.
    """

    #: sqlglot dialect of the guard
    dialect: str = "duckdb"
    #: names that complete unqualified table names (for the guard)
    default_database: str | None = None
    default_schema: str | None = None
    #: a one-line description without secrets ("Snowflake account xy123, ANALYTICS.PUBLIC")
    label: str = "warehouse"

    def __init__(self, *, pool_size: int = DEFAULT_POOL_SIZE, secrets: Sequence[str] = ()) -> None:
        self.pool_size = max(1, int(pool_size))
        self._secrets = [s for s in secrets if s]
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    # What callers use ----------------------------------------------------------

    async def run(
        self, sql: str, *, max_rows: int, timeout: float, tag: str = "venn"
    ) -> QueryResult:
        """Run one (guarded) query; fetch at most ``max_rows + 1`` rows to know ``truncated``."""
        started = time.monotonic()
        columns, rows = await self._call(self._query, sql, max_rows + 1, timeout, tag, timeout=timeout)
        truncated = len(rows) > max_rows
        kept = [[jsonable(v) for v in row] for row in rows[:max_rows]]
        return QueryResult(
            columns=columns,
            rows=kept,
            row_count=len(kept),
            truncated=truncated,
            elapsed_ms=int((time.monotonic() - started) * 1000),
        )

    async def describe(
        self, table: str, sample_sql: str, *, timeout: float, tag: str = "venn"
    ) -> TableInfo:
        """Columns, types and comments of ``table`` (a checked name) and up to 3 sample rows
        from ``sample_sql`` (a guarded ``SELECT * FROM table LIMIT 3``)."""
        columns, comment = await self._call(self._columns, table, timeout, tag, timeout=timeout)
        if not columns:
            raise WarehouseError(f"The table {table} does not exist or is not visible to Venn's role.")
        sample = await self.run(sample_sql, max_rows=SAMPLE_ROWS, timeout=timeout, tag=tag)
        return TableInfo(name=table, columns=columns, comment=comment, sample=sample)

    async def close(self) -> None:
        """Close every connection and the thread pool."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._close_connections)
            executor.shutdown(wait=False, cancel_futures=True)

    # Subclasses -----------------------------------------------------------------

    def _query(self, sql: str, fetch: int, timeout: float, tag: str) -> tuple[list[str], list[Sequence[Any]]]:
        raise NotImplementedError

    def _columns(self, table: str, timeout: float, tag: str) -> tuple[list[ColumnInfo], str | None]:
        raise NotImplementedError

    def _close_connections(self) -> None:
        pass

    def _error_message(self, exc: BaseException) -> str:
        """What a driver error says, for users and the model (a query error helps it)."""
        return str(exc)

    # Plumbing ------------------------------------------------------------------------

    def safe(self, text: str) -> str:
        """``text`` with configured secrets and URL passwords masked, on one bounded line."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        text = _URL_PASSWORD.sub(r"\1***@", text)
        text = " ".join(text.split())
        return text if len(text) <= _MAX_ERROR else text[: _MAX_ERROR - 1] + "…"

    async def _call(self, func: Callable[..., Any], *args: Any, timeout: float) -> Any:
        if self._closed:
            raise WarehouseError("The warehouse connection is closed.")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.pool_size, thread_name_prefix="venn-warehouse")
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, func, *args)
        try:
            return await asyncio.wait_for(future, timeout + TIMEOUT_GRACE)
        except TimeoutError:
            raise WarehouseError(f"The query took longer than {timeout:g} s and was stopped.") from None
        except WarehouseError as exc:
            raise WarehouseError(self.safe(str(exc))) from None
        except Exception as exc:
            message = self.safe(self._error_message(exc))
            log.info("warehouse error: %s", message, extra={"warehouse": self.label})
            raise WarehouseError(message or "The warehouse could not run the query.") from None


# ---------------------------------------------------------------------------------------
# Snowflake
# ---------------------------------------------------------------------------------------


class _Session:
    """A pooled Snowflake connection and the session parameters it has now."""

    __slots__ = ("conn", "tag", "timeout")

    def __init__(self, conn: Any, tag: str, timeout: int) -> None:
        self.conn = conn
        self.tag = tag
        self.timeout = timeout


class SnowflakeWarehouse(Warehouse):
    """Snowflake through snowflake-connector-python (password or key-pair auth)."""

    dialect = "snowflake"

    def __init__(
        self,
        *,
        account: str,
        user: str,
        password: str | None = None,
        private_key_path: str | None = None,
        private_key_passphrase: str | None = None,
        role: str | None = None,
        warehouse: str | None = None,
        database: str | None = None,
        schema: str | None = None,
        statement_timeout: int = 60,
        pool_size: int = DEFAULT_POOL_SIZE,
        login_timeout: int = 20,
        connect_args: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(pool_size=pool_size, secrets=(password or "", private_key_passphrase or ""))
        if not password and not private_key_path:
            raise WarehouseError("Snowflake needs SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH.")
        self._connect_args: dict[str, Any] = {
            "account": account,
            "user": user,
            "role": role,
            "warehouse": warehouse,
            "database": database,
            "schema": schema,
            "login_timeout": login_timeout,
            "application": "Venn",
            "client_session_keep_alive": False,
        }
        # More connector arguments (host, port, protocol, proxy settings, ...); never secrets.
        self._connect_args.update(connect_args or {})
        self._connect_args = {k: v for k, v in self._connect_args.items() if v is not None}
        self._password = password
        self._key_path = private_key_path
        self._key_passphrase = private_key_passphrase
        self.statement_timeout = max(1, int(statement_timeout))
        self.default_database = database
        self.default_schema = schema
        where = ".".join(p for p in (database, schema) if p)
        self.label = f"Snowflake account {account}" + (f", {where}" if where else "")
        self._idle: queue.LifoQueue[_Session] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._open = 0

    # Connections ---------------------------------------------------------------

    def _private_key(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        try:
            pem = Path(self._key_path or "").read_bytes()
        except OSError as exc:
            raise WarehouseError(f"Cannot read SNOWFLAKE_PRIVATE_KEY_PATH: {exc.strerror or 'unreadable'}.") from None
        passphrase = self._key_passphrase.encode() if self._key_passphrase else None
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase)
        except (ValueError, TypeError):
            raise WarehouseError(
                "SNOWFLAKE_PRIVATE_KEY_PATH is not a PEM private key, or its passphrase is wrong."
            ) from None
        return key.private_bytes(
            encoding=serialization.Encoding.DER,
            format=serialization.PrivateFormat.PKCS8,
            encryption_algorithm=serialization.NoEncryption(),
        )

    def _connect(self) -> _Session:
        import snowflake.connector

        args = dict(self._connect_args)
        args["session_parameters"] = {
            "QUERY_TAG": "venn",
            "STATEMENT_TIMEOUT_IN_SECONDS": self.statement_timeout,
        }
        if self._password:
            args["password"] = self._password
        else:
            args["private_key"] = self._private_key()
        try:
            conn = snowflake.connector.connect(**args)
        except Exception as exc:
            # Connector errors name the account and user at most; mask anything secret anyway.
            raise WarehouseError(f"Could not connect to {self.label}: {self.safe(self._error_message(exc))}") from None
        return _Session(conn, "venn", self.statement_timeout)

    def _checkout(self) -> _Session:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            self._open += 1
        try:
            return self._connect()
        except BaseException:
            with self._lock:
                self._open -= 1
            raise

    def _checkin(self, session: _Session) -> None:
        if self._closed:
            self._discard(session)
        else:
            self._idle.put(session)

    def _discard(self, session: _Session) -> None:
        with self._lock:
            self._open -= 1
        try:
            session.conn.close()
        except Exception:
            log.debug("closing a Snowflake connection failed", exc_info=True)

    def _close_connections(self) -> None:
        while True:
            try:
                self._discard(self._idle.get_nowait())
            except queue.Empty:
                return

    @staticmethod
    def _literal(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"

    def _configure(self, session: _Session, cursor: Any, tag: str, timeout: int) -> None:
        """Switch the session to this query's tag and timeout (only what changed)."""
        tag = _TAG_CHARS.sub("_", tag)[:2000]
        if session.tag != tag:
            cursor.execute(f"ALTER SESSION SET QUERY_TAG = {self._literal(tag)}")
            session.tag = tag
        if session.timeout != timeout:
            cursor.execute(f"ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = {int(timeout)}")
            session.timeout = timeout

    def _with_cursor(self, tag: str, timeout: float, work: Callable[[Any, int], Any]) -> Any:
        from snowflake.connector.errors import ProgrammingError

        seconds = max(1, math.ceil(timeout))
        session = self._checkout()
        healthy = True
        try:
            cursor = session.conn.cursor()
            try:
                self._configure(session, cursor, tag, seconds)
                return work(cursor, seconds)
            finally:
                try:
                    cursor.close()
                except Exception:
                    pass
        except ProgrammingError:
            raise  # a query error: the connection is fine
        except BaseException:
            healthy = False
            raise
        finally:
            if healthy:
                self._checkin(session)
            else:
                self._discard(session)

    # Queries --------------------------------------------------------------------

    def _query(self, sql: str, fetch: int, timeout: float, tag: str) -> tuple[list[str], list[Sequence[Any]]]:
        def work(cursor: Any, seconds: int) -> tuple[list[str], list[Sequence[Any]]]:
            cursor.execute(sql, timeout=seconds)
            columns = [d[0] for d in cursor.description or ()]
            return columns, list(cursor.fetchmany(fetch))

        return self._with_cursor(tag, timeout, work)

    def _columns(self, table: str, timeout: float, tag: str) -> tuple[list[ColumnInfo], str | None]:
        from snowflake.connector.errors import ProgrammingError

        def work(cursor: Any, seconds: int) -> tuple[list[ColumnInfo], str | None]:
            try:
                cursor.execute(f"DESCRIBE TABLE {table}", timeout=seconds)
            except ProgrammingError:
                return [], None
            names = [str(d[0]).lower() for d in cursor.description or ()]
            at = {n: i for i, n in enumerate(names)}
            columns = []
            for row in cursor.fetchall():
                if "kind" in at and str(row[at["kind"]]).upper() not in ("COLUMN", "NONE"):
                    continue
                comment = row[at["comment"]] if "comment" in at else None
                columns.append(ColumnInfo(str(row[at.get("name", 0)]), str(row[at.get("type", 1)]), comment or None))
            return columns, self._table_comment(cursor, table, seconds)

        return self._with_cursor(tag, timeout, work)

    def _table_comment(self, cursor: Any, table: str, seconds: int) -> str | None:
        from snowflake.connector.errors import ProgrammingError

        # Unquoted names (and the configured defaults) resolve in upper case.
        parts = table_name_parts(table, dialect=self.dialect)
        name = parts[-1]
        schema = parts[-2] if len(parts) > 1 else (self.default_schema or "").upper()
        database = parts[-3] if len(parts) > 2 else (self.default_database or "").upper()
        if not schema:
            return None
        catalog = f"{_quote(database)}.INFORMATION_SCHEMA.TABLES" if database else "INFORMATION_SCHEMA.TABLES"
        try:
            cursor.execute(
                f"SELECT COMMENT FROM {catalog} WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
                (schema, name),
                timeout=seconds,
            )
            row = cursor.fetchone()
        except ProgrammingError:
            return None
        return (row[0] or None) if row else None

    def _error_message(self, exc: BaseException) -> str:
        msg = getattr(exc, "msg", None)
        if isinstance(msg, str) and msg:
            return msg
        return str(exc) or type(exc).__name__


def _quote(part: str) -> str:
    return '"' + part.replace('"', '""') + '"'


# ---------------------------------------------------------------------------------------
# SQLAlchemy (PostgreSQL, DuckDB)
# ---------------------------------------------------------------------------------------

#: SQLAlchemy dialect name → the guard's dialect
_DIALECTS = {"postgresql": "postgres", "duckdb": "duckdb"}


class SQLAlchemyWarehouse(Warehouse):
    """Any SQLAlchemy URL whose dialect the guard knows: PostgreSQL or DuckDB."""

    def __init__(self, url: str, *, pool_size: int = DEFAULT_POOL_SIZE, label: str | None = None) -> None:
        import sqlalchemy as sa
        from sqlalchemy.engine import make_url

        try:
            parsed = make_url(_normalise_url(url))
        except Exception:
            raise WarehouseError("VENN_WAREHOUSE_URL is not a valid SQLAlchemy URL.") from None
        super().__init__(pool_size=pool_size, secrets=(parsed.password or "",) if parsed.password else ())
        backend = parsed.get_backend_name()
        if backend not in _DIALECTS:
            raise WarehouseError(
                f"VENN_WAREHOUSE_URL: the SQL guard supports PostgreSQL and DuckDB warehouses, not {backend!r}."
            )
        self.dialect = _DIALECTS[backend]
        self.url = parsed
        connect_args: dict[str, Any] = {}
        if backend == "duckdb":
            path = parsed.database or ":memory:"
            connect_args["read_only"] = path != ":memory:"
            self.default_database = Path(path).stem if path != ":memory:" else "memory"
            self.default_schema = "main"
            self.label = label or f"DuckDB {Path(path).name}"
        else:
            # Read-only transactions: a third lock beside the role and the guard.
            connect_args["options"] = "-c default_transaction_read_only=on"
            self.default_database = parsed.database
            self.default_schema = "public"
            self.label = label or f"PostgreSQL {parsed.host or 'localhost'}/{parsed.database or ''}"
        try:
            self.engine = sa.create_engine(
                parsed,
                pool_size=self.pool_size,
                max_overflow=0,
                pool_pre_ping=backend != "duckdb",
                connect_args=connect_args,
            )
        except Exception as exc:  # e.g. the driver is not installed
            raise WarehouseError(f"VENN_WAREHOUSE_URL cannot be used: {self.safe(str(exc))}") from None
        self._backend = backend

    def _prepare(self) -> None:
        """Hook run before each connection is used (the demo builds its file here)."""

    def _connection(self):
        self._prepare()
        try:
            return self.engine.connect()
        except Exception as exc:
            raise WarehouseError(f"Could not connect to {self.label}: {self.safe(self._error_message(exc))}") from None

    def _query(self, sql: str, fetch: int, timeout: float, tag: str) -> tuple[list[str], list[Sequence[Any]]]:
        with self._connection() as conn:
            with self._limits(conn, timeout, tag):
                result = conn.exec_driver_sql(sql)
                columns = list(result.keys())
                rows = result.fetchmany(fetch) if result.returns_rows else []
                result.close()
            conn.rollback()
        return columns, [tuple(r) for r in rows]

    def _columns(self, table: str, timeout: float, tag: str) -> tuple[list[ColumnInfo], str | None]:
        from sqlalchemy import text

        parts = table_name_parts(table, dialect=self.dialect)
        name = parts[-1]
        schema = parts[-2] if len(parts) > 1 else self.default_schema
        with self._connection() as conn:
            with self._limits(conn, timeout, tag):
                if self._backend == "duckdb":
                    database = parts[-3] if len(parts) > 2 else self.default_database
                    where = (
                        "lower(database_name) = lower(:db) AND lower(schema_name) = lower(:schema) "
                        "AND lower(table_name) = lower(:name)"
                    )
                    params = {"db": database, "schema": schema, "name": name}
                    rows = conn.execute(
                        text(f"SELECT column_name, data_type, comment FROM duckdb_columns() WHERE {where} "
                             "ORDER BY column_index"),
                        params,
                    ).fetchall()
                    found = conn.execute(
                        text(f"SELECT comment FROM duckdb_tables() WHERE {where} "
                             f"UNION ALL SELECT comment FROM duckdb_views() WHERE {where.replace('table_name', 'view_name')}"),
                        params,
                    ).fetchall()
                else:
                    regclass = ".".join(_quote(p) for p in (schema, name) if p)
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
            conn.rollback()
        columns = [ColumnInfo(str(r[0]), str(r[1]), r[2] or None) for r in rows]
        return columns, (found[0][0] or None) if found else None

    def _limits(self, conn: Any, timeout: float, tag: str):
        """Per-query limits: PostgreSQL's statement_timeout and application_name; DuckDB,
        which has no statement timeout, is interrupted by a timer."""
        if self._backend == "postgresql":
            conn.exec_driver_sql(f"SET statement_timeout = {max(1, int(timeout * 1000))}")
            name = _TAG_CHARS.sub("_", tag)[:63].replace("'", "")
            conn.exec_driver_sql(f"SET application_name = '{name}'")
            return _nothing()
        raw = conn.connection.driver_connection
        return _Interrupter(raw, timeout)

    def _close_connections(self) -> None:
        self.engine.dispose()

    def _error_message(self, exc: BaseException) -> str:
        orig = getattr(exc, "orig", None)
        text = str(orig if orig is not None else exc)
        return text.split("\n[SQL:")[0].split("\n(Background on this error")[0]


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


class _Interrupter:
    """Interrupts a DuckDB connection when its query runs past the timeout."""

    def __init__(self, conn: Any, timeout: float) -> None:
        self.conn = conn
        self.timer = threading.Timer(timeout, self._fire)
        self.timer.daemon = True
        self.fired = False

    def _fire(self) -> None:
        self.fired = True
        try:
            self.conn.interrupt()
        except Exception:
            log.debug("duckdb interrupt failed", exc_info=True)

    def __enter__(self) -> None:
        self.timer.start()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.timer.cancel()
        if self.fired and exc is not None:
            raise WarehouseError(f"The query took longer than {self.timer.interval:g} s and was stopped.") from None


def _normalise_url(url: str) -> str:
    """``postgres://`` and ``postgresql://`` use psycopg (3), the driver Venn installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# ---------------------------------------------------------------------------------------
# Choosing one
# ---------------------------------------------------------------------------------------


def open_warehouse(settings: Any, *, pool_size: int = DEFAULT_POOL_SIZE, statement_timeout: int = 300) -> Warehouse:
    """The warehouse the settings describe: ``VENN_WAREHOUSE_URL``, else Snowflake when
    ``SNOWFLAKE_ACCOUNT`` is set, else the DuckDB demo under ``VENN_DATA_DIR``."""
    url = settings.warehouse_url.get_secret_value() if settings.warehouse_url is not None else ""
    if url:
        return SQLAlchemyWarehouse(url, pool_size=pool_size)
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
            pool_size=pool_size,
        )
    from venn_plugins.sql_agent.demo import DemoWarehouse

    return DemoWarehouse(Path(settings.data_dir), pool_size=pool_size)


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
