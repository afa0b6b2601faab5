"""Mentions: who a message names (``@username``, ``@channel``, ``@here``).

A message's mentions are resolved when it is posted and again when it is edited,
inside the one message path: :meth:`MentionService.resolve` turns the body into
user ids (only users who can see the message), the writer stores them on the
message (``messages.mentions``) and, in the same transaction, as rows of the
``mentions`` table, which the channels list counts (``mention_count``) and
``GET /api/v1/mentions`` pages through.

The parsing rules are those of the web client's Markdown renderer
(``web/static/js/markdown.js``): an ``@`` right after a letter, digit or one of
``_ . + -`` is part of an e-mail address, not a mention; a trailing ``.`` or ``-``
ends a sentence, not the name; and nothing inside inline code or a fenced code
block is a mention.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from tortoise import connections

from venn.db.models import Channel, Membership, User
from venn.db.sql import SQLParams
from venn.services.base import Service
from venn.services.views import MESSAGE_ROW_COLUMNS, message_row_view

#: ``@name`` not preceded by what makes it part of an e-mail address (as markdown.js)
MENTION_RE = re.compile(r"(?<![A-Za-z0-9_.+-])@([A-Za-z0-9_.-]+)")
#: an opening or closing code fence (up to three spaces of indent, as CommonMark)
FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
#: an inline code span: a run of backticks closed by a run of the same length
INLINE_CODE_RE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
CHANNEL, HERE = "channel", "here"
#: rows per INSERT of mention rows (SQLite allows 999 bound values in older builds)
ROWS_PER_INSERT = 300


@dataclass(frozen=True, slots=True)
class Named:
    """What a body names: usernames (case-folded), and whether ``@channel`` / ``@here``."""

    usernames: frozenset[str]
    channel: bool
    here: bool


def without_code(body: str) -> str:
    """``body`` with fenced code blocks and inline code spans blanked out."""
    lines = []
    fence: str | None = None
    for line in body.split("\n"):
        opener = FENCE_RE.match(line)
        if fence is None:
            # a backtick fence's info string may not hold a backtick (else it is inline code)
            if opener and not (opener.group(1)[0] == "`" and "`" in line[opener.end():]):
                fence = opener.group(1)
                lines.append("")
            else:
                lines.append(line)
            continue
        if (
            opener
            and opener.group(1)[0] == fence[0]
            and len(opener.group(1)) >= len(fence)
            and not line[opener.end():].strip()
        ):
            fence = None
        lines.append("")  # inside a fence (an unclosed one runs to the end)
    return INLINE_CODE_RE.sub(" ", "\n".join(lines))


def parse(body: str) -> Named:
    """The names ``body`` mentions."""
    names: set[str] = set()
    for match in MENTION_RE.finditer(without_code(body)):
        # "thanks @bob." names bob; a username is 3 to 32 characters
        name = match.group(1).rstrip(".-")
        if 3 <= len(name) <= 32:
            names.add(name.casefold())
    channel, here = CHANNEL in names, HERE in names
    return Named(frozenset(names - {CHANNEL, HERE}), channel, here)


async def insert_rows(conn: Any, rows: list[tuple[int, int, int]]) -> None:
    """Store ``(message_id, user_id, channel_id)`` rows on ``conn`` (a transaction)."""
    for start in range(0, len(rows), ROWS_PER_INSERT):
        params = SQLParams(conn)
        values = ", ".join(
            f"({params.add(m)}, {params.add(u)}, {params.add(c)})" for m, u, c in rows[start:start + ROWS_PER_INSERT]
        )
        await conn.execute_query(f"INSERT INTO mentions (message_id, user_id, channel_id) VALUES {values}",
                                 params.values)


async def delete_rows(conn: Any, message_id: int) -> None:
    params = SQLParams(conn)
    await conn.execute_query(f"DELETE FROM mentions WHERE message_id = {params.add(message_id)}", params.values)


def rows_of(message_id: int, channel_id: int, user_ids: Iterable[int]) -> list[tuple[int, int, int]]:
    return [(message_id, uid, channel_id) for uid in user_ids]


class MentionService(Service):
    async def resolve(self, channel: Channel, author_id: int, body: str) -> list[int]:
        """The ids of the users ``body`` mentions who can see a message in ``channel``.

        ``@channel`` names every member, ``@here`` the members online (in any
        process); ``@username`` names that user if they can see the message: anyone
        for a public channel, else a member (direct conversations are private
        channels too). The author is never among them.
        """
        if "@" not in body:
            return []
        named = parse(body)
        ids: set[int] = set()
        if named.channel or named.here:
            members = await self.core.channels.member_ids(channel.id)
            if named.channel:
                ids.update(members)
            else:
                statuses = await self.core.presence.statuses(members)
                ids.update(uid for uid, status in statuses.items() if status == "online")
        if named.usernames:
            # Tortoise types values_list() as tuples even with flat=True; the rows are ids.
            found = cast(list[int], await User.filter(
                username_key__in=list(named.usernames)
            ).values_list("id", flat=True))
            if channel.is_private and found:
                found = cast(list[int], await Membership.filter(
                    channel_id=channel.id, user_id__in=found
                ).values_list("user_id", flat=True))
            ids.update(found)
        ids.discard(author_id)
        return sorted(ids)

    async def counts(self, user_id: int, channel_ids: list[int]) -> dict[int, int]:
        """Mentions of the user in the channels' streams after their read marker."""
        if not channel_ids:
            return {}
        conn = connections.get("default")
        params = SQLParams(conn)
        user = params.add(user_id)
        ids = ", ".join(params.add(i) for i in channel_ids)
        sql = (
            "SELECT mn.channel_id, COUNT(*) FROM mentions mn "
            "JOIN memberships ms ON ms.channel_id = mn.channel_id AND ms.user_id = mn.user_id "
            "JOIN messages m ON m.id = mn.message_id "
            f"WHERE mn.user_id = {user} AND mn.channel_id IN ({ids}) "
            f"AND mn.message_id > COALESCE(ms.last_read_message_id, 0) "
            f"AND m.thread_id IS NULL AND m.deleted = {params.false} "
            "GROUP BY mn.channel_id"
        )
        _, rows = await conn.execute_query(sql, params.values)
        return {int(r[0]): int(r[1]) for r in rows}

    async def page(self, user: User, limit: int, before: int | None) -> dict[str, Any]:
        """The messages that mention ``user`` in channels they are a member of, newest first."""
        conn = connections.get("default")
        params = SQLParams(conn)
        where = f"mn.user_id = {params.add(user.id)} AND m.deleted = {params.false}"
        if before is not None:
            where += f" AND mn.message_id < {params.add(before)}"
        sql = (
            f"SELECT {MESSAGE_ROW_COLUMNS} FROM mentions mn "
            "JOIN memberships ms ON ms.channel_id = mn.channel_id AND ms.user_id = mn.user_id "
            "JOIN messages m ON m.id = mn.message_id JOIN users u ON u.id = m.author_id "
            f"WHERE {where} ORDER BY mn.message_id DESC LIMIT {params.add(limit + 1)}"
        )
        rows = await conn.execute_query_dict(sql, params.values)
        return {"messages": [message_row_view(row) for row in rows[:limit]], "has_more": len(rows) > limit}
