"""``venn sql check`` and ``venn sql eval``: the SQL agent's command-line tools.

``venn sql check`` runs the guard on one statement:

    venn sql check --allow T1,T2 [--dialect D] [--max-rows N] [--database DB] [--schema S] "SQL"

The SQL may be ``-`` to read it from standard input. On success the SQL that would run
(with its row limit) is printed to standard output and the exit status is 0. When the
guard refuses the statement, its one-line reason goes to standard error and the exit
status is 1. Usage errors (missing ``--allow``, a malformed table name, ``--max-rows 0``)
exit with status 2, as argparse does.

``venn sql eval`` runs the golden set through the agent and reports its answer quality
(:mod:`venn_plugins.sql_agent.eval`; docs/sql-agent.md, "Measuring answer quality").

``venn`` (venn/cli.py) registers the commands with :func:`add_sql_commands`; :func:`main`
runs the same commands on their own (``main(["check", "--allow", "orders", "SELECT 1"])``).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator

from venn_plugins.sql_agent.guard import SUPPORTED_DIALECTS, SQLGuardError, check_sql

__all__ = ["add_sql_commands", "cmd_check", "cmd_eval", "main"]


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
    """Add ``sql check`` and ``sql eval`` to an argparse subparsers object (``venn sql check ...``)."""
    sql = subparsers.add_parser("sql", help="SQL agent tools", description="SQL agent tools.")
    sql_sub = sql.add_subparsers(dest="sql_command", required=True, metavar="{check,eval}")
    _add_check_parser(sql_sub)
    _add_eval_parser(sql_sub)


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


# venn sql eval ----------------------------------------------------------------------


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, not {text}")
    return value


def _percentage(text: str) -> float:
    value = _positive_float(text)
    if value > 100:
        raise argparse.ArgumentTypeError(f"must be a percentage (0-100], not {text}")
    return value


def _add_eval_parser(subparsers) -> argparse.ArgumentParser:
    from venn_plugins.sql_agent.config import MAX_STEPS

    ev = subparsers.add_parser(
        "eval",
        help="measure the SQL agent's answers on the golden set",
        description=(
            "Ask the golden set's questions over the DuckDB demo warehouse through the agent and the "
            "language model of OPENAI_BASE_URL / VENN_LLM_MODEL / OPENAI_API_KEY; print a line per question "
            "and the totals, write JSON (and an SVG chart) under --out. Exit 0 when the run finished, "
            "1 under --fail-under, 2 for a usage or configuration error."
        ),
    )
    knowledge = ev.add_mutually_exclusive_group()
    knowledge.add_argument(
        "--with-knowledge", action="store_true", help="give the agent the knowledge layer's entries for each question"
    )
    knowledge.add_argument(
        "--without", dest="with_knowledge", action="store_false", help="no knowledge layer (the default)"
    )
    ev.add_argument(
        "--only",
        action="extend",
        type=_names,
        metavar="NAME,...",
        help="question ids or categories (repeatable); a follow-up brings the questions it follows",
    )
    ev.add_argument("--limit", type=_positive_int, metavar="N", help="the first N (selected) questions only")
    ev.add_argument("--golden", metavar="FILE", help="another golden set file (TOML; default: the shipped one)")
    ev.add_argument("--out", default="bench/results", metavar="DIR", help="where the JSON goes (default: %(default)s)")
    ev.add_argument("--no-chart", action="store_true", help="no SVG chart beside the JSON")
    ev.add_argument("--data-dir", metavar="DIR", help="where the demo warehouse is made (default: VENN_DATA_DIR)")
    ev.add_argument("--max-steps", type=_positive_int, default=MAX_STEPS, metavar="N",
                    help="model calls per question (default: %(default)s)")
    ev.add_argument("--max-rows", type=_positive_int, default=100, metavar="N",
                    help="row limit of a query (default: %(default)s)")
    ev.add_argument("--statement-timeout", type=_positive_float, default=60.0, metavar="S",
                    help="seconds per statement (default: %(default)g)")
    ev.add_argument("--question-timeout", type=_positive_float, default=300.0, metavar="S",
                    help="seconds per question (default: %(default)g)")
    ev.add_argument("--fail-under", type=_percentage, metavar="PCT",
                    help="exit 1 when fewer than PCT %% of the questions are answered right")
    ev.set_defaults(func=cmd_eval, with_knowledge=False)
    return ev


def cmd_eval(args: argparse.Namespace) -> int:
    """Run the golden set for parsed ``sql eval`` arguments; return the exit status."""
    from venn_plugins.sql_agent.eval.command import run_command

    return run_command(args)


def main(argv: list[str] | None = None) -> int:
    """Standalone entry point: ``check --allow T1,T2 [...] "SQL"`` or ``eval [...]``; returns the exit status."""
    parser = argparse.ArgumentParser(prog="venn sql", description="SQL agent tools.")
    sub = parser.add_subparsers(dest="sql_command", required=True, metavar="{check,eval}")
    _add_check_parser(sub)
    _add_eval_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
