"""The SQL guard of the SQL agent: only one read-only query over allow-listed tables runs.

Every statement, whether an LLM wrote it or a user typed it, goes through
:func:`check_sql` before it reaches the warehouse. The statement is parsed with sqlglot
in the warehouse's dialect (``snowflake``, ``duckdb`` or ``postgres``), checked, and the
SQL that runs is *generated again by sqlglot* from the checked tree, without comments.
What runs is therefore exactly what was checked: text that sqlglot read as a comment or
as a string literal cannot come back as code.

What is accepted
================
Exactly one query: ``SELECT``, ``WITH ... SELECT`` (recursive CTEs included), the set
operations ``UNION`` / ``INTERSECT`` / ``EXCEPT`` and parenthesised queries, with
subqueries anywhere (``WHERE``, ``SELECT`` list, ``JOIN``, ``LATERAL``, window specs,
``LIMIT``...). Every table it reads must be on the thread's allow-list.

What is refused (``SQLGuardError``, whose ``str()`` is a one-sentence reason)
============================================================================
* Anything that is not a query, at the top or nested (a PostgreSQL data-modifying CTE,
  for instance): DML, DDL and DCL (``INSERT``, ``UPDATE``, ``DELETE``, ``MERGE``,
  ``TRUNCATE``, ``CREATE``, ``DROP``, ``ALTER``, ``GRANT``, ``REVOKE``, ...), ``COPY``,
  ``PUT``, ``GET``, ``LIST``, ``REMOVE``, ``CALL``, ``EXECUTE IMMEDIATE``, ``USE``,
  ``ALTER SESSION``, ``SET``, ``SHOW``, ``DESCRIBE``, ``EXPLAIN``, transactions,
  DuckDB's ``ATTACH``/``INSTALL``/``LOAD``/``PRAGMA``, and whatever sqlglot only keeps
  as an opaque ``Command``. The top-level statement is checked against an allow-list
  (select, set operation, parenthesised query); nested statements against a list of
  statement node types.
* ``SELECT ... INTO`` and locking reads (``FOR UPDATE`` / ``FOR SHARE``).
* More than one statement (``SELECT 1; DROP TABLE x``), empty input, input longer than
  :data:`MAX_SQL_LENGTH` characters, anything sqlglot cannot parse, and input nested so
  deeply that parsing or checking it exhausts the recursion limit.
* Snowflake stages (``@stage``, ``@~``, ``@%table``), ``IDENTIFIER(...)`` table names,
  session variables and bind parameters (``$name``, ``:name``, ``?``).
* Table functions, except FLATTEN (Snowflake; also ``UNNEST`` in PostgreSQL/DuckDB)
  whose input is a column, or a path, cast, split or parse of one, such as
  ``LATERAL FLATTEN(input => t.col)`` (in FROM and in a SELECT list alike: arithmetic
  on a column, as in ``generate_series(1, 1e9 + 0*t.id)``, does not count). So
  ``TABLE(GENERATOR(...))``, ``TABLE(RESULT_SCAN(...))``, ``SPLIT_TO_TABLE``,
  ``read_csv(...)``, ``read_parquet(...)``, ``generate_series(...)`` and every
  user-defined table function are refused in ``FROM``.
* System catalogs: ``INFORMATION_SCHEMA`` of any database, the ``SNOWFLAKE`` database
  (``SNOWFLAKE.ACCOUNT_USAGE`` and the rest), and in PostgreSQL/DuckDB ``pg_catalog``
  and tables named ``pg_*`` / ``duckdb_*`` — even if an allow-list entry would match.

Functions: an allow-list, not a deny-list
=========================================
sqlglot turns the functions it knows into typed nodes (``exp.Sum``, ``exp.DateTrunc``,
...) and keeps the others as ``exp.Anonymous`` with their name. A function runs only if

* its node type is in :data:`ALLOWED_FUNCTION_TYPES`, a reviewed list of plain scalar,
  aggregate and window functions (a node type that sqlglot adds in a later release is
  refused until someone reviews it and adds it), or
* it is an anonymous function whose name is in :data:`ALLOWED_FUNCTION_NAMES`, a short
  reviewed list of pure functions sqlglot does not model (``RATIO_TO_REPORT``, ``AGE``,
  ``list_sum``, ...).

Everything else is refused: an unknown or user-defined function may have side effects
(Snowflake external functions call out to the network). Schema-qualified calls
(``db.sch.fn(...)``, ``SNOWFLAKE.CORTEX.COMPLETE(...)``) are always refused: they are
user-defined or account-level functions. Typed node types
reviewed and deliberately kept off the list (:data:`DENIED_FUNCTION_TYPES`) read files or
stages (``read_csv``, ``TO_FILE``), generate rows (``GENERATOR``), advance sequences
(``NEXT VALUE FOR``), call ML/LLM services (``AI_*``, ``ML.*``), resolve names at run time
(``IDENTIFIER``) or read the session/account (``CURRENT_USER``, ``CURRENT_ROLE``,
``CURRENT_WAREHOUSE``, ``CURRENT_DATABASE``, ``CURRENT_SCHEMA``, ``VERSION()``...; the
clock functions ``CURRENT_DATE``/``CURRENT_TIMESTAMP``/``NOW()`` are allowed). The
anonymous names that get a specific "side effects or server state" message are listed
in :data:`DENIED_FUNCTION_NAMES` / :data:`DENIED_FUNCTION_PREFIXES` (``SYSTEM$...``,
``RESULT_SCAN``, ``LAST_QUERY_ID``, ``GETVARIABLE``, ``pg_sleep``, ``pg_read_file``,
``lo_import``, ``dblink``, ``current_setting``, ``set_config``, ``nextval``,
``getenv``, ``read_text``, ``glob``, ``duckdb_*``, ...), but they would be refused
anyway as unknown. In PostgreSQL and DuckDB the parameterless session functions written
without parentheses (``user``, ``session_user``, ``current_role``, ...) are refused too.

Names and how they resolve
==========================
Identifiers are compared the way the warehouse resolves them: in Snowflake unquoted
identifiers fold to upper case and quoted ones are case-sensitive; in PostgreSQL unquoted
identifiers fold to lower case and quoted ones are case-sensitive; DuckDB is
case-insensitive even for quoted identifiers. So ``orders``, ``Orders``, ``ORDERS`` and
``"ORDERS"`` are one table in Snowflake, and ``"orders"`` is a different one (as it is
for Snowflake itself); an unquoted name always matches case-insensitively.

Allow-list entries are written like SQL names: ``TABLE``, ``SCHEMA.TABLE`` or
``DB.SCHEMA.TABLE``, each part bare or double-quoted (quoted parts keep their case).
Table references in the query and allow-list entries are completed the same way:

* a missing schema is ``default_schema``, a missing database is ``default_database``;
* a part that is still unknown (no default configured) stays unknown, and unknown only
  matches unknown.

Completed names must then be equal. Hence, with ``default_database=ANALYTICS`` and
``default_schema=PUBLIC``, the entry ``ORDERS`` allows ``orders``, ``public.orders`` and
``analytics.public.orders``; the entry ``SALES.ORDERS`` allows ``sales.orders`` and
``analytics.sales.orders`` but not ``orders``. Without a default schema, the entry
``ORDERS`` means "ORDERS in whatever schema the connection uses" and allows only the
unqualified reference ``orders``: a reference carrying more qualification than is known
(``other.orders``) must match an entry fully. The same holds for databases.

A CTE name shadows a table for unqualified references in the CTE's scope: the rest of
the query, later CTEs of the same ``WITH``, and (only with ``WITH RECURSIVE``) the CTE's
own body. A CTE defined inside a subquery is not visible outside it. A reference to a
CTE defined *later* in the same ``WITH`` is checked as a table reference, even with
``RECURSIVE`` (PostgreSQL would resolve it to the CTE, other warehouses may not; checking
it as a table is right either way). ``WITH payroll AS (SELECT * FROM orders) SELECT * FROM payroll`` is
fine when ORDERS is allowed; a CTE body that reads a forbidden table is refused, whatever
the CTE is called. A self-reference in a CTE of a non-recursive ``WITH`` is treated as a
table (refused unless allowed); write ``WITH RECURSIVE`` for recursive CTEs.

Row limits
==========
The outermost query always ends up with a literal ``LIMIT n`` with ``n <= max_rows``:
added when missing; a smaller literal limit is kept; a larger one is clamped; a
non-literal one (``LIMIT ALL``, ``LIMIT NULL``, ``LIMIT (SELECT ...)``, ``LIMIT 1 + 1``)
is replaced by ``max_rows``. ``TOP n`` and ``FETCH FIRST n ROWS ONLY`` become
``LIMIT n`` (clamped). A limit whose row count is not bounded by its number
(``LIMIT 10 PERCENT``, ``FETCH ... WITH TIES``) is kept and the query is wrapped:
``SELECT * FROM (...) AS guarded_query LIMIT max_rows``. For a set operation the limit
goes on the whole operation. ``OFFSET`` is kept.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import overload

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, TokenError

__all__ = [
    "ALLOWED_FUNCTION_NAMES",
    "ALLOWED_FUNCTION_TYPES",
    "DENIED_FUNCTION_NAMES",
    "DENIED_FUNCTION_PREFIXES",
    "DENIED_FUNCTION_TYPES",
    "MAX_SQL_LENGTH",
    "SQLGuardError",
    "SUPPORTED_DIALECTS",
    "check_sql",
    "referenced_tables",
    "table_name_parts",
]

MAX_SQL_LENGTH = 100_000
SUPPORTED_DIALECTS = ("snowflake", "duckdb", "postgres")
_WRAP_ALIAS = "guarded_query"


class SQLGuardError(ValueError):
    """A statement was refused; ``str(exc)`` is the one-sentence reason."""


# ---------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------

# Reviewed sqlglot function node types that are plain scalar, aggregate or window
# functions (or operators sqlglot models as functions: AND, CASE, CAST, EXISTS, ...).
_ALLOWED_FUNCTION_TYPE_NAMES = frozenset(
    """
    Abs Acos Acosh AddMonths And AnyValue Apply ApproxDistinct ApproxPercentileAccumulate
    ApproxPercentileCombine ApproxPercentileEstimate ApproxQuantile ApproxQuantiles ApproxTopK
    ApproxTopKAccumulate ApproxTopKCombine ApproxTopKEstimate ApproxTopSum ApproximateSimilarity
    ArgMax ArgMin Array ArrayAgg ArrayAll ArrayAny ArrayAppend ArrayCompact ArrayConcat
    ArrayConcatAgg ArrayConstructCompact ArrayContainedBy ArrayContains ArrayContainsAll
    ArrayDistinct ArrayExcept ArrayFilter ArrayFirst ArrayInsert ArrayIntersect ArrayLast ArrayMax
    ArrayMin ArrayOverlaps ArrayPosition ArrayPrepend ArrayRemove ArrayRemoveAt ArrayReverse
    ArraySize ArraySlice ArraySort ArraySum ArrayToString ArrayUnionAgg ArrayUniqueAgg ArraysZip
    Ascii Asin Asinh Atan Atan2 Atanh Avg Base64DecodeBinary Base64DecodeString Base64Encode
    BitLength BitmapBitPosition BitmapBucketNumber BitmapConstructAgg BitmapCount BitmapOrAgg
    BitwiseAndAgg BitwiseCount BitwiseOrAgg BitwiseXorAgg Booland Boolnot Boolor BoolxorAgg
    ByteLength Case Cast CastToStrType Cbrt Ceil CheckJson CheckXml Chr CityHash64 Coalesce
    CodePointsToBytes CodePointsToString Collate Collation Columns Compress Concat ConcatWs
    ConnectByRoot Contains Convert ConvertTimezone ConvertToCharset Corr Cos Cosh CosineDistance Cot
    Coth Count CountIf CovarPop CovarSamp Csc Csch CumeDist CurrentDate CurrentDatetime CurrentTime
    CurrentTimestamp CurrentTimestampLTZ CurrentTimezone Date DateAdd DateBin DateDiff DateFromParts
    DateFromUnixDate DateStrToDate DateSub DateToDateStr DateToDi DateTrunc Datetime DatetimeAdd
    DatetimeDiff DatetimeSub DatetimeTrunc Day DayOfMonth DayOfWeek DayOfWeekIso DayOfYear Dayname
    Decode DecodeCase DecompressBinary DecompressString Decrypt DecryptRaw Degrees DenseRank
    DiToDate DotProduct Elt Encode Encrypt EncryptRaw EndsWith EqualNull EuclideanDistance Exists
    Exp Explode ExplodingGenerateSeries Extract Factorial FarmFingerprint First FirstValue Flatten
    Float64 Floor Format FromBase FromBase32 FromBase64 FromISO8601Date FromISO8601Timestamp
    FromISO8601TimestampNanos FromJson GenerateDateArray GenerateSeries GenerateTimestampArray
    GetExtract GetIgnoreCase Getbit Greatest GroupConcat Grouping GroupingId HashAgg Hex
    HexDecodeString Hll Host Hour If Initcap Inline Int64 IsArray IsAscii IsInf IsNan IsNullValue
    JSONArray JSONArrayAgg JSONArrayAppend JSONArrayContains JSONArrayInsert JSONBContains
    JSONBContainsAllTopKeys JSONBContainsAnyTopKeys JSONBContainsTopKey JSONBDeleteAtPath
    JSONBExists JSONBExtract JSONBExtractScalar JSONBObjectAgg JSONBPathExists JSONBool JSONCast
    JSONExists JSONExtract JSONExtractArray JSONExtractScalar JSONFormat JSONKeys JSONKeysAtDepth
    JSONObject JSONObjectAgg JSONRemove JSONSet JSONStripNulls JSONTable JSONType JSONValueArray
    JarowinklerSimilarity JustifyDays JustifyHours JustifyInterval Kurtosis Lag Last LastDay
    LastValue LaxBool LaxFloat64 LaxInt64 LaxString Lead Least Left Length Levenshtein List Ln
    Localtime Localtimestamp Log LogicalAnd LogicalOr Lower LowerHex MD5 MD5Digest MD5NumberLower64
    MD5NumberUpper64 MakeInterval ManhattanDistance Map MapCat MapContainsKey MapDelete
    MapFromEntries MapInsert MapKeys MapPick MapSize MatchAgainst Max Median Min Minhash
    MinhashCombine Minute Mode Month Monthname MonthsBetween Nanvl Negative NetFunc NextDay Normal
    Normalize NthValue Ntile Nullif NumberToStr Nvl2 ObjectAgg ObjectInsert ObjectTransform OpenJSON
    Or Overlay Pad ParseBignumeric ParseDatetime ParseIp ParseJSON ParseNumeric ParseTime ParseUrl
    PercentRank PercentileCont PercentileDisc Pi Posexplode PosexplodeOuter Pow PreviousDay Quantile
    Quarter Radians Rand Randn Randstr RangeBucket RangeN Rank Reduce RegDomain RegexpCount
    RegexpExtract RegexpExtractAll RegexpFullMatch RegexpILike RegexpInstr RegexpLike RegexpReplace
    RegexpSplit RegexpSubstr RegrAvgx RegrAvgy RegrCount RegrIntercept RegrR2 RegrSlope RegrSxx
    RegrSxy RegrSyy RegrValx RegrValy Repeat Replace Reverse Right Rint Round RowNumber
    RtrimmedLength SHA SHA1Digest SHA2 SHA2Digest SafeAdd SafeConvertBytesToString SafeDivide
    SafeMultiply SafeNegate SafeSubtract Search SearchIp Sec Sech Second Seq1 Seq2 Seq4 Seq8 Shuffle
    Sign Sin Sinh Skewness SortArray Soundex SoundexP123 Space Split SplitPart SplitToTable Sqrt
    StDistance StPoint Stack StandardHash StarMap StartsWith Stddev StddevPop StddevSamp StrPosition
    StrToDate StrToMap StrToTime StrToUnix String StringToArray StripNullValue Strtok StrtokToArray
    Struct StructExtract Stuff Substring SubstringIndex Sum Systimestamp Tan Tanh Time TimeAdd
    TimeDiff TimeFromParts TimeSlice TimeStrToDate TimeStrToTime TimeStrToUnix TimeSub TimeToStr
    TimeToTimeStr TimeToUnix TimeTrunc Timestamp TimestampAdd TimestampDiff TimestampFromParts
    TimestampLtzFromParts TimestampSub TimestampTrunc TimestampTzFromParts ToArray ToBase32 ToBase64
    ToBinary ToBoolean ToChar ToCodePoints ToDays ToDecfloat ToDouble ToMap ToNumber ToVariant
    Transform Translate Trim Trunc Try TryBase64DecodeBinary TryBase64DecodeString TryCast
    TryHexDecodeBinary TryHexDecodeString TryToDecfloat TsOrDiToDi TsOrDsAdd TsOrDsDiff TsOrDsToDate
    TsOrDsToDateStr TsOrDsToDatetime TsOrDsToTime TsOrDsToTimestamp Typeof Unhex Unicode Uniform
    UnixDate UnixMicros UnixMillis UnixSeconds UnixToStr UnixToTime UnixToTimeStr Unnest Upper
    UtcDate UtcTime UtcTimestamp Uuid VarMap Variance VariancePop Week WeekOfYear WeekStart
    WeightString WidthBucket XMLElement XMLGet XMLTable Xor Year YearOfWeek YearOfWeekIso Zipf
    """.split()
)

# Reviewed and refused: files/stages, row generators, sequences, ML/LLM calls, run-time
# names, session/account information.
_DENIED_FUNCTION_TYPE_NAMES = frozenset(
    """
    ReadCSV ReadParquet ToFile Generator GenerateTable NextValueFor DynamicIdentifier Secret ObjectId
    AIAgg AIClassify AIEmbed AIForecast AIGenerate AISimilarity AISummarizeAgg Predict MLForecast
    MLTranslate GenerateEmbedding GenerateText GenerateBool GenerateDouble GenerateInt VectorSearch
    FeaturesAtTime GapFill SessionUser CurrentAccount CurrentAccountName CurrentAvailableRoles
    CurrentCatalog CurrentClient CurrentDatabase CurrentIpAddress CurrentOrganizationName
    CurrentOrganizationUser CurrentRegion CurrentRole CurrentRoleType CurrentSchema CurrentSchemas
    CurrentSecondaryRoles CurrentSession CurrentStatement CurrentTransaction CurrentUser
    CurrentUserId CurrentVersion CurrentWarehouse
    """.split()
)


def _node_types(names: Iterable[str]) -> frozenset[type]:
    # Names this sqlglot release does not have are skipped.
    return frozenset(t for t in (getattr(exp, n, None) for n in names) if isinstance(t, type))


#: Function node types that may run (exact types: an unreviewed subclass is refused).
ALLOWED_FUNCTION_TYPES: frozenset[type] = _node_types(_ALLOWED_FUNCTION_TYPE_NAMES)
#: Function node types reviewed and refused (see the module docstring).
DENIED_FUNCTION_TYPES: frozenset[type] = _node_types(_DENIED_FUNCTION_TYPE_NAMES)

#: Functions sqlglot keeps as ``Anonymous`` that are reviewed as pure (upper case).
ALLOWED_FUNCTION_NAMES = frozenset(
    """
    AS_ARRAY AS_BINARY AS_BOOLEAN AS_CHAR AS_DATE AS_DECIMAL AS_DOUBLE AS_INTEGER AS_NUMBER
    AS_OBJECT AS_REAL AS_TIME AS_TIMESTAMP_LTZ AS_TIMESTAMP_NTZ AS_TIMESTAMP_TZ AS_VARCHAR
    BITAND_AGG BITOR_AGG BITXOR_AGG BITSHIFTLEFT BITSHIFTRIGHT CONDITIONAL_CHANGE_EVENT
    CONDITIONAL_TRUE_EVENT HASH HAVERSINE IS_ARRAY IS_BINARY IS_BOOLEAN IS_CHAR IS_DATE
    IS_DATE_VALUE IS_DECIMAL IS_DOUBLE IS_INTEGER IS_OBJECT IS_REAL IS_TIME IS_TIMESTAMP_LTZ
    IS_TIMESTAMP_NTZ IS_TIMESTAMP_TZ IS_VARCHAR OBJECT_CONSTRUCT_KEEP_NULL OBJECT_DELETE OBJECT_PICK
    RATIO_TO_REPORT REGEXP_SUBSTR_ALL TO_OBJECT TO_TIMESTAMP_LTZ TO_TIMESTAMP_NTZ TO_TIMESTAMP_TZ
    TRUNC TRY_TO_BOOLEAN TRY_TO_DECIMAL TRY_TO_DOUBLE TRY_TO_NUMERIC TRY_TO_TIME TRY_TO_TIMESTAMP
    TRY_TO_TIMESTAMP_NTZ VAR_POP VAR_SAMP STDDEV_POP STDDEV_SAMP COVAR_SAMP
    AGE ARRAY_CAT ARRAY_DIMS ARRAY_LOWER ARRAY_NDIMS ARRAY_REPLACE ARRAY_UPPER CARDINALITY
    CLOCK_TIMESTAMP DIV EVERY GCD ISFINITE JSON_ARRAY_ELEMENTS JSON_ARRAY_ELEMENTS_TEXT
    JSON_ARRAY_LENGTH JSON_BUILD_ARRAY JSON_BUILD_OBJECT JSON_EXTRACT_PATH JSON_OBJECT_AGG
    JSON_OBJECT_KEYS JSON_TYPEOF JSONB_AGG JSONB_ARRAY_ELEMENTS JSONB_ARRAY_ELEMENTS_TEXT
    JSONB_ARRAY_LENGTH JSONB_BUILD_ARRAY JSONB_BUILD_OBJECT JSONB_EXTRACT_PATH
    JSONB_EXTRACT_PATH_TEXT JSONB_OBJECT_AGG JSONB_OBJECT_KEYS JSONB_PRETTY JSONB_TYPEOF LCM
    MAKE_DATE MAKE_TIME MAKE_TIMESTAMP MAKE_TIMESTAMPTZ NUM_NONNULLS NUM_NULLS REGEXP_MATCH
    REGEXP_MATCHES REGEXP_SPLIT_TO_ARRAY ROW_TO_JSON SCALE STATEMENT_TIMESTAMP TIMEOFDAY
    TO_JSON TO_JSONB TRANSACTION_TIMESTAMP TRIM_SCALE ARRAY_TO_JSON
    ARRAY_EXTRACT BAR CENTURY DATEPART DATE_PART DECADE ELEMENT_AT ENTROPY EPOCH_MS EPOCH_NS
    EPOCH_US FAVG FSUM HISTOGRAM ISODOW ISOYEAR KAHAN_SUM LIST_AGGREGATE LIST_AVG LIST_CONCAT
    LIST_COUNT LIST_ELEMENT LIST_EXTRACT LIST_FILTER LIST_HAS LIST_MAX LIST_MIN LIST_POSITION
    LIST_REDUCE LIST_REVERSE LIST_SLICE LIST_SORT LIST_SUM LIST_TRANSFORM LIST_UNIQUE MAP_EXTRACT
    MAP_VALUES MICROSECOND MILLENNIUM MILLISECOND NANOSECOND PREFIX PRINTF PRODUCT STRLEN SUFFIX
    WEEKDAY YEARWEEK
    """.split()
)

#: Anonymous functions refused with a "side effects or server state" reason (upper case).
DENIED_FUNCTION_NAMES = frozenset(
    """
    RESULT_SCAN LAST_QUERY_ID GETVARIABLE GET_DDL GET_PRESIGNED_URL BUILD_SCOPED_FILE_URL
    BUILD_STAGE_FILE_URL GET_STAGE_LOCATION GET_RELATIVE_PATH GET_ABSOLUTE_PATH INFER_SCHEMA
    VALIDATE DIRECTORY EXTERNAL_FUNCTION CURRENT_SETTING SET_CONFIG NEXTVAL SETVAL CURRVAL LASTVAL
    SETSEED VERSION TXID_CURRENT INET_SERVER_ADDR INET_CLIENT_ADDR GETENV GLOB QUERY QUERY_TABLE
    QUERY_TO_XML TABLE_TO_XML CURRENT_QUERY HAS_TABLE_PRIVILEGE
    """.split()
)
#: Prefixes of anonymous functions refused with the same reason (upper case).
DENIED_FUNCTION_PREFIXES = ("SYSTEM$", "PG_", "LO_", "DBLINK", "READ_", "DUCKDB_", "PRAGMA_", "SNOWFLAKE.")

# Anonymous-like nodes: sqlglot did not model them, only their name is known.
_NAMED_FUNCTION_TYPES = tuple(
    t
    for t in (
        getattr(exp, "Anonymous", None),
        getattr(exp, "AnonymousAggFunc", None),
        getattr(exp, "ParameterizedAgg", None),
        getattr(exp, "CombinedParameterizedAgg", None),
    )
    if isinstance(t, type)
)

# Table functions allowed in FROM / JOIN / LATERAL / TABLE(...): FLATTEN (sqlglot's
# Explode in Snowflake) and UNNEST, when their input reads a column.
_ROW_FUNCTION_TYPES = _node_types(["Explode", "Unnest"])
# What a row function's input may be made of around the column it reads: the rows it
# makes then come from stored data, never from constants (``0*order_id`` reads a column,
# but ``generate_series(1, 200000000 + 0*order_id)`` makes its rows out of nothing).
_COLUMN_WRAPPERS = _node_types(
    ["Paren", "Cast", "TryCast", "Bracket", "Dot", "JSONExtract", "JSONExtractScalar", "JSONBExtract",
     "JSONBExtractScalar", "Split", "RegexpSplit", "StringToArray", "ParseJSON", "ToArray"]
)

# Parameterless session functions PostgreSQL and DuckDB accept without parentheses
# (sqlglot reads some of them as plain column names).
_BARE_SESSION_FUNCTIONS = frozenset(
    ["user", "current_user", "session_user", "system_user", "current_role", "current_catalog", "current_schema"]
)

# ---------------------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------------------

_SET_OPERATION = getattr(exp, "SetOperation", exp.Union)
_ROOT_TYPES = (exp.Select, _SET_OPERATION, exp.Subquery)

# Node types that are (parts of) statements other than queries. The top level is checked
# against _ROOT_TYPES (an allow-list); this list catches statements nested in a query.
_STATEMENT_TYPES = tuple(
    _node_types(
        """
        Alter AlterSession Analyze Attach Block Cache Command Comment Commit Copy Create Declare
        Delete Describe Detach Drop Execute ExecuteSql Export Get Grant IfBlock Insert Install Kill
        LoadData LockingStatement LoopBlock Merge Pragma Put Refresh RepeatBlock Returning Revoke
        Rollback Set Show Summarize SwapTable Transaction TruncateTable Uncache Undrop Update Use
        UserDefinedFunction WhileBlock ListStage DML DDL
        """.split()
    )
)

_STATEMENT_LABELS: dict[str, str] = {
    "TruncateTable": "TRUNCATE",
    "Transaction": "BEGIN",
    "ListStage": "LIST",
    "ExecuteSql": "EXECUTE",
    "LoadData": "LOAD DATA",
    "LockingStatement": "LOCKING",
    "AlterSession": "ALTER SESSION",
    "SwapTable": "SWAP",
    "UserDefinedFunction": "CREATE FUNCTION",
    "Values": "VALUES",
}

_EMPTY_STATEMENT = tuple(t for t in (getattr(exp, "Semicolon", None),) if isinstance(t, type))
_DIALECT_TITLES = {"snowflake": "Snowflake", "duckdb": "DuckDB", "postgres": "PostgreSQL"}
_BARE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*\Z")
_NAME_PART = re.compile(r'\s*(?:"((?:[^"]|"")*)"|([^."\s]+))\s*')

# (database, schema, table); database and schema are None when unknown.
TableName = tuple["str | None", "str | None", str]


# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------


class _Names:
    """Identifier folding and name completion for one dialect and one pair of defaults."""

    def __init__(self, dialect: str, default_database: str | None, default_schema: str | None) -> None:
        self.dialect = dialect
        self._dialect = Dialect.get_or_raise(dialect)
        self.default_database = self._default(default_database, "default_database")
        self.default_schema = self._default(default_schema, "default_schema")

    def fold(self, name: str, quoted: bool) -> str:
        """The name the warehouse resolves ``name`` to."""
        ident = exp.Identifier(this=name, quoted=quoted)
        return self._dialect.normalize_identifier(ident).name

    @overload
    def identifier(self, node: exp.Identifier) -> str: ...
    @overload
    def identifier(self, node: exp.Expr | None) -> str | None: ...

    def identifier(self, node: exp.Expr | None) -> str | None:
        """The folded name of an identifier node (None for no node); SQLGuardError for
        anything else."""
        if node is None:
            return None
        if isinstance(node, exp.Identifier):
            return self.fold(node.name, bool(node.args.get("quoted")))
        raise SQLGuardError(f"The name {node.sql(self.dialect)} cannot be checked and is not allowed.")

    def complete(self, database: str | None, schema: str | None, table: str) -> TableName:
        return (
            database if database is not None else self.default_database,
            schema if schema is not None else self.default_schema,
            table,
        )

    def parse_dotted(self, text: str, *, what: str) -> list[str]:
        """Split ``a."B c".d`` into folded parts; ValueError when it is not a name."""
        parts: list[str] = []
        pos, text = 0, text.strip()
        while True:
            m = _NAME_PART.match(text, pos)
            if not m:
                raise ValueError(f"Invalid {what}: {text!r}.")
            quoted, bare = m.group(1), m.group(2)
            if quoted is not None:
                if not quoted:
                    raise ValueError(f"Invalid {what}: {text!r}.")
                parts.append(self.fold(quoted.replace('""', '"'), True))
            else:
                if not _BARE_NAME.match(bare):
                    raise ValueError(f"Invalid {what}: {text!r}.")
                parts.append(self.fold(bare, False))
            pos = m.end()
            if pos == len(text):
                return parts
            if text[pos] != ".":
                raise ValueError(f"Invalid {what}: {text!r}.")
            pos += 1

    def _default(self, value: str | None, what: str) -> str | None:
        if value is None or not str(value).strip():
            return None
        parts = self.parse_dotted(str(value), what=what)
        if len(parts) != 1:
            raise ValueError(f"Invalid {what}: {value!r} (one name expected).")
        return parts[0]

    def display_part(self, part: str) -> str:
        if _BARE_NAME.match(part) and self.fold(part, False) == part:
            return part
        return '"' + part.replace('"', '""') + '"'

    def display(self, name: TableName) -> str:
        return ".".join(self.display_part(p) for p in name if p is not None)


class _Policy:
    """A parsed allow-list: the completed names of the allowed tables."""

    def __init__(self, names: _Names, entries: tuple[str, ...]) -> None:
        self.names = names
        allowed: set[TableName] = set()
        for entry in entries:
            parts = names.parse_dotted(entry, what="allowed table name")
            if len(parts) > 3:
                raise ValueError(f"Invalid allowed table name: {entry!r} (at most DB.SCHEMA.TABLE).")
            database, schema = ([None, None] + parts[:-1])[-2:]
            allowed.add(names.complete(database, schema, parts[-1]))
        self.allowed = frozenset(allowed)
        self.by_table: dict[str, list[TableName]] = {}
        for name in sorted(allowed, key=lambda n: tuple(p or "" for p in n)):
            self.by_table.setdefault(name[2], []).append(name)


@functools.lru_cache(maxsize=256)
def _policy(dialect: str, entries: tuple[str, ...], database: str | None, schema: str | None) -> _Policy:
    return _Policy(_Names(dialect, database, schema), entries)


@functools.lru_cache(maxsize=64)
def _names(dialect: str, database: str | None, schema: str | None) -> _Names:
    return _Names(dialect, database, schema)


# ---------------------------------------------------------------------------------------
# The checker
# ---------------------------------------------------------------------------------------


_CALL_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_$]*)\s*\(")


def _func_label(node: exp.Expr, dialect: str) -> str:
    """A function's name as written in ``dialect`` (sqlglot's class names differ)."""
    if isinstance(node, _NAMED_FUNCTION_TYPES):
        return str(node.name).upper()
    if isinstance(node, exp.Dot):
        parts = []
        for part in node.flatten():
            parts.append(_func_label(part, dialect) if isinstance(part, exp.Func) else part.name)
        return ".".join(p for p in parts if p)
    try:
        match = _CALL_NAME.match(node.sql(dialect))
    except Exception:
        match = None
    if match:
        return match.group(1).upper()
    if isinstance(node, exp.Func):
        return node.sql_name()
    return type(node).__name__.upper()


def _statement_label(node: exp.Expr, dialect: str) -> str:
    name = type(node).__name__
    if isinstance(node, exp.Command):
        word = str(node.name).upper()
        rest = node.args.get("expression")
        if isinstance(rest, exp.Literal):
            rest_text = str(rest.name)
        elif isinstance(rest, exp.Expression):
            rest_text = rest.sql(dialect)
        else:
            rest_text = str(rest or "")
        nxt = rest_text.split()[0].upper() if rest_text.split() else ""
        if word in {"EXECUTE", "ALTER", "CREATE", "DROP", "SHOW"} and nxt.isalpha():
            return f"{word} {nxt}"
        return word or "COMMAND"
    if name in _STATEMENT_LABELS:
        return _STATEMENT_LABELS[name]
    if isinstance(node, (exp.Create, exp.Drop, exp.Alter)):
        kind = node.args.get("kind")
        return f"{name.upper()} {kind}".strip() if isinstance(kind, str) else name.upper()
    if isinstance(node, _STATEMENT_TYPES) or isinstance(node, exp.Values):
        return name.upper()
    try:
        words = node.sql(dialect).split()
    except Exception:
        words = []
    return words[0].upper() if words else name.upper()


def _int_literal(node: exp.Expr | None) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string and re.fullmatch(r"\d+", str(node.this)):
        return int(node.this)
    return None


class _Checker:
    """One walk over a statement: enforces the rules and collects the tables it reads.

    With ``policy=None`` it only collects table names (for :func:`referenced_tables`).
    The walk is iterative (an explicit stack), so only sqlglot itself can recurse deeply.
    """

    def __init__(self, names: _Names, policy: _Policy | None) -> None:
        self.names = names
        self.policy = policy
        self.dialect = names.dialect
        self.tables: set[TableName] = set()

    # -- entry point -------------------------------------------------------------------

    def run(self, root: exp.Expr) -> None:
        enforce = self.policy is not None
        stack: list[tuple[exp.Expr, frozenset[str], frozenset[str]]] = [(root, frozenset(), frozenset())]
        while stack:
            node, ctes, self_refs = stack.pop()
            if enforce:
                self._check_node(node)
            if isinstance(node, exp.Table):
                self._table(node, ctes, self_refs)
            children: list[tuple[exp.Expr, frozenset[str], frozenset[str]]] = []
            with_ = node.args.get("with_") if "with_" in node.args else node.args.get("with")
            if isinstance(with_, exp.With):
                ctes_inside, bodies = self._with(with_, ctes)
                for value in node.args.values():
                    if value is with_:
                        continue
                    for child in value if isinstance(value, list) else [value]:
                        if isinstance(child, exp.Expression):
                            children.append((child, ctes_inside, frozenset()))
                # CTE bodies first, so that reasons come in reading order.
                stack.extend(reversed(children))
                stack.extend(reversed(bodies))
                continue
            for child in node.iter_expressions():
                children.append((child, ctes, self_refs))
            stack.extend(reversed(children))

    def _with(
        self, with_: exp.With, outer: frozenset[str]
    ) -> tuple[frozenset[str], list[tuple[exp.Expr, frozenset[str], frozenset[str]]]]:
        recursive = bool(with_.args.get("recursive"))
        ctes = [c for c in with_.expressions if isinstance(c, exp.CTE)]
        names: list[str] = []
        for cte in ctes:
            alias = cte.args.get("alias")
            ident = alias.this if isinstance(alias, exp.TableAlias) else None
            names.append(self.names.identifier(ident) if isinstance(ident, exp.Identifier) else "")
        everything = outer | frozenset(n for n in names if n)
        bodies: list[tuple[exp.Expr, frozenset[str], frozenset[str]]] = []
        for i, cte in enumerate(ctes):
            # Earlier CTEs, plus the CTE itself when recursive. A forward reference is
            # checked as a table: warehouses differ on it, and that reading is the safe one.
            seen = names[: i + 1] if recursive else names[:i]
            visible = outer | frozenset(n for n in seen if n)
            own = frozenset() if recursive or not names[i] else frozenset([names[i]])
            bodies.append((cte, visible, own))
        for other in with_.args.get("expressions") or []:
            if not isinstance(other, exp.CTE):  # pragma: no cover - defensive
                bodies.append((other, everything, frozenset()))
        for key, value in with_.args.items():  # e.g. PostgreSQL's SEARCH/CYCLE clauses
            if key != "expressions" and isinstance(value, exp.Expression):
                bodies.append((value, everything, frozenset()))
        return everything, bodies

    # -- per node rules ----------------------------------------------------------------

    def _check_node(self, node: exp.Expr) -> None:
        if isinstance(node, _STATEMENT_TYPES):
            label = _statement_label(node, self.dialect)
            raise SQLGuardError(f"{label} statements are not allowed; only read-only SELECT queries can run.")
        if isinstance(node, exp.Select) and not node.expressions:
            raise SQLGuardError("A SELECT needs at least one column or expression to return.")
        if isinstance(node, exp.Into):
            raise SQLGuardError("SELECT ... INTO is not allowed; only read-only SELECT queries can run.")
        if isinstance(node, exp.Lock):
            raise SQLGuardError("Locking reads (FOR UPDATE / FOR SHARE) are not allowed.")
        if isinstance(node, (exp.Parameter, exp.Placeholder, exp.SessionParameter)):
            raise SQLGuardError(
                f"Session variables and bind parameters ({node.sql(self.dialect)}) are not allowed."
            )
        if isinstance(node, exp.Var) and str(node.name).startswith("@"):
            raise SQLGuardError(f"Stage references ({node.name}) are not allowed.")
        if isinstance(node, (exp.From, exp.Join, exp.Lateral, exp.TableFromRows)):
            self._source(node.this)
        elif isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            if isinstance(node.this, exp.Dot) and not any(isinstance(n, exp.Func) for n in node.this.walk()):
                raise SQLGuardError(
                    f"The table name {node.sql(self.dialect)} has too many parts; use DB.SCHEMA.TABLE."
                )
            self._source(node.this, in_table=True)
        elif isinstance(node, exp.Func):
            self._function(node)
        elif isinstance(node, exp.Column) and self.dialect in ("postgres", "duckdb"):
            ident = node.this
            if (
                not node.table
                and isinstance(ident, exp.Identifier)
                and not ident.args.get("quoted")
                and ident.name.lower() in _BARE_SESSION_FUNCTIONS
            ):
                raise SQLGuardError(
                    f"{ident.name.upper()} reads session information and is not allowed."
                )

    def _source(self, source: exp.Expr | None, *, in_table: bool = False) -> None:
        """A row source in FROM / JOIN / LATERAL / TABLE(...): only FLATTEN-like functions."""
        if source is None or isinstance(source, (exp.Table, exp.Subquery, exp.Values, exp.Query)):
            return
        if isinstance(source, (exp.Lateral, exp.TableFromRows, exp.Unnest)) and not in_table:
            if isinstance(source, exp.Unnest):
                self._row_function(source)
            return  # checked when the walk reaches it
        if isinstance(source, exp.Var) and str(source.name).startswith("@"):
            raise SQLGuardError(f"Stage references ({source.name}) are not allowed.")
        if isinstance(source, exp.DynamicIdentifier):
            raise SQLGuardError("Table names given with IDENTIFIER(...) are not allowed.")
        if isinstance(source, (exp.Parameter, exp.Placeholder, exp.SessionParameter)):
            raise SQLGuardError(f"Table names taken from variables ({source.sql(self.dialect)}) are not allowed.")
        if isinstance(source, (exp.Func, exp.Dot)):
            if isinstance(source, exp.Dot) and not any(isinstance(n, exp.Func) for n in source.walk()):
                raise SQLGuardError(
                    f"The table name {source.sql(self.dialect)} has too many parts; use DB.SCHEMA.TABLE."
                )
            self._row_function(source)
            return
        raise SQLGuardError(f"The row source {source.sql(self.dialect)[:80]} is not allowed.")

    def _row_function(self, fn: exp.Expr) -> None:
        if type(fn) in _ROW_FUNCTION_TYPES and _row_inputs_are_columns(fn):
            return
        label = _func_label(fn, self.dialect)
        flatten = "FLATTEN" if self.dialect == "snowflake" else "FLATTEN or UNNEST"
        if type(fn) in _ROW_FUNCTION_TYPES:
            raise SQLGuardError(
                f"Table function {label} is only allowed over a column of an allowed table "
                "(or a path, cast, split or parse of one), not over values it makes itself."
            )
        if label.upper() == "RESULT_SCAN":
            raise SQLGuardError("RESULT_SCAN is not allowed: it reads the results of earlier queries.")
        raise SQLGuardError(
            f"Table function {label} is not allowed; only {flatten} over a column of an allowed table is."
        )

    def _function(self, node: exp.Func) -> None:
        if type(node) in _ROW_FUNCTION_TYPES and not _row_inputs_are_columns(node):
            self._row_function(node)  # UNNEST in a SELECT list: the same rule as in FROM
        parent = node.parent
        if isinstance(parent, exp.Dot) and parent.args.get("expression") is node:
            qualified = _func_label(parent, self.dialect)
            raise SQLGuardError(f"Schema-qualified function calls such as {qualified} are not allowed.")
        if isinstance(node, _NAMED_FUNCTION_TYPES):
            name = str(node.name).upper()
            if name in ALLOWED_FUNCTION_NAMES:
                return
            if name.startswith("SYSTEM$"):
                raise SQLGuardError(f"SYSTEM$ functions such as {name} are not allowed.")
            if name == "RESULT_SCAN":
                raise SQLGuardError("RESULT_SCAN is not allowed: it reads the results of earlier queries.")
            if name in DENIED_FUNCTION_NAMES or name.startswith(DENIED_FUNCTION_PREFIXES):
                raise SQLGuardError(
                    f"Function {name} is not allowed: it has side effects or reads server state."
                )
            raise SQLGuardError(f"Function {name} is not on the list of allowed functions.")
        kind = type(node)
        if kind in ALLOWED_FUNCTION_TYPES:
            return
        name = _func_label(node, self.dialect)
        if kind in DENIED_FUNCTION_TYPES:
            raise SQLGuardError(f"Function {name} is not allowed: it has side effects or reads server state.")
        raise SQLGuardError(f"Function {name} is not on the list of allowed functions.")

    # -- tables ------------------------------------------------------------------------

    def _table(self, node: exp.Table, ctes: frozenset[str], self_refs: frozenset[str]) -> None:
        ident = node.this
        if not isinstance(ident, exp.Identifier):
            return  # a row source, handled by _source
        names = self.names
        table = names.identifier(ident)
        db_node, catalog_node = node.args.get("db"), node.args.get("catalog")
        if db_node is None and catalog_node is None and table in ctes:
            return  # a CTE in scope
        if db_node == "" or (isinstance(db_node, exp.Identifier) and db_node.name == ""):
            if self.dialect != "snowflake" or catalog_node is None:
                raise SQLGuardError(f"The table name {node.sql(self.dialect)} is not allowed.")
            schema: str | None = names.fold("PUBLIC", False)  # Snowflake's DB..TABLE
        else:
            schema = names.identifier(db_node)
        database = names.identifier(catalog_node)
        name = names.complete(database, schema, table)
        self.tables.add(name)
        if self.policy is None:
            return
        self._system_catalog(name)
        if name in self.policy.allowed:
            return
        shown = names.display(name)
        if db_node is None and catalog_node is None and table in self_refs:
            raise SQLGuardError(
                f"Table {shown} is not in the allowed list for this thread "
                "(write WITH RECURSIVE for a CTE that reads itself)."
            )
        hints = [n for n in self.policy.by_table.get(table, []) if n != name]
        if hints:
            raise SQLGuardError(
                f"Table {shown} is not in the allowed list for this thread "
                f"(the allowed list has {names.display(hints[0])})."
            )
        raise SQLGuardError(f"Table {shown} is not in the allowed list for this thread.")

    def _system_catalog(self, name: TableName) -> None:
        database, schema, table = name
        shown = self.names.display(name)
        if schema is not None and schema.upper() == "INFORMATION_SCHEMA":
            raise SQLGuardError(f"Table {shown} is in INFORMATION_SCHEMA, which is not allowed.")
        if self.dialect == "snowflake" and database is not None and database.upper() == "SNOWFLAKE":
            raise SQLGuardError(f"Table {shown} is in the SNOWFLAKE system database, which is not allowed.")
        if self.dialect in ("postgres", "duckdb"):
            if (schema is not None and schema.lower() == "pg_catalog") or table.lower().startswith(
                ("pg_", "duckdb_")
            ):
                raise SQLGuardError(f"Table {shown} is in a system catalog, which is not allowed.")


# ---------------------------------------------------------------------------------------
# Parsing and limits
# ---------------------------------------------------------------------------------------


def _check_dialect(dialect: str) -> str:
    key = str(dialect).strip().lower()
    if key == "postgresql":
        key = "postgres"
    if key not in SUPPORTED_DIALECTS:
        raise ValueError(f"Unsupported dialect {dialect!r}; use one of {', '.join(SUPPORTED_DIALECTS)}.")
    return key


def _parse_one(sql: str, dialect: str) -> exp.Expr:
    if not isinstance(sql, str):
        raise SQLGuardError("The SQL statement must be text.")
    if len(sql) > MAX_SQL_LENGTH:
        raise SQLGuardError(f"The SQL statement is longer than {MAX_SQL_LENGTH:,} characters.")
    if not sql.strip():
        raise SQLGuardError("The SQL statement is empty.")
    title = _DIALECT_TITLES[dialect]
    try:
        parsed = sqlglot.parse(sql, read=dialect, error_level=ErrorLevel.IMMEDIATE)
        # A trailing comment after the last ";" comes back as an empty Semicolon node.
        statements = [s for s in parsed if s is not None and not isinstance(s, _EMPTY_STATEMENT)]
    except (ParseError, TokenError) as exc:
        raise SQLGuardError(f"The statement could not be parsed as {title} SQL ({_parse_reason(exc)}).") from None
    except RecursionError:
        raise SQLGuardError("The statement is nested too deeply to be checked.") from None
    except (SqlglotError, ValueError, TypeError, KeyError, AttributeError, IndexError, AssertionError):
        raise SQLGuardError(f"The statement could not be parsed as {title} SQL.") from None
    if not statements:
        raise SQLGuardError("The SQL statement is empty.")
    if len(statements) > 1:
        labels = ", ".join(_statement_label(s, dialect) for s in statements[:5])
        more = ", ..." if len(statements) > 5 else ""
        raise SQLGuardError(
            f"Only one statement is allowed, but this has {len(statements)} ({labels}{more})."
        )
    return statements[0]


def _parse_reason(exc: Exception) -> str:
    errors = getattr(exc, "errors", None) or []
    if errors and isinstance(errors[0], dict):
        first = errors[0]
        desc = str(first.get("description") or "syntax error").strip().rstrip(".")
        desc = re.sub(r"\s*but got <Token.*", "", desc, flags=re.S)
        if desc.startswith("Required keyword"):
            desc = "Incomplete expression"
        near = str(first.get("highlight") or "").strip()
        if near and len(near) <= 40 and "\n" not in near:
            desc += f" near '{near}'"
        line, col = first.get("line"), first.get("col")
        if line is not None and col is not None:
            return f"{desc} at line {line}, column {col}"
        return desc
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip().splitlines()
    return (text[0].rstrip(".") if text else "syntax error")[:200]


def _check_root(tree: exp.Expr, dialect: str) -> exp.Expr:
    if not isinstance(tree, _ROOT_TYPES):
        label = _statement_label(tree, dialect)
        raise SQLGuardError(f"{label} statements are not allowed; only read-only SELECT queries can run.")
    # Plain parentheses around the whole query add nothing: drop them.
    while isinstance(tree, exp.Subquery) and not any(v for k, v in tree.args.items() if k != "this"):
        inner = tree.this
        if not isinstance(inner, _ROOT_TYPES):
            label = _statement_label(inner, dialect)
            raise SQLGuardError(f"{label} statements are not allowed; only read-only SELECT queries can run.")
        inner.pop()
        tree = inner
    return tree


def _apply_limit(tree: exp.Expr, max_rows: int) -> exp.Expr:
    """Give the outermost query a literal LIMIT <= max_rows (see the module docstring)."""
    limit = tree.args.get("limit")
    if limit is None:
        tree.set("limit", exp.Limit(expression=exp.Literal.number(max_rows)))
        return tree
    options = limit.args.get("limit_options")
    unbounded = isinstance(options, exp.Expression) and bool(
        options.args.get("percent") or options.args.get("with_ties")
    )
    if isinstance(limit, exp.Fetch) and not unbounded:
        count = limit.args.get("count")
        wanted = 1 if count is None else _int_literal(count)
    elif isinstance(limit, exp.Limit) and not unbounded and not limit.args.get("expressions"):
        wanted = _int_literal(limit.expression)
    else:
        wrapped = exp.Select(expressions=[exp.Star()]).from_(
            exp.Subquery(this=tree, alias=exp.TableAlias(this=exp.to_identifier(_WRAP_ALIAS)))
        )
        wrapped.set("limit", exp.Limit(expression=exp.Literal.number(max_rows)))
        return wrapped
    rows = wanted if wanted is not None and wanted <= max_rows else max_rows
    if isinstance(limit, exp.Limit):
        limit.set("expression", exp.Literal.number(rows))
    else:
        tree.set("limit", exp.Limit(expression=exp.Literal.number(rows)))
    return tree


def _outer_limit(tree: exp.Expr) -> int | None:
    limit = tree.args.get("limit")
    if not isinstance(limit, exp.Limit) or limit.args.get("limit_options"):
        return None
    return _int_literal(limit.expression)


def _guarded(call: Callable[[], str]) -> str:
    try:
        return call()
    except SQLGuardError:
        raise
    except RecursionError:
        raise SQLGuardError("The statement is nested too deeply to be checked.") from None
    except SqlglotError as exc:
        raise SQLGuardError(f"The statement cannot be checked safely ({_parse_reason(exc)}).") from None
    except Exception as exc:  # fail closed: whatever the checker did not foresee is refused
        raise SQLGuardError(f"The statement cannot be checked safely ({type(exc).__name__}).") from None


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def check_sql(
    sql: str,
    allowed_tables: Iterable[str],
    *,
    dialect: str = "snowflake",
    max_rows: int = 1000,
    default_database: str | None = None,
    default_schema: str | None = None,
) -> str:
    """Return the SQL to run for ``sql``, or raise :class:`SQLGuardError` saying why not.

    ``allowed_tables`` holds ``TABLE``, ``SCHEMA.TABLE`` or ``DB.SCHEMA.TABLE`` names (a
    single string is one name). The result is one read-only query, generated by sqlglot
    in ``dialect``, whose outermost ``LIMIT`` is a literal no larger than ``max_rows``.
    Raises ``ValueError`` for a bad argument (``max_rows < 1``, unknown dialect,
    malformed table name) and ``SQLGuardError`` for a refused statement, including an
    empty allow-list.
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, int):
        raise ValueError(f"max_rows must be an integer, not {max_rows!r}.")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, not {max_rows}.")
    dialect = _check_dialect(dialect)
    if isinstance(allowed_tables, str):
        allowed_tables = [allowed_tables]
    entries = tuple(sorted({str(t).strip() for t in allowed_tables if str(t).strip()}))
    if not entries:
        raise SQLGuardError("No tables are allowed in this thread.")
    policy = _policy(dialect, entries, default_database, default_schema)

    def run() -> str:
        tree = _check_root(_parse_one(sql, dialect), dialect)
        _Checker(policy.names, policy).run(tree)
        tree = _apply_limit(tree, max_rows)
        out = tree.sql(dialect=dialect, comments=False, unsupported_level=ErrorLevel.RAISE)
        # Verify what will actually run: the generated text, parsed again, must pass the
        # same checks and carry the limit.
        try:
            reparsed = _parse_one(out, dialect)
        except SQLGuardError:
            title = _DIALECT_TITLES[dialect]
            raise SQLGuardError(f"The statement could not be rewritten safely as {title} SQL.") from None
        again = _check_root(reparsed, dialect)
        _Checker(policy.names, policy).run(again)
        rows = _outer_limit(again)
        if rows is None or rows > max_rows:  # pragma: no cover - would be a guard bug
            raise SQLGuardError("The row limit could not be applied to this statement.")
        return out

    return _guarded(run)


