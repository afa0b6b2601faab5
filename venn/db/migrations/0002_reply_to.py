from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    """Messages name the message they answer (bots' replies): ``messages.reply_to_id``."""

    dependencies = [("venn", "0001_initial")]

    operations = [
        ops.AddField(model_name="Message", name="reply_to_id", field=fields.BigIntField(null=True)),
    ]
