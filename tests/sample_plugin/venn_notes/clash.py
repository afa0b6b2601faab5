"""A second sample plugin whose route clashes with the notes plugin's (start-up must stop)."""

from __future__ import annotations

from venn.api.routing import ApiRouter, Call
from venn.extension import Extension

clash_api = ApiRouter(prefix="/api/v1")


@clash_api.post("/notes/", tag="clash")
async def also_notes(call: Call):
    """Takes the notes plugin's path (the trailing slash makes no difference)."""
    return {}


class ClashPlugin(Extension):
    name = "clash"
    router = clash_api