def referenced_tables(
    sql: str,
    *,
    dialect: str = "snowflake",
    default_database: str | None = None,
    default_schema: str | None = None,
) -> set[str]:
    """The tables one statement reads, completed with the defaults (CTE names excluded).

    Names are shown as the warehouse resolves them (``ANALYTICS.PUBLIC.ORDERS`` in
    Snowflake; a part is double-quoted when it needs to be). This does not check
    anything else; raises :class:`SQLGuardError` when the SQL is not exactly one
    parseable statement.
    """
    dialect = _check_dialect(dialect)
    names = _names(dialect, default_database, default_schema)

    def run() -> str:
        checker = _Checker(names, None)
        checker.run(_parse_one(sql, dialect))
        found.update(names.display(n) for n in checker.tables)
        return ""

    found: set[str] = set()
    _guarded(run)
    return found


def table_name_parts(name: str, *, dialect: str = "snowflake") -> list[str]:
    """The parts of a ``TABLE``, ``SCHEMA.TABLE`` or ``DB.SCHEMA.TABLE`` name (bare or
    double-quoted parts), folded as the warehouse resolves them; ``ValueError`` when
    ``name`` is not written that way. Allow-list entries are read the same way."""
    parts = _names(_check_dialect(dialect), None, None).parse_dotted(str(name), what="table name")
    if len(parts) > 3:
        raise ValueError(f"Invalid table name: {name!r} (at most DB.SCHEMA.TABLE).")
    return parts


def _row_inputs_are_columns(fn: exp.Expr) -> bool:
    """Whether every input of UNNEST / FLATTEN is stored data: a column, or a path,
    cast, split or parse of one (see ``_COLUMN_WRAPPERS``)."""
    inputs = list(fn.expressions) if isinstance(fn, exp.Unnest) else [fn.this]
    return bool(inputs) and all(_is_column_data(_kwarg_value(node)) for node in inputs)


def _kwarg_value(node: exp.Expr | None) -> exp.Expr | None:
    # FLATTEN(input => t.col): the named argument's value
    return node.expression if isinstance(node, (exp.Kwarg, exp.PropertyEQ)) else node


def _is_column_data(node: exp.Expr | None) -> bool:
    while node is not None and type(node) in _COLUMN_WRAPPERS:
        node = node.this
    return isinstance(node, exp.Column)
