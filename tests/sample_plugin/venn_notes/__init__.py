"""Notes: short notes pinned to a channel. A sample plugin that is not a bot."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, StringConstraints
from pydantic_settings import BaseSettings

from venn.api.routing import ApiRouter, Call
from venn.config import SETTINGS_CONFIG
from venn.extension import Extension
from venn.schemas import Id, Input

notes_api = ApiRouter(
    prefix="/api/v1",
    schemas={
        "Note": {
            "type": "object",
            "required": ["id", "channel_id", "text", "greeting"],
            "properties": {
                "id": {"type": "integer"},
                "channel_id": {"type": "integer"},
                "text": {"type": "string"},
                "greeting": {"type": "string"},
            },
        },
        "NoteEnvelope": {
            "type": "object",
            "required": ["note"],
            "properties": {"note": {"$ref": "#/components/schemas/Note"}},
        },
    },
)


class NotesSettings(BaseSettings):
    model_config = SETTINGS_CONFIG

    greeting: str = Field("Noted", min_length=1, max_length=40, validation_alias=AliasChoices("VENN_NOTES_GREETING"))
    max_notes: int = Field(100, ge=1, le=10_000, validation_alias=AliasChoices("VENN_NOTES_MAX"))


class NoteIn(Input):
    channel_id: Id
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


@notes_api.post("/notes", body=NoteIn, status=201, response="NoteEnvelope", errors=(403, 404, 409), tag="notes")
async def create_note(call: Call):
    """Pin a note to a channel you are a member of."""
    from venn.errors import Conflict
    from venn_notes.models import Note

    settings: NotesSettings = call.plugin_settings("notes")
    await call.services.channels.require_member(call.user, call.body.channel_id)
    if await Note.filter(channel_id=call.body.channel_id).count() >= settings.max_notes:
        raise Conflict("This channel has as many notes as it may have.", code="too_many_notes")
    note = await Note.create(channel_id=call.body.channel_id, author_id=call.user.id, text=call.body.text)
    return {"note": {"id": note.id, "channel_id": note.channel_id, "text": note.text, "greeting": settings.greeting}}


class NotesPlugin(Extension):
    name = "notes"
    version = "0.1.0"
    description = "Short notes pinned to a channel."
    router = notes_api
    models = ("venn_notes.models",)
    migrations = "venn_notes.migrations"
    Settings = NotesSettings
    web_dir = Path(__file__).parent / "web"
    renderers = {"note": "note.js"}

    @classmethod
    def add_commands(cls, subparsers: argparse._SubParsersAction) -> None:
        notes = subparsers.add_parser("notes", help="the notes plugin")
        sub = notes.add_subparsers(dest="notes_command", required=True)
        greeting = sub.add_parser("greeting", help="print the greeting notes are answered with")
        greeting.set_defaults(func=_print_greeting)


def _print_greeting(args: argparse.Namespace) -> int:
    from venn.config import read_settings

    print(read_settings(NotesSettings).greeting)
    return 0
