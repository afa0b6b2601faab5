"""Snowflake through snowflake-connector-python, with a password or key-pair auth.

Each session starts with ``STATEMENT_TIMEOUT_IN_SECONDS`` and a ``QUERY_TAG`` naming
Venn; before a query the session is switched to the caller's tag (``venn thread=42
query=7``) and timeout with ``ALTER SESSION`` when they differ from what it has. A
statement is stopped three ways: Snowflake ends it at the session's timeout; the
connector cancels it when its own ``timeout`` expires; and when Venn stops waiting (the
handler was stopped) it cancels the session's queries with ``SYSTEM$CANCEL_ALL_QUERIES``.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from venn_plugins.sql_agent.guard import table_name_parts
from venn_plugins.sql_agent.warehouse.base import (
    CELL_CHARS,
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

log = logging.getLogger("venn.plugins.sql.warehouse")

__all__ = ["SnowflakeWarehouse"]

#: Snowflake's error numbers for a statement cancelled (604: by a cancel request, as
#: the connector's timeout sends) or past STATEMENT_TIMEOUT_IN_SECONDS (630)
TIMEOUT_ERRNOS = frozenset({604, 630})


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
        **options: Any,
    ) -> None:
        super().__init__(pool_size=pool_size, secrets=(password or "", private_key_passphrase or ""), **options)
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
            raise WarehouseError(f"Could not connect to {self.label}: {self.safe(_message(exc))}") from None
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
        tag = TAG_CHARS.sub("_", tag)[:2000]
        if session.tag != tag:
            cursor.execute(f"ALTER SESSION SET QUERY_TAG = {self._literal(tag)}")
            session.tag = tag
        if session.timeout != timeout:
            cursor.execute(f"ALTER SESSION SET STATEMENT_TIMEOUT_IN_SECONDS = {int(timeout)}")
            session.timeout = timeout

    @staticmethod
    def _cancel(session: _Session) -> None:
        """Cancel whatever the session runs (called from another thread when Venn stops
        waiting); the connection serves concurrent cursors."""
        session_id = getattr(session.conn, "session_id", None)
        if session_id is None:
            return
        cursor = session.conn.cursor()
        try:
            cursor.execute("SELECT SYSTEM$CANCEL_ALL_QUERIES(%s)", (int(session_id),), timeout=10)
        finally:
            cursor.close()

    def _with_cursor(self, tag: str, timeout: float, stop: Stopper, work: Callable[[Any, int], Any]) -> Any:
        from snowflake.connector.errors import ProgrammingError

        seconds = max(1, math.ceil(timeout))
        session = self._checkout()
        healthy = True
        stop.on_stop(lambda: self._cancel(session))
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
            healthy = not stop.stopped
            raise  # a query error: the connection is fine
        except BaseException:
            healthy = False
            raise
        finally:
            stop.clear()
            if healthy:
                self._checkin(session)
            else:
                self._discard(session)

    # Queries --------------------------------------------------------------------

    def _query(self, sql: str, max_rows: int, timeout: float, tag: str, stop: Stopper) -> Fetched:
        def work(cursor: Any, seconds: int) -> Fetched:
            # The connector's own cancel fires after `timeout` seconds.
            cursor.execute(sql, timeout=seconds)
            columns = [d[0] for d in cursor.description or ()]
            rows, more, cut = collect_rows(
                cursor.fetchmany, max_rows=max_rows, max_bytes=self.max_result_bytes, cell_chars=CELL_CHARS
            )
            return Fetched(columns, rows, more, cut)

        return self._with_cursor(tag, timeout, stop, work)

    def _columns(self, table: str, timeout: float, tag: str, stop: Stopper) -> tuple[list[ColumnInfo], str | None]:
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

        return self._with_cursor(tag, timeout, stop, work)

    def _table_comment(self, cursor: Any, table: str, seconds: int) -> str | None:
        from snowflake.connector.errors import ProgrammingError

        # Unquoted names (and the configured defaults) resolve in upper case.
        parts = table_name_parts(table, dialect=self.dialect)
        name = parts[-1]
        schema = parts[-2] if len(parts) > 1 else (self.default_schema or "").upper()
        database = parts[-3] if len(parts) > 2 else (self.default_database or "").upper()
        if not schema:
            return None
        catalog = f"{quote(database)}.INFORMATION_SCHEMA.TABLES" if database else "INFORMATION_SCHEMA.TABLES"
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

    def _error(self, exc: BaseException, timeout: float) -> WarehouseError:
        if getattr(exc, "errno", None) in TIMEOUT_ERRNOS:
            return WarehouseTimeout.after(timeout, _message(exc))
        return WarehouseError(_message(exc))


def _message(exc: BaseException) -> str:
    msg = getattr(exc, "msg", None)
    if isinstance(msg, str) and msg:
        return msg
    return str(exc) or type(exc).__name__
