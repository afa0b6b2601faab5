"""Property tests of the SQL guard with hypothesis.

Queries come from a small grammar (joins, CTEs, recursive CTEs, subqueries in FROM /
WHERE / the SELECT list, set operations, limits) over allowed and forbidden tables, with
names written unqualified, qualified, quoted and in mixed case. While it builds a query
the generator works out, by a model of the resolution rules written here (not the
guard's code), whether the query reads a table outside the allow-list. Properties:

* the guard refuses a query exactly when the model says it reads a forbidden table, so
  a query built only from allowed tables is never refused;
* whatever the guard returns parses as exactly one query whose outermost LIMIT is a
  literal <= max_rows, and every table it reads (per sqlglot's scope analysis) is
  allowed; checking the output again gives the same output;
* arbitrary text never raises anything but SQLGuardError.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.scope import traverse_scope

from venn_plugins.sql_agent.guard import SQLGuardError, check_sql

DIALECTS = ["snowflake", "duckdb", "postgres"]
ALLOWED = ["orders", "customers"]
DATABASE, SCHEMA = "analytics", "public"
CTE_NAMES = ["c1", "c2", "c3", "payroll", "orders"]

PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def fold(name: str, quoted: bool, dialect: str) -> str:
    """How the warehouse resolves one identifier (the model, independent of the guard)."""
    if dialect == "duckdb":
        return name.lower()
    if quoted:
        return name
    return name.upper() if dialect == "snowflake" else name.lower()


def allowed_names(dialect: str) -> set[tuple[str, str, str]]:
    return {(fold(DATABASE, False, dialect), fold(SCHEMA, False, dialect), fold(t, False, dialect)) for t in ALLOWED}


@dataclass(frozen=True)
class Query:
    sql: str
    forbidden: bool  # reads a table outside the allow-list
    simple: bool  # a plain SELECT that can take a LIMIT directly


# Table references: (parts as (name, quoted) from database to table).
TABLE_REFS = [
    [("orders", False)],
    [("Orders", False)],
    [("CUSTOMERS", False)],
    [("public", False), ("orders", False)],
    [("Analytics", False), ("Public", False), ("customers", False)],
    [("payroll", False)],
    [("secrets", False)],
    [("public", False), ("payroll", False)],
    [("other", False), ("orders", False)],
    [("otherdb", False), ("public", False), ("orders", False)],
    [("ORDERS", True)],
    [("orders", True)],
    [("Customers", True)],
]


def render(parts: list[tuple[str, bool]]) -> str:
    return ".".join(f'"{name}"' if quoted else name for name, quoted in parts)


def reads_forbidden(parts: list[tuple[str, bool]], ctes: frozenset[str], dialect: str) -> bool:
    if len(parts) == 1 and fold(*parts[0], dialect) in ctes:
        return False  # a CTE in scope
    folded = [fold(name, quoted, dialect) for name, quoted in parts]
    defaults = [fold(DATABASE, False, dialect), fold(SCHEMA, False, dialect)]
    full = tuple(defaults[: 3 - len(folded)] + folded)
    return full not in allowed_names(dialect)


@st.composite
def sources(draw, dialect: str, ctes: frozenset[str], cte_spelling: dict[str, str]):
    options = [("table", i) for i in range(len(TABLE_REFS))]
    options += [(kind, n) for n in sorted(ctes) for kind in ("cte", "cte", "qualified")]
    kind, which = draw(st.sampled_from(options))
    if kind == "cte":
        return Query(cte_spelling[which], False, True)
    # A real table (a qualified name is never a CTE, even if it is spelled like one).
    parts = TABLE_REFS[which] if kind == "table" else [("public", False), (cte_spelling[which], False)]
    return Query(render(parts), reads_forbidden(parts, ctes, dialect), True)


@st.composite
def queries(draw, dialect: str, depth: int, ctes: frozenset[str] = frozenset(), spelling=None):
    spelling = dict(spelling or {})
    forms = ["simple"] if depth <= 0 else ["simple", "join", "in", "exists", "scalar", "derived", "union", "with", "recursive"]
    form = draw(st.sampled_from(forms))
    if form == "simple":
        src = draw(sources(dialect, ctes, spelling))
        where = draw(st.sampled_from(["", " WHERE 1 = 1", " WHERE id > 3"]))
        return Query(f"SELECT * FROM {src.sql}{where}", src.forbidden, True)
    if form == "join":
        a = draw(sources(dialect, ctes, spelling))
        b = draw(sources(dialect, ctes, spelling))
        join = draw(st.sampled_from(["JOIN", "LEFT JOIN", "CROSS JOIN"]))
        on = "" if join == "CROSS JOIN" else " ON x.id = y.id"
        return Query(f"SELECT x.id FROM {a.sql} AS x {join} {b.sql} AS y{on}", a.forbidden or b.forbidden, True)
    if form in ("in", "exists", "scalar", "derived"):
        outer = draw(sources(dialect, ctes, spelling))
        sub = draw(queries(dialect, depth - 1, ctes, spelling))
        sql = {
            "in": f"SELECT * FROM {outer.sql} WHERE id IN (SELECT id FROM ({sub.sql}) AS s)",
            "exists": f"SELECT * FROM {outer.sql} AS o WHERE EXISTS ({sub.sql})",
            "scalar": f"SELECT id, (SELECT COUNT(*) FROM ({sub.sql}) AS s) AS n FROM {outer.sql}",
            "derived": f"SELECT * FROM ({sub.sql}) AS d JOIN {outer.sql} AS t ON TRUE",
        }[form]
        return Query(sql, outer.forbidden or sub.forbidden, True)
    if form == "union":
        left = draw(queries(dialect, depth - 1, ctes, spelling))
        right = draw(queries(dialect, depth - 1, ctes, spelling))
        op = draw(st.sampled_from(["UNION ALL", "UNION", "INTERSECT", "EXCEPT"]))
        return Query(f"({left.sql}) {op} ({right.sql})", left.forbidden or right.forbidden, False)
    # WITH [RECURSIVE]: names are unique; a body sees the earlier CTEs (and, when
    # recursive, itself); the main query sees them all.
    recursive = form == "recursive"
    names = draw(st.lists(st.sampled_from(CTE_NAMES), min_size=1, max_size=3, unique=True))
    defs, forbidden, visible = [], False, set(ctes)
    for name in names:
        written = draw(st.sampled_from([name, name.upper(), name.capitalize()]))
        folded = fold(written, False, dialect)
        if recursive:
            visible.add(folded)
            spelling[folded] = written
        body = draw(queries(dialect, depth - 1, frozenset(visible), spelling))
        if recursive:
            # The anchor UNION ALL step shape of a recursive CTE (sqlglot's scopes, the
            # oracle below, only see a self-reference in that shape).
            step = draw(queries(dialect, depth - 1, frozenset(visible), spelling))
            body = Query(f"({body.sql}) UNION ALL ({step.sql})", body.forbidden or step.forbidden, False)
        defs.append(f"{written} AS ({body.sql})")
        forbidden = forbidden or body.forbidden
        visible.add(folded)
        spelling[folded] = written
    main = draw(queries(dialect, depth - 1, frozenset(visible), spelling))
    keyword = "WITH RECURSIVE" if recursive else "WITH"
    return Query(f"{keyword} {', '.join(defs)} {main.sql}", forbidden or main.forbidden, False)


@st.composite
def statements(draw):
    dialect = draw(st.sampled_from(DIALECTS))
    query = draw(queries(dialect, depth=draw(st.integers(0, 3))))
    limit = draw(
        st.sampled_from(["", "LIMIT {n}", "LIMIT ALL", "FETCH FIRST {n} ROWS ONLY", "LIMIT {n} OFFSET 3"])
    )
    sql = query.sql
    if limit:
        n = draw(st.integers(0, 5000))
        body = sql if query.simple else f"SELECT * FROM ({sql}) AS q"
        sql = f"{body} {limit.format(n=n)}"
    max_rows = draw(st.integers(1, 2000))
    return dialect, sql, query.forbidden, max_rows


def real_tables(tree: exp.Expression, dialect: str) -> set[tuple[str, str, str]]:
    """Completed names of the tables a query reads, per sqlglot's scope analysis."""
    found = set()
    # Fold identifiers first: sqlglot's scopes match CTE names by exact spelling.
    tree = normalize_identifiers(tree.copy(), dialect=dialect)
    for scope in traverse_scope(tree):
        for source in scope.sources.values():
            if isinstance(source, exp.Table):
                parts = [source.args.get("catalog"), source.args.get("db"), source.this]
                folded = [None if p is None else fold(p.name, bool(p.args.get("quoted")), dialect) for p in parts]
                defaults = [fold(DATABASE, False, dialect), fold(SCHEMA, False, dialect)]
                found.add((folded[0] or defaults[0], folded[1] or defaults[1], folded[2]))
    return found


