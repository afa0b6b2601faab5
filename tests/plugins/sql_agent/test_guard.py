"""Table-driven tests of the SQL agent's guard (plugins/sql_agent/guard.py).

Accepted statements are checked by meaning: the returned SQL is parsed again, it must be
one query, its outermost LIMIT is read as a number, and the tables it reads are found
with sqlglot's own scope analysis (independent of the guard's walker). Refusals are
checked on the reason naming the offending table or construct.
"""

from __future__ import annotations

import re

import pytest
import sqlglot
from sqlglot import exp
from sqlglot.optimizer.scope import traverse_scope

from venn_plugins.sql_agent import guard
from venn_plugins.sql_agent.guard import SQLGuardError, check_sql, referenced_tables

ALLOWED = ["orders", "customers", "sales.items", "ANALYTICS.PUBLIC.EVENTS"]
DEFAULTS = {"default_database": "ANALYTICS", "default_schema": "PUBLIC"}
MAX_ROWS = 100

SF, DD, PG = "snowflake", "duckdb", "postgres"


def run(sql: str, dialect: str = SF, allowed=ALLOWED, max_rows: int = MAX_ROWS, **kwargs) -> str:
    options = {**DEFAULTS, **kwargs}
    return check_sql(sql, allowed, dialect=dialect, max_rows=max_rows, **options)


def parse_single(sql: str, dialect: str) -> exp.Expression:
    statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    assert len(statements) == 1, sql
    assert isinstance(statements[0], (exp.Select, exp.SetOperation, exp.Subquery)), sql
    return statements[0]


def outer_limit(tree: exp.Expression) -> int:
    limit = tree.args.get("limit")
    assert isinstance(limit, exp.Limit), tree.sql()
    value = limit.expression
    assert isinstance(value, exp.Literal) and not value.is_string, tree.sql()
    return int(value.this)


def outer_offset(tree: exp.Expression) -> int | None:
    offset = tree.args.get("offset")
    return None if offset is None else int(offset.expression.this)


def read_tables(tree: exp.Expression) -> set[str]:
    """Upper-cased table parts of the real tables a query reads, per sqlglot's scopes."""
    names = set()
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                names.add(source.name.upper())
    return names


def refusal(sql: str, dialect: str = SF, **kwargs) -> str:
    with pytest.raises(SQLGuardError) as info:
        run(sql, dialect, **kwargs)
    reason = str(info.value)
    assert "\n" not in reason and reason.endswith((".", ")")) and len(reason) < 300, reason
    return reason


# ---------------------------------------------------------------------------------------
# Accepted statements: (dialect, sql, tables read)
# ---------------------------------------------------------------------------------------

