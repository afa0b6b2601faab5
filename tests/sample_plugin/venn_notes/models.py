"""The notes plugin's one table, in its own Tortoise app ``notes``."""

from tortoise import fields
from tortoise.models import Model


class Note(Model):
    id = fields.BigIntField(primary_key=True)
    channel_id = fields.BigIntField(db_index=True)
    author_id = fields.BigIntField()
    text = fields.CharField(max_length=500)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "sample_notes"
