from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Files: uploads (``files``) and the attached files' summaries on messages (``messages.files``)."""

    dependencies = [("venn", "0004_reactions_pins")]

    operations = [
        ops.AddField(model_name="Message", name="files", field=fields.JSONField(null=True)),
        ops.CreateModel(
            name="File",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("channel", fields.ForeignKeyField("venn.Channel", source_field="channel_id", db_constraint=True, to_field="id", related_name="files", on_delete=OnDelete.CASCADE)),
                ("uploader", fields.ForeignKeyField("venn.User", source_field="uploader_id", db_constraint=True, to_field="id", related_name="files", on_delete=OnDelete.CASCADE)),
                ("message_id", fields.BigIntField(null=True)),
                ("name", fields.CharField(max_length=255)),
                ("content_type", fields.CharField(max_length=127)),
                ("size", fields.BigIntField()),
                ("storage_key", fields.CharField(max_length=128)),
                ("thumb_key", fields.CharField(null=True, max_length=128)),
                ("width", fields.IntField(null=True)),
                ("height", fields.IntField(null=True)),
                ("hidden", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "files", "app": "venn", "pk_attr": "id",
                "indexes": [
                    Index(fields=["message_id"], name="ix_file_message"),
                    Index(fields=["created_at"], name="ix_file_created"),
                ],
            },
            bases=["Model"],
        ),
    ]