ACCEPTED = [
    # plain queries and names
    pytest.param(SF, "SELECT * FROM orders", {"ORDERS"}, id="sf-plain"),
    pytest.param(SF, "select id, total from Orders where total > 10 order by total desc", {"ORDERS"}, id="sf-mixed-case"),
    pytest.param(SF, "SELECT * FROM public.orders", {"ORDERS"}, id="sf-schema-qualified"),
    pytest.param(SF, "SELECT * FROM analytics.public.orders", {"ORDERS"}, id="sf-fully-qualified"),
    pytest.param(SF, 'SELECT * FROM "ORDERS"', {"ORDERS"}, id="sf-quoted-upper-equals-unquoted"),
    pytest.param(SF, 'SELECT * FROM "ANALYTICS"."PUBLIC"."ORDERS"', {"ORDERS"}, id="sf-quoted-three-part"),
    pytest.param(SF, "SELECT * FROM sales.items", {"ITEMS"}, id="sf-schema-entry"),
    pytest.param(SF, "SELECT * FROM analytics.sales.items", {"ITEMS"}, id="sf-schema-entry-fully-qualified"),
    pytest.param(SF, "SELECT * FROM events", {"EVENTS"}, id="sf-three-part-entry-unqualified-ref"),
    pytest.param(SF, "SELECT 1", set(), id="sf-no-table"),
    pytest.param(SF, "SELECT CURRENT_DATE, CURRENT_TIMESTAMP()", set(), id="sf-clock-functions"),
    # joins
    pytest.param(SF, "SELECT o.id, c.name FROM orders o JOIN customers c ON o.customer_id = c.id", {"ORDERS", "CUSTOMERS"}, id="sf-join"),
    pytest.param(SF, "SELECT * FROM orders LEFT JOIN customers USING (customer_id)", {"ORDERS", "CUSTOMERS"}, id="sf-left-join-using"),
    pytest.param(SF, "SELECT * FROM orders, customers WHERE orders.customer_id = customers.id", {"ORDERS", "CUSTOMERS"}, id="sf-comma-join"),
    pytest.param(SF, "SELECT * FROM (orders o JOIN customers c ON o.customer_id = c.id)", {"ORDERS", "CUSTOMERS"}, id="sf-parenthesised-join"),
    # CTEs
    pytest.param(SF, "WITH big AS (SELECT * FROM orders WHERE total > 100) SELECT * FROM big", {"ORDERS"}, id="sf-cte"),
    pytest.param(SF, "WITH payroll AS (SELECT * FROM orders) SELECT * FROM payroll", {"ORDERS"}, id="sf-cte-shadows-forbidden-name"),
    pytest.param(SF, "WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM a) SELECT * FROM b", {"ORDERS"}, id="sf-cte-chain"),
    pytest.param(SF, "WITH c AS (SELECT * FROM orders) SELECT * FROM c UNION ALL SELECT * FROM c", {"ORDERS"}, id="sf-cte-over-union"),
    pytest.param(SF, 'WITH "Totals" AS (SELECT * FROM orders) SELECT * FROM "Totals"', {"ORDERS"}, id="sf-quoted-cte"),
    pytest.param(SF, "WITH RECURSIVE r (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT * FROM r", set(), id="sf-recursive-cte"),
    pytest.param(
        SF,
        "WITH RECURSIVE chain AS (SELECT id, parent_id FROM orders WHERE parent_id IS NULL "
        "UNION ALL SELECT o.id, o.parent_id FROM orders o JOIN chain ON o.parent_id = chain.id) SELECT * FROM chain",
        {"ORDERS"},
        id="sf-recursive-cte-over-table",
    ),
    # set operations
    pytest.param(SF, "SELECT id FROM orders UNION SELECT id FROM customers", {"ORDERS", "CUSTOMERS"}, id="sf-union"),
    pytest.param(SF, "SELECT id FROM orders INTERSECT SELECT id FROM customers", {"ORDERS", "CUSTOMERS"}, id="sf-intersect"),
    pytest.param(SF, "SELECT id FROM orders EXCEPT SELECT id FROM customers", {"ORDERS", "CUSTOMERS"}, id="sf-except"),
    pytest.param(SF, "SELECT id FROM orders MINUS SELECT id FROM customers", {"ORDERS", "CUSTOMERS"}, id="sf-minus"),
    # subqueries everywhere
    pytest.param(SF, "SELECT * FROM orders WHERE customer_id IN (SELECT id FROM customers)", {"ORDERS", "CUSTOMERS"}, id="sf-in-subquery"),
    pytest.param(SF, "SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM customers c WHERE c.id = o.customer_id)", {"ORDERS", "CUSTOMERS"}, id="sf-exists"),
    pytest.param(SF, "SELECT id, (SELECT MAX(total) FROM orders) AS top FROM customers", {"ORDERS", "CUSTOMERS"}, id="sf-scalar-subquery"),
    pytest.param(SF, "SELECT * FROM (SELECT * FROM orders) AS t", {"ORDERS"}, id="sf-derived-table"),
    pytest.param(SF, "SELECT * FROM orders o, LATERAL (SELECT * FROM customers c WHERE c.id = o.customer_id) x", {"ORDERS", "CUSTOMERS"}, id="sf-lateral-subquery"),
    pytest.param(SF, "SELECT id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY total DESC) AS rn FROM orders", {"ORDERS"}, id="sf-window"),
    pytest.param(SF, "SELECT id FROM orders QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY total) = 1", {"ORDERS"}, id="sf-qualify"),
    pytest.param(SF, "SELECT customer_id, COUNT(*) FROM orders GROUP BY 1 HAVING COUNT(*) > (SELECT COUNT(*) FROM customers)", {"ORDERS", "CUSTOMERS"}, id="sf-having-subquery"),
    # Snowflake specifics
    pytest.param(SF, "SELECT o.id, f.value FROM orders o, LATERAL FLATTEN(input => o.tags) f", {"ORDERS"}, id="sf-lateral-flatten"),
    pytest.param(SF, "SELECT o.id, f.value FROM orders o, TABLE(FLATTEN(input => o.tags)) f", {"ORDERS"}, id="sf-table-flatten"),
    pytest.param(SF, "SELECT f.value FROM orders o, LATERAL FLATTEN(input => PARSE_JSON(o.payload):items) f", {"ORDERS"}, id="sf-flatten-json-path"),
    pytest.param(SF, "SELECT * FROM orders AT(OFFSET => -60)", {"ORDERS"}, id="sf-time-travel"),
    pytest.param(SF, "SELECT * FROM orders SAMPLE (10)", {"ORDERS"}, id="sf-sample"),
    pytest.param(SF, "SELECT * FROM orders PIVOT(SUM(total) FOR status IN ('open', 'closed'))", {"ORDERS"}, id="sf-pivot"),
    pytest.param(SF, "SELECT PARSE_JSON(payload):customer.name::string AS name FROM orders", {"ORDERS"}, id="sf-json-path"),
    pytest.param(
        SF,
        "SELECT DATEADD(day, 7, created_at), DATEDIFF(day, created_at, shipped_at), IFF(total > 0, 1, 0), "
        "DIV0(total, qty), ZEROIFNULL(discount), NVL(note, ''), DATE_TRUNC('month', created_at) FROM orders",
        {"ORDERS"},
        id="sf-scalar-functions",
    ),
    pytest.param(
        SF,
        "SELECT customer_id, LISTAGG(status, ','), ARRAY_AGG(id), APPROX_COUNT_DISTINCT(id), MEDIAN(total), "
        "RATIO_TO_REPORT(SUM(total)) OVER () FROM orders GROUP BY customer_id",
        {"ORDERS"},
        id="sf-aggregate-functions",
    ),
    pytest.param(SF, "SELECT HASH(id), TRUNC(total, 2) FROM orders", {"ORDERS"}, id="sf-reviewed-anonymous-functions"),
    pytest.param(SF, "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) AS v(n, s)", set(), id="sf-values-in-from"),
    pytest.param(SF, "SELECT * FROM orders MATCH_RECOGNIZE (ORDER BY id MEASURES 1 AS x PATTERN (A B+) DEFINE A AS TRUE, B AS TRUE)", {"ORDERS"}, id="sf-match-recognize"),
    pytest.param(SF, "SELECT * FROM orders o, LATERAL FLATTEN(input => o.tags, outer => TRUE) f, LATERAL FLATTEN(input => f.value) g", {"ORDERS"}, id="sf-nested-flatten"),
    pytest.param(SF, "SELECT ARRAY_AGG(x) WITHIN GROUP (ORDER BY x), COUNT(*) FILTER (WHERE x > 1) FROM orders", {"ORDERS"}, id="sf-within-group-and-filter"),
    # literals, comments and whitespace
    pytest.param(SF, "SELECT 'DROP TABLE orders; DELETE FROM x' AS s FROM orders", {"ORDERS"}, id="sf-literal-with-drop"),
    pytest.param(SF, "SELECT * FROM orders WHERE note = 'x'';DROP TABLE y;--'", {"ORDERS"}, id="sf-literal-with-quote-and-drop"),
    pytest.param(SF, "SELECT 1 -- ; DROP TABLE x", set(), id="sf-line-comment-with-statement"),
    pytest.param(SF, "/* DROP TABLE x; */ SELECT * FROM orders", {"ORDERS"}, id="sf-block-comment-before"),
    pytest.param(SF, "SELECT /* ; DELETE FROM orders; */ * FROM orders", {"ORDERS"}, id="sf-block-comment-with-semicolon"),
    pytest.param(SF, "SELECT 1 -- */ DROP TABLE x", set(), id="sf-comment-closing-marker"),
    pytest.param(SF, "SELECT * FROM orders;", {"ORDERS"}, id="sf-trailing-semicolon"),
    pytest.param(SF, ";; SELECT * FROM orders ;;", {"ORDERS"}, id="sf-extra-semicolons"),
    pytest.param(SF, "SELECT * FROM orders; -- done", {"ORDERS"}, id="sf-trailing-comment-after-semicolon"),
    pytest.param(SF, "SELECT\u00a0*\u00a0FROM\u00a0orders", {"ORDERS"}, id="sf-nbsp-whitespace"),
    pytest.param(SF, "SELECT\u2003*\u2003FROM orders", {"ORDERS"}, id="sf-em-space-whitespace"),
    pytest.param(SF, "\n\tSELECT *\r\n  FROM orders\n", {"ORDERS"}, id="sf-tabs-and-newlines"),
    pytest.param(SF, "((SELECT * FROM orders))", {"ORDERS"}, id="sf-parenthesised-query"),
    # DuckDB
    pytest.param(DD, "SELECT * FROM orders", {"ORDERS"}, id="dd-plain"),
    pytest.param(DD, "FROM orders", {"ORDERS"}, id="dd-from-first"),
    pytest.param(DD, 'SELECT * FROM "ORDERS"', {"ORDERS"}, id="dd-quoted-is-case-insensitive"),
    pytest.param(DD, "SELECT * FROM analytics.public.orders", {"ORDERS"}, id="dd-fully-qualified"),
    pytest.param(DD, "SELECT * EXCLUDE (email) FROM customers", {"CUSTOMERS"}, id="dd-star-exclude"),
    pytest.param(DD, "SELECT unnest(tags) FROM orders", {"ORDERS"}, id="dd-unnest-in-select"),
    pytest.param(DD, "SELECT * FROM orders o, unnest(o.tags)", {"ORDERS"}, id="dd-unnest-column-in-from"),
    pytest.param(DD, "SELECT unnest(string_split(o.note, ',')) FROM orders o", {"ORDERS"}, id="dd-unnest-split-column"),
    pytest.param(DD, "SELECT strftime(created_at, '%Y-%m'), date_trunc('month', created_at), list_sum(amounts) FROM orders", {"ORDERS"}, id="dd-functions"),
    pytest.param(DD, "WITH payroll AS (SELECT * FROM orders) SELECT * FROM payroll", {"ORDERS"}, id="dd-cte-shadows"),
    pytest.param(DD, "SELECT id FROM orders UNION ALL SELECT id FROM customers", {"ORDERS", "CUSTOMERS"}, id="dd-union"),
    pytest.param(DD, "SELECT * FROM orders WHERE customer_id IN (FROM customers SELECT id)", {"ORDERS", "CUSTOMERS"}, id="dd-from-first-subquery"),
    pytest.param(DD, "SELECT [x * 2 FOR x IN tags], list_transform(tags, t -> t || '!') FROM orders", {"ORDERS"}, id="dd-comprehension-and-lambda"),
    pytest.param(DD, "SELECT * FROM orders ASOF JOIN customers USING (id, t)", {"ORDERS", "CUSTOMERS"}, id="dd-asof-join"),
    # PostgreSQL
    pytest.param(PG, "SELECT * FROM orders", {"ORDERS"}, id="pg-plain"),
    pytest.param(PG, 'SELECT * FROM "orders"', {"ORDERS"}, id="pg-quoted-lower-equals-unquoted"),
    pytest.param(PG, "SELECT * FROM public.orders", {"ORDERS"}, id="pg-schema-qualified"),
    pytest.param(PG, "SELECT date_trunc('month', created_at), now(), string_agg(status, ',') FROM orders GROUP BY 1", {"ORDERS"}, id="pg-functions"),
    pytest.param(PG, "SELECT payload->>'name', age(now(), created_at) FROM orders", {"ORDERS"}, id="pg-json-and-age"),
    pytest.param(PG, "SELECT * FROM orders o, unnest(o.tags) AS t(tag)", {"ORDERS"}, id="pg-unnest-column"),
    pytest.param(PG, "SELECT * FROM orders o CROSS JOIN LATERAL (SELECT * FROM customers c WHERE c.id = o.customer_id) x", {"ORDERS", "CUSTOMERS"}, id="pg-cross-join-lateral"),
    pytest.param(PG, "SELECT DISTINCT ON (customer_id) * FROM orders ORDER BY customer_id, created_at DESC", {"ORDERS"}, id="pg-distinct-on"),
    pytest.param(PG, "SELECT $$DROP TABLE x$$ AS s", set(), id="pg-dollar-quoted-literal"),
    pytest.param(PG, "WITH payroll AS (SELECT * FROM orders) SELECT * FROM payroll", {"ORDERS"}, id="pg-cte-shadows"),
    pytest.param(PG, "SELECT * FROM orders WHERE EXISTS (SELECT 1 FROM customers)", {"ORDERS", "CUSTOMERS"}, id="pg-exists"),
]


