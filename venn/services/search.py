"""Search: the messages of the caller's channels that match a query, best first.

One hand-written query per page, on the backend's full-text index
(``venn/db/search_index.py``): PostgreSQL ranks with ``ts_rank`` (divided by
1 + the log of the message's length in words, so a short exact match beats a long one), SQLite with FTS5's
``bm25``; ties go to the newer message. Pages are keyset pages on (rank, id), behind a
signed cursor that also names the query it belongs to.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from tortoise import connections

from venn.db.models import Channel, User
from venn.db.sql import SQLParams
from venn.errors import NotFound, ValidationFailed
from venn.schemas import SearchQueryIn
from venn.security.tokens import TokenError
from venn.services.base import Service
from venn.services.search_query import SearchQuery, highlight, parse_query
from venn.services.views import MESSAGE_ROW_COLUMNS, message_row_view


def _utc(value: datetime, name: str) -> datetime:
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # an offset that moves the year out of range
        raise ValidationFailed([{"field": name, "message": "the date is out of range"}]) from None


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed([{"field": "cursor", "message": "not a cursor of this search"}])


class SearchService(Service):
    async def search(self, user: User, data: SearchQueryIn) -> dict[str, Any]:
        """``{"results": [{"message", "highlight"}], "next_cursor"}`` for ``data``."""
        query = parse_query(data.q)
        key = self._key(query, data)
        after_key = self._read_cursor(data.cursor, key) if data.cursor else None
        if data.channel_id is not None:
            # only a channel one is in: any other is "not found", as for its messages
            member = await Channel.filter(id=data.channel_id, memberships__user_id=user.id).exists()
            if not member:
                raise NotFound("No such channel.")
        rows = await self._rows(user, query, data, after_key)
        more = len(rows) > data.limit
        rows = rows[: data.limit]
        results = [
            {"message": message_row_view(row), "highlight": highlight(row["body"], query)} for row in rows
        ]
        next_cursor = None
        if more:
            last = rows[-1]
            next_cursor = self.tokens.sign_cursor({"k": key, "r": float(last["rank"]), "i": last["id"]})
        return {"results": results, "next_cursor": next_cursor}

    @staticmethod
    def _key(query: SearchQuery, data: SearchQueryIn) -> str:
        """Names a search (query and filters), so a cursor only pages its own search."""
        parts = [query.tsquery_text(), data.channel_id, data.from_user_id, data.before, data.after]
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]

    def _read_cursor(self, cursor: str, key: str) -> tuple[float, int]:
        try:
            data = self.tokens.read_cursor(cursor)
        except TokenError:
            raise _bad_cursor() from None
        if (
            not isinstance(data, dict)
            or data.get("k") != key
            or not isinstance(data.get("r"), (int, float))
            or not isinstance(data.get("i"), int)
        ):
            raise _bad_cursor()
        return float(data["r"]), data["i"]

    async def _rows(
        self, user: User, query: SearchQuery, data: SearchQueryIn, after_key: tuple[float, int] | None
    ) -> list[dict[str, Any]]:
        conn = connections.get("default")
        params = SQLParams(conn)
        # SQLite's placeholders are positional: the query's text comes first in both
        text = params.add(query.fts5_text() if params.sqlite else query.tsquery_text())
        # The caller's channels as a list the matches are filtered by: joined instead,
        # PostgreSQL would run the full-text scan once per channel.
        mine = f"SELECT channel_id FROM memberships WHERE user_id = {params.add(user.id)}"
        member = f"m.channel_id IN ({mine})" if params.sqlite else f"m.channel_id = ANY(ARRAY({mine}))"
        filters = [member, f"m.deleted = {params.false}"]
        if data.channel_id is not None:
            filters.append(f"m.channel_id = {params.add(data.channel_id)}")
        if data.from_user_id is not None:
            filters.append(f"m.author_id = {params.add(data.from_user_id)}")
        if data.before is not None:
            filters.append(f"m.created_at < {params.add(_utc(data.before, 'before'))}")
        if data.after is not None:
            filters.append(f"m.created_at > {params.add(_utc(data.after, 'after'))}")
        joins = "JOIN users u ON u.id = m.author_id"
        if params.sqlite:
            inner = (
                f"SELECT {MESSAGE_ROW_COLUMNS}, bm25(messages_fts) AS rank FROM messages_fts"
                f" JOIN messages m ON m.id = messages_fts.rowid {joins}"
                f" WHERE messages_fts MATCH {text} AND {' AND '.join(filters)}"
            )
            # bm25: lower is better
            where = ""
            if after_key is not None:
                r1, r2, i = params.add(after_key[0]), params.add(after_key[0]), params.add(after_key[1])
                where = f" WHERE rank > {r1} OR (rank = {r2} AND id < {i})"
            sql = f"SELECT * FROM ({inner}){where} ORDER BY rank ASC, id DESC LIMIT {params.add(data.limit + 1)}"
        else:
            inner = (
                f"SELECT {MESSAGE_ROW_COLUMNS}, ts_rank(m.body_tsv, q.query, 1) AS rank"
                f" FROM websearch_to_tsquery('simple', {text}) q(query), messages m {joins}"
                f" WHERE m.body_tsv @@ q.query AND {' AND '.join(filters)}"
            )
            where = ""
            if after_key is not None:
                r, i = params.add(after_key[0]), params.add(after_key[1])
                where = f" WHERE (s.rank, s.id) < ({r}::real, {i}::bigint)"
            sql = f"SELECT * FROM ({inner}) s{where} ORDER BY s.rank DESC, s.id DESC LIMIT {params.add(data.limit + 1)}"
        return await conn.execute_query_dict(sql, params.values)
