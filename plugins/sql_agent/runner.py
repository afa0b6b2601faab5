"""One question's guarded access to the warehouse, and its audit trail.

:class:`GuardedSQL` is the only way the SQL agent (and ``/sql``) reaches the warehouse.
Every statement, whoever wrote it, goes through :func:`venn_plugins.sql_agent.guard.check_sql`
with the thread's allow-list, row limit, the warehouse's dialect and its default
database and schema; every statement, allowed or refused, is written to the audit
(:class:`venn_plugins.sql_agent.models.SqlStatement`) under the question's
:class:`~venn_plugins.sql_agent.models.SqlQuery`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from venn_plugins.sql_agent.guard import SQLGuardError, check_sql, table_name_parts
from venn_plugins.sql_agent.models import SqlStatement, StatementKind, Verdict
from venn_plugins.sql_agent.warehouse import QueryResult, TableInfo, Warehouse, WarehouseError, query_tag, sample_sql

log = logging.getLogger("venn.plugins.sql.runner")

__all__ = ["GuardedSQL", "is_table_name"]

def is_table_name(text: str) -> bool:
    """Whether ``text`` is written as ``TABLE``, ``SCHEMA.TABLE`` or ``DB.SCHEMA.TABLE``."""
    try:
        table_name_parts(text)
    except ValueError:
        return False
    return True


class GuardedSQL:
    """One question's access to the warehouse: allow-listed tables only, every statement
    guarded and audited.

    ``query_id`` ties the audit rows to a :class:`~venn_plugins.sql_agent.models.SqlQuery`;
    without one, statements are kept in :attr:`statements` only (tests, tools).
    """

    def __init__(
        self,
        warehouse: Warehouse,
        allowed_tables: Sequence[str],
        *,
        max_rows: int = 100,
        timeout_seconds: float = 60,
        query_id: int | None = None,
        thread_id: int | None = None,
    ) -> None:
        self.warehouse = warehouse
        self.dialect: str = warehouse.dialect
        self.allowed_tables: list[str] = [str(t).strip() for t in allowed_tables if str(t).strip()]
        self.max_rows = int(max_rows)
        self.timeout_seconds = float(timeout_seconds)
        self.query_id = query_id
        self.tag = query_tag(thread_id, query_id)
        #: the last statement that ran successfully and its result; the SQL is the guard's
        #: output for ``max_rows`` (the warehouse ran it with ``max_rows + 1`` to tell
        #: whether the result was cut: the audit's ``sql_run`` has that exact text)
        self.last_sql: str | None = None
        self.last_result: QueryResult | None = None
        #: every statement seen, as audited: dicts with kind, sql, sql_run, verdict, reason, ...
        self.statements: list[dict[str, Any]] = []
        self._pending: set[asyncio.Task[None]] = set()

    # The agent's tools ---------------------------------------------------------------

    async def list_tables(self) -> list[str]:
        """The thread's allowed tables, as configured."""
        return list(self.allowed_tables)

    def check(self, sql: str) -> str:
        """A dry run of the guard: the SQL that would run, or :class:`SQLGuardError`.
        Audited as a check."""
        try:
            checked = self._guard(sql)
        except SQLGuardError as exc:
            self._audit_soon(StatementKind.CHECK, sql, verdict=Verdict.REFUSED, reason=str(exc))
            raise
        self._audit_soon(StatementKind.CHECK, sql, sql_run=checked, verdict=Verdict.ALLOWED)
        return checked

    async def describe(self, table: str) -> TableInfo:
        """Columns, types, comments and up to 3 sample rows of an allowed table."""
        table = str(table).strip()
        started = time.monotonic()
        try:
            if not is_table_name(table):
                raise SQLGuardError(f"{table[:80]!r} is not a table name (TABLE, SCHEMA.TABLE or DB.SCHEMA.TABLE).")
            sample = self._safely(lambda: sample_sql(table, self.allowed_tables, self.warehouse))
        except SQLGuardError as exc:
            await self._audit(StatementKind.DESCRIBE, table, verdict=Verdict.REFUSED, reason=str(exc))
            raise
        try:
            info = await self.warehouse.describe(table, sample, timeout=self.timeout_seconds, tag=self.tag)
        except WarehouseError as exc:
            await self._audit(
                StatementKind.DESCRIBE, table, sql_run=sample, verdict=Verdict.ALLOWED, error=str(exc),
                elapsed_ms=_ms(started),
            )
            raise
        await self._audit(
            StatementKind.DESCRIBE, table, sql_run=sample, verdict=Verdict.ALLOWED,
            rows=info.sample.row_count, elapsed_ms=_ms(started),
        )
        return info

    async def run(self, sql: str) -> QueryResult:
        """Guard, run off the event loop, audit. Raises :class:`SQLGuardError` (refused)
        or :class:`WarehouseError` (the warehouse failed; the message is safe to show)."""
        try:
            checked = self._guard(sql)
            # What runs is limited to one row more than the thread shows, so that a result
            # cut at max_rows is known to be cut; the extra row is never kept.
            probe = self._guard(sql, self.max_rows + 1)
        except SQLGuardError as exc:
            await self._audit(StatementKind.RUN, sql, verdict=Verdict.REFUSED, reason=str(exc))
            raise
        started = time.monotonic()
        try:
            result = await self.warehouse.run(probe, max_rows=self.max_rows, timeout=self.timeout_seconds, tag=self.tag)
        except WarehouseError as exc:
            await self._audit(
                StatementKind.RUN, sql, sql_run=probe, verdict=Verdict.ALLOWED, error=str(exc),
                elapsed_ms=_ms(started),
            )
            raise
        await self._audit(
            StatementKind.RUN, sql, sql_run=probe, verdict=Verdict.ALLOWED, rows=result.row_count,
            elapsed_ms=result.elapsed_ms,
        )
        self.last_sql, self.last_result = checked, result
        return result

    async def flush(self) -> None:
        """Wait for the audit rows of :meth:`check` calls (written in the background)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    # Inside ------------------------------------------------------------------------------

    def _guard(self, sql: str, max_rows: int | None = None) -> str:
        return self._safely(
            lambda: check_sql(
                sql,
                self.allowed_tables,
                dialect=self.dialect,
                max_rows=max_rows or self.max_rows,
                default_database=self.warehouse.default_database,
                default_schema=self.warehouse.default_schema,
            )
        )

    @staticmethod
    def _safely(call: Any) -> str:
        try:
            return call()
        except SQLGuardError:
            raise
        except ValueError as exc:  # a malformed allow-list entry: refuse, with the reason
            raise SQLGuardError(str(exc)) from None

    def _record(
        self,
        kind: StatementKind,
        sql: str,
        *,
        verdict: Verdict,
        sql_run: str | None = None,
        reason: str | None = None,
        rows: int | None = None,
        elapsed_ms: int | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        entry = {
            "kind": kind.value,
            "sql": str(sql),
            "sql_run": sql_run,
            "verdict": verdict.value,
            "reason": reason,
            "row_count": rows,
            "elapsed_ms": elapsed_ms,
            "error": error,
        }
        self.statements.append(entry)
        if verdict == Verdict.REFUSED:
            log.info("SQL refused: %s", reason, extra={"query_id": self.query_id, "kind": kind.value})
        return entry

    async def _audit(self, kind: StatementKind, sql: str, **fields: Any) -> None:
        entry = self._record(kind, sql, **fields)
        await self._write(entry)

    def _audit_soon(self, kind: StatementKind, sql: str, **fields: Any) -> None:
        entry = self._record(kind, sql, **fields)
        if self.query_id is None:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._write(entry))
        except RuntimeError:  # no event loop (a synchronous caller): kept in memory only
            return
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _write(self, entry: dict[str, Any]) -> None:
        if self.query_id is None:
            return
        try:
            await SqlStatement.create(query_id=self.query_id, **entry)
        except Exception:
            # The audit must not turn an answer into an error; the log keeps the trace.
            log.exception("could not write the SQL audit", extra={"query_id": self.query_id})


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