@pytest.mark.parametrize(("dialect", "sql", "tables"), ACCEPTED)
def test_accepted(dialect, sql, tables):
    out = run(sql, dialect)
    tree = parse_single(out, dialect)
    assert 0 <= outer_limit(tree) <= MAX_ROWS
    assert read_tables(tree) == tables


def test_output_has_no_comments():
    out = run("SELECT /* note */ * FROM orders -- DROP TABLE orders")
    assert "note" not in out and "DROP" not in out.upper() and "--" not in out and "/*" not in out


def test_output_is_a_fixed_point():
    sql = "WITH c AS (SELECT * FROM orders) SELECT c.id FROM c JOIN customers ON TRUE LIMIT 5000"
    out = run(sql)
    assert run(out) == out


# ---------------------------------------------------------------------------------------
# Refused statements: (dialect, sql, text the reason must contain)
# ---------------------------------------------------------------------------------------

REFUSED = [
    # tables outside the allow-list, wherever they hide
    pytest.param(SF, "SELECT * FROM payroll", "ANALYTICS.PUBLIC.PAYROLL", id="sf-forbidden-table"),
    pytest.param(SF, "SELECT * FROM orders JOIN payroll ON TRUE", "PAYROLL", id="sf-join-forbidden"),
    pytest.param(SF, "SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM payroll p WHERE p.id = o.id)", "PAYROLL", id="sf-exists-forbidden"),
    pytest.param(SF, "SELECT id, (SELECT MAX(salary) FROM payroll) FROM orders", "PAYROLL", id="sf-scalar-subquery-forbidden"),
    pytest.param(SF, "SELECT * FROM orders WHERE id IN (SELECT id FROM payroll)", "PAYROLL", id="sf-in-subquery-forbidden"),
    pytest.param(SF, "SELECT * FROM orders WHERE id IN (SELECT id FROM customers WHERE x IN (SELECT x FROM payroll))", "PAYROLL", id="sf-nested-subquery-forbidden"),
    pytest.param(SF, "SELECT * FROM orders o, LATERAL (SELECT * FROM payroll p WHERE p.id = o.id) x", "PAYROLL", id="sf-lateral-forbidden"),
    pytest.param(SF, "SELECT * FROM (SELECT * FROM payroll) t", "PAYROLL", id="sf-derived-forbidden"),
    pytest.param(SF, "SELECT ROW_NUMBER() OVER (PARTITION BY (SELECT MAX(x) FROM payroll) ORDER BY id) FROM orders", "PAYROLL", id="sf-window-subquery-forbidden"),
    pytest.param(SF, "SELECT * FROM orders ORDER BY (SELECT MAX(x) FROM payroll)", "PAYROLL", id="sf-order-by-subquery-forbidden"),
    pytest.param(SF, "SELECT * FROM orders JOIN customers ON customers.id IN (SELECT id FROM payroll)", "PAYROLL", id="sf-join-condition-forbidden"),
    pytest.param(SF, "SELECT * FROM orders LIMIT (SELECT COUNT(*) FROM payroll)", "PAYROLL", id="sf-limit-subquery-forbidden"),
    pytest.param(SF, "SELECT id FROM orders UNION SELECT id FROM payroll", "PAYROLL", id="sf-union-forbidden"),
    pytest.param(SF, "SELECT id FROM orders INTERSECT SELECT id FROM payroll", "PAYROLL", id="sf-intersect-forbidden"),
    pytest.param(SF, "SELECT id FROM orders EXCEPT SELECT id FROM payroll", "PAYROLL", id="sf-except-forbidden"),
    pytest.param(SF, "SELECT f.value FROM payroll p, LATERAL FLATTEN(input => p.tags) f", "PAYROLL", id="sf-flatten-over-forbidden"),
    pytest.param(SF, "SELECT * FROM other.orders", "ANALYTICS.OTHER.ORDERS", id="sf-other-schema"),
    pytest.param(SF, "SELECT * FROM otherdb.public.orders", "OTHERDB.PUBLIC.ORDERS", id="sf-other-database"),
    pytest.param(SF, 'SELECT * FROM "orders"', '"orders"', id="sf-quoted-lower-is-another-table"),
    pytest.param(SF, "SELECT * FROM items", "ANALYTICS.PUBLIC.ITEMS", id="sf-schema-entry-needs-schema"),
    # CTEs
    pytest.param(SF, "WITH c AS (SELECT * FROM payroll) SELECT * FROM c", "PAYROLL", id="sf-cte-body-forbidden"),
    pytest.param(SF, "WITH orders AS (SELECT * FROM payroll) SELECT * FROM orders", "PAYROLL", id="sf-cte-named-allowed-reads-forbidden"),
    pytest.param(SF, "WITH a AS (SELECT * FROM orders), b AS (SELECT * FROM payroll) SELECT * FROM a", "PAYROLL", id="sf-unused-cte-forbidden"),
    pytest.param(SF, "SELECT * FROM (WITH payroll AS (SELECT * FROM orders) SELECT * FROM payroll) x JOIN payroll ON TRUE", "PAYROLL", id="sf-inner-cte-not-visible-outside"),
    pytest.param(SF, "SELECT * FROM payroll UNION (WITH payroll AS (SELECT * FROM orders) SELECT * FROM payroll)", "PAYROLL", id="sf-cte-in-other-branch"),
    pytest.param(SF, "WITH a AS (SELECT * FROM payroll), payroll AS (SELECT * FROM orders) SELECT * FROM a", "PAYROLL", id="sf-later-cte-not-visible"),
    pytest.param(SF, "WITH payroll AS (SELECT * FROM payroll) SELECT * FROM payroll", "WITH RECURSIVE", id="sf-non-recursive-self-reference"),
    pytest.param(SF, "WITH RECURSIVE r AS (SELECT * FROM payroll UNION ALL SELECT * FROM r) SELECT * FROM r", "PAYROLL", id="sf-recursive-cte-forbidden"),
    pytest.param(PG, "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d", "DELETE", id="pg-data-modifying-cte-delete"),
    pytest.param(PG, "WITH i AS (INSERT INTO orders VALUES (1) RETURNING *) SELECT * FROM i", "INSERT", id="pg-data-modifying-cte-insert"),
    pytest.param(PG, "WITH u AS (UPDATE orders SET total = 0 RETURNING *) SELECT * FROM u", "UPDATE", id="pg-data-modifying-cte-update"),
    # DML / DDL / DCL and other statements
    pytest.param(SF, "INSERT INTO orders VALUES (1)", "INSERT", id="sf-insert"),
    pytest.param(SF, "INSERT INTO orders SELECT * FROM customers", "INSERT", id="sf-insert-select"),
    pytest.param(SF, "UPDATE orders SET total = 0", "UPDATE", id="sf-update"),
    pytest.param(SF, "DELETE FROM orders", "DELETE", id="sf-delete"),
    pytest.param(SF, "MERGE INTO orders USING customers ON orders.id = customers.id WHEN MATCHED THEN DELETE", "MERGE", id="sf-merge"),
    pytest.param(SF, "TRUNCATE TABLE orders", "TRUNCATE", id="sf-truncate"),
    pytest.param(SF, "CREATE TABLE x (a INT)", "CREATE", id="sf-create-table"),
    pytest.param(SF, "CREATE OR REPLACE VIEW v AS SELECT * FROM orders", "CREATE", id="sf-create-view"),
    pytest.param(SF, "CREATE TABLE x AS SELECT * FROM orders", "CREATE", id="sf-ctas"),
    pytest.param(SF, "DROP TABLE orders", "DROP", id="sf-drop"),
    pytest.param(SF, "ALTER TABLE orders ADD COLUMN x INT", "ALTER", id="sf-alter-table"),
    pytest.param(SF, "UNDROP TABLE orders", "UNDROP", id="sf-undrop"),
    pytest.param(SF, "GRANT SELECT ON orders TO ROLE analyst", "GRANT", id="sf-grant"),
    pytest.param(SF, "REVOKE SELECT ON orders FROM ROLE analyst", "REVOKE", id="sf-revoke"),
    pytest.param(SF, "COPY INTO orders FROM @stage", "COPY", id="sf-copy-into-table"),
    pytest.param(SF, "COPY INTO @stage FROM orders", "COPY", id="sf-copy-into-stage"),
    pytest.param(SF, "PUT file:///tmp/data.csv @~", "PUT", id="sf-put"),
    pytest.param(SF, "GET @~ file:///tmp/", "GET", id="sf-get"),
    pytest.param(SF, "LIST @stage", "LIST", id="sf-list-stage"),
    pytest.param(SF, "REMOVE @stage", "REMOVE", id="sf-remove-stage"),
    pytest.param(SF, "CALL my_procedure()", "CALL", id="sf-call"),
    pytest.param(SF, "EXECUTE IMMEDIATE 'DROP TABLE orders'", "EXECUTE IMMEDIATE", id="sf-execute-immediate"),
    pytest.param(SF, "USE DATABASE other", "USE", id="sf-use-database"),
    pytest.param(SF, "USE WAREHOUSE big", "USE", id="sf-use-warehouse"),
    pytest.param(SF, "USE ROLE accountadmin", "USE", id="sf-use-role"),
    pytest.param(SF, "ALTER SESSION SET QUERY_TAG = 'x'", "ALTER SESSION", id="sf-alter-session"),
    pytest.param(SF, "SHOW TABLES", "SHOW", id="sf-show"),
    pytest.param(SF, "DESCRIBE TABLE orders", "DESCRIBE", id="sf-describe"),
    pytest.param(SF, "DESC TABLE orders", "DESCRIBE", id="sf-desc"),
    pytest.param(SF, "EXPLAIN SELECT * FROM orders", "EXPLAIN", id="sf-explain"),
    pytest.param(SF, "BEGIN", "BEGIN", id="sf-begin"),
    pytest.param(SF, "COMMIT", "COMMIT", id="sf-commit"),
    pytest.param(SF, "SET x = 1", "SET", id="sf-set-variable"),
    pytest.param(SF, "VALUES (1)", "VALUES", id="sf-top-level-values"),
    pytest.param(SF, "SELECT * INTO orders_copy FROM orders", "INTO", id="sf-select-into"),
    pytest.param(SF, "SELECT * FROM orders FOR UPDATE", "FOR UPDATE", id="sf-for-update"),
    # several statements
    pytest.param(SF, "SELECT 1; DROP TABLE x", "one statement", id="sf-two-statements"),
    pytest.param(SF, "SELECT 1 --\n; DROP TABLE x", "one statement", id="sf-comment-then-newline-semicolon"),
    pytest.param(SF, "SELECT 1 /* ; */ ; DELETE FROM orders", "one statement", id="sf-block-comment-then-statement"),
    pytest.param(SF, "SELECT * FROM orders;\nSELECT * FROM customers", "one statement", id="sf-two-selects"),
    pytest.param(SF, "SELECT 'a;b' FROM orders; DROP TABLE orders", "DROP", id="sf-literal-semicolon-then-drop"),
    pytest.param(SF, "SELECT * FROM orders\u2028; DROP TABLE x", "one statement", id="sf-line-separator-then-drop"),
    # stages, variables, dynamic names
    pytest.param(SF, "SELECT * FROM @stage", "@stage", id="sf-named-stage"),
    pytest.param(SF, "SELECT * FROM @~", "@~", id="sf-user-stage"),
    pytest.param(SF, "SELECT * FROM @%orders", "@%orders", id="sf-table-stage"),
    pytest.param(SF, "SELECT * FROM @mystage/path (FILE_FORMAT => 'csv')", "@mystage/path", id="sf-stage-with-format"),
    pytest.param(SF, "SELECT $1 FROM @mystage", "$1", id="sf-stage-column"),
    pytest.param(SF, "SELECT * FROM IDENTIFIER('payroll')", "IDENTIFIER", id="sf-identifier"),
    pytest.param(SF, "SELECT * FROM orders WHERE id = $my_var", "$my_var", id="sf-session-variable"),
    pytest.param(SF, "SELECT * FROM orders WHERE id = :id", ":id", id="sf-bind-parameter"),
    # table functions
    pytest.param(SF, "SELECT * FROM TABLE(GENERATOR(ROWCOUNT => 10))", "GENERATOR", id="sf-generator"),
    pytest.param(SF, "SELECT * FROM TABLE(RESULT_SCAN(LAST_QUERY_ID()))", "RESULT_SCAN", id="sf-result-scan"),
    pytest.param(SF, "SELECT * FROM orders o, LATERAL SPLIT_TO_TABLE(o.tags, ',')", "SPLIT_TO_TABLE", id="sf-split-to-table"),
    pytest.param(SF, "SELECT * FROM TABLE(my_udtf(1))", "MY_UDTF", id="sf-udtf"),
    pytest.param(SF, "SELECT * FROM TABLE(db.sch.my_udtf(1))", "MY_UDTF", id="sf-qualified-udtf"),
    pytest.param(SF, "SELECT * FROM TABLE(FLATTEN(input => PARSE_JSON('[1, 2]')))", "FLATTEN", id="sf-flatten-over-constant"),
    # system catalogs
    pytest.param(SF, "SELECT * FROM INFORMATION_SCHEMA.TABLES", "INFORMATION_SCHEMA", id="sf-information-schema"),
    pytest.param(SF, "SELECT * FROM otherdb.information_schema.columns", "INFORMATION_SCHEMA", id="sf-other-db-information-schema"),
    pytest.param(SF, "SELECT * FROM orders JOIN information_schema.columns c ON TRUE", "INFORMATION_SCHEMA", id="sf-join-information-schema"),
    pytest.param(SF, "SELECT * FROM SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY", "SNOWFLAKE", id="sf-account-usage"),
    pytest.param(SF, 'SELECT * FROM "SNOWFLAKE"."ACCOUNT_USAGE"."LOGIN_HISTORY"', "SNOWFLAKE", id="sf-account-usage-quoted"),
    pytest.param(SF, "SELECT * FROM snowflake.organization_usage.usage_in_currency_daily", "SNOWFLAKE", id="sf-snowflake-database"),
    # functions
    pytest.param(SF, "SELECT SYSTEM$WAIT(10)", "SYSTEM$WAIT", id="sf-system-wait"),
    pytest.param(SF, "SELECT SYSTEM$CLUSTERING_INFORMATION('orders')", "SYSTEM$", id="sf-system-function"),
    pytest.param(SF, "SELECT CURRENT_USER()", "CURRENT_USER", id="sf-current-user"),
    pytest.param(SF, "SELECT CURRENT_ROLE()", "CURRENT_ROLE", id="sf-current-role"),
    pytest.param(SF, "SELECT LAST_QUERY_ID()", "LAST_QUERY_ID", id="sf-last-query-id"),
    pytest.param(SF, "SELECT GETVARIABLE('x')", "GETVARIABLE", id="sf-getvariable"),
    pytest.param(SF, "SELECT GET_DDL('table', 'payroll')", "GET_DDL", id="sf-get-ddl"),
    pytest.param(SF, "SELECT my_udf(total) FROM orders", "MY_UDF", id="sf-unknown-function"),
    pytest.param(SF, "SELECT analytics.public.my_udf(total) FROM orders", "my_udf", id="sf-qualified-udf"),
    pytest.param(SF, "SELECT sch.upper(name) FROM customers", "upper", id="sf-qualified-builtin-name"),
    pytest.param(SF, "SELECT id FROM orders WHERE my_udf(total) > 1", "MY_UDF", id="sf-unknown-function-in-where"),
    pytest.param(SF, "SELECT SNOWFLAKE.CORTEX.COMPLETE('model', 'prompt')", "SNOWFLAKE.CORTEX.COMPLETE", id="sf-cortex-function"),
    pytest.param(SF, "SELECT * FROM my_udtf(1)", "MY_UDTF", id="sf-bare-udtf"),
    pytest.param(SF, "SELECT * FROM orders o JOIN LATERAL my_udtf(o.id) x ON TRUE", "MY_UDTF", id="sf-lateral-udtf"),
    pytest.param(SF, "SELECT * FROM orders WHERE id IN (SELECT id FROM TABLE(payroll))", "payroll", id="sf-table-of-name"),
    pytest.param(SF, "SELECT * FROM orders NATURAL JOIN payroll", "PAYROLL", id="sf-natural-join-forbidden"),
    pytest.param(SF, "SELECT * FROM orders o ASOF JOIN payroll p MATCH_CONDITION(o.t >= p.t)", "PAYROLL", id="sf-asof-join-forbidden"),
    pytest.param(SF, "SELECT * FROM orders WHERE id = ANY (SELECT id FROM payroll)", "PAYROLL", id="sf-any-subquery-forbidden"),
    # FLATTEN's input must be a column (a subquery, even of an allowed table, is not)
    pytest.param(SF, "SELECT * FROM orders o, TABLE(FLATTEN(input => (SELECT tags FROM payroll)))", "only allowed over a column", id="sf-flatten-over-forbidden-subquery"),
    # syntax
    pytest.param(SF, "SELEC * FROM orders", "could not be parsed", id="sf-typo"),
    pytest.param(SF, "SELECT * FROM", "could not be parsed", id="sf-incomplete"),
    pytest.param(SF, "SELECT (1", "could not be parsed", id="sf-unbalanced"),
    pytest.param(SF, "SELECT\u200b* FROM orders", "could not be parsed", id="sf-zero-width-space"),
    pytest.param(SF, "SELECT * FROM orders\uff1b DROP TABLE x", "could not be parsed", id="sf-fullwidth-semicolon"),
    pytest.param(SF, "SELECT", "SELECT", id="sf-select-without-columns"),
    pytest.param(SF, "SELECT * FROM a.b.c.d", "a.b.c.d", id="sf-four-part-name"),
    # DuckDB
    pytest.param(DD, "SELECT * FROM read_csv('/etc/passwd')", "READ_CSV", id="dd-read-csv"),
    pytest.param(DD, "SELECT * FROM read_parquet('s3://bucket/x.parquet')", "READ_PARQUET", id="dd-read-parquet"),
    pytest.param(DD, "SELECT * FROM read_json_auto('x.json')", "READ_JSON_AUTO", id="dd-read-json"),
    pytest.param(DD, "SELECT read_text('/etc/passwd')", "READ_TEXT", id="dd-read-text-scalar"),
    pytest.param(DD, "SELECT * FROM 'secrets.csv'", "secrets.csv", id="dd-file-in-from"),
    pytest.param(DD, "SELECT * FROM glob('*')", "GLOB", id="dd-glob"),
    pytest.param(DD, "SELECT getenv('HOME')", "GETENV", id="dd-getenv"),
    pytest.param(DD, "SELECT current_setting('threads')", "CURRENT_SETTING", id="dd-current-setting"),
    pytest.param(DD, "SELECT * FROM duckdb_tables()", "DUCKDB_TABLES", id="dd-duckdb-tables"),
    pytest.param(DD, "SELECT * FROM query_table('payroll')", "QUERY_TABLE", id="dd-query-table"),
    pytest.param(DD, "SELECT * FROM range(10)", "RANGE", id="dd-range"),
    pytest.param(DD, "SELECT * FROM orders o, (SELECT * FROM 'payroll.parquet') p", "payroll.parquet", id="dd-file-in-subquery"),
    pytest.param(DD, "SELECT * FROM orders POSITIONAL JOIN payroll", "payroll", id="dd-positional-join-forbidden"),
    pytest.param(DD, "SELECT * FROM unnest([1, 2])", "UNNEST", id="dd-unnest-constant-in-from"),
    # a column multiplied by zero is still a made-up series: the rows would come from nothing
    pytest.param(DD, "SELECT x FROM orders o, UNNEST(generate_series(1, 200000000 + 0*o.id)) AS t(x)", "only allowed over a column", id="dd-unnest-series-posing-as-column"),
    pytest.param(DD, "SELECT unnest(generate_series(1, 1000000000 + 0*id)) FROM orders", "only allowed over a column", id="dd-unnest-series-in-select"),
    pytest.param(DD, "SELECT * FROM orders o, UNNEST(range(0*o.id, 100000000)) AS t(x)", "only allowed over a column", id="dd-unnest-range-posing-as-column"),
    pytest.param(PG, "SELECT u FROM orders o, unnest(array_fill(0, ARRAY[100000000 + 0*o.id])) u", "UNNEST", id="pg-unnest-array-fill"),
    pytest.param(SF, "SELECT f.value FROM orders o, LATERAL FLATTEN(input => ARRAY_GENERATE_RANGE(0, 100000000 + 0*o.id)) f", "only allowed over a column", id="sf-flatten-range-posing-as-column"),
    pytest.param(DD, "SELECT * FROM pg_catalog.pg_tables", "system catalog", id="dd-pg-catalog"),
    pytest.param(DD, "SELECT * FROM information_schema.tables", "INFORMATION_SCHEMA", id="dd-information-schema"),
    pytest.param(DD, "ATTACH 'other.db'", "ATTACH", id="dd-attach"),
    pytest.param(DD, "INSTALL httpfs", "INSTALL", id="dd-install"),
    pytest.param(DD, "LOAD httpfs", "LOAD", id="dd-load"),
    pytest.param(DD, "PRAGMA table_info('orders')", "PRAGMA", id="dd-pragma"),
    pytest.param(DD, "COPY orders TO 'out.csv'", "COPY", id="dd-copy-to"),
    pytest.param(DD, "SET threads = 1", "SET", id="dd-set"),
    pytest.param(DD, "SUMMARIZE orders", "SUMMARIZE", id="dd-summarize"),
    pytest.param(DD, "DESCRIBE orders", "DESCRIBE", id="dd-describe"),
    pytest.param(DD, "CALL pragma_version()", "CALL", id="dd-call"),
    pytest.param(DD, "SELECT user", "USER", id="dd-bare-user"),
    pytest.param(DD, "SELECT * FROM orders JOIN payroll ON TRUE", "analytics.public.payroll", id="dd-join-forbidden"),
    pytest.param(DD, "SELECT * FROM orders; DROP TABLE orders", "one statement", id="dd-two-statements"),
    # PostgreSQL
    pytest.param(PG, "SELECT pg_sleep(10)", "PG_SLEEP", id="pg-sleep"),
    pytest.param(PG, "SELECT pg_read_file('/etc/passwd')", "PG_READ_FILE", id="pg-read-file"),
    pytest.param(PG, "SELECT lo_import('/etc/passwd')", "LO_IMPORT", id="pg-lo-import"),
    pytest.param(PG, "SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)", "DBLINK", id="pg-dblink-table"),
    pytest.param(PG, "SELECT dblink_exec('host=x', 'DROP TABLE y')", "DBLINK_EXEC", id="pg-dblink-exec"),
    pytest.param(PG, "SELECT current_setting('data_directory')", "CURRENT_SETTING", id="pg-current-setting"),
    pytest.param(PG, "SELECT set_config('work_mem', '1GB', false)", "SET_CONFIG", id="pg-set-config"),
    pytest.param(PG, "SELECT nextval('orders_id_seq')", "NEXTVAL", id="pg-nextval"),
    pytest.param(PG, "SELECT version()", "VERSION", id="pg-version"),
    pytest.param(PG, "SELECT current_database()", "CURRENT_DATABASE", id="pg-current-database"),
    pytest.param(PG, "SELECT session_user", "SESSION_USER", id="pg-session-user"),
    pytest.param(PG, "SELECT user", "USER", id="pg-bare-user"),
    pytest.param(PG, "SELECT * FROM generate_series(1, 10)", "GENERATE_SERIES", id="pg-generate-series-in-from"),
    pytest.param(PG, "SELECT * FROM orders, LATERAL generate_series(1, orders.n) g", "GENERATE_SERIES", id="pg-lateral-generate-series"),
    pytest.param(PG, "SELECT * FROM orders WHERE x = (SELECT setting FROM pg_settings LIMIT 1)", "pg_settings", id="pg-settings-in-subquery"),
    pytest.param(PG, "SELECT * FROM orders WHERE id = ANY(ARRAY(SELECT id FROM payroll))", "payroll", id="pg-array-subquery-forbidden"),
    pytest.param(PG, "SELECT * FROM pg_catalog.pg_user", "system catalog", id="pg-catalog"),
    pytest.param(PG, "SELECT * FROM pg_shadow", "system catalog", id="pg-unqualified-catalog-table"),
    pytest.param(PG, "SELECT * FROM information_schema.tables", "INFORMATION_SCHEMA", id="pg-information-schema"),
    pytest.param(PG, "SELECT * INTO orders_copy FROM orders", "INTO", id="pg-select-into"),
    pytest.param(PG, "SELECT * FROM orders FOR UPDATE", "FOR UPDATE", id="pg-for-update"),
    pytest.param(PG, "SELECT * FROM orders FOR SHARE", "FOR SHARE", id="pg-for-share"),
    pytest.param(PG, "COPY orders TO PROGRAM 'curl evil'", "COPY", id="pg-copy-program"),
    pytest.param(PG, "DO $$ BEGIN DELETE FROM orders; END $$", "DO", id="pg-do-block"),
    pytest.param(PG, "VACUUM orders", "VACUUM", id="pg-vacuum"),
    pytest.param(PG, "PREPARE p AS SELECT * FROM orders", "PREPARE", id="pg-prepare"),
    pytest.param(PG, "EXECUTE p", "EXECUTE", id="pg-execute"),
    pytest.param(PG, "TABLE payroll", "TABLE", id="pg-table-statement"),
    pytest.param(PG, 'SELECT * FROM "ORDERS"', '"ORDERS"', id="pg-quoted-upper-is-another-table"),
    pytest.param(PG, "SELECT * FROM orders WHERE id = $1", "$1", id="pg-positional-parameter"),
    pytest.param(PG, "SELECT * FROM orders o WHERE o.id IN (SELECT id FROM payroll)", "analytics.public.payroll", id="pg-in-subquery-forbidden"),
    pytest.param(PG, "SELECT 1; SELECT pg_sleep(1)", "one statement", id="pg-two-statements"),
]