def assert_safe_output(out: str, dialect: str, max_rows: int) -> None:
    parsed = [s for s in sqlglot.parse(out, read=dialect) if s is not None]
    assert len(parsed) == 1, out
    tree = parsed[0]
    assert isinstance(tree, (exp.Select, exp.SetOperation, exp.Subquery)), out
    limit = tree.args.get("limit")
    assert isinstance(limit, exp.Limit), out
    value = limit.expression
    assert isinstance(value, exp.Literal) and not value.is_string and value.this.isdigit(), out
    assert int(value.this) <= max_rows, out
    assert real_tables(tree, dialect) <= allowed_names(dialect), out


@PROPERTY_SETTINGS
@given(statements())
def test_refused_exactly_when_a_forbidden_table_is_read(case):
    dialect, sql, forbidden, max_rows = case
    try:
        out = check_sql(sql, ALLOWED, dialect=dialect, max_rows=max_rows, default_database=DATABASE, default_schema=SCHEMA)
    except SQLGuardError as exc:
        assert forbidden, f"refused a query over allowed tables only: {sql!r}: {exc}"
        assert "not in the allowed list" in str(exc), str(exc)
        return
    assert not forbidden, f"accepted a query reading a forbidden table: {sql!r} -> {out!r}"
    assert_safe_output(out, dialect, max_rows)
    again = check_sql(out, ALLOWED, dialect=dialect, max_rows=max_rows, default_database=DATABASE, default_schema=SCHEMA)
    assert again == out


