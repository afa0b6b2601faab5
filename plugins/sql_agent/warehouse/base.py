"""What every warehouse shares: results, errors, stopping a statement, the thread pool.

A :class:`Warehouse` runs each statement in a small thread pool (``pool_size``
threads), never on the event loop. The thread registers how to stop its statement on a
:class:`Stopper` (cancel a PostgreSQL backend, cancel a Snowflake session's queries,
end a DuckDB worker process); when Venn's wait runs out, or the caller is cancelled
(the bot runtime stopped the handler, the agent ran out of time), the statement is
stopped instead of being left running in the warehouse.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("venn.plugins.sql.warehouse")

#: connections (and threads) per warehouse
DEFAULT_POOL_SIZE = 4
#: seconds our side waits beyond the warehouse's own statement timeout
TIMEOUT_GRACE = 5.0
SAMPLE_ROWS = 3
#: bytes of the rows a result keeps (for the CSV download); VENN_SQL_MAX_CSV_BYTES
DEFAULT_MAX_RESULT_BYTES = 20 * 1024 * 1024
#: characters of one kept cell (longer text is cut with a marker)
CELL_CHARS = 100_000
_MAX_ERROR = 500
TAG_CHARS = re.compile(r"[^A-Za-z0-9 =:_.,/-]")
_URL_PASSWORD = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s]*@", re.I)


@dataclass(frozen=True)
class QueryResult:
    """Rows of one query, JSON-friendly (see :mod:`.values`).

    ``truncated``: the query had more rows than were kept, because of the row limit or,
    when ``cut_at_bytes`` is set, because the kept rows reached that many bytes.
    """

    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    elapsed_ms: int
    cut_at_bytes: int | None = None


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


@dataclass(frozen=True)
class Fetched:
    """What a warehouse's ``_query`` read: converted rows, and whether rows were left."""

    columns: list[str]
    rows: list[list[Any]]
    more: bool
    cut_by_bytes: bool = False


class WarehouseError(Exception):
    """The warehouse could not answer; ``str()`` is safe to show (never credentials)."""


class WarehouseTimeout(WarehouseError):
    """The statement ran past its timeout and was stopped."""

    @classmethod
    def after(cls, seconds: float, detail: str = "") -> WarehouseTimeout:
        text = f"The query took longer than {seconds:g} s and was stopped."
        return cls(f"{text} ({detail})" if detail else text)


def query_tag(thread_id: int | None = None, query_id: int | None = None) -> str:
    """The tag a query carries in the warehouse's history: ``venn thread=42 query=7``."""
    tag = "venn"
    if thread_id is not None:
        tag += f" thread={int(thread_id)}"
    if query_id is not None:
        tag += f" query={int(query_id)}"
    return tag


def quote(part: str) -> str:
    return '"' + part.replace('"', '""') + '"'


class Stopper:
    """How to stop the statement a pool thread is running, set while it runs.

    ``stop()`` (from any thread) calls the registered function once; a function
    registered after ``stop()`` runs at once. ``clear()`` ends the window, before the
    connection goes back to its pool, so a late stop never hits the next statement.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._action: Callable[[], Any] | None = None
        self.stopped = False

    def on_stop(self, action: Callable[[], Any]) -> None:
        with self._lock:
            if not self.stopped:
                self._action = action
                return
        _quietly(action)

    def clear(self) -> None:
        with self._lock:
            self._action = None

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            action, self._action = self._action, None
        if action is not None:
            _quietly(action)


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception:
        log.info("stopping a warehouse statement failed", exc_info=True)


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
    #: seconds Venn waits for a statement beyond its timeout before stopping it itself
    wait_slack: float = TIMEOUT_GRACE

    def __init__(
        self,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        secrets: Sequence[str] = (),
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
    ) -> None:
        self.pool_size = max(1, int(pool_size))
        self.max_result_bytes = max(1024, int(max_result_bytes))
        self._secrets = [s for s in secrets if s]
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    # What callers use ----------------------------------------------------------

    async def run(
        self, sql: str, *, max_rows: int, timeout: float, tag: str = "venn"
    ) -> QueryResult:
        """Run one (guarded) query: at most ``max_rows`` rows (one more is read to know
        ``truncated``) and at most ``max_result_bytes`` of them."""
        started = time.monotonic()
        fetched: Fetched = await self._call(self._query, sql, max_rows, timeout, tag, timeout=timeout)
        return QueryResult(
            columns=fetched.columns,
            rows=fetched.rows,
            row_count=len(fetched.rows),
            truncated=fetched.more,
            elapsed_ms=int((time.monotonic() - started) * 1000),
            cut_at_bytes=self.max_result_bytes if fetched.cut_by_bytes else None,
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

    def _query(self, sql: str, max_rows: int, timeout: float, tag: str, stop: Stopper) -> Fetched:
        raise NotImplementedError

    def _columns(self, table: str, timeout: float, tag: str, stop: Stopper) -> tuple[list[ColumnInfo], str | None]:
        raise NotImplementedError

    def _close_connections(self) -> None:
        pass

    def _error(self, exc: BaseException, timeout: float) -> WarehouseError:
        """A driver's exception as a :class:`WarehouseError` (a timeout as
        :class:`WarehouseTimeout`); its text helps the model fix the query."""
        return WarehouseError(str(exc))

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
        stopper = Stopper()
        future = loop.run_in_executor(self._executor, functools.partial(func, *args, stopper))
        try:
            return await asyncio.wait_for(future, timeout + self.wait_slack)
        except TimeoutError:
            await loop.run_in_executor(None, stopper.stop)
            raise WarehouseTimeout.after(timeout) from None
        except asyncio.CancelledError:
            # The caller is gone (the handler was stopped): stop the statement too,
            # without waiting for it on the way out.
            loop.run_in_executor(None, stopper.stop)
            raise
        except WarehouseError as exc:
            raise type(exc)(self.safe(str(exc))) from None
        except Exception as exc:
            error = self._error(exc, timeout)
            message = self.safe(str(error))
            log.info("warehouse error: %s", message, extra={"warehouse": self.label})
            raise type(error)(message or "The warehouse could not run the query.") from None