@pytest.mark.parametrize(("dialect", "sql", "fragment"), REFUSED)
def test_refused(dialect, sql, fragment):
    reason = refusal(sql, dialect)
    assert fragment.lower() in reason.lower(), reason


def test_refusal_reason_for_a_forbidden_table_is_one_clear_sentence():
    with pytest.raises(SQLGuardError) as info:
        run("SELECT * FROM payroll")
    assert str(info.value) == "Table ANALYTICS.PUBLIC.PAYROLL is not in the allowed list for this thread."


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("", id="empty"),
        pytest.param("   \n\t ", id="whitespace"),
        pytest.param("-- just a comment", id="line-comment"),
        pytest.param("/* nothing here */", id="block-comment"),
        pytest.param(";", id="semicolon"),
    ],
)
def test_empty_statements_are_refused(sql):
    assert "empty" in refusal(sql).lower()


def test_system_catalogs_are_refused_even_when_allow_listed():
    with pytest.raises(SQLGuardError, match="INFORMATION_SCHEMA"):
        check_sql("SELECT * FROM information_schema.tables", ["information_schema.tables"], **DEFAULTS)
    with pytest.raises(SQLGuardError, match="SNOWFLAKE"):
        check_sql("SELECT * FROM query_history", ["query_history"], default_database="SNOWFLAKE", default_schema="ACCOUNT_USAGE")
    with pytest.raises(SQLGuardError, match="system catalog"):
        check_sql("SELECT * FROM pg_user", ["pg_user"], dialect="postgres")