SQL_TOKENS = [
    "SELECT", "*", "FROM", "WHERE", "WITH", "AS", "UNION", "ALL", "LIMIT", "OFFSET", "FETCH", "FIRST",
    "ROWS", "ONLY", "TOP", "JOIN", "ON", "LATERAL", "FLATTEN", "TABLE", "(", ")", ",", ";", ".", "'",
    '"', "--", "/*", "*/", "\n", "1", "100000", "orders", "customers", "payroll", "public", "analytics",
    "DROP", "DELETE", "INSERT", "INTO", "@stage", "$1", "?", ":x", "=", "=>", "input", "o.col",
    "information_schema", "snowflake", "RESULT_SCAN", "GENERATOR", "SYSTEM$WAIT", "pg_sleep",
    "read_csv", "COUNT", "EXISTS", "IN", "RECURSIVE", "VALUES", "FOR", "UPDATE", "IDENTIFIER",
]


@PROPERTY_SETTINGS
@given(
    st.one_of(
        st.text(max_size=300),
        st.lists(st.sampled_from(SQL_TOKENS), max_size=40).map(" ".join),
        st.lists(st.sampled_from(SQL_TOKENS), max_size=40).map("".join),
    ),
    st.sampled_from(DIALECTS),
)
def test_arbitrary_text_only_raises_guard_errors(text, dialect):
    try:
        out = check_sql(text, ALLOWED, dialect=dialect, max_rows=50, default_database=DATABASE, default_schema=SCHEMA)
    except SQLGuardError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert_safe_output(out, dialect, 50)
