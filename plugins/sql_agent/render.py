"""How a result looks in the thread: a readable body with a Markdown table, and the
``sql_result`` payload the web client renders (up to :data:`PAYLOAD_ROWS` rows and
``VENN_SQL_MAX_RESULT_BYTES``, cells cut at :data:`PAYLOAD_CELL_CHARS`; the CSV link
serves every kept row), with the result's chart as a Vega-Lite specification (see
:mod:`.charts`) when it has one."""

from __future__ import annotations

import json
from typing import Any

from venn_plugins.sql_agent.charts import CHART_BYTES, Chart, vega_lite
from venn_plugins.sql_agent.warehouse import QueryResult
from venn_plugins.sql_agent.warehouse.values import cut_text, size_text

#: rows of the result shown in the message body (the payload keeps them all)
BODY_ROWS = 20
#: rows kept in the payload: every client in the thread receives it, so a 10,000-row
#: result is not broadcast whole (the CSV download has every row)
PAYLOAD_ROWS = 1000
#: characters of one cell in the payload (longer text is cut with a marker)
PAYLOAD_CELL_CHARS = 1000
#: VENN_SQL_MAX_RESULT_BYTES's default: bytes of the payload (stored with the message and
#: sent to every client in the thread)
DEFAULT_PAYLOAD_BYTES = 1024 * 1024
#: characters of one cell in the body
CELL_CHARS = 60
#: characters of the whole body, at most
BODY_CHARS = 12_000


def csv_url(query_id: int) -> str:
    return f"/api/v1/queries/{query_id}/result.csv"


def chart_bytes(max_bytes: int) -> int:
    """Bytes a payload's chart may take: a quarter of the payload, at most
    :data:`~venn_plugins.sql_agent.charts.CHART_BYTES` (the rest is for the rows)."""
    return min(CHART_BYTES, max_bytes // 4)


def chart_spec(chart: Chart | None, columns: list[Any], rows: list[list[Any]], max_bytes: int) -> dict[str, Any] | None:
    """The Vega-Lite specification of a result's chart, as the payload carries it (the
    chart endpoints draw the same one from the kept rows)."""
    if chart is None:
        return None
    return vega_lite(chart, [str(c) for c in columns], rows, max_bytes=chart_bytes(max_bytes))


def _cell(value: Any) -> str:
    if value is None:
        text = "NULL"
    elif isinstance(value, float):
        text = f"{value:,.2f}" if abs(value) >= 1000 else f"{value:g}"
    else:
        text = str(value)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def markdown_table(columns: list[str], rows: list[list[Any]], limit: int = BODY_ROWS) -> str:
    """A Markdown table of the first ``limit`` rows."""
    if not columns:
        return "(no columns)"
    lines = [
        "| " + " | ".join(_cell(c) for c in columns) + " |",
        "|" + "|".join(" --- " for _ in columns) + "|",
    ]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows[:limit]]
    return "\n".join(lines)


def summary(result: QueryResult, max_rows: int) -> str:
    """``12 rows · 35 ms`` (and what was cut)."""
    noun = "row" if result.row_count == 1 else "rows"
    text = f"{result.row_count} {noun}"
    if result.truncated and result.cut_at_bytes:
        text += f" (more rows exist: cut at {size_text(result.cut_at_bytes)})"
    elif result.truncated:
        text += f" (more rows exist: cut at the limit of {max_rows})"
    if result.row_count > BODY_ROWS:
        text += f", the first {BODY_ROWS} shown"
    return f"{text} · {result.elapsed_ms} ms"


def result_body(text: str | None, sql: str, result: QueryResult, *, max_rows: int) -> str:
    """The message body: the answer, the SQL that ran and the table."""
    parts = [text.strip()] if text and text.strip() else []
    parts.append(f"```sql\n{sql}\n```")
    if result.row_count:
        parts.append(markdown_table(result.columns, result.rows))
    else:
        parts.append("The query returned no rows.")
    parts.append(f"_{summary(result, max_rows)}_")
    body = "\n\n".join(parts)
    limit = BODY_ROWS
    while len(body) > BODY_CHARS and limit > 1:
        limit //= 2
        parts[-2] = markdown_table(result.columns, result.rows, limit) + f"\n\n(the first {limit} rows)"
        body = "\n\n".join(parts)
    return body if len(body) <= BODY_CHARS else body[: BODY_CHARS - 1] + "…"


def result_payload(
    query_id: int,
    question: str | None,
    sql: str,
    result: QueryResult,
    *,
    allow_csv: bool,
    max_bytes: int = DEFAULT_PAYLOAD_BYTES,
    chart: Chart | None = None,
) -> dict[str, Any]:
    """The documented ``sql_result`` payload, at most ``max_bytes`` as JSON. ``rows``
    holds the first rows that fit (at most :data:`PAYLOAD_ROWS`, each cell at most
    :data:`PAYLOAD_CELL_CHARS` characters); ``row_count`` counts every row the query kept.
    ``chart`` (see :func:`venn_plugins.sql_agent.charts.pick_chart`) becomes the payload's
    ``chart``, a Vega-Lite specification of at most :func:`chart_bytes` (null without one)."""
    payload: dict[str, Any] = {
        "type": "sql_result",
        "query_id": query_id,
        "question": question,
        "sql": sql,
        "columns": [cut_text(str(c), PAYLOAD_CELL_CHARS) for c in result.columns],
        "rows": [],
        "row_count": result.row_count,
        "truncated": result.truncated,
        "elapsed_ms": result.elapsed_ms,
        "csv_url": csv_url(query_id) if allow_csv else None,
        "chart": chart_spec(chart, result.columns, result.rows, max_bytes),
    }
    # Measured as json.dumps writes it by default (with spaces), an upper bound of what is sent.
    room = max_bytes - _size(payload)
    rows = payload["rows"]
    for row in result.rows[:PAYLOAD_ROWS]:
        shown = [cut_text(v, PAYLOAD_CELL_CHARS) if isinstance(v, str) else v for v in row]
        room -= _size(shown) + 2
        if room < 0:
            break
        rows.append(shown)
    return payload


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