# ---------------------------------------------------------------------------------------
# Row limits: (dialect, sql, expected outermost limit with max_rows=100, expected offset)
# ---------------------------------------------------------------------------------------

LIMITS = [
    pytest.param(SF, "SELECT * FROM orders", 100, None, id="added"),
    pytest.param(SF, "SELECT * FROM orders LIMIT 5", 5, None, id="smaller-kept"),
    pytest.param(SF, "SELECT * FROM orders LIMIT 0", 0, None, id="zero-kept"),
    pytest.param(SF, "SELECT * FROM orders LIMIT 100", 100, None, id="equal-kept"),
    pytest.param(SF, "SELECT * FROM orders LIMIT 1000", 100, None, id="larger-clamped"),
    pytest.param(SF, "SELECT * FROM orders ORDER BY total DESC LIMIT 99999999", 100, None, id="huge-clamped"),
    pytest.param(SF, "SELECT TOP 5 * FROM orders", 5, None, id="top-small"),
    pytest.param(SF, "SELECT TOP 5000 * FROM orders", 100, None, id="top-clamped"),
    pytest.param(SF, "SELECT * FROM orders FETCH FIRST 7 ROWS ONLY", 7, None, id="fetch-first-small"),
    pytest.param(SF, "SELECT * FROM orders FETCH FIRST 700 ROWS ONLY", 100, None, id="fetch-first-clamped"),
    pytest.param(PG, "SELECT * FROM orders ORDER BY id FETCH NEXT ROW ONLY", 1, None, id="fetch-next-row"),
    pytest.param(PG, "SELECT * FROM orders OFFSET 5 ROWS FETCH NEXT 500 ROWS ONLY", 100, 5, id="offset-fetch"),
    pytest.param(SF, "SELECT * FROM orders LIMIT ALL", 100, None, id="limit-all"),
    pytest.param(PG, "SELECT * FROM orders LIMIT ALL", 100, None, id="pg-limit-all"),
    pytest.param(DD, "SELECT * FROM orders LIMIT ALL", 100, None, id="dd-limit-all"),
    pytest.param(SF, "SELECT * FROM orders LIMIT NULL", 100, None, id="limit-null"),
    pytest.param(SF, "SELECT * FROM orders LIMIT (SELECT 5)", 100, None, id="limit-subquery"),
    pytest.param(SF, "SELECT * FROM orders LIMIT (SELECT COUNT(*) FROM customers)", 100, None, id="limit-subquery-over-table"),
    pytest.param(SF, "SELECT * FROM orders LIMIT 1 + 1", 100, None, id="limit-expression"),
    pytest.param(SF, "SELECT * FROM orders LIMIT '5'", 100, None, id="limit-string"),
    pytest.param(SF, "SELECT * FROM orders LIMIT 5 OFFSET 10", 5, 10, id="offset-kept"),
    pytest.param(SF, "SELECT * FROM orders LIMIT 500 OFFSET 10", 100, 10, id="offset-kept-limit-clamped"),
    pytest.param(SF, "SELECT * FROM orders OFFSET 10", 100, 10, id="offset-only"),
    pytest.param(SF, "SELECT id FROM orders UNION ALL SELECT id FROM customers", 100, None, id="union-outer-added"),
    pytest.param(SF, "SELECT id FROM orders UNION ALL SELECT id FROM customers LIMIT 50", 50, None, id="union-small-kept"),
    pytest.param(SF, "SELECT id FROM orders UNION SELECT id FROM customers LIMIT 5000", 100, None, id="union-clamped"),
    pytest.param(SF, "(SELECT id FROM orders LIMIT 3) UNION ALL (SELECT id FROM customers LIMIT 2000)", 100, None, id="union-of-limited-members"),
    pytest.param(SF, "SELECT id FROM orders INTERSECT SELECT id FROM customers", 100, None, id="intersect"),
    pytest.param(SF, "SELECT id FROM orders EXCEPT SELECT id FROM customers LIMIT 7", 7, None, id="except-kept"),
    pytest.param(SF, "WITH c AS (SELECT * FROM orders LIMIT 5000) SELECT * FROM c", 100, None, id="cte-limit-is-not-outer"),
    pytest.param(SF, "SELECT * FROM (SELECT * FROM orders LIMIT 5) t", 100, None, id="subquery-limit-is-not-outer"),
    pytest.param(SF, "(SELECT * FROM orders) LIMIT 3000", 100, None, id="parenthesised-query-limit"),
    pytest.param(DD, "SELECT * FROM orders LIMIT 10", 10, None, id="dd-kept"),
    pytest.param(PG, "SELECT * FROM orders LIMIT 10000", 100, None, id="pg-clamped"),
]


