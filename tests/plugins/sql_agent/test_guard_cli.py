"""Tests of ``venn sql check`` (plugins/sql_agent/cli.py)."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from venn_plugins.sql_agent.cli import add_sql_commands, main

REPO = Path(__file__).resolve().parents[3]


def limit_of(sql: str, dialect: str = "snowflake") -> int:
    tree = sqlglot.parse_one(sql, read=dialect)
    assert isinstance(tree.args["limit"], exp.Limit)
    return int(tree.args["limit"].expression.this)


def test_accepted_statement_is_printed_with_its_limit(capsys):
    code = main(["check", "--allow", "orders,customers", "--max-rows", "50", "SELECT * FROM orders LIMIT 500"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert out.endswith("\n") and out.count("\n") == 1
    assert limit_of(out) == 50
    assert {t.name.upper() for t in sqlglot.parse_one(out, read="snowflake").find_all(exp.Table)} == {"ORDERS"}


def test_refusal_goes_to_stderr_with_exit_1(capsys):
    code = main(["check", "--allow", "orders", "--database", "analytics", "--schema", "public", "SELECT * FROM payroll"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err == "Table ANALYTICS.PUBLIC.PAYROLL is not in the allowed list for this thread.\n"


def test_refusal_of_a_statement(capsys):
    assert main(["check", "--allow", "orders", "DROP TABLE orders"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and "DROP" in err and err.count("\n") == 1


def test_allow_may_be_repeated_and_spaced(capsys):
    code = main(["check", "--allow", "orders", "--allow", " customers , ", "SELECT * FROM orders JOIN customers ON TRUE"])
    out, _ = capsys.readouterr()
    assert code == 0 and limit_of(out) == 1000


@pytest.mark.parametrize(
    ("dialect", "sql", "code"),
    [
        pytest.param("duckdb", "FROM orders", 0, id="duckdb-accepts"),
        pytest.param("duckdb", "SELECT * FROM read_csv('x.csv')", 1, id="duckdb-refuses-read-csv"),
        pytest.param("postgres", 'SELECT * FROM "orders"', 0, id="postgres-quoted-lower"),
        pytest.param("postgres", "SELECT pg_sleep(5)", 1, id="postgres-refuses-pg-sleep"),
    ],
)
def test_dialects(capsys, dialect, sql, code):
    assert main(["check", "--allow", "orders", "--dialect", dialect, sql]) == code
    out, err = capsys.readouterr()
    if code == 0:
        assert limit_of(out, dialect) == 1000 and err == ""
    else:
        assert out == "" and err.strip()


def test_sql_from_stdin(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO("SELECT *\nFROM orders\n-- trailing comment\n"))
    assert main(["check", "--allow", "orders", "--max-rows", "7", "-"]) == 0
    out, _ = capsys.readouterr()
    assert limit_of(out) == 7 and "comment" not in out


def test_statement_sqlglot_keeps_as_a_command_is_refused_in_one_line(capsys):
    assert main(["check", "--allow", "orders", "CALL my_procedure()"]) == 1
    _, err = capsys.readouterr()
    assert err == "CALL statements are not allowed; only read-only SELECT queries can run.\n"


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["check", "SELECT 1"], id="missing-allow"),
        pytest.param(["check", "--allow", "orders"], id="missing-sql"),
        pytest.param(["check", "--allow", "orders", "--max-rows", "0", "SELECT 1"], id="max-rows-zero"),
        pytest.param(["check", "--allow", "orders", "--max-rows", "many", "SELECT 1"], id="max-rows-not-a-number"),
        pytest.param(["check", "--allow", "orders", "--dialect", "mysql", "SELECT 1"], id="unknown-dialect"),
        pytest.param([], id="no-subcommand"),
    ],
)
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_malformed_table_name_is_a_usage_error(capsys):
    assert main(["check", "--allow", "a.b.c.d", "SELECT 1"]) == 2
    assert "Invalid allowed table name" in capsys.readouterr().err


def test_empty_allow_list_is_a_refusal(capsys):
    assert main(["check", "--allow", ",", "SELECT 1"]) == 1
    assert capsys.readouterr().err == "No tables are allowed in this thread.\n"


def test_add_sql_commands_registers_sql_check(capsys):
    parser = argparse.ArgumentParser(prog="venn")
    sub = parser.add_subparsers(dest="command", required=True)
    add_sql_commands(sub)
    args = parser.parse_args(["sql", "check", "--allow", "orders", "--schema", "public", "SELECT * FROM public.orders"])
    assert args.func(args) == 0
    assert limit_of(capsys.readouterr().out) == 1000
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["sql"])
    assert info.value.code == 2


def run_subprocess(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    code = "import sys; from venn_plugins.sql_agent.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_in_a_subprocess():
    ok = run_subprocess("check", "--allow", "orders", "--max-rows", "25", "SELECT id FROM orders UNION SELECT id FROM orders")
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == "" and limit_of(ok.stdout) == 25

    # CALL makes sqlglot log a fallback warning, which must not reach stderr.
    refused = run_subprocess("check", "--allow", "orders", "-", stdin="SELECT 1; CALL my_procedure()")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "one statement" in refused.stderr and refused.stderr.count("\n") == 1

    usage = run_subprocess("check", "SELECT 1")
    assert usage.returncode == 2 and "--allow" in usage.stderr
