"""``venn sql check``: run the SQL agent's guard on one statement from the command line.

    venn sql check --allow T1,T2 [--dialect D] [--max-rows N] [--database DB] [--schema S] "SQL"

The SQL may be ``-`` to read it from standard input. On success the SQL that would run
(with its row limit) is printed to standard output and the exit status is 0. When the
guard refuses the statement, its one-line reason goes to standard error and the exit
status is 1. Usage errors (missing ``--allow``, a malformed table name, ``--max-rows 0``)
exit with status 2, as argparse does.

``venn`` (venn/cli.py) registers the command with :func:`add_sql_commands`; :func:`main`
runs the same command on its own (``main(["check", "--allow", "orders", "SELECT 1"])``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator

from venn_plugins.sql_agent.guard import SUPPORTED_DIALECTS, SQLGuardError, check_sql

__all__ = ["add_sql_commands", "cmd_check", "main"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _add_check_parser(subparsers) -> argparse.ArgumentParser:
    check = subparsers.add_parser(
        "check",
        help="check one statement with the SQL agent's guard",
        description=(
            "Print the SQL that would run (exit 0), or the reason it is refused on "
            "standard error (exit 1)."
        ),
    )
    check.add_argument(
        "--allow",
        action="append",
        required=True,
        metavar="T1,T2",
        help="allowed tables, comma-separated TABLE, SCHEMA.TABLE or DB.SCHEMA.TABLE (repeatable)",
    )
    check.add_argument("--dialect", default="snowflake", choices=SUPPORTED_DIALECTS, help="default: snowflake")
    check.add_argument("--max-rows", type=_positive_int, default=1000, help="row limit (default: 1000)")
    check.add_argument("--database", default=None, help="default database for unqualified names")
    check.add_argument("--schema", default=None, help="default schema for unqualified names")
    check.add_argument("sql", metavar="SQL", help='the statement, or "-" to read it from standard input')
    check.set_defaults(func=cmd_check)
    return check


def add_sql_commands(subparsers) -> None:
    """Add ``sql check`` to an argparse subparsers object (``venn sql check ...``)."""
    sql = subparsers.add_parser("sql", help="SQL agent tools", description="SQL agent tools.")
    sql_sub = sql.add_subparsers(dest="sql_command", required=True, metavar="{check}")
    _add_check_parser(sql_sub)


@contextlib.contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    # sqlglot logs a warning when it falls back to an opaque Command (CALL, GET, ...);
    # the command's own one-line reason is what the user should see.
    logger = logging.getLogger("sqlglot")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def cmd_check(args: argparse.Namespace) -> int:
    """Run the guard for parsed ``sql check`` arguments; return the exit status."""
    sql = sys.stdin.read() if args.sql == "-" else args.sql
    allowed = [name.strip() for value in args.allow for name in value.split(",") if name.strip()]
    try:
        with _quiet_sqlglot():
            result = check_sql(
                sql,
                allowed,
                dialect=args.dialect,
                max_rows=args.max_rows,
                default_database=args.database,
                default_schema=args.schema,
            )
    except SQLGuardError as exc:
        print(" ".join(str(exc).split()), file=sys.stderr)
        return 1
    except ValueError as exc:  # a malformed table or default name: a usage error
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``check --allow T1,T2 [...] "SQL"``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="venn sql", description="SQL agent tools.")
    sub = parser.add_subparsers(dest="sql_command", required=True, metavar="{check}")
    _add_check_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
