"""DuckDB warehouses, run out of the chat server's process.

Each statement runs in a worker process (:mod:`.duckdb_worker`) with its own read-only
connection, a memory limit (``VENN_WAREHOUSE_MEMORY_LIMIT``), a thread limit, no file
or network access and a locked configuration. Workers start when first needed (at most
``pool_size``, one statement each at a time) and are reused. A statement past its
timeout is interrupted inside the worker; a worker that does not answer in time, or
whose caller went away, is ended (SIGKILL) and the next statement gets a new one. A
worker that dies (the kernel's OOM killer, a crash) fails only its own statement.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from venn_plugins.sql_agent.guard import table_name_parts
from venn_plugins.sql_agent.warehouse.base import (
    CELL_CHARS,
    DEFAULT_MAX_RESULT_BYTES,
    DEFAULT_POOL_SIZE,
    TIMEOUT_GRACE,
    ColumnInfo,
    Fetched,
    Stopper,
    Warehouse,
    WarehouseError,
    WarehouseTimeout,
)
from venn_plugins.sql_agent.warehouse.values import size_text

log = logging.getLogger("venn.plugins.sql.warehouse")

__all__ = ["DEFAULT_MEMORY_LIMIT", "DUCKDB_THREADS", "DuckDBWarehouse"]

#: VENN_WAREHOUSE_MEMORY_LIMIT's default: what one DuckDB statement may use
DEFAULT_MEMORY_LIMIT = 1024**3
#: DuckDB threads in each worker
DUCKDB_THREADS = 2
#: the worker's module, run as ``python -m`` (not imported here: the package imports this)
WORKER_MODULE = "venn_plugins.sql_agent.warehouse.duckdb_worker"
#: seconds a new worker may take to start (a busy machine, a large file to open)
START_TIMEOUT = 60.0


def _plain(message: str) -> str:
    """DuckDB's message without its advice to install an extension (refused here)."""
    head, found, _ = message.partition("Please try installing")
    return head.rstrip() + " (Venn's DuckDB loads no extensions.)" if found else message


class _Gone(Exception):
    """The worker ended (killed, or died) before answering."""


