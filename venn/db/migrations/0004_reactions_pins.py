from orjson import loads
from tortoise import fields, migrations
from tortoise.fields.data import JSON_DUMPS
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Reactions and pins: columns on messages (a reaction summary, the pin, and
    ``annotated_at`` for sync catch-up) and an index of a channel's pins."""

    dependencies = [("venn", "0003_direct_messages")]

    operations = [
        ops.AddField(
            model_name="Message",
            name="reactions",
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name="Message",
            name="pinned_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(model_name="Message", name="pinned_by_id", field=fields.BigIntField(null=True)),
        ops.AddField(
            model_name="Message",
            name="annotated_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name="Message",
            index=Index(fields=["channel_id", "pinned_at"], name="ix_message_channel_pinned"),
        ),
    ]