@pytest.mark.parametrize(("dialect", "sql", "limit", "offset"), LIMITS)
def test_limits(dialect, sql, limit, offset):
    tree = parse_single(run(sql, dialect), dialect)
    assert outer_limit(tree) == limit
    assert outer_offset(tree) == offset


def test_set_operation_gets_the_limit_on_the_whole_operation():
    tree = parse_single(run("SELECT id FROM orders UNION ALL SELECT id FROM customers"), SF)
    assert isinstance(tree, exp.Union)
    assert outer_limit(tree) == MAX_ROWS
    assert tree.left.args.get("limit") is None and tree.right.args.get("limit") is None


@pytest.mark.parametrize(
    ("dialect", "sql", "kept"),
    [
        pytest.param(SF, "SELECT TOP 10 PERCENT * FROM orders", "percent", id="top-percent"),
        pytest.param(SF, "SELECT * FROM orders FETCH FIRST 10 PERCENT ROWS ONLY", "percent", id="fetch-percent"),
        pytest.param(DD, "SELECT * FROM orders LIMIT 10%", "percent", id="dd-limit-percent"),
        pytest.param(PG, "SELECT * FROM orders ORDER BY total FETCH FIRST 5 ROWS WITH TIES", "with_ties", id="with-ties"),
    ],
)
def test_unbounded_limits_are_wrapped(dialect, sql, kept):
    tree = parse_single(run(sql, dialect), dialect)
    assert outer_limit(tree) == MAX_ROWS
    inner = tree.args["from_"].this
    assert isinstance(inner, exp.Subquery)
    options = inner.this.args["limit"].args["limit_options"]
    assert options.args.get(kept)
    assert read_tables(tree) == {"ORDERS"}


