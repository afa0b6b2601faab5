"""The DuckDB worker process: one read-only DuckDB connection, one statement at a time.

Started by :mod:`.duckdb_pool` as ``python -m venn_plugins.sql_agent.warehouse.duckdb_worker
FD`` (FD: its end of a socket pair), it never shares the chat server's memory: what a
statement allocates stays here, and the server can end this process whenever a
statement must stop. Limits, all set before the first statement:

* DuckDB's own: ``memory_limit``, ``threads``, ``enable_external_access = false`` (no
  file or network access: ``read_csv``, ``COPY``, ``ATTACH``, http URLs),
  ``autoinstall_known_extensions`` / ``autoload_known_extensions`` off (no extension
  downloads), no spilling to disk, and ``lock_configuration`` so no statement can
  change any of it.
* The process's data segment (``RLIMIT_DATA``, on Linux): DuckDB's memory limit covers
  its buffer pool, not every allocation (a ``generate_series`` of 200 million values
  is one list vector), so the operating system refuses what goes beyond the limit plus
  a small headroom, and DuckDB fails the statement with an out-of-memory error.
* A timer interrupts the statement (``conn.interrupt()``) at its timeout.

Messages (pickled tuples over the socket, :class:`multiprocessing.connection.Connection`
framing): first ``(database, read_only, memory_limit, threads)``, then ``("query", sql, max_rows, timeout, max_bytes,
cell_chars)`` → ``("rows", columns, rows, more, cut_by_bytes)``; ``("columns", database,
schema, table, timeout)`` → ``("columns", [(name, type, comment)], table_comment)``;
failures → ``("error", kind, message)`` with kind ``timeout``, ``memory`` or ``error``.
The worker says ``("ready", pid)`` once its connection is open.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
import threading
from multiprocessing.connection import Connection
from typing import Any

#: bytes the process may allocate beyond DuckDB's memory limit (Python's own objects,
#: converting a result of up to VENN_SQL_MAX_CSV_BYTES)
HEADROOM = 256 * 1024 * 1024


def engine_config(memory_limit: int, threads: int) -> dict[str, Any]:
    """The DuckDB configuration of a worker's connection."""
    return {
        "memory_limit": f"{max(1, memory_limit // (1024 * 1024))}MiB",
        "threads": max(1, int(threads)),
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "allow_community_extensions": False,
        "temp_directory": "",  # no spilling to disk: a statement over the limit fails
        "lock_configuration": True,
    }


def _data_segment() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _limit_memory(memory_limit: int) -> None:
    """Cap the data segment at what the process has now plus the limit and headroom."""
    now = _data_segment()
    if now is None or not hasattr(resource, "RLIMIT_DATA"):
        return
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    soft = now + memory_limit + HEADROOM
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def main(fd: int) -> None:
    """The worker process: read its settings from the socket, then serve."""
    # Ctrl-C in the server's terminal is the server's business: it ends its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pipe = Connection(fd)
    try:
        database, read_only, memory_limit, threads = pipe.recv()
        serve(pipe, database, read_only, memory_limit, threads)
    except (EOFError, OSError):
        pass  # the server closed the socket, or is gone


def serve(pipe: Connection, database: str, read_only: bool, memory_limit: int, threads: int) -> None:
    """Open the connection, say ready, answer requests until the socket closes."""
    import duckdb

    try:
        conn = duckdb.connect(database, read_only=read_only, config=engine_config(memory_limit, threads))
    except Exception as exc:
        pipe.send(("error", "error", str(exc)))
        return
    _limit_memory(memory_limit)
    pipe.send(("ready", os.getpid()))
    while True:
        pipe.send(_handle(conn, pipe.recv()))


def _handle(conn: Any, request: tuple[Any, ...]) -> tuple[Any, ...]:
    import duckdb

    kind, *args = request
    timeout = float(args[-1] if kind == "columns" else args[2])
    timer = threading.Timer(timeout, conn.interrupt)
    timer.daemon = True
    timer.start()
    try:
        if kind == "query":
            return _query(conn, *args)
        if kind == "columns":
            return _columns(conn, *args[:3])
        return ("error", "error", f"unknown request {kind!r}")
    except duckdb.InterruptException:
        return ("error", "timeout", "")
    except (duckdb.OutOfMemoryException, MemoryError):
        return ("error", "memory", "")
    except Exception as exc:
        return ("error", "error", str(exc) or type(exc).__name__)
    finally:
        timer.cancel()


def _query(conn: Any, sql: str, max_rows: int, timeout: float, max_bytes: int, cell_chars: int) -> tuple[Any, ...]:
    from venn_plugins.sql_agent.warehouse.values import collect_rows

    cursor = conn.execute(sql)
    columns = [d[0] for d in cursor.description or ()]
    rows, more, cut = collect_rows(cursor.fetchmany, max_rows=max_rows, max_bytes=max_bytes, cell_chars=cell_chars)
    return ("rows", columns, rows, more, cut)


def _columns(conn: Any, database: str, schema: str, name: str) -> tuple[Any, ...]:
    where = "lower(database_name) = lower(?) AND lower(schema_name) = lower(?) AND lower({0}) = lower(?)"
    params = [database, schema, name]
    rows = conn.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() WHERE "
        + where.format("table_name") + " ORDER BY column_index",
        params,
    ).fetchall()
    found = conn.execute(
        "SELECT comment FROM duckdb_tables() WHERE " + where.format("table_name")
        + " UNION ALL SELECT comment FROM duckdb_views() WHERE " + where.format("view_name"),
        params + params,
    ).fetchall()
    comment = (found[0][0] or None) if found else None
    return ("columns", [(str(r[0]), str(r[1]), r[2] or None) for r in rows], comment)


if __name__ == "__main__":
    main(int(sys.argv[1]))