class _Worker:
    """One worker process and the server's end of its socket."""

    def __init__(self, database: str, read_only: bool, memory_limit: int, threads: int, generation: int) -> None:
        self.generation = generation
        ours, theirs = socket.socketpair()
        # A fresh interpreter (``python -m``), not multiprocessing's spawn: it would
        # re-import the server's __main__ in every worker.
        self.process = subprocess.Popen(
            [sys.executable, "-m", WORKER_MODULE, str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.pid = self.process.pid
        #: killed, or seen to end: never reused (the process may not be reaped yet)
        self.ended = False
        self.pipe = Connection(ours.detach())
        self.pipe.send((database, read_only, memory_limit, threads))

    def wait_ready(self, timeout: float) -> None:
        try:
            if not self.pipe.poll(timeout):
                raise WarehouseError("The DuckDB worker did not start in time.")
            answer = self.pipe.recv()
        except (EOFError, OSError):
            raise WarehouseError("The DuckDB worker could not start.") from None
        if answer[0] != "ready":
            raise WarehouseError(f"DuckDB could not open the warehouse: {answer[2]}")

    def ask(self, request: tuple[Any, ...], wait: float) -> tuple[Any, ...] | None:
        """The worker's answer, or None when it gives none within ``wait`` seconds."""
        try:
            self.pipe.send(request)
            if not self.pipe.poll(wait):
                return None
            return self.pipe.recv()
        except (EOFError, OSError):
            self.ended = True
            raise _Gone from None

    @property
    def alive(self) -> bool:
        return not self.ended and self.process.poll() is None

    def exit_text(self) -> str:
        try:
            code = self.process.wait(1)
        except subprocess.TimeoutExpired:
            return "it did not answer"
        if code < 0:
            try:
                return f"ended by {signal.Signals(-code).name}"
            except ValueError:
                return f"ended by signal {-code}"
        return f"exit code {code}"

    def kill(self) -> None:
        self.ended = True
        if self.process.poll() is None:
            self.process.kill()

    def close(self) -> None:
        """Close the socket (the worker exits on its own); kill it if it lingers."""
        try:
            self.pipe.close()
        except OSError:
            pass
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(2)


class _Pool:
    """Idle workers for reuse, and the generation that tells stale ones (a rebuilt file)."""

    def __init__(self, database: str, read_only: bool, memory_limit: int, threads: int) -> None:
        self._args = (database, read_only, memory_limit, threads)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._generation = 0
        self._closed = False

    def checkout(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise WarehouseError("The warehouse connection is closed.")
            while self._idle:
                worker = self._idle.pop()
                if worker.alive and worker.generation == self._generation:
                    self._busy.add(worker)
                    return worker
                worker.close()
            generation = self._generation
        worker = _Worker(*self._args, generation=generation)
        try:
            worker.wait_ready(START_TIMEOUT)
        except BaseException:
            worker.kill()
            worker.close()
            raise
        with self._lock:
            self._busy.add(worker)
        return worker

    def checkin(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            if worker.alive and worker.generation == self._generation and not self._closed:
                self._idle.append(worker)
                return
        worker.kill()
        worker.close()

    def recycle(self) -> None:
        """Workers started before now are replaced (the file they opened was replaced)."""
        with self._lock:
            self._generation += 1
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = self._idle + list(self._busy)
            self._idle, self._busy = [], set()
        for worker in workers:
            worker.kill()
            worker.close()

    def pids(self) -> list[int]:
        """Process ids of the live workers (for tests and diagnostics)."""
        with self._lock:
            return [w.pid for w in (*self._idle, *self._busy) if w.alive and w.pid is not None]


class DuckDBWarehouse(Warehouse):
    """A DuckDB database (a file, opened read-only, or ``:memory:``) run in worker processes."""

    dialect = "duckdb"
    # Venn's own wait also covers starting a worker; the statement's clock starts in it.
    wait_slack = TIMEOUT_GRACE + START_TIMEOUT

    def __init__(
        self,
        path: str | Path,
        *,
        pool_size: int = DEFAULT_POOL_SIZE,
        label: str | None = None,
        memory_limit: int = DEFAULT_MEMORY_LIMIT,
        threads: int = DUCKDB_THREADS,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
    ) -> None:
        super().__init__(pool_size=pool_size, max_result_bytes=max_result_bytes)
        database = str(path)
        in_memory = database == ":memory:"
        self.path = None if in_memory else Path(database)
        self.memory_limit = int(memory_limit)
        self.default_database = "memory" if self.path is None else self.path.stem
        self.default_schema = "main"
        self.label = label or ("DuckDB in memory" if self.path is None else f"DuckDB {self.path.name}")
        self._pool = _Pool(database, not in_memory, self.memory_limit, threads)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> DuckDBWarehouse:
        """The warehouse of a ``duckdb:///path`` URL."""
        from venn_plugins.sql_agent.warehouse.postgres import duckdb_path

        return cls(duckdb_path(url), **options)

    def worker_pids(self) -> list[int]:
        """Process ids of the running workers."""
        return self._pool.pids()

    def restart_workers(self) -> None:
        """Replace every worker before its next statement (the database file was replaced)."""
        self._pool.recycle()

    def _prepare(self) -> None:
        """Hook run before a statement (the demo builds its file here)."""

    def _ask(self, request: tuple[Any, ...], timeout: float, stop: Stopper) -> tuple[Any, ...]:
        self._prepare()
        worker = self._pool.checkout()
        stop.on_stop(worker.kill)
        try:
            answer = worker.ask(request, timeout + TIMEOUT_GRACE)
            if answer is None:  # not even the interrupt stopped it: end the worker
                worker.kill()
                raise WarehouseTimeout.after(timeout)
        except _Gone:
            if stop.stopped:
                raise WarehouseTimeout.after(timeout) from None
            what = worker.exit_text()
            log.warning("a DuckDB worker died: %s", what, extra={"warehouse": self.label, "pid": worker.pid})
            raise WarehouseError(
                f"The DuckDB worker running the query stopped ({what}); the next query gets a new one."
            ) from None
        finally:
            stop.clear()
            self._pool.checkin(worker)
        if answer[0] == "error":
            kind, message = answer[1], answer[2]
            if kind == "timeout":
                raise WarehouseTimeout.after(timeout)
            if kind == "memory":
                raise WarehouseError(
                    f"The query went over the warehouse's memory limit ({size_text(self.memory_limit)}) "
                    "and was stopped; ask for fewer rows or smaller values."
                )
            raise WarehouseError(_plain(message) or "DuckDB could not run the query.")
        return answer

    def _query(self, sql: str, max_rows: int, timeout: float, tag: str, stop: Stopper) -> Fetched:
        _, columns, rows, more, cut = self._ask(
            ("query", sql, max_rows, timeout, self.max_result_bytes, CELL_CHARS), timeout, stop
        )
        return Fetched(columns, rows, more, cut)

    def _columns(self, table: str, timeout: float, tag: str, stop: Stopper) -> tuple[list[ColumnInfo], str | None]:
        parts = table_name_parts(table, dialect=self.dialect)
        name = parts[-1]
        schema = parts[-2] if len(parts) > 1 else self.default_schema
        database = parts[-3] if len(parts) > 2 else self.default_database
        _, columns, comment = self._ask(("columns", database, schema, name, timeout), timeout, stop)
        return [ColumnInfo(*c) for c in columns], comment

    def _close_connections(self) -> None:
        self._pool.close()
