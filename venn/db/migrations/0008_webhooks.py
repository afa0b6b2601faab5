from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Incoming webhooks (``webhooks``): a channel, a hashed secret and the bot user that posts."""

    dependencies = [("venn", "0007_search")]

    operations = [
        ops.CreateModel(
            name="Webhook",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("channel", fields.ForeignKeyField("venn.Channel", source_field="channel_id", db_constraint=True, to_field="id", related_name="webhooks", on_delete=OnDelete.CASCADE)),
                ("name", fields.CharField(max_length=64)),
                ("secret_hash", fields.CharField(max_length=64)),
                ("bot_user", fields.ForeignKeyField("venn.User", source_field="bot_user_id", db_constraint=True, to_field="id", related_name="webhooks", on_delete=OnDelete.CASCADE)),
                ("created_by_id", fields.BigIntField(null=True)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "webhooks", "app": "venn", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