# ---------------------------------------------------------------------------------------
# Name resolution: (allowed, defaults, dialect, sql, accepted?)
# ---------------------------------------------------------------------------------------

BOTH = {"default_database": "ANALYTICS", "default_schema": "PUBLIC"}
SCHEMA_ONLY = {"default_database": None, "default_schema": "PUBLIC"}
NONE = {"default_database": None, "default_schema": None}

RESOLUTION = [
    pytest.param(["orders"], BOTH, SF, "SELECT * FROM orders", True, id="T-with-defaults-unqualified"),
    pytest.param(["orders"], BOTH, SF, "SELECT * FROM public.orders", True, id="T-with-defaults-schema-ref"),
    pytest.param(["orders"], BOTH, SF, "SELECT * FROM Analytics.Public.Orders", True, id="T-with-defaults-full-ref"),
    pytest.param(["orders"], BOTH, SF, "SELECT * FROM other.orders", False, id="T-with-defaults-other-schema"),
    pytest.param(["orders"], BOTH, SF, "SELECT * FROM x.public.orders", False, id="T-with-defaults-other-db"),
    pytest.param(["orders"], NONE, SF, "SELECT * FROM orders", True, id="T-no-defaults-unqualified"),
    pytest.param(["orders"], NONE, SF, "SELECT * FROM public.orders", False, id="T-no-defaults-qualified-must-match-fully"),
    pytest.param(["orders"], NONE, SF, "SELECT * FROM analytics.public.orders", False, id="T-no-defaults-full-ref"),
    pytest.param(["orders"], SCHEMA_ONLY, SF, "SELECT * FROM public.orders", True, id="T-schema-default-schema-ref"),
    pytest.param(["orders"], SCHEMA_ONLY, SF, "SELECT * FROM analytics.public.orders", False, id="T-schema-default-db-unknown"),
    pytest.param(["public.orders"], NONE, SF, "SELECT * FROM PUBLIC.ORDERS", True, id="ST-no-defaults-schema-ref"),
    pytest.param(["public.orders"], NONE, SF, "SELECT * FROM orders", False, id="ST-no-defaults-unqualified"),
    pytest.param(["public.orders"], BOTH, SF, "SELECT * FROM orders", True, id="ST-with-defaults-unqualified"),
    pytest.param(["public.orders"], BOTH, SF, "SELECT * FROM analytics.public.orders", True, id="ST-with-defaults-full-ref"),
    pytest.param(["public.orders"], BOTH, SF, "SELECT * FROM sales.orders", False, id="ST-with-defaults-other-schema"),
    pytest.param(["sales.items"], BOTH, SF, "SELECT * FROM items", False, id="ST-other-schema-unqualified"),
    pytest.param(["sales.items"], BOTH, SF, "SELECT * FROM analytics.sales.items", True, id="ST-other-schema-full-ref"),
    pytest.param(["analytics.public.orders"], NONE, SF, "SELECT * FROM analytics.public.orders", True, id="DST-full-ref"),
    pytest.param(["analytics.public.orders"], NONE, SF, "SELECT * FROM orders", False, id="DST-no-defaults-unqualified"),
    pytest.param(["analytics.public.orders"], BOTH, SF, "SELECT * FROM orders", True, id="DST-with-defaults-unqualified"),
    pytest.param(["ORDERS"], {"default_database": "analytics", "default_schema": "public"}, SF, "SELECT * FROM ANALYTICS.PUBLIC.orders", True, id="lower-case-defaults-fold"),
    pytest.param(['"Mixed"'], BOTH, SF, 'SELECT * FROM "Mixed"', True, id="quoted-entry-quoted-ref"),
    pytest.param(['"Mixed"'], BOTH, SF, "SELECT * FROM mixed", False, id="quoted-entry-unquoted-ref"),
    pytest.param(['"Mixed"'], BOTH, SF, 'SELECT * FROM "MIXED"', False, id="quoted-entry-other-case"),
    pytest.param(["items"], {"default_database": "ANALYTICS", "default_schema": '"Sales"'}, SF, 'SELECT * FROM "Sales".items', True, id="quoted-default-schema"),
    pytest.param(["items"], {"default_database": "ANALYTICS", "default_schema": '"Sales"'}, SF, "SELECT * FROM sales.items", False, id="quoted-default-schema-unquoted-ref"),
    pytest.param(["orders"], BOTH, PG, 'SELECT * FROM "orders"', True, id="pg-quoted-lower"),
    pytest.param(["orders"], BOTH, PG, "SELECT * FROM ORDERS", True, id="pg-unquoted-upper"),
    pytest.param(["orders"], BOTH, PG, 'SELECT * FROM "Orders"', False, id="pg-quoted-mixed"),
    pytest.param(["ORDERS"], BOTH, PG, "SELECT * FROM orders", True, id="pg-upper-entry"),
    pytest.param(["orders"], BOTH, DD, 'SELECT * FROM "Orders"', True, id="dd-quoted-mixed"),
    pytest.param(["orders"], BOTH, DD, "SELECT * FROM Analytics.Public.ORDERS", True, id="dd-full-ref"),
    pytest.param(["orders"], BOTH, SF, "WITH x AS (SELECT * FROM orders) SELECT * FROM public.x", False, id="qualified-ref-is-never-a-cte"),
]


@pytest.mark.parametrize(("allowed", "defaults", "dialect", "sql", "accepted"), RESOLUTION)
def test_name_resolution(allowed, defaults, dialect, sql, accepted):
    if accepted:
        tree = parse_single(check_sql(sql, allowed, dialect=dialect, **defaults), dialect)
        assert outer_limit(tree) == 1000
    else:
        with pytest.raises(SQLGuardError, match="not in the allowed list"):
            check_sql(sql, allowed, dialect=dialect, **defaults)


