from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS


class Migration(migrations.Migration):
    """Mentions: ``messages.mentions`` (user ids) and the ``mentions`` table."""

    dependencies = [("venn", "0005_files")]

    operations = [
        ops.AddField(
            model_name="Message",
            name="mentions",
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.CreateModel(
            name="Mention",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("message_id", fields.BigIntField()),
                ("user_id", fields.BigIntField()),
                ("channel_id", fields.BigIntField()),
            ],
            options={
                "table": "mentions",
                "app": "venn",
                "unique_together": (("message_id", "user_id"),),
                "indexes": [
                    Index(fields=["user_id", "channel_id", "message_id"], name="ix_mention_user_channel_message"),
                    Index(fields=["user_id", "message_id"], name="ix_mention_user_message"),
                ],
                "pk_attr": "id",
                "table_description": "A user mentioned by a message: the rows behind mention counts and ``GET /mentions``.",
            },
            bases=["Model"],
        ),
    ]
