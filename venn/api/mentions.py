"""REST: the caller's mentions (a thin caller of :class:`~venn.services.mentions.MentionService`)."""

from __future__ import annotations

from venn.api.routing import ApiRouter, Call
from venn.schemas import MentionQuery

mentions_api = ApiRouter(prefix="/api/v1")


@mentions_api.get("/mentions", query=MentionQuery, response="MessagePage", tag="messages")
async def list_mentions(call: Call):
    """The messages that mention the caller, newest first (in channels they are a member of)."""
    page = call.query(MentionQuery)
    return await call.services.mentions.page(call.user, page.limit, page.before)