def test_refusal_points_at_the_allowed_spelling():
    with pytest.raises(SQLGuardError) as info:
        check_sql("SELECT * FROM orders", ["analytics.public.orders"])
    assert "ORDERS" in str(info.value) and "ANALYTICS.PUBLIC.ORDERS" in str(info.value)


def test_allowed_tables_may_be_a_single_string():
    tree = parse_single(check_sql("SELECT * FROM orders", "orders"), SF)
    assert read_tables(tree) == {"ORDERS"}


# ---------------------------------------------------------------------------------------
# Arguments and input size
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("allowed", [[], [""], ["  ", ""], ()], ids=["empty-list", "empty-name", "blank-names", "empty-tuple"])
def test_no_allowed_tables(allowed):
    with pytest.raises(SQLGuardError) as info:
        check_sql("SELECT 1", allowed)
    assert str(info.value) == "No tables are allowed in this thread."


@pytest.mark.parametrize("max_rows", [0, -1, True, 1.5, "10"], ids=["zero", "negative", "bool", "float", "str"])
def test_bad_max_rows(max_rows):
    with pytest.raises(ValueError) as info:
        check_sql("SELECT 1", ["orders"], max_rows=max_rows)
    assert not isinstance(info.value, SQLGuardError)


def test_max_rows_one():
    assert outer_limit(parse_single(check_sql("SELECT * FROM orders LIMIT 5", ["orders"], max_rows=1), SF)) == 1


@pytest.mark.parametrize("name", ["a.b.c.d", "or ders", 'a."b', "x;y", '""', "a..b", "1abc"])
def test_malformed_allowed_table_names(name):
    with pytest.raises(ValueError) as info:
        check_sql("SELECT 1", [name])
    assert not isinstance(info.value, SQLGuardError)


def test_malformed_default_schema():
    with pytest.raises(ValueError):
        check_sql("SELECT 1", ["orders"], default_schema="a.b")


def test_unknown_dialect():
    with pytest.raises(ValueError) as info:
        check_sql("SELECT 1", ["orders"], dialect="mysql")
    assert not isinstance(info.value, SQLGuardError)


def test_non_text_sql_is_refused():
    with pytest.raises(SQLGuardError):
        check_sql(None, ["orders"])  # type: ignore[arg-type]


def test_length_limit():
    at_limit = "SELECT * FROM orders" + " " * (guard.MAX_SQL_LENGTH - len("SELECT * FROM orders"))
    assert len(at_limit) == guard.MAX_SQL_LENGTH
    assert check_sql(at_limit, ["orders"])
    with pytest.raises(SQLGuardError, match="longer than 100,000 characters"):
        check_sql(at_limit + " ", ["orders"])


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("SELECT " + "(" * 1000 + "1" + ")" * 1000 + " FROM orders", id="parentheses"),
        pytest.param("SELECT * FROM " + "(SELECT * FROM " * 400 + "orders" + ")" * 400, id="subqueries"),
        pytest.param("SELECT " + "NOT " * 5000 + "TRUE", id="not-chain"),
        pytest.param("SELECT " + "- " * 5000 + "1", id="unary-minus"),
    ],
)
def test_deep_nesting_is_refused(sql):
    with pytest.raises(SQLGuardError, match="nested too deeply|could not be parsed"):
        check_sql(sql, ["orders"])


def test_moderate_nesting_and_long_flat_lists_are_fine():
    nested = "SELECT * FROM " + "(SELECT * FROM " * 10 + "orders" + ")" * 10
    assert read_tables(parse_single(check_sql(nested, ["orders"]), SF)) == {"ORDERS"}
    wide = "SELECT * FROM orders WHERE " + " OR ".join(f"id = {i}" for i in range(2000))
    assert outer_limit(parse_single(check_sql(wide, ["orders"]), SF)) == 1000


# ---------------------------------------------------------------------------------------
# The function allow-list
# ---------------------------------------------------------------------------------------


def test_function_lists_are_disjoint_and_name_real_function_types():
    assert not guard.ALLOWED_FUNCTION_TYPES & guard.DENIED_FUNCTION_TYPES
    for name in guard._ALLOWED_FUNCTION_TYPE_NAMES | guard._DENIED_FUNCTION_TYPE_NAMES:
        node_type = getattr(exp, name, None)
        if node_type is not None:  # names of other sqlglot releases are skipped
            assert isinstance(node_type, type) and issubclass(node_type, exp.Func), name
    assert not {n.upper() for n in guard.ALLOWED_FUNCTION_NAMES} & guard.DENIED_FUNCTION_NAMES
    assert not [n for n in guard.ALLOWED_FUNCTION_NAMES if n.startswith(guard.DENIED_FUNCTION_PREFIXES)]


def test_no_risky_looking_function_type_is_allowed():
    risky = re.compile(r"^(Read|Current(?!Date|Time)|Session|System|Secret|Sleep|Getenv|AI[A-Z]|ML[A-Z]|Predict|Generate(Text|Embedding|Table|Bool|Int|Double)|Generator|NextValue|DynamicIdentifier|ToFile)")
    allowed_names = {t.__name__ for t in guard.ALLOWED_FUNCTION_TYPES}
    assert not sorted(n for n in allowed_names if risky.match(n))


def test_a_typed_function_off_the_allow_list_is_refused(monkeypatch):
    assert check_sql("SELECT SUM(total) FROM orders", ["orders"])
    monkeypatch.setattr(guard, "ALLOWED_FUNCTION_TYPES", guard.ALLOWED_FUNCTION_TYPES - {exp.Sum})
    with pytest.raises(SQLGuardError, match="SUM is not on the list of allowed functions"):
        check_sql("SELECT SUM(total) FROM orders", ["orders"])


def test_an_unknown_function_is_refused_until_reviewed(monkeypatch):
    with pytest.raises(SQLGuardError, match="FANCY_NEW_FN"):
        check_sql("SELECT fancy_new_fn(total) FROM orders", ["orders"])
    monkeypatch.setattr(guard, "ALLOWED_FUNCTION_NAMES", guard.ALLOWED_FUNCTION_NAMES | {"FANCY_NEW_FN"})
    assert check_sql("SELECT fancy_new_fn(total) FROM orders", ["orders"])


# ---------------------------------------------------------------------------------------
# referenced_tables
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "sql", "expected"),
    [
        pytest.param(SF, "WITH p AS (SELECT * FROM payroll) SELECT * FROM p JOIN orders ON TRUE", {"ANALYTICS.PUBLIC.PAYROLL", "ANALYTICS.PUBLIC.ORDERS"}, id="cte-excluded"),
        pytest.param(SF, 'SELECT * FROM "orders", sales.items', {'ANALYTICS.PUBLIC."orders"', "ANALYTICS.SALES.ITEMS"}, id="quoted-and-schema"),
        pytest.param(PG, "SELECT * FROM Orders WHERE id IN (SELECT id FROM other.customers)", {"analytics.public.orders", "analytics.other.customers"}, id="pg-lower"),
        pytest.param(SF, "DELETE FROM payroll", {"ANALYTICS.PUBLIC.PAYROLL"}, id="any-statement"),
    ],
)
def test_referenced_tables(dialect, sql, expected):
    assert referenced_tables(sql, dialect=dialect, **DEFAULTS) == expected


def test_referenced_tables_refuses_several_statements():
    with pytest.raises(SQLGuardError, match="one statement"):
        referenced_tables("SELECT 1; SELECT 2")


def test_forward_reference_in_a_recursive_with_is_checked_as_a_table():
    sql = "WITH RECURSIVE a AS (SELECT * FROM payroll), payroll AS (SELECT * FROM orders) SELECT * FROM a"
    with pytest.raises(SQLGuardError, match="PAYROLL"):
        run(sql)
    ok = "WITH RECURSIVE a AS (SELECT * FROM orders), payroll AS (SELECT * FROM a) SELECT * FROM payroll"
    assert read_tables(parse_single(run(ok), SF)) == {"ORDERS"}
